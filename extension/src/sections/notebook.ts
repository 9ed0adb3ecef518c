import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  IStep,
  basename,
  isActiveStatus
} from '../endpoints';
import { formatAgo, formatDuration, formatTime } from '../format';
import { describe } from '../json';
import { ResourceModel } from '../model';
import { KeyedList, ListSection, badge, button, h, setBadge, setText } from './base';
import { INotebookState, IStepView, STATUS_LABELS, stepViews } from '../derive';

export { INotebookState };
import { ISidebarServices } from './services';

/**
 * The model of the "This notebook" section: follows the active notebook.
 */
export class NotebookStepsModel extends ResourceModel<INotebookState> {
  constructor(options: NotebookStepsModel.IOptions) {
    super({
      name: 'lakebook:notebook',
      refreshInterval: options.refreshInterval,
      fetch: async () => {
        const path = this._path;
        if (path === null) {
          throw new Error('No notebook is open.');
        }
        const [{ steps, tails }, schedules, runs] = await Promise.all([
          options.client.steps(path),
          options.client.schedules(),
          options.client.runs(50)
        ]);
        return { path, steps, tail: tails[0] ?? null, schedules, runs };
      },
      fastWhile: state =>
        stepViews(state).some(v => v.lastRun !== null && isActiveStatus(v.lastRun.status))
    });
  }

  /**
   * The active notebook (relative to the server root), or null.
   */
  get path(): string | null {
    return this._path;
  }
  set path(path: string | null) {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this.clear();
    if (path !== null && this.active) {
      void this.refresh();
    }
  }

  private _path: string | null = null;
}

export namespace NotebookStepsModel {
  export interface IOptions {
    client: ISidebarServices['client'];
    refreshInterval?: number;
  }
}

/**
 * What the section asks of the notebook it shows.
 */
export interface INotebookActions {
  /** Save the active notebook if it has unsaved changes (runs read the file). */
  saveIfDirty(): Promise<void>;
  /** Whether the active notebook has unsaved changes. */
  isDirty(): boolean;
}

/**
 * "This notebook": the steps of the active notebook with their type, name,
 * schedule and last run; run now, schedule or unschedule, open the last
 * output.
 */
export class NotebookSection extends ListSection<INotebookState, NotebookStepsModel> {
  constructor(options: NotebookSection.IOptions) {
    super({
      model: options.model,
      id: 'lakebook-section-notebook',
      label: 'This notebook',
      caption: 'The steps of the active notebook',
      errorTitle: 'Could not load the steps of this notebook'
    });
    this.addClass('jp-Lakebook-notebook');
    this._services = options.services;
    this._actions = options.actions;
    this._noNotebook = h(
      'p',
      'jp-Lakebook-empty',
      'Open a notebook to see its steps.'
    );
    this._notebookName = h('p', 'jp-Lakebook-notebookName');
    this._notebookName.hidden = true;
    this._unsaved = h(
      'p',
      'jp-Lakebook-formHint jp-Lakebook-unsaved',
      'Unsaved changes: steps are read from the saved notebook.'
    );
    this._unsaved.hidden = true;
    const list = h('ul', 'jp-Lakebook-list');
    list.setAttribute('aria-label', 'Steps of this notebook');
    // the cells after the last step: a whole-notebook run (a schedule of the notebook, `lakebook
    // run NOTEBOOK`) runs them too, and says why when they are not up to date
    this._tail = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-stepWhy jp-Lakebook-notebookTail');
    this._tail.hidden = true;
    this.content.append(list, this._tail);
    this.node.insertBefore(this._noNotebook, this.errorBox);
    this.node.insertBefore(this._notebookName, this.errorBox);
    this.node.insertBefore(this._unsaved, this.errorBox);
    this._list = new KeyedList<IStepView>(list, {
      key: v => `${v.step.kind}:${v.step.name}`,
      create: v => this._createRow(v)
    });
  }

  protected render(): void {
    const path = this.model.path;
    this._noNotebook.hidden = path !== null;
    this._notebookName.hidden = path === null;
    setText(this._notebookName, path === null ? '' : basename(path));
    this._notebookName.title = path ?? '';
    this._unsaved.hidden = path === null || !this._actions.isDirty();
    if (path === null) {
      this.errorBox.hidden = true;
      this.placeholder.hidden = true;
      this.empty.hidden = true;
      this.content.hidden = true;
      this.setCount(null);
      return;
    }
    const data = this.model.data;
    if (data !== null && data.path !== path) {
      // An answer about the previous notebook: wait for the current one.
      this.placeholder.hidden = false;
      this.content.hidden = true;
      return;
    }
    super.render();
  }

  protected emptyText(data: INotebookState): string | null {
    return data.steps.length
      ? null
      : 'No steps in this notebook: mark a cell with %%feature, %%training or %%inference (right-click a cell, or use its toolbar).';
  }

