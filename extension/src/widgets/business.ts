import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Panel, Widget } from '@lumino/widgets';

import { LakebookClient } from '../api';
import { IBusinessView } from '../endpoints';
import { lakebookIcon } from '../icons';
import { describe } from '../json';
import { h } from '../sections/base';
import { headlineText } from '../derive';

/** The Vega-Lite mimetype JupyterLab renders (with vega-embed) out of the box. */
export const VEGALITE_MIMETYPE = 'application/vnd.vegalite.v5+json';

/**
 * The business view of one deployment in the main area: the headline KPI, KPI
 * lines over time per version/arm with coverage and alert markers (the
 * server's Vega-Lite spec, drawn by JupyterLab's Vega renderer, i.e.
 * vega-embed), the arms' comparison and the KPI alerts.
 */
export class BusinessView extends Panel {
  constructor(options: BusinessView.IOptions) {
    super();
    this.addClass('jp-Lakebook-view');
    this.addClass('jp-Lakebook-businessView');
    this._client = options.client;
    this._rendermime = options.rendermime;
    this.name = options.name;
    this._header = new Widget({ node: h('header', 'jp-Lakebook-viewHeader') });
    this._chart = new Panel();
    this._chart.addClass('jp-Lakebook-businessChart');
    this._details = new Widget({ node: h('div', 'jp-Lakebook-viewBody') });
    this.addWidget(this._header);
    this.addWidget(this._chart);
    this.addWidget(this._details);
    this.node.tabIndex = 0;
  }

  readonly name: string;

  async load(): Promise<void> {
    try {
      const view = await this._client.business(this.name, this._every);
      await this._render(view);
    } catch (reason) {
      this._header.node.replaceChildren(
        h('span', 'jp-Lakebook-errorTitle', `Could not load the business view of ${this.name}`),
        h('span', 'jp-Lakebook-errorText', describe(reason))
      );
    }
  }

  private async _render(view: IBusinessView): Promise<void> {
    const title = h('h1', 'jp-Lakebook-viewTitle', `Business results of ${view.deployment}`);
    const picker = h('select', 'jp-mod-styled');
    picker.setAttribute('aria-label', 'Window');
    for (const [value, label] of [
      ['1d', 'per day'],
      ['1w', 'per week']
    ]) {
      const option = h('option', undefined, label);
      option.value = value;
      option.selected = value === this._every;
      picker.append(option);
    }
    picker.addEventListener('change', () => {
      this._every = picker.value;
      void this.load();
    });
    const headline = h('p', 'jp-Lakebook-viewDescription', headlineText(view.headline));
    this._header.node.replaceChildren(title, picker, headline);

    for (const widget of [...this._chart.widgets]) {
      widget.dispose();
    }
    if (!view.kpiRows) {
      this._chart.addWidget(
        new Widget({
          node: h('p', 'jp-Lakebook-placeholder', 'No predictions to measure yet.')
        })
      );
    } else if (this._rendermime?.mimeTypes.includes(VEGALITE_MIMETYPE)) {
      const renderer = this._rendermime.createRenderer(VEGALITE_MIMETYPE);
      renderer.addClass('jp-Lakebook-vega');
      this._chart.addWidget(renderer);
      await renderer.renderModel(
        new MimeModel({
          data: { [VEGALITE_MIMETYPE]: view.spec as ReadonlyPartialJSONObject },
          trusted: true
        })
      );
    } else {
      this._chart.addWidget(
        new Widget({
          node: h('p', 'jp-Lakebook-placeholder', 'This JupyterLab has no Vega-Lite renderer.')
        })
      );
    }
    this._details.node.replaceChildren(...comparison(view.comparison), ...alerts(view));
  }

  private _client: LakebookClient;
  private _rendermime: IRenderMimeRegistry | null;
  private _every = '1w';
  private _header: Widget;
  private _chart: Panel;
  private _details: Widget;
}

function fmt(value: unknown): string {
  return typeof value === 'number' ? value.toPrecision(4) : '–';
}

function comparison(result: IBusinessView['comparison']): HTMLElement[] {
  if (!result || !result.arms.length) {
    return [];
  }
  const table = h('table', 'jp-Lakebook-table jp-Lakebook-arms');
  const head = h('tr');
  for (const c of ['arm', 'version', 'predictions', 'with outcome', 'value', '95% interval']) {
    head.append(h('th', undefined, c));
  }
  table.append(head);
  for (const arm of result.arms) {
    const row = h('tr');
    for (const cell of [
      arm.arm,
      `v${arm.version}`,
      String(arm.n),
      String(arm.coverage),
      fmt(arm.value),
      `${fmt(arm.ci_low)} – ${fmt(arm.ci_high)}`
    ]) {
      row.append(h('td', undefined, cell));
    }
    table.append(row);
  }
  return [
    h('h2', 'jp-Lakebook-viewSubtitle', `Arms on ${result.kpi} (${result.method})`),
    table,
    h('p', 'jp-Lakebook-verdict', result.verdict)
  ];
}

function alerts(view: IBusinessView): HTMLElement[] {
  if (!view.alerts.length) {
    return [];
  }
  const list = h('ul', 'jp-Lakebook-list');
  for (const a of view.alerts) {
    list.append(h('li', 'jp-Lakebook-item jp-mod-bad', a.message));
  }
  return [h('h2', 'jp-Lakebook-viewSubtitle', 'KPI alerts'), list];
}

export namespace BusinessView {
  export interface IOptions {
    client: LakebookClient;
    rendermime: IRenderMimeRegistry | null;
    name: string;
  }

  export function create(options: IOptions): MainAreaWidget<BusinessView> {
    const content = new BusinessView(options);
    const widget = new MainAreaWidget({ content });
    widget.id = `lakebook-business-${options.name}`;
    widget.title.label = `${options.name} (business)`;
    widget.title.caption = `Business results of deployment ${options.name}`;
    widget.title.icon = lakebookIcon;
    widget.title.closable = true;
    void content.load();
    return widget;
  }
}
