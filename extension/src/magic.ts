/**
 * The magic line of a step and where it goes in a notebook (pure; unit
 * tested). Used by the "Make feature/training/inference step" cell actions.
 */
import { StepKind, isStepKind } from './endpoints';

/**
 * What the step form collects.
 */
export interface IStepSpec {
  kind: StepKind;
  /** Feature group, model or deployment name. */
  name: string;
  /** feature: primary key column(s). */
  key?: string[];
  /** feature: event-time column. */
  eventTime?: string;
  /** feature: keep the latest row per key online. */
  online?: boolean;
  /** training: the feature view to train from; inference: its view. */
  view?: string;
  /** training: the label column. */
  label?: string;
  /** inference: the registered model. */
  model?: string;
  /** training: alias for the new version; inference: the alias to serve. */
  alias?: string;
}

export const LOAD_EXT_LINE = '%load_ext kernel_magics';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOKEN = /^[^\s"'\\]+$/;

/**
 * Why a spec cannot make a magic line (in the user's terms), or null.
 */
export function validateSpec(spec: IStepSpec): string | null {
  const what = { feature: 'feature group', training: 'model', inference: 'deployment' }[spec.kind];
  if (!spec.name || !NAME.test(spec.name)) {
    return `The ${what} name "${spec.name}" must be a Python identifier (letters, digits and _, not starting with a digit).`;
  }
  const token = (value: string | undefined, label: string, required: boolean): string | null => {
    if (!value) {
      return required ? `A ${spec.kind} step needs ${label}.` : null;
    }
    return TOKEN.test(value) ? null : `${label[0].toUpperCase()}${label.slice(1)} "${value}" cannot contain spaces or quotes.`;
  };
  if (spec.kind === 'feature') {
    const keys = spec.key ?? [];
    if (keys.length === 0) {
      return 'A feature step needs a primary key column.';
    }
    for (const k of keys) {
      const problem = token(k, 'a key column', true);
      if (problem) {
        return problem;
      }
    }
    return token(spec.eventTime, 'an event-time column', true);
  }
  if (spec.kind === 'training') {
    return token(spec.view, 'a feature view', true) ?? token(spec.label, 'a label', false) ?? token(spec.alias, 'an alias', false);
  }
  return token(spec.model, 'a model', true) ?? token(spec.alias, 'an alias', false) ?? token(spec.view, 'a feature view', false);
}

/**
 * `%%feature transactions --key cc_num --event-time ts --online`.
 *
 * @throws {Error} when the spec is not valid (see `validateSpec`).
 */
export function buildMagicLine(spec: IStepSpec): string {
  const problem = validateSpec(spec);
  if (problem) {
    throw new Error(problem);
  }
  const parts = [`%%${spec.kind}`, spec.name];
  const add = (flag: string, value: string | undefined) => {
    if (value) {
      parts.push(flag, value);
    }
  };
  if (spec.kind === 'feature') {
    for (const k of spec.key ?? []) {
      parts.push('--key', k);
    }
    add('--event-time', spec.eventTime);
    if (spec.online) {
      parts.push('--online');
    }
  } else if (spec.kind === 'training') {
    add('--view', spec.view);
    add('--label', spec.label);
    add('--alias', spec.alias);
  } else {
    add('--model', spec.model);
    add('--alias', spec.alias);
    add('--view', spec.view);
  }
  return parts.join(' ');
}

/**
 * The step kind of a cell whose first non-blank line is a step magic.
 */
export function stepKindOf(source: string): StepKind | null {
  for (const line of source.split('\n')) {
    const stripped = line.trim();
    if (!stripped) {
      continue;
    }
    if (!stripped.startsWith('%%')) {
      return null;
    }
    const word = stripped.slice(2).split(/\s/, 1)[0];
    return isStepKind(word) ? word : null;
  }
  return null;
}

/**
 * Read a step magic line back into a spec (to prefill the form).
 */
export function parseMagicLine(source: string): IStepSpec | null {
  const kind = stepKindOf(source);
  if (!kind) {
    return null;
  }
  const line = source.trim().split('\n', 1)[0];
  const words = line.split(/\s+/).slice(1);
  const spec: IStepSpec = { kind, name: '' };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = () => words[++i] ?? '';
    switch (w) {
      case '--key':
        spec.key = [...(spec.key ?? []), next()];
        break;
      case '--event-time':
        spec.eventTime = next();
        break;
      case '--online':
        spec.online = true;
        break;
      case '--view':
        spec.view = next();
        break;
      case '--label':
        spec.label = next();
        break;
      case '--model':
        spec.model = next();
        break;
      case '--alias':
        spec.alias = next();
        break;
      default:
        if (w.startsWith('--')) {
          // A flag the form does not edit: skip its value when it has one.
          if (words[i + 1] && !words[i + 1].startsWith('--')) {
            i++;
          }
        } else if (!spec.name) {
          spec.name = w;
        }
    }
  }
  return spec;
}

/**
 * Put `line` at the top of a cell: it replaces an existing step magic line,
 * otherwise it is added above the code (which becomes the step's body).
 */
export function withMagicLine(source: string, line: string): string {
  if (stepKindOf(source)) {
    const lines = source.split('\n');
    const first = lines.findIndex(l => l.trim().length > 0);
    lines.splice(0, first + 1, line);
    return lines.join('\n');
  }
  return source.length ? `${line}\n${source}` : `${line}\n`;
}

/**
 * Whether some code cell already loads the extension.
 */
export function loadsExtension(sources: string[]): boolean {
  return sources.some(s => /^\s*%(re)?load_ext\s+kernel_magics\b/m.test(s));
}

export interface ICellLike {
  type: string;
  source: string;
}

/**
 * How to add `%load_ext kernel_magics` to a notebook that lacks it: prepend
 * it to the first code cell, or insert a new code cell above that cell when
 * that cell is the step itself or starts with a cell magic (a cell magic must
 * stay on the first line).
 */
export type LoadExtPlan =
  | null
  | { action: 'prepend'; index: number }
  | { action: 'insert'; index: number };

export function planLoadExt(cells: ICellLike[], target: number): LoadExtPlan {
  if (loadsExtension(cells.filter(c => c.type === 'code').map(c => c.source))) {
    return null;
  }
  const first = cells.findIndex(c => c.type === 'code');
  if (first < 0 || first >= target) {
    // The step is the first code cell: a new cell goes right above it.
    return { action: 'insert', index: first < 0 ? target : Math.min(first, target) };
  }
  if (cells[first].source.trimStart().startsWith('%%')) {
    return { action: 'insert', index: first };
  }
  return { action: 'prepend', index: first };
}
