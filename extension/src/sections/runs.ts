import { Dialog, showDialog } from '@jupyterlab/apputils';

import { IPipeline, IRun, ISchedule, isActiveStatus, stepLabel } from '../endpoints';
import { STATUS_LABELS, lastRunByPipeline, lastRunBySchedule, runFraction } from '../derive';

export { hasActiveRuns } from '../derive';
import { formatAgo, formatDuration, formatTime } from '../format';
import { describe } from '../json';
import { ResourceModel } from '../model';
import { KeyedList, ListSection, button, h, setBadge, setText } from './base';
import { ISidebarServices } from './services';

/**
 * What the pipelines section shows.
 */
export interface IPipelinesState {
  schedules: ISchedule[];
  runs: IRun[];
  /** The named pipelines; null when the server has no such endpoint. */
  pipelines?: IPipeline[] | null;
}

/**
 * "Pipelines and runs": the named pipelines (their steps in order, last run,
 * run now), the schedules (next run, paused, last status) and the run history
 * with live progress; runs open read-only, can be cancelled and run again.
 */
export class PipelinesSection extends ListSection<IPipelinesState> {
  constructor(options: PipelinesSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-pipelines',
      label: 'Pipelines and runs',
      caption: 'Schedules and the run history',
      errorTitle: 'Could not load the schedules and runs'
    });
    this.addClass('jp-Lakebook-pipelines');
    this._services = options.services;

    this._pipelinesBox = h('div', 'jp-Lakebook-namedPipelines');
    this._pipelinesBox.hidden = true;
    const pipelines = h('ul', 'jp-Lakebook-list jp-Lakebook-pipelineList');
    pipelines.setAttribute('aria-label', 'Pipelines');
    this._pipelinesBox.append(h('h3', 'jp-Lakebook-subheading', 'Pipelines'), pipelines);
    this._pipelines = new KeyedList<[IPipeline, IRun | undefined]>(pipelines, {
      key: ([p]) => p.name,
      create: ([p]) => this._pipelineRow(p)
    });
    this._schedulesHeading = h('h3', 'jp-Lakebook-subheading', 'Schedules');
    const schedules = h('ul', 'jp-Lakebook-list jp-Lakebook-schedules');
    schedules.setAttribute('aria-label', 'Schedules');
    this._noSchedules = h(
      'p',
      'jp-Lakebook-empty',
      'No schedules: schedule a step from "This notebook", or add --schedule to its magic.'
    );
    const runs = h('ul', 'jp-Lakebook-list jp-Lakebook-runs');
    runs.setAttribute('aria-label', 'Runs');
    this._noRuns = h('p', 'jp-Lakebook-empty', 'No runs yet.');
    this.content.append(
      this._pipelinesBox,
      this._schedulesHeading,
      this._noSchedules,
      schedules,
      h('h3', 'jp-Lakebook-subheading', 'Recent runs'),
      this._noRuns,
      runs
    );
    this._schedules = new KeyedList<[ISchedule, IRun | undefined]>(schedules, {
      key: ([s]) => String(s.id),
      create: ([s]) => this._scheduleRow(s)
    });
    this._runs = new KeyedList<IRun>(runs, {
      key: r => r.id,
      create: r => this._runRow(r)
    });
  }

  protected emptyText(data: IPipelinesState): string | null {
    return data.schedules.length || data.runs.length || data.pipelines?.length
      ? null
      : 'No schedules or runs yet: run or schedule a step from "This notebook".';
  }

  protected renderData(data: IPipelinesState): void {
    const active = data.runs.filter(r => isActiveStatus(r.status)).length;
    this.setCount(
      data.runs.length,
      `${data.schedules.length} schedules, ${data.runs.length} recent runs, ${active} in progress`
    );
    const pipelines = data.pipelines ?? [];
    const lastOfPipeline = lastRunByPipeline(pipelines, data.runs);
    this._pipelinesBox.hidden = pipelines.length === 0;
    this._pipelines.update(pipelines.map(p => [p, lastOfPipeline.get(p.name)]));
    const last = lastRunBySchedule(data.runs);
    this._noSchedules.hidden = data.schedules.length > 0;
    this._schedules.update(data.schedules.map(s => [s, last.get(s.id)]));
    this._noRuns.hidden = data.runs.length > 0;
    this._runs.update(data.runs.slice(0, PipelinesSection.MAX_RUNS));
  }

  private _pipelineRow(pipeline: IPipeline): KeyedList.IEntry<[IPipeline, IRun | undefined]> {
    let current = pipeline;
    const { item, state, line1, rename } = titledItem('jp-Lakebook-pipeline');
    const steps = h('ol', 'jp-Lakebook-pipelineSteps');
    steps.setAttribute('aria-label', 'Steps in run order');
    const meta = h('span', 'jp-Lakebook-itemMeta jp-Lakebook-runMeta');
    const actions = h('span', 'jp-Lakebook-actionsInline jp-Lakebook-push');
    const footer = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
    footer.append(meta, actions);
    const run = button('Run now', () => void this._act(
      () => this._services.client.runPipeline(current.name),
      `Started pipeline ${current.name}.`
    ));
    actions.append(run);
    item.append(line1, steps, footer);
    return {
      node: item,
      update: ([p, lastRun]) => {
        current = p;
        rename(p.name);
        if (lastRun) {
          lastRunBadge(state, lastRun);
        } else {
          setBadge(state, 'not run', 'active');
        }
        steps.replaceChildren(...p.steps.map(s => {
          const li = h('li', 'jp-Lakebook-pipelineStep', stepLabel(s));
          li.title = `${s.step} in ${s.notebook}`;
          return li;
        }));
        setText(meta, [
          `${p.steps.length} step${p.steps.length === 1 ? '' : 's'}`,
          lastRun ? `last run ${formatAgo(lastRun.queuedAt)}` : ''
        ].filter(Boolean).join(' · '));
        run.title = `Run pipeline ${p.name} now`;
        run.setAttribute('aria-label', run.title);
        run.disabled = lastRun !== undefined && isActiveStatus(lastRun.status);
      }
    };
  }

  private _scheduleRow(schedule: ISchedule): KeyedList.IEntry<[ISchedule, IRun | undefined]> {
    let current = schedule;
    const { item, state, line1, rename } = titledItem('jp-Lakebook-schedule');
    const cron = h('div', 'jp-Lakebook-itemMeta');
    const next = h('span', 'jp-Lakebook-itemMeta jp-Lakebook-runMeta');
    const actions = h('span', 'jp-Lakebook-actionsInline jp-Lakebook-push');
    const footer = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
    footer.append(next, actions);
    const pause = button('Pause', () => void this._act(
      () => this._services.client.pauseSchedule(current.id, !current.paused),
      `${current.paused ? 'Resumed' : 'Paused'} ${current.name}.`
    ));
    const remove = button('Remove', () => void this._removeSchedule(current));
    actions.append(pause, remove);
    item.append(line1, cron, footer);
    return {
      node: item,
      update: ([s, lastRun]) => {
        current = s;
        rename(s.name);
        if (s.paused) {
          setBadge(state, 'paused', 'paused');
        } else if (lastRun) {
          lastRunBadge(state, lastRun);
        } else {
          setBadge(state, 'active', 'active');
        }
        setText(cron, `${s.cron} (${s.timezone})`);
        setText(
          next,
          s.paused ? 'no runs until resumed' : `next run ${formatAgo(s.nextRunAt)}`
        );
        next.title = formatTime(s.nextRunAt);
        setText(pause, s.paused ? 'Resume' : 'Pause');
        pause.title = `${s.paused ? 'Resume' : 'Pause'} schedule ${s.name}`;
        pause.setAttribute('aria-label', pause.title);
        remove.title = `Remove schedule ${s.name}`;
        remove.setAttribute('aria-label', remove.title);
      }
    };
  }

  private _runRow(run: IRun): KeyedList.IEntry<IRun> {
    let current = run;
    const item = h('li', 'jp-Lakebook-item jp-Lakebook-run');
    const open = h('button', 'jp-Lakebook-itemMain');
    open.type = 'button';
    const label = h('span', 'jp-Lakebook-itemName');
    const status = h('span', 'jp-Lakebook-push');
    const line1 = h('span', 'jp-Lakebook-itemLine jp-mod-nowrap');
    line1.append(label, status);
    const progress = h('span', 'jp-Lakebook-progress');
    progress.setAttribute('role', 'progressbar');
    progress.setAttribute('aria-valuemin', '0');
    progress.setAttribute('aria-valuemax', '100');
    const fill = h('span', 'jp-Lakebook-progressFill');
    progress.append(fill);
    const meta = h('span', 'jp-Lakebook-itemMeta jp-Lakebook-runMeta');
    const error = h('span', 'jp-Lakebook-runError');
    open.append(line1, progress, error);
    open.addEventListener('click', () => {
      if (current.outputPath) {
        void this._services.openRunOutput(current);
      }
    });
    const footer = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
    const actions = h('span', 'jp-Lakebook-actionsInline jp-Lakebook-push');
    footer.append(meta, actions);
    const cancel = button('Cancel', () => void this._act(
      () => this._services.client.cancelRun(current.id),
      `Asked run ${current.label} to stop.`
    ));
    const rerun = button('Run again', () => void this._act(
      () => this._services.client.rerun(current.id),
      `Started ${current.label} again.`
    ));
    actions.append(cancel, rerun);
    item.append(open, footer);
    return {
      node: item,
      update: r => {
        current = r;
        item.dataset.runId = r.id;
        item.dataset.status = r.status;
        setText(label, r.label);
        setBadge(status, STATUS_LABELS[r.status], `status-${r.status}`);
        const active = isActiveStatus(r.status);
        const fraction = runFraction(r);
        progress.hidden = !active;
        progress.classList.toggle('jp-mod-indeterminate', active && fraction === null);
        const percent = Math.round((fraction ?? 0) * 100);
        fill.style.width = `${percent}%`;
        progress.setAttribute('aria-valuenow', String(percent));
        const cells =
          r.progress && r.progress.cells
            ? `cell ${Math.min(r.progress.done + (active ? 1 : 0), r.progress.cells)}/${r.progress.cells}`
            : '';
        progress.setAttribute('aria-label', `Progress of ${r.label}: ${cells || 'starting'}`);
        const parts = [
          active ? cells || 'starting' : '',
          r.startedAt ? formatDuration(r.durationS) : '',
          formatAgo(r.startedAt ?? r.queuedAt),
          r.maxAttempts > 1 ? `attempt ${r.attempt}/${r.maxAttempts}` : ''
        ].filter(Boolean);
        setText(meta, parts.join(' · '));
        meta.title = `Queued ${formatTime(r.queuedAt)}`;
        error.hidden = r.error === null;
        setText(
          error,
          r.error
            ? `${r.error.cellIndex !== null ? `cell ${r.error.cellIndex}: ` : ''}${r.error.ename}: ${r.error.evalue}`
            : ''
        );
        open.disabled = !r.outputPath;
        open.title = r.outputPath
          ? `Open the executed notebook of ${r.label} (read-only)`
          : 'No executed notebook yet';
        cancel.hidden = !active;
        cancel.disabled = r.cancelRequested;
        rerun.hidden = active;
        cancel.title = `Cancel run ${r.label}`;
        rerun.title = `Run ${r.label} again`;
        cancel.setAttribute('aria-label', cancel.title);
        rerun.setAttribute('aria-label', rerun.title);
      }
    };
  }

  private async _removeSchedule(schedule: ISchedule): Promise<void> {
    const answer = await showDialog({
      title: 'Remove schedule',
      body: `Remove schedule "${schedule.name}" (${schedule.cron}, ${schedule.timezone})? Its queued runs are cancelled.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (answer.button.accept) {
      await this._act(
        () => this._services.client.deleteSchedule(schedule.id),
        `Removed schedule ${schedule.name}.`
      );
    }
  }

  private async _act(action: () => Promise<unknown>, done: string): Promise<void> {
    try {
      await action();
      this._services.notify(done, 'success');
    } catch (reason) {
      this._services.notify(describe(reason), 'error');
    }
    this._services.refreshAll();
  }

  static readonly MAX_RUNS = 15;

  private _noRuns: HTMLElement;
  private _pipelines: KeyedList<[IPipeline, IRun | undefined]>;
  private _pipelinesBox: HTMLElement;
  private _noSchedules: HTMLElement;
  private _runs: KeyedList<IRun>;
  private _schedules: KeyedList<[ISchedule, IRun | undefined]>;
  private _schedulesHeading: HTMLElement;
  private _services: ISidebarServices;
}

/**
 * The badge of a pipeline's or schedule's latest run.
 */
function lastRunBadge(node: HTMLElement, run: IRun): void {
  setBadge(node, STATUS_LABELS[run.status], `status-${run.status}`,
    `Last run ${formatAgo(run.queuedAt)}`);
}

/**
 * A list item whose first line is a name and a state badge.
 */
function titledItem(className: string): {
  item: HTMLElement;
  state: HTMLElement;
  line1: HTMLElement;
  /** Show `text` as the name (and key the item by it for the tests). */
  rename: (text: string) => void;
} {
  const item = h('li', `jp-Lakebook-item ${className}`);
  const name = h('span', 'jp-Lakebook-itemName');
  const state = h('span');
  const line1 = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
  line1.append(name, state);
  const rename = (text: string) => {
    item.dataset.name = text;
    setText(name, text);
  };
  return { item, state, line1, rename };
}

export namespace PipelinesSection {
  export interface IOptions {
    model: ResourceModel<IPipelinesState>;
    services: ISidebarServices;
  }
}
