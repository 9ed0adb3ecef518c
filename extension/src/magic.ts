/**
 * The magic line of a step and where it goes in a notebook (pure; unit
 * tested). Used by the "Make feature/training/inference step" cell actions.
 */
import { StepKind, isStepKind } from './endpoints';
import grammar from './magic-grammar.json';

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

/**
 * One option of a magic, as the Python grammar declares it
 * (`kernel_magics/shared/magic_grammar.py`, exported to `magic-grammar.json`).
 */
export interface IMagicOption {
  flags: string[];
  dest: string;
  type: string;
  repeatable: boolean;
  required: boolean;
}

const NAMES = grammar.names;
const NAME = new RegExp(NAMES.pattern);
const KEYWORDS = new Set<string>(NAMES.keywords);
const TOKEN = /^[^\s"'\\]+$/;

/** The options of `kind` (a step kind, or `monitor create` / `monitor run`). */
export function magicOptions(kind: string): IMagicOption[] {
  const spec = (grammar.kinds as Record<string, { options: IMagicOption[] }>)[kind];
  if (!spec) {
    throw new Error(`The magic grammar has no ${kind} magic.`);
  }
  return spec.options;
}

/** The option of `kind` that sets `dest` (fails loudly when the grammar lost it). */
function option(kind: StepKind, dest: string): IMagicOption {
  const found = magicOptions(kind).find(o => o.dest === dest);
  if (!found) {
    throw new Error(`The ${kind} magic has no option for ${dest}.`);
  }
  return found;
}

/** The flag of `kind` that sets `dest`, e.g. `--event-time` for `event_time`. */
export function flagOf(kind: StepKind, dest: string): string {
  return option(kind, dest).flags[0];
}

/** Whether `name` may name a feature group, model or deployment (the Python rule). */
export function isName(name: string): boolean {
  return (
    NAME.test(name) &&
    !KEYWORDS.has(name) &&
    !name.startsWith(NAMES.reserved_prefix)
  );
}

/**
 * The words of a magic line, split as the Python side splits it (a POSIX
 * shell line: quotes group and are removed, a backslash escapes).
 *
 * @throws {Error} on an unclosed quote or a trailing backslash.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== null) {
        words.push(word);
        word = null;
      }
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) {
        throw new Error('No closing quotation');
      }
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          i++;
        }
        text += line[i];
      }
      if (i >= line.length) {
        throw new Error('No closing quotation');
      }
      word = (word ?? '') + text;
    } else if (c === '\\') {
      if (i + 1 >= line.length) {
        throw new Error('No escaped character');
      }
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) {
    words.push(word);
  }
  return words;
}

/**
 * Why a spec cannot make a magic line (in the user's terms), or null.
 */
export function validateSpec(spec: IStepSpec): string | null {
  const what = { feature: 'feature group', training: 'model', inference: 'deployment' }[spec.kind];
  if (!spec.name || !isName(spec.name)) {
    return `The ${what} name "${spec.name}" is not a valid name. ${NAMES.hint}`;
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
  const kind = spec.kind;
  const parts = [`%%${kind}`, spec.name];
  const add = (dest: string, value: string | undefined) => {
    if (value) {
      parts.push(flagOf(kind, dest), value);
    }
  };
  if (kind === 'feature') {
    for (const k of spec.key ?? []) {
      add('key', k);
    }
    add('event_time', spec.eventTime);
    if (spec.online) {
      parts.push(flagOf(kind, 'online'));
    }
  } else if (kind === 'training') {
    add('view', spec.view);
    add('label', spec.label);
    add('alias', spec.alias);
  } else {
    add('model', spec.model);
    add('alias', spec.alias);
    add('view', spec.view);
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
  let words: string[];
  try {
    words = splitWords(line).slice(1);
  } catch {
    words = line.split(/\s+/).slice(1); // an unfinished quote while the user types
  }
  const spec: IStepSpec = { kind, name: '' };
  const byFlag = new Map<string, IMagicOption>();
  for (const o of magicOptions(kind)) {
    o.flags.forEach(flag => byFlag.set(flag, o));
  }
  const fields: Record<string, keyof IStepSpec> = {
    event_time: 'eventTime',
    view: 'view',
    label: 'label',
    model: 'model',
    alias: 'alias'
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const o = byFlag.get(w);
    if (!o) {
      if (!w.startsWith('--') && !spec.name) {
        spec.name = w;
      }
      continue;
    }
    if (o.type === 'flag') {
      if (o.dest === 'online') {
        spec.online = true;
      }
      continue;
    }
    const value = words[++i] ?? '';
    if (o.dest === 'key') {
      spec.key = [...(spec.key ?? []), value];
    } else if (fields[o.dest]) {
      (spec as unknown as Record<string, string>)[fields[o.dest]] = value;
    } // an option the form does not edit: its value is skipped
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