  protected renderData(data: INotebookState): void {
    this.content.hidden = data.steps.length === 0;
    this.setCount(data.steps.length, `${data.steps.length} steps in ${basename(data.path)}`);
    this._list.update(stepViews(data));
    const tail = data.tail;
    this._tail.hidden = tail === null;
    if (tail !== null) {
      const first = tail.firstIndex + 1;
      const last = tail.index + 1;
      const where = first === last ? `Cell ${last}` : `Cells ${first}–${last}`;
      const verdict = tail.upToDate
        ? 'up to date: a run of the whole notebook skips them'
        : `a run of the whole notebook would run them: ${tail.reasons.join('; ')}`;
      setText(this._tail, `${where}, after the last step · ${verdict}`);
      this._tail.title =
        `${tail.ref}: the code after the notebook's last step. A run of the whole notebook ` +
        'runs it; a run of one step stops at that step.' +
        (tail.upToDate ? '' : `\n${tail.reasons.join('\n')}`);
    }
  }

  private _createRow(view: IStepView): KeyedList.IEntry<IStepView> {
    let current = view;
    const item = h('li', 'jp-Lakebook-item jp-Lakebook-step');
    const kind = badge(view.step.kind, `kind-${view.step.kind}`);
    const name = h('span', 'jp-Lakebook-itemName');
    const lastStatus = h('span', 'jp-Lakebook-push');
    const line1 = h('div', 'jp-Lakebook-itemLine jp-mod-nowrap');
    line1.append(kind, name, lastStatus);
    const schedule = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-stepSchedule');
    const lastWhen = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-lastRun');
    const actions = h('div', 'jp-Lakebook-actionsRow');
    const run = button('Run now', () => void this._runNow(current.step), {
      className: 'jp-mod-accept jp-Lakebook-runNow'
    });
    const sched = button('Schedule…', () => void this._scheduleOrNot(current));
    const output = button('Output', () => {
      if (current.lastOutput) {
        void this._services.openRunOutput(current.lastOutput);
      }
    });
    const why = h('div', 'jp-Lakebook-itemMeta jp-Lakebook-stepWhy');
    actions.append(run, sched, output);
    if (this._services.openLineage) {
      actions.append(
        button('Lineage', () => {
          const s = current.step;
          const nb = s.notebook.split('/').pop() ?? s.notebook;
          this._services.openLineage?.({ kind: 'step', name: `${nb}::${s.kind}:${s.name}` }, s.name);
        }, { className: 'jp-Lakebook-lineageButton', title: 'Open the lineage of this step' })
      );
    }
    item.append(line1, schedule, lastWhen, why, actions);
    return {
      node: item,
      update: v => {
        current = v;
        const s = v.step;
        item.dataset.step = s.name;
        item.dataset.kind = s.kind;
        setBadge(kind, s.kind, `kind-${s.kind}`);
        setText(name, s.name);
        const where = `cell ${s.index + 1}`;
        const scheduled = v.schedules[0];
        if (scheduled) {
          setText(
            schedule,
            `${scheduled.cron} (${scheduled.timezone})` +
              (scheduled.paused ? ' · paused' : ` · next ${formatAgo(scheduled.nextRunAt)}`)
          );
          schedule.title = `Schedule ${scheduled.name}; next run ${formatTime(scheduled.nextRunAt)}`;
        } else if (s.schedule) {
          setText(schedule, `--schedule ${s.schedule}${s.tz ? ` (${s.tz})` : ''}: saved when the cell runs`);
          schedule.title = '';
        } else {
          setText(schedule, 'not scheduled');
          schedule.title = '';
        }
        if (v.lastRun) {
          setBadge(lastStatus, STATUS_LABELS[v.lastRun.status], `status-${v.lastRun.status}`);
          setText(
            lastWhen,
            `${where} · last run ${formatAgo(v.lastRun.startedAt ?? v.lastRun.queuedAt)}` +
              (v.lastRun.durationS !== null && !isActiveStatus(v.lastRun.status)
                ? `, took ${formatDuration(v.lastRun.durationS)}`
                : '')
          );
          lastWhen.title = formatTime(v.lastRun.startedAt ?? v.lastRun.queuedAt);
        } else {
          setBadge(lastStatus, 'never run', 'status-none');
          setText(lastWhen, `${where} · never run`);
        }
        // why a run now would (or would not) execute the step: its fingerprint's verdict
        if (s.upToDate === true) {
          setText(why, 'up to date: a run now skips it');
          why.title = 'Code, parameters, inputs and packages are as in its last successful run';
        } else if (s.upToDate === false && s.reasons && s.reasons.length) {
          setText(why, `would run: ${s.reasons.join('; ')}`);
          why.title = s.reasons.join('\n');
        } else {
          setText(why, '');
        }
        why.hidden = !why.textContent;
        const active = v.lastRun !== null && isActiveStatus(v.lastRun.status);
        run.disabled = active || this._starting.has(s.name);
        setText(run, active ? 'Running…' : 'Run now');
        const label = `${s.kind} step ${s.name}`;
        run.title = `Run ${label} now (the cells before it, then the step)`;
        setText(sched, scheduled ? 'Unschedule' : 'Schedule…');
        sched.title = scheduled ? `Remove the schedule of ${label}` : `Run ${label} on a schedule`;
        output.disabled = v.lastOutput === null;
        output.title = v.lastOutput
          ? `Open the executed notebook of the last run of ${label}`
          : 'No run has finished yet';
        for (const b of [run, sched, output]) {
          b.setAttribute('aria-label', b.title);
        }
      }
    };
  }

