import { IModelDetail, IModelSummary, IModelVersion } from '../endpoints';
import { formatAgo, formatMetric, formatTime } from '../format';
import { describe } from '../json';
import { ResourceModel } from '../model';
import { KeyedList, ListSection, badge, button, h, setText } from './base';
import { ISidebarServices } from './services';
import { keyMetrics } from '../derive';

/**
 * "Models": every registered model with its aliases and latest metrics; a
 * model expands to its versions, where an alias can be moved, and to a
 * comparison of its versions.
 */
export class ModelsSection extends ListSection<IModelSummary[]> {
  constructor(options: ModelsSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-models',
      label: 'Models',
      caption: 'Registered models, versions and aliases',
      errorTitle: 'Could not load the models'
    });
    this.addClass('jp-Lakebook-models');
    this._services = options.services;
    const list = h('ul', 'jp-Lakebook-list');
    list.setAttribute('aria-label', 'Models');
    this.content.append(list);
    this._list = new KeyedList<IModelSummary>(list, {
      key: m => m.name,
      create: m => new ModelCard(m, this._services)
    });
  }

  protected emptyText(data: IModelSummary[]): string | null {
    return data.length
      ? null
      : 'No models yet: mark a training cell with %%training and run it.';
  }

  protected renderData(data: IModelSummary[]): void {
    this.setCount(data.length, `${data.length} models`);
    this._list.update(data);
  }

  private _list: KeyedList<IModelSummary>;
  private _services: ISidebarServices;
}

export namespace ModelsSection {
  export interface IOptions {
    model: ResourceModel<IModelSummary[]>;
    services: ISidebarServices;
  }
}

/**
 * One model: a summary line that expands into its versions.
 */
class ModelCard implements KeyedList.IEntry<IModelSummary> {
  constructor(summary: IModelSummary, services: ISidebarServices) {
    this._services = services;
    this._summary = summary;
    this.node = h('li', 'jp-Lakebook-item jp-Lakebook-modelCard');
    this._toggle = h('button', 'jp-Lakebook-itemMain jp-Lakebook-expander');
    this._toggle.type = 'button';
    this._toggle.setAttribute('aria-expanded', 'false');
    this._name = h('span', 'jp-Lakebook-itemName');
    this._version = h('span', 'jp-Lakebook-version');
    this._aliases = h('span', 'jp-Lakebook-aliases');
    const line1 = h('span', 'jp-Lakebook-itemLine');
    line1.append(this._name, this._version, this._aliases);
    this._metrics = h('span', 'jp-Lakebook-itemLine jp-Lakebook-itemMeta');
    this._toggle.append(line1, this._metrics);
    this._toggle.addEventListener('click', () => this._setExpanded(!this._expanded));

    this._detail = h('div', 'jp-Lakebook-detail');
    this._detail.hidden = true;
    this._detailError = h('p', 'jp-Lakebook-inlineError');
    this._detailError.setAttribute('role', 'alert');
    this._detailError.hidden = true;
    this._versions = h('table', 'jp-Lakebook-table jp-Lakebook-versions');
    this._versions.setAttribute('aria-label', 'Versions');

    // Move an alias: alias name (existing or new) and target version.
    this._form = h('form', 'jp-Lakebook-aliasForm');
    this._aliasInput = h('input', 'jp-mod-styled jp-Lakebook-aliasInput');
    this._aliasInput.setAttribute('aria-label', 'Alias');
    this._aliasInput.placeholder = 'alias';
    this._aliasInput.required = true;
    this._aliasInput.pattern = '[A-Za-z][A-Za-z0-9_\\-]*';
    this._aliasList = h('datalist');
    this._aliasList.id = `lakebook-aliases-${ModelCard._ids++}`;
    this._aliasInput.setAttribute('list', this._aliasList.id);
    this._versionSelect = h('select', 'jp-mod-styled jp-Lakebook-versionSelect');
    this._versionSelect.setAttribute('aria-label', 'Version');
    const move = h('button', 'jp-Lakebook-button jp-mod-accept', 'Move');
    move.type = 'submit';
    this._form.append(
      h('span', 'jp-Lakebook-formLabel', 'Point'),
      this._aliasInput,
      this._aliasList,
      h('span', 'jp-Lakebook-formLabel', 'at'),
      this._versionSelect,
      move
    );
    this._form.addEventListener('submit', event => {
      event.preventDefault();
      void this._moveAlias();
    });
    const actions = h('div', 'jp-Lakebook-actionsRow');
    actions.append(
      button('Compare versions', () => services.compareModel(this._summary.name), {
        title: `Compare the versions of ${summary.name}`
      })
    );
    if (services.openLineage) {
      actions.append(
        button(
          'Lineage',
          () => services.openLineage?.({ kind: 'model_version', name: this._summary.name }, this._summary.name),
          { className: 'jp-Lakebook-lineageButton', title: `Open the lineage of ${summary.name}` }
        )
      );
    }
    this._detail.append(this._detailError, this._versions, this._form, actions);
    this.node.append(this._toggle, this._detail);
  }

