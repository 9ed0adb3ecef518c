import { IDeployment } from '../endpoints';
import { formatAgo, formatCount, formatLatency, formatTime } from '../format';
import { ResourceModel } from '../model';
import { KeyedList, ListSection, badge, button, h, setBadge, setText } from './base';
import { headlineText, servedText } from '../derive';
import { ISidebarServices } from './services';

/**
 * "Deployments": endpoint, the model version served, request count and the
 * last latency figures of every deployment.
 */
export class DeploymentsSection extends ListSection<IDeployment[]> {
  constructor(options: DeploymentsSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-deployments',
      label: 'Deployments',
      caption: 'Model deployments and their traffic',
      errorTitle: 'Could not load the deployments'
    });
    this.addClass('jp-Lakebook-deployments');
    const list = h('ul', 'jp-Lakebook-list');
    list.setAttribute('aria-label', 'Deployments');
    this.content.append(list);
    this._list = new KeyedList<IDeployment>(list, {
      key: d => d.name,
      create: () => createRow(options.services)
    });
  }

  protected emptyText(data: IDeployment[]): string | null {
    return data.length
      ? null
      : 'No deployments yet: mark a cell with %%inference, or call lh.deploy().';
  }

  protected renderData(data: IDeployment[]): void {
    this.setCount(data.length, `${data.length} deployments`);
    this._list.update(data);
  }

  private _list: KeyedList<IDeployment>;
}

export namespace DeploymentsSection {
  export interface IOptions {
    model: ResourceModel<IDeployment[]>;
    /** Opens the business view of a deployment (its KPI row links to it). */
    services?: ISidebarServices;
  }
}

function createRow(services?: ISidebarServices): KeyedList.IEntry<IDeployment> {
  const item = h('li', 'jp-Lakebook-item jp-Lakebook-deployment');
  item.tabIndex = 0;
  const name = h('span', 'jp-Lakebook-itemName');
  const kind = badge('online', 'kind');
  const line1 = h('div', 'jp-Lakebook-itemLine');
  line1.append(name, kind);
  let current = '';
  // the deployment's lineage: the model versions it served, their training data, monitors
  const lineage = services?.openLineage
    ? button('Lineage', () => services.openLineage?.({ kind: 'deployment', name: current }, current), {
        className: 'jp-Lakebook-lineageButton jp-Lakebook-push'
      })
    : null;
  if (lineage) {
    line1.append(lineage);
  }
  const served = h('div', 'jp-Lakebook-itemLine jp-Lakebook-served');
  const endpoint = h('code', 'jp-Lakebook-endpoint');
  const figures = h('dl', 'jp-Lakebook-figures');
  const requests = h('dd');
  const errors = h('dd');
  const p50 = h('dd');
  const p99 = h('dd');
  for (const [term, value] of [
    ['requests', requests],
    ['errors', errors],
    ['p50', p50],
    ['p99', p99]
  ] as [string, HTMLElement][]) {
    const cell = h('div', 'jp-Lakebook-figure');
    cell.append(value, h('dt', undefined, term));
    figures.append(cell);
  }
  const last = h('div', 'jp-Lakebook-itemMeta');
  // shown only when the inference log could not write some rows (issue 24)
  const dead = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-deadLetters jp-mod-bad');
  dead.hidden = true;
  // shown only when this environment differs from the model's training one (issue 17)
  const env = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-envMismatch jp-mod-bad');
  env.hidden = true;
  // the headline business KPI (issue 18); a click opens the business view
  const kpi = h('button', 'jp-Lakebook-itemMeta jp-Lakebook-kpiHeadline');
  kpi.hidden = true;
  kpi.addEventListener('click', event => {
    event.stopPropagation();
    services?.openBusiness?.(current);
  });
  item.append(line1, served, endpoint, figures, kpi, dead, env, last);
  return {
    node: item,
    update: d => {
      item.dataset.name = d.name;
      current = d.name;
      if (lineage) {
        lineage.title = `Open the lineage of ${d.name}`;
        lineage.setAttribute('aria-label', lineage.title);
      }
      kpi.hidden = !d.headline;
      setText(kpi, headlineText(d.headline));
      kpi.classList.toggle('jp-mod-up', d.headline?.trend === 'up');
      kpi.classList.toggle('jp-mod-down', d.headline?.trend === 'down');
      kpi.title = d.headline
        ? `Latest weekly ${d.headline.kpi}; open the business view of ${d.name}`
        : '';
      setText(name, d.name);
      setBadge(kind, d.kind, 'kind');
      setText(served, servedText(d));
      setText(endpoint, d.endpoint);
      endpoint.title = `POST ${d.endpoint}`;
      setText(requests, formatCount(d.requests));
      setText(errors, formatCount(d.errors));
      errors.classList.toggle('jp-mod-bad', d.errors > 0);
      dead.hidden = d.deadLetters === 0;
      setText(
        dead,
        d.deadLetters
          ? `${formatCount(d.deadLetters)} logged predictions not written (dead letters)`
          : ''
      );
      dead.title = 'Kept in the dead-letter file of the lakehouse home; see the alert';
      const pairs = Object.entries(d.environmentMismatch ?? {});
      env.hidden = pairs.length === 0;
      setText(
        env,
        pairs.length
          ? `trained with other packages: ${pairs.map(([p, [a, b]]) => `${p} ${a} → ${b ?? 'missing'}`).join(', ')}`
          : ''
      );
      env.title = 'Install the versions of the model version\'s requirements() where it is served';
      setText(p50, formatLatency(d.latencyP50Ms));
      setText(p99, formatLatency(d.latencyP99Ms));
      setText(
        last,
        d.lastRequestAt ? `last request ${formatAgo(d.lastRequestAt)}` : 'no requests yet'
      );
      last.title = formatTime(d.lastRequestAt);
      item.setAttribute(
        'aria-label',
        `${d.name}: ${servedText(d)}, ${d.requests} requests`
      );
    }
  };
}
