import { COUNT_KEYS, COUNT_LABELS, ShownCount } from '../api';
import { LakebookModel } from '../model';
import { LakebookSection, h, setText } from './base';

/**
 * The "Lakehouse" section: where the lakehouse lives, its versions, and how
 * many objects of each kind its catalog holds.
 */
export class OverviewSection extends LakebookSection<LakebookModel> {
  constructor(options: OverviewSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-overview',
      label: 'Lakehouse',
      caption: 'Summary of the lakehouse'
    });
    this.addClass('jp-Lakebook-overview');

    this._error = h('div', 'jp-Lakebook-error');
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    this._errorText = h('span', 'jp-Lakebook-errorText');
    this._error.append(
      h('span', 'jp-Lakebook-errorTitle', 'Could not load the Lakebook status'),
      this._errorText
    );

    this._placeholder = h('p', 'jp-Lakebook-placeholder', 'Loading…');

    this._summary = h('div', 'jp-Lakebook-summary');
    this._summary.hidden = true;

    const facts = h('dl', 'jp-Lakebook-facts');
    this._home = h('code', 'jp-Lakebook-home');
    this._catalogVersion = h('span', 'jp-Lakebook-catalogVersion');
    this._lakebookVersion = h('span', 'jp-Lakebook-lakebookVersion');
    facts.append(
      fact('Home', this._home, 'jp-mod-stacked'),
      fact('Catalog version', this._catalogVersion),
      fact('Lakebook version', this._lakebookVersion)
    );

    const counts = h('ul', 'jp-Lakebook-counts');
    counts.setAttribute('aria-label', 'Catalog objects');
    for (const key of COUNT_KEYS) {
      const item = h('li', 'jp-Lakebook-count');
      item.dataset.lakebookCount = key;
      const value = h('span', 'jp-Lakebook-countValue', '–');
      const label = h('span', 'jp-Lakebook-countLabel', COUNT_LABELS[key]);
      item.append(value, label);
      counts.append(item);
      this._counts.set(key, value);
    }

    this._updated = h('p', 'jp-Lakebook-updated');

    this._summary.append(facts, counts, this._updated);
    this.node.append(this._error, this._placeholder, this._summary);
  }

  protected render(): void {
    const { status, error, lastUpdated } = this.model;

    this._error.hidden = error === null;
    setText(this._errorText, error ?? '');

    this._placeholder.hidden = status !== null || error !== null;
    this._summary.hidden = status === null;
    this._summary.classList.toggle('jp-mod-stale', error !== null);
    if (status === null) {
      return;
    }

    setText(this._home, status.home);
    this._home.title = status.home;
    setText(this._catalogVersion, String(status.catalog_version));
    setText(this._lakebookVersion, status.lakebook_version);
    for (const [key, node] of this._counts) {
      const value = status.counts[key];
      setText(node, value.toLocaleString());
      node.parentElement?.setAttribute(
        'aria-label',
        `${COUNT_LABELS[key]}: ${value}`
      );
    }
    setText(
      this._updated,
      lastUpdated ? `Updated ${lastUpdated.toLocaleTimeString()}` : ''
    );
  }

  private _catalogVersion: HTMLElement;
  private _counts = new Map<ShownCount, HTMLElement>();
  private _error: HTMLElement;
  private _errorText: HTMLElement;
  private _home: HTMLElement;
  private _lakebookVersion: HTMLElement;
  private _placeholder: HTMLElement;
  private _summary: HTMLElement;
  private _updated: HTMLElement;
}

export namespace OverviewSection {
  export interface IOptions {
    model: LakebookModel;
  }
}

function fact(term: string, value: HTMLElement, modifier?: string): HTMLElement {
  const row = h('div', 'jp-Lakebook-fact');
  if (modifier) {
    row.classList.add(modifier);
  }
  const dd = h('dd');
  dd.append(value);
  row.append(h('dt', undefined, term), dd);
  return row;
}
