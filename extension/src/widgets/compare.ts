import { MainAreaWidget } from '@jupyterlab/apputils';
import { refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { LakebookClient } from '../api';
import { barSvg } from '../charts';
import { IModelDetail, IModelVersion } from '../endpoints';
import { formatAgo, formatMetric } from '../format';
import { lakebookIcon } from '../icons';
import { describe } from '../json';
import { h } from '../sections/base';
import { compareVersions } from '../derive';

/**
 * The versions of one model side by side: metrics (best highlighted, with a
 * bar from worst to best), aliases, task and when they were registered.
 */
export class ModelCompareView extends Widget {
  constructor(options: { client: LakebookClient; name: string }) {
    super();
    this.addClass('jp-Lakebook-view');
    this.addClass('jp-Lakebook-compareView');
    this._client = options.client;
    this.name = options.name;
    this.node.tabIndex = 0;
  }

  readonly name: string;

  async load(): Promise<void> {
    try {
      const detail = await this._client.model(this.name);
      this._render(detail, [...detail.versions].sort((a, b) => a.version - b.version));
    } catch (reason) {
      const error = h('div', 'jp-Lakebook-error');
      error.setAttribute('role', 'alert');
      error.append(
        h('span', 'jp-Lakebook-errorTitle', `Could not load model ${this.name}`),
        h('span', 'jp-Lakebook-errorText', describe(reason))
      );
      this.node.replaceChildren(error);
    }
  }

  private _render(detail: IModelDetail, versions: IModelVersion[]): void {
    const title = h('h1', 'jp-Lakebook-viewTitle', `${this.name}: versions compared`);
    const t = h('table', 'jp-Lakebook-table jp-Lakebook-compareTable');
    const head = h('tr');
    head.append(h('th', undefined, 'Metric'));
    for (const v of versions) {
      const th = h('th', undefined, `v${v.version}`);
      for (const a of v.aliases) {
        th.append(' ', h('span', 'jp-Lakebook-badge jp-Lakebook-badge-alias', a));
      }
      head.append(th);
    }
    const thead = h('thead');
    thead.append(head);
    const tbody = h('tbody');
    for (const row of compareVersions(versions, detail.metricDirections)) {
      const tr = h('tr');
      tr.dataset.metric = row.metric;
      tr.dataset.direction = row.direction ?? 'unknown';
      const name = h('th', undefined, row.metric);
      name.scope = 'row';
      name.title =
        row.direction === null
          ? 'the server did not say which way is better'
          : `${row.direction} is better`;
      tr.append(name);
      versions.forEach((v, i) => {
        const value = row.values[i];
        const best = row.best === v.version && versions.length > 1;
        const td = h('td', `jp-Lakebook-num${best ? ' jp-mod-best' : ''}`);
        const text = h('span', undefined, formatMetric(value));
        td.append(text);
        if (value !== null && versions.length > 1) {
          const bar = h('span', 'jp-Lakebook-barCell');
          bar.innerHTML = barSvg(row.scaled[i] ?? 0, 60, 6, best);
          td.append(bar);
        }
        if (best) {
          td.title = 'best';
        }
        tr.append(td);
      });
      tbody.append(tr);
    }
    for (const [label, cell] of [
      ['task', (v: IModelVersion) => v.task ?? '–'],
      ['flavour', (v: IModelVersion) => v.flavour ?? '–'],
      ['registered', (v: IModelVersion) => formatAgo(v.createdAt)],
      ['by', (v: IModelVersion) => v.createdBy ?? '–']
    ] as [string, (v: IModelVersion) => string][]) {
      const tr = h('tr', 'jp-Lakebook-compareInfo');
      const th = h('th', undefined, label);
      th.scope = 'row';
      tr.append(th, ...versions.map(v => h('td', undefined, cell(v))));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    const wrap = h('div', 'jp-Lakebook-scroll');
    wrap.append(t);
    this.node.replaceChildren(
      title,
      versions.length
        ? wrap
        : h('p', 'jp-Lakebook-empty', 'This model has no versions.'),
      h(
        'p',
        'jp-Lakebook-formHint',
        'Bars run from the worst (empty) to the best (full) version of each metric; move aliases from the Lakebook sidebar.'
      )
    );
  }

  private _client: LakebookClient;
}

export namespace ModelCompareView {
  export function create(options: { client: LakebookClient; name: string }): MainAreaWidget<ModelCompareView> {
    const content = new ModelCompareView(options);
    const widget = new MainAreaWidget({ content });
    widget.id = `lakebook-compare-${options.name}`;
    widget.title.label = `${options.name} (versions)`;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    widget.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload', onClick: () => void content.load() })
    );
    void content.load();
    return widget;
  }
}
