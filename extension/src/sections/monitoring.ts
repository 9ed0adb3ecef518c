import { IAlert, IMonitor, Verdict } from '../endpoints';
import { formatAgo, formatPercent, formatTime } from '../format';
import { describe } from '../json';
import { ResourceModel } from '../model';
import { KeyedList, ListSection, button, h, setBadge, setText } from './base';
import { ISidebarServices } from './services';

/**
 * What the monitoring section shows: the monitors, and the open alerts (null
 * when the server has no alerts endpoint).
 */
export interface IMonitoringState {
  monitors: IMonitor[];
  alerts: IAlert[] | null;
}

const VERDICT_LABELS: Record<Verdict, string> = {
  ok: 'no drift',
  drift: 'drift',
  failed: 'failed',
  skipped: 'skipped',
  unknown: 'not run'
};

/**
 * "Monitoring": each monitor's verdict with a colour and its latest drift
 * share; a click opens the Evidently report in a main-area tab.
 */
export class MonitoringSection extends ListSection<IMonitoringState> {
  constructor(options: MonitoringSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-monitoring',
      label: 'Monitoring',
      caption: 'Drift monitors and alerts',
      errorTitle: 'Could not load the monitors'
    });
    this.addClass('jp-Lakebook-monitoring');
    this._services = options.services;
    this._alertsBox = h('div', 'jp-Lakebook-alerts');
    this._alertsBox.setAttribute('aria-label', 'Alerts');
    this._alertsBox.hidden = true;
    const alertList = h('ul', 'jp-Lakebook-alertList');
    this._alertsBox.append(h('h3', 'jp-Lakebook-subheading', 'Alerts'), alertList);
    const list = h('ul', 'jp-Lakebook-list');
    list.setAttribute('aria-label', 'Monitors');
    this.content.append(list, this._alertsBox);
    this._list = new KeyedList<IMonitor>(list, {
      key: m => m.name,
      create: m => this._createRow(m)
    });
    this._alerts = new KeyedList<IAlert>(alertList, {
      key: a => String(a.id),
      create: alert => {
        let current = alert;
        const node = h('li', 'jp-Lakebook-alert');
        const text = h('span', 'jp-Lakebook-alertText');
        // the meta shrinks (its title keeps the time) so the button stays in view
        const when = h('span', 'jp-Lakebook-itemMeta jp-Lakebook-runMeta');
        const ack = button('Acknowledge', () => void this._acknowledge(current, ack), {
          className: 'jp-Lakebook-ackButton'
        });
        const footer = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
        footer.append(when, ack);
        node.append(text, footer);
        return {
          node,
          update: a => {
            current = a;
            node.dataset.alertId = String(a.id);
            setText(text, a.message);
            setText(when, `${a.monitor} · ${formatAgo(a.createdAt)}`);
            when.title = formatTime(a.createdAt);
            ack.title = `Acknowledge this alert of ${a.monitor} (it stays in the history)`;
            ack.setAttribute('aria-label', ack.title);
          }
        };
      }
    });
  }

  protected emptyText(data: IMonitoringState): string | null {
    return data.monitors.length
      ? null
      : 'No monitors yet: create one with lh.create_monitor(...) or %lakebook monitor.';
  }

  protected renderData(data: IMonitoringState): void {
    const drifting = data.monitors.filter(m => m.verdict === 'drift').length;
    this.setCount(
      data.monitors.length,
      `${data.monitors.length} monitors, ${drifting} drifting`
    );
    this._list.update(data.monitors);
    const open = (data.alerts ?? []).filter(a => !a.acknowledged).slice(0, 5);
    this._alertsBox.hidden = open.length === 0;
    this._alerts.update(open);
  }

  private async _acknowledge(alert: IAlert, control: HTMLButtonElement): Promise<void> {
    control.disabled = true;
    try {
      await this._services.client.acknowledgeAlert(alert.id);
      this._services.notify(`Acknowledged the alert of ${alert.monitor}.`, 'success');
    } catch (reason) {
      this._services.notify(describe(reason), 'error');
      control.disabled = false;
    }
    this._services.refreshAll();
  }

  private _createRow(monitor: IMonitor): KeyedList.IEntry<IMonitor> {
    let current = monitor;
    const item = h('li', 'jp-Lakebook-item jp-Lakebook-monitor');
    const open = h('button', 'jp-Lakebook-itemMain');
    open.type = 'button';
    const name = h('span', 'jp-Lakebook-itemName');
    const verdict = h('span');
    const line1 = h('span', 'jp-Lakebook-itemLine');
    line1.append(name, verdict);
    const share = h('span', 'jp-Lakebook-driftShare');
    const bar = h('span', 'jp-Lakebook-meter');
    const fill = h('span', 'jp-Lakebook-meterFill');
    bar.append(fill);
    bar.setAttribute('aria-hidden', 'true');
    const when = h('span', 'jp-Lakebook-itemMeta');
    const line2 = h('span', 'jp-Lakebook-itemLine');
    line2.append(share, bar);
    open.append(line1, line2, when);
    open.addEventListener('click', () => this._services.openReport(current));
    item.append(open);
    if (this._services.openLineage) {
      item.append(
        button(
          'Lineage',
          () => this._services.openLineage?.({ kind: 'monitor', name: current.name }, current.name),
          { className: 'jp-Lakebook-lineageButton', title: `Open the lineage of ${monitor.name}` }
        )
      );
    }
    return {
      node: item,
      update: m => {
        current = m;
        item.dataset.name = m.name;
        item.dataset.verdict = m.verdict;
        setText(name, m.name);
        setBadge(verdict, VERDICT_LABELS[m.verdict], `verdict-${m.verdict}`, m.reason ?? undefined);
        const columns =
          m.driftedColumns !== null && m.columns !== null
            ? ` (${m.driftedColumns} of ${m.columns} columns)`
            : m.driftedColumns
              ? ` (${m.driftedColumns} column${m.driftedColumns === 1 ? '' : 's'})`
              : '';
        share.title = m.driftedNames.length ? `Drifted: ${m.driftedNames.join(', ')}` : '';
        setText(
          share,
          m.driftShare !== null ? `drift share ${formatPercent(m.driftShare)}${columns}` : 'no result yet'
        );
        bar.hidden = m.driftShare === null;
        fill.style.width = `${Math.round(Math.min(1, Math.max(0, m.driftShare ?? 0)) * 100)}%`;
        fill.className = `jp-Lakebook-meterFill jp-mod-${m.verdict}`;
        setText(
          when,
          [m.watches, m.checkedAt ? `checked ${formatAgo(m.checkedAt)}` : '']
            .filter(Boolean)
            .join(' · ')
        );
        when.title = formatTime(m.checkedAt);
        open.disabled = m.reportPath === null;
        open.title = m.reportPath ? `Open the latest report of ${m.name}` : 'No report yet';
        open.setAttribute(
          'aria-label',
          `${m.name}: ${VERDICT_LABELS[m.verdict]}, drift share ${formatPercent(m.driftShare)}`
        );
      }
    };
  }

  private _alerts: KeyedList<IAlert>;
  private _alertsBox: HTMLElement;
  private _list: KeyedList<IMonitor>;
  private _services: ISidebarServices;
}

export namespace MonitoringSection {
  export interface IOptions {
    model: ResourceModel<IMonitoringState>;
    services: ISidebarServices;
  }
}
