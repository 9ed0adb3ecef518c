import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { STEP_KINDS, StepKind } from './endpoints';
import { lakebookIcon } from './icons';
import {
  IStepSpec,
  LOAD_EXT_LINE,
  buildMagicLine,
  parseMagicLine,
  planLoadExt,
  stepKindOf,
  validateSpec,
  withMagicLine
} from './magic';
import { h } from './sections/base';

/**
 * Command ids of the cell actions.
 */
export namespace CellCommandIDs {
  /** The cell toolbar button: asks for the step's kind too. */
  export const makeStep = 'lakebook:make-step';
  export const makeFeatureStep = 'lakebook:make-feature-step';
  export const makeTrainingStep = 'lakebook:make-training-step';
  export const makeInferenceStep = 'lakebook:make-inference-step';
}

const KIND_COMMANDS: Record<StepKind, string> = {
  feature: CellCommandIDs.makeFeatureStep,
  training: CellCommandIDs.makeTrainingStep,
  inference: CellCommandIDs.makeInferenceStep
};

const KIND_HELP: Record<StepKind, string> = {
  feature: 'The cell\'s last expression (a DataFrame) is inserted into the feature group.',
  training: 'The cell trains `model` on the view\'s training split; the fitted model is registered.',
  inference: 'The cell scores the newest feature rows with the model and logs them for monitoring.'
};

/**
 * Add the "Make … step" commands, their context-menu items and the step
 * badges on notebook cells.
 */
export function setupCellActions(
  app: JupyterFrontEnd,
  tracker: INotebookTracker
): void {
  const isCodeCell = () => tracker.activeCell?.model.type === 'code';

  app.commands.addCommand(CellCommandIDs.makeStep, {
    label: 'Make Lakebook Step…',
    caption: 'Turn this cell into a feature, training or inference step',
    icon: lakebookIcon,
    isEnabled: isCodeCell,
    isVisible: isCodeCell,
    execute: () => makeStep(tracker, null)
  });
  for (const kind of STEP_KINDS) {
    app.commands.addCommand(KIND_COMMANDS[kind], {
      label: `Make ${kind} step`,
      caption: `Mark this cell with %%${kind}`,
      isEnabled: isCodeCell,
      isVisible: isCodeCell,
      execute: () => makeStep(tracker, kind)
    });
  }

  app.contextMenu.addItem({
    type: 'separator',
    selector: '.jp-Notebook .jp-CodeCell',
    rank: 60
  });
  STEP_KINDS.forEach((kind, i) =>
    app.contextMenu.addItem({
      command: KIND_COMMANDS[kind],
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 60.1 + i / 10
    })
  );

  const badges = new StepBadges();
  tracker.forEach(panel => badges.watch(panel));
  tracker.widgetAdded.connect((_, panel) => badges.watch(panel));
}

/**
 * Ask for the step's details and write the magic line into the active cell.
 */
async function makeStep(tracker: INotebookTracker, kind: StepKind | null): Promise<void> {
  const panel = tracker.currentWidget;
  const cell = tracker.activeCell;
  if (!panel || !cell || cell.model.type !== 'code') {
    return;
  }
  const source = cell.model.sharedModel.getSource();
  const existing = parseMagicLine(source);
  let spec: IStepSpec = existing && (!kind || existing.kind === kind)
    ? existing
    : { kind: kind ?? existing?.kind ?? 'feature', name: '' };
  let problem: string | null = null;
  for (;;) {
    const form = new StepForm(spec, kind === null, problem);
    const answer = await showDialog({
      title: kind ? `Make ${kind} step` : 'Make Lakebook step',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: existing ? 'Update' : 'Insert' })],
      focusNodeSelector: 'input[name="name"]'
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    spec = answer.value;
    problem = validateSpec(spec);
    if (!problem) {
      break;
    }
  }
  applyStep(panel, cell, buildMagicLine(spec));
}

/**
 * Write `line` at the top of `cell`, and load the extension in the notebook
 * when no cell does yet.
 */
export function applyStep(panel: NotebookPanel, cell: Cell, line: string): void {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    return;
  }
  const cells = Array.from({ length: model.cells.length }, (_, i) => model.cells.get(i));
  const target = cells.indexOf(cell.model);
  const plan = planLoadExt(
    cells.map(c => ({ type: c.type, source: c.sharedModel.getSource() })),
    target
  );
  model.sharedModel.transact(() => {
    cell.model.sharedModel.setSource(withMagicLine(cell.model.sharedModel.getSource(), line));
    if (plan?.action === 'prepend') {
      const first = cells[plan.index].sharedModel;
      first.setSource(`${LOAD_EXT_LINE}\n${first.getSource()}`);
    } else if (plan?.action === 'insert') {
      model.sharedModel.insertCell(plan.index, {
        cell_type: 'code',
        source: LOAD_EXT_LINE,
        metadata: {}
      });
    }
  });
}

/**
 * The body of the step dialog.
 */