  readonly node: HTMLElement;

  update(summary: IModelSummary): void {
    this._summary = summary;
    this.node.dataset.name = summary.name;
    setText(this._name, summary.name);
    setText(
      this._version,
      summary.latestVersion !== null
        ? `v${summary.latestVersion}${summary.versions > 1 ? ` · ${summary.versions} versions` : ''}`
        : ''
    );
    this._aliases.replaceChildren(
      ...Object.entries(summary.aliases)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([alias, v]) => badge(`${alias} → v${v}`, 'alias', `${alias} points at version ${v}`))
    );
    const metrics = keyMetrics(summary.latestMetrics);
    setText(
      this._metrics,
      metrics.length
        ? metrics.map(([k, v]) => `${k} ${formatMetric(v)}`).join(' · ')
        : (summary.task ?? 'no metrics')
    );
    this._toggle.title = `Show the versions of ${summary.name}`;
    if (this._expanded) {
      void this._loadDetail();
    }
  }

  private _setExpanded(expanded: boolean): void {
    this._expanded = expanded;
    this._toggle.setAttribute('aria-expanded', String(expanded));
    this.node.classList.toggle('jp-mod-expanded', expanded);
    this._detail.hidden = !expanded;
    if (expanded) {
      void this._loadDetail();
    }
  }

  private async _loadDetail(): Promise<void> {
    if (this._loading) {
      return;
    }
    this._loading = true;
    try {
      const detail = await this._services.client.model(this._summary.name);
      this._detailError.hidden = true;
      this._renderDetail(detail);
    } catch (reason) {
      this._detailError.hidden = false;
      setText(this._detailError, describe(reason));
    } finally {
      this._loading = false;
    }
  }

  private _renderDetail(detail: IModelDetail): void {
    const versions = [...detail.versions].sort((a, b) => b.version - a.version);
    const metricNames = Array.from(
      new Set(versions.flatMap(v => keyMetrics(v.metrics, 2).map(([k]) => k)))
    ).slice(0, 2);
    const head = h('tr');
    for (const title of ['Version', ...metricNames, 'Aliases']) {
      head.append(h('th', undefined, title));
    }
    const rows = versions.map(v => this._versionRow(v, metricNames));
    const thead = h('thead');
    thead.append(head);
    const tbody = h('tbody');
    tbody.append(...rows);
    this._versions.replaceChildren(thead, tbody);

    // Keep what the user is typing; refresh the choices.
    const selected = this._versionSelect.value;
    this._versionSelect.replaceChildren(
      ...versions.map(v => {
        const option = h('option', undefined, `v${v.version}`);
        option.value = String(v.version);
        return option;
      })
    );
    if (selected && versions.some(v => String(v.version) === selected)) {
      this._versionSelect.value = selected;
    }
    this._aliasList.replaceChildren(
      ...Object.keys(detail.aliases).map(a => {
        const option = h('option');
        option.value = a;
        return option;
      })
    );
  }

  private _versionRow(v: IModelVersion, metricNames: string[]): HTMLTableRowElement {
    const row = h('tr');
    row.dataset.version = String(v.version);
    const version = h('td', 'jp-Lakebook-versionCell', `v${v.version}`);
    version.title = `Registered ${formatTime(v.createdAt)}${v.createdBy ? ` by ${v.createdBy}` : ''} (${formatAgo(v.createdAt)})`;
    row.append(version);
    for (const m of metricNames) {
      row.append(h('td', 'jp-Lakebook-num', formatMetric(v.metrics[m])));
    }
    const aliases = h('td', 'jp-Lakebook-aliasesCell');
    aliases.append(...v.aliases.map(a => badge(a, 'alias')));
    row.append(aliases);
    return row;
  }

  private async _moveAlias(): Promise<void> {
    const alias = this._aliasInput.value.trim();
    const version = Number(this._versionSelect.value);
    if (!alias || !Number.isInteger(version)) {
      return;
    }
    try {
      const moved = await this._services.client.moveAlias(this._summary.name, alias, version);
      this._services.notify(
        `${moved.name}: ${moved.alias} now points at version ${moved.version}` +
          (moved.previous !== null ? ` (was ${moved.previous}).` : '.'),
        'success'
      );
      this._detailError.hidden = true;
      this._aliasInput.value = '';
      this._services.refreshAll();
      await this._loadDetail();
    } catch (reason) {
      this._detailError.hidden = false;
      setText(this._detailError, describe(reason));
    }
  }

  private static _ids = 0;
  private _aliasInput: HTMLInputElement;
  private _aliasList: HTMLDataListElement;
  private _aliases: HTMLElement;
  private _detail: HTMLElement;
  private _detailError: HTMLElement;
  private _expanded = false;
  private _form: HTMLFormElement;
  private _loading = false;
  private _metrics: HTMLElement;
  private _name: HTMLElement;
  private _services: ISidebarServices;
  private _summary: IModelSummary;
  private _toggle: HTMLButtonElement;
  private _version: HTMLElement;
  private _versionSelect: HTMLSelectElement;
  private _versions: HTMLTableElement;
}
