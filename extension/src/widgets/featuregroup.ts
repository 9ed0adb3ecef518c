import { MainAreaWidget } from '@jupyterlab/apputils';
import { refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { LakebookClient } from '../api';
import { IFeatureGroupDetail } from '../endpoints';
import { formatAgo, formatCount, formatDuration, formatMetric, formatTime, formatValue } from '../format';
import { lakebookIcon } from '../icons';
import { describe } from '../json';
import { h, setText } from '../sections/base';
import { histogramSvg } from '../charts';
import { similaritySection } from './neighbors';

/**
 * The detail of one feature group in the main area: schema, statistics with
 * small histograms, commits and a preview of the data.
 */
export class FeatureGroupView extends Widget {
  constructor(options: FeatureGroupView.IOptions) {
    super();
    this.addClass('jp-Lakebook-view');
    this.addClass('jp-Lakebook-featureGroupView');
    this._client = options.client;
    this.name = options.name;
    this._error = h('div', 'jp-Lakebook-error');
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    this._body = h('div', 'jp-Lakebook-viewBody');
    this._placeholder = h('p', 'jp-Lakebook-placeholder', 'Loading…');
    this.node.append(this._error, this._placeholder, this._body);
    this.node.tabIndex = 0;
  }

  readonly name: string;

  async load(): Promise<void> {
    try {
      const detail = await this._client.featureGroup(this.name, this._version);
      this._error.hidden = true;
      this._render(detail);
    } catch (reason) {
      this._error.hidden = false;
      this._error.replaceChildren(
        h('span', 'jp-Lakebook-errorTitle', `Could not load feature group ${this.name}`),
        h('span', 'jp-Lakebook-errorText', describe(reason))
      );
    } finally {
      this._placeholder.hidden = true;
    }
  }

  private _render(g: IFeatureGroupDetail): void {
    const header = h('header', 'jp-Lakebook-viewHeader');
    const title = h('h1', 'jp-Lakebook-viewTitle', g.name);
    const version = h('span', 'jp-Lakebook-version', `v${g.version}`);
    title.append(' ', version);
    if (g.online) {
      title.append(' ', h('span', 'jp-Lakebook-badge jp-Lakebook-badge-online', 'online'));
    }
    header.append(title);
    if (g.versions.length > 1) {
      const select = h('select', 'jp-mod-styled');
      select.setAttribute('aria-label', 'Version');
      for (const v of g.versions) {
        const option = h('option', undefined, `version ${v}`);
        option.value = String(v);
        option.selected = v === g.version;
        select.append(option);
      }
      select.addEventListener('change', () => {
        this._version = Number(select.value);
        void this.load();
      });
      header.append(select);
    }
    if (g.description) {
      header.append(h('p', 'jp-Lakebook-viewDescription', g.description));
    }
    const facts = h('dl', 'jp-Lakebook-viewFacts');
    const rows = g.rows ?? g.statistics?.rows ?? null;
    for (const [term, value] of [
      ['Primary key', g.keys.join(', ') || '–'],
      ['Event time', g.eventTime || '–'],
      [g.rows !== null ? 'Rows' : 'Rows in last commit', formatCount(rows)],
      ['Commits', formatCount(g.commits)],
      ['Last commit', g.lastCommitAt ? `${formatAgo(g.lastCommitAt)} (${formatTime(g.lastCommitAt)})` : '–'],
      ['Checks', g.checks.length ? g.checks.join('; ') : '–']
    ] as [string, string][]) {
      const row = h('div');
      row.append(h('dt', undefined, term), h('dd', undefined, value));
      facts.append(row);
    }
    header.append(facts);

    this._body.replaceChildren(
      header,
      this._section('Schema', this._schema(g)),
      this._section(
        g.statistics?.deltaVersion !== null && g.statistics?.deltaVersion !== undefined
          ? `Statistics (commit ${g.statistics.deltaVersion})`
          : 'Statistics',
        this._statistics(g)
      ),
      ...(g.embeddings.length
        ? [this._section('Similarity search', similaritySection(this._client, g, table))]
        : []),
      this._section('Commits', this._commits(g)),
      this._section(`Data preview (${g.sample.length} rows)`, this._sample(g))
    );
  }

  private _section(title: string, content: HTMLElement): HTMLElement {
    const section = h('section', 'jp-Lakebook-viewSection');
    section.append(h('h2', undefined, title), content);
    return section;
  }

  private _schema(g: IFeatureGroupDetail): HTMLElement {
    return table(
      ['Column', 'Type', 'Role', 'Nullable'],
      g.schema.map(c => [
        c.name,
        c.type,
        g.keys.includes(c.name)
          ? 'primary key'
          : c.name === g.eventTime
            ? 'event time'
            : embeddingRole(g, c.name),
        c.nullable ? 'yes' : 'no'
      ]),
      'jp-Lakebook-schemaTable'
    );
  }

  private _statistics(g: IFeatureGroupDetail): HTMLElement {
    const stats = g.statistics;
    if (!stats || stats.columns.length === 0) {
      return h('p', 'jp-Lakebook-empty', 'No statistics recorded for this group yet.');
    }
    const order = g.schema.map(c => c.name);
    const columns = [...stats.columns].sort(
      (a, b) => (order.indexOf(a.name) + 1 || 999) - (order.indexOf(b.name) + 1 || 999)
    );
    const t = table(
      ['Column', 'Count', 'Nulls', 'Distinct', 'Min', 'Max', 'Mean', 'Histogram'],
      columns.map(c => [
        c.name,
        formatCount(c.count),
        formatCount(c.nulls),
        formatCount(c.distinct),
        formatValue(c.min),
        formatValue(c.max),
        formatMetric(c.mean),
        ''
      ]),
      'jp-Lakebook-statsTable',
      [4, 5]
    );
    const bodyRows = t.querySelectorAll('tbody tr');
    columns.forEach((c, i) => {
      const cell = bodyRows[i]?.lastElementChild as HTMLElement | null;
      if (cell && c.histogram) {
        cell.innerHTML = histogramSvg(c.histogram, 120, 28, `Histogram of ${c.name}`);
      }
    });
    return t;
  }

  private _commits(g: IFeatureGroupDetail): HTMLElement {
    if (g.commitList.length === 0) {
      return h('p', 'jp-Lakebook-empty', 'No commits yet: insert rows with fg.insert(df) or a %%feature cell.');
    }
    return table(
      ['Delta version', 'Mode', 'Rows', 'When', 'By', 'Took', 'Checks', 'Notebook'],
      g.commitList.map(c => [
        String(c.deltaVersion),
        c.mode,
        formatCount(c.rows),
        c.createdAt ? formatTime(c.createdAt) : '–',
        c.who ?? '–',
        formatDuration(c.durationS),
        String(c.checksPassed.length),
        typeof c.lineage['notebook'] === 'string' ? (c.lineage['notebook'] as string) : '–'
      ]),
      'jp-Lakebook-commitsTable'
    );
  }

  private _sample(g: IFeatureGroupDetail): HTMLElement {
    if (g.sample.length === 0) {
      return h('p', 'jp-Lakebook-empty', 'No rows yet.');
    }
    const columns = g.schema.length ? g.schema.map(c => c.name) : Object.keys(g.sample[0]);
    const wrap = h('div', 'jp-Lakebook-scroll');
    wrap.append(
      table(
        columns,
        g.sample.map(row => columns.map(c => formatValue(row[c]))),
        'jp-Lakebook-sampleTable'
      )
    );
    return wrap;
  }

  private _body: HTMLElement;
  private _client: LakebookClient;
  private _error: HTMLElement;
  private _placeholder: HTMLElement;
  private _version: number | undefined = undefined;
}

export namespace FeatureGroupView {
  export interface IOptions {
    client: LakebookClient;
    name: string;
  }

  /**
   * The view in a main-area tab with a refresh button.
   */
  export function create(options: IOptions): MainAreaWidget<FeatureGroupView> {
    const content = new FeatureGroupView(options);
    const widget = new MainAreaWidget({ content });
    widget.id = `lakebook-feature-group-${options.name}`;
    widget.title.label = `${options.name} (feature group)`;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    widget.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: `Reload ${options.name}`,
        onClick: () => void content.load()
      })
    );
    void content.load();
    return widget;
  }
}

/** "feature", or "embedding (128-d, cosine)" for an embedding column. */
function embeddingRole(g: IFeatureGroupDetail, column: string): string {
  const e = g.embeddings.find(x => x.column === column);
  return e ? `embedding (${e.dim}-d, ${e.metric})` : 'feature';
}

/**
 * A plain table of text cells.
 */
export function table(
  head: string[],
  rows: string[][],
  className?: string,
  textColumns: number[] = []
): HTMLTableElement {
  const t = h('table', `jp-Lakebook-table ${className ?? ''}`.trim());
  const thead = h('thead');
  const tr = h('tr');
  for (const title of head) {
    tr.append(h('th', undefined, title));
  }
  thead.append(tr);
  const tbody = h('tbody');
  for (const row of rows) {
    const r = h('tr');
    for (const [i, cell] of row.entries()) {
      const td = h('td', undefined, cell);
      const numeric = /^[-+]?[\d.,]+(e[-+]?\d+)?%?$/.test(cell) || cell === '–';
      if (numeric && !textColumns.includes(i)) {
        td.classList.add('jp-Lakebook-num');
      }
      r.append(td);
    }
    tbody.append(r);
  }
  t.append(thead, tbody);
  return t;
}

export { setText };