  private async _runNow(step: IStep): Promise<void> {
    const path = this.model.path;
    if (path === null) {
      return;
    }
    this._starting.add(step.name);
    this.update();
    try {
      await this._actions.saveIfDirty();
      const run = await this._services.client.runNow(path, `${step.kind}:${step.name}`);
      this._services.notify(`Started ${run.label}.`, 'info');
    } catch (reason) {
      this._services.notify(`Could not run ${step.name}: ${describe(reason)}`, 'error');
    } finally {
      this._starting.delete(step.name);
    }
    this._services.refreshAll();
  }

  private async _scheduleOrNot(view: IStepView): Promise<void> {
    const path = this.model.path;
    if (path === null) {
      return;
    }
    const step = view.step;
    try {
      if (view.schedules.length) {
        for (const s of view.schedules) {
          await this._services.client.deleteSchedule(s.id);
        }
        this._services.notify(`${step.name} is no longer scheduled.`, 'success');
      } else {
        const body = new ScheduleForm(step);
        const answer = await showDialog({
          title: `Schedule ${step.kind} step ${step.name}`,
          body,
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Schedule' })],
          focusNodeSelector: 'input'
        });
        if (!answer.button.accept || !answer.value) {
          return;
        }
        await this._actions.saveIfDirty();
        const schedule = await this._services.client.schedule({
          notebook: path,
          step: `${step.kind}:${step.name}`,
          ...answer.value
        });
        this._services.notify(
          `Scheduled ${step.name}: ${schedule.cron} (${schedule.timezone}), next run ${formatAgo(schedule.nextRunAt)}.`,
          'success'
        );
      }
    } catch (reason) {
      this._services.notify(describe(reason), 'error');
    }
    this._services.refreshAll();
  }

  private _actions: INotebookActions;
  private _list: KeyedList<IStepView>;
  private _tail: HTMLElement;
  private _noNotebook: HTMLElement;
  private _notebookName: HTMLElement;
  private _unsaved: HTMLElement;
  private _services: ISidebarServices;
  private _starting = new Set<string>();
}

export namespace NotebookSection {
  export interface IOptions {
    model: NotebookStepsModel;
    services: ISidebarServices;
    actions: INotebookActions;
  }
}

/**
 * Common cron expressions offered in the schedule dialog.
 */
export const CRON_PRESETS: [string, string][] = [
  ['0 * * * *', 'every hour'],
  ['0 6 * * *', 'every day at 06:00'],
  ['*/15 * * * *', 'every 15 minutes'],
  ['0 6 * * 1', 'every Monday at 06:00'],
  ['0 0 1 * *', 'on the first of every month']
];

/**
 * The body of the schedule dialog: a cron expression and a timezone.
 */
export class ScheduleForm extends Widget implements Dialog.IBodyWidget<{ cron: string; tz: string }> {
  constructor(step: IStep) {
    super({ node: h('form', 'jp-Lakebook-form') });
    const cronId = `lakebook-cron-${ScheduleForm._ids++}`;
    this._cron = h('input', 'jp-mod-styled');
    this._cron.id = cronId;
    this._cron.name = 'cron';
    this._cron.required = true;
    this._cron.value = step.schedule ?? '0 6 * * *';
    this._cron.setAttribute('list', `${cronId}-presets`);
    this._cron.spellcheck = false;
    const presets = h('datalist');
    presets.id = `${cronId}-presets`;
    for (const [cron, text] of CRON_PRESETS) {
      const option = h('option', undefined, text);
      option.value = cron;
      presets.append(option);
    }
    this._tz = h('input', 'jp-mod-styled');
    this._tz.id = `${cronId}-tz`;
    this._tz.name = 'tz';
    this._tz.required = true;
    this._tz.value = step.tz ?? localTimeZone();
    this._tz.spellcheck = false;
    const cronLabel = h('label', undefined, 'Cron expression (minute hour day month weekday)');
    cronLabel.htmlFor = cronId;
    const tzLabel = h('label', undefined, 'Timezone (IANA name, e.g. Europe/Amsterdam)');
    tzLabel.htmlFor = this._tz.id;
    this.node.append(
      cronLabel,
      this._cron,
      presets,
      tzLabel,
      this._tz,
      h(
        'p',
        'jp-Lakebook-formHint',
        'Each run executes a copy of the saved notebook (the cells before the step, then the step) with papermill and gets the window since the previous run.'
      )
    );
    this.node.addEventListener('submit', event => event.preventDefault());
  }

  getValue(): { cron: string; tz: string } {
    return { cron: this._cron.value.trim(), tz: this._tz.value.trim() || 'UTC' };
  }

  private static _ids = 0;
  private _cron: HTMLInputElement;
  private _tz: HTMLInputElement;
}

function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