export class StepForm extends Widget implements Dialog.IBodyWidget<IStepSpec> {
  constructor(spec: IStepSpec, chooseKind: boolean, problem: string | null) {
    super({ node: h('form', 'jp-Lakebook-form jp-Lakebook-stepForm') });
    this.node.addEventListener('submit', event => event.preventDefault());
    this._kind = spec.kind;
    if (problem) {
      const error = h('p', 'jp-Lakebook-inlineError', problem);
      error.setAttribute('role', 'alert');
      this.node.append(error);
    }
    if (chooseKind) {
      this._kindSelect = h('select', 'jp-mod-styled');
      this._kindSelect.name = 'kind';
      for (const k of STEP_KINDS) {
        const option = h('option', undefined, `${k} step (%%${k})`);
        option.value = k;
        option.selected = k === spec.kind;
        this._kindSelect.append(option);
      }
      this._kindSelect.addEventListener('change', () => {
        this._kind = this._kindSelect!.value as StepKind;
        this._showFields();
      });
      this._field('Kind', this._kindSelect, null);
    }
    this._input('name', 'Name', spec.name, 'e.g. transactions', null);
    this._input('key', 'Primary key column(s), comma separated', (spec.key ?? []).join(', '), 'e.g. cc_num', ['feature']);
    this._input('eventTime', 'Event-time column', spec.eventTime ?? '', 'e.g. ts', ['feature']);
    const online = h('input');
    online.type = 'checkbox';
    online.name = 'online';
    online.checked = spec.online ?? false;
    this._inputs.set('online', online);
    this._field('Keep the latest row per key online', online, ['feature'], true);
    this._input('view', 'Feature view', spec.view ?? '', 'e.g. fraud_view', ['training', 'inference']);
    this._input('label', 'Label (optional)', spec.label ?? '', 'e.g. is_fraud', ['training']);
    this._input('model', 'Registered model', spec.model ?? '', 'e.g. fraud', ['inference']);
    this._input('alias', 'Alias (optional)', spec.alias ?? '', 'e.g. production', ['training', 'inference']);
    this._help = h('p', 'jp-Lakebook-formHint');
    this.node.append(this._help);
    this._showFields();
  }

  getValue(): IStepSpec {
    const text = (key: string) => this._inputs.get(key)?.value.trim() ?? '';
    const kind = this._kind;
    const spec: IStepSpec = { kind, name: text('name') };
    if (kind === 'feature') {
      spec.key = text('key').split(/[,\s]+/).filter(Boolean);
      spec.eventTime = text('eventTime');
      spec.online = this._inputs.get('online')?.checked ?? false;
    } else if (kind === 'training') {
      spec.view = text('view');
      spec.label = text('label') || undefined;
      spec.alias = text('alias') || undefined;
    } else {
      spec.model = text('model');
      spec.alias = text('alias') || undefined;
      spec.view = text('view') || undefined;
    }
    return spec;
  }

  private _input(key: string, label: string, value: string, placeholder: string, kinds: StepKind[] | null): void {
    const input = h('input', 'jp-mod-styled');
    input.name = key;
    input.value = value;
    input.placeholder = placeholder;
    input.spellcheck = false;
    input.autocomplete = 'off';
    this._inputs.set(key, input);
    this._field(label, input, kinds);
  }

  private _field(label: string, control: HTMLElement, kinds: StepKind[] | null, inline = false): void {
    const id = `lakebook-step-${StepForm._ids++}`;
    control.id = id;
    const row = h('div', `jp-Lakebook-field${inline ? ' jp-mod-inline' : ''}`);
    const l = h('label', undefined, label);
    l.htmlFor = id;
    if (inline) {
      row.append(control, l);
    } else {
      row.append(l, control);
    }
    if (kinds) {
      this._kindRows.push([row, kinds]);
    }
    this.node.append(row);
  }

  private _showFields(): void {
    for (const [row, kinds] of this._kindRows) {
      row.hidden = !kinds.includes(this._kind);
    }
    const name = this._inputs.get('name');
    if (name) {
      const what = { feature: 'Feature group name', training: 'Model name', inference: 'Deployment name' }[this._kind];
      const label = name.parentElement?.querySelector('label');
      if (label) {
        label.textContent = what;
      }
    }
    this._help.textContent = KIND_HELP[this._kind];
  }

  private static _ids = 0;
  private _help: HTMLElement;
  private _inputs = new Map<string, HTMLInputElement>();
  private _kind: StepKind;
  private _kindRows: [HTMLElement, StepKind[]][] = [];
  private _kindSelect: HTMLSelectElement | null = null;
}

/**
 * Marks step cells (`data-lakebook-step` on the cell node), kept up to date as
 * the notebook's content changes.
 */
class StepBadges {
  watch(panel: NotebookPanel): void {
    const notebook = panel.content;
    let timer = 0;
    const schedule = () => {
      if (timer) {
        return;
      }
      timer = window.setTimeout(() => {
        timer = 0;
        if (!notebook.isDisposed) {
          this._mark(panel);
        }
      }, 120);
    };
    const connect = () => {
      notebook.model?.contentChanged.connect(schedule);
      schedule();
    };
    notebook.modelChanged.connect(connect);
    connect();
    void panel.context.ready.then(schedule);
    panel.disposed.connect(() => window.clearTimeout(timer));
  }

  private _mark(panel: NotebookPanel): void {
    for (const cell of panel.content.widgets) {
      const kind = cell.model.type === 'code' ? stepKindOf(cell.model.sharedModel.getSource()) : null;
      const node = cell.node;
      if (kind) {
        if (node.dataset.lakebookStep !== kind) {
          node.dataset.lakebookStep = kind;
          node.classList.add('jp-Lakebook-stepCell');
        }
      } else if (node.dataset.lakebookStep) {
        delete node.dataset.lakebookStep;
        node.classList.remove('jp-Lakebook-stepCell');
      }
    }
  }
}
