/**
 * The magic-line builder behind the "Make … step" cell actions.
 */
import grammar from '../src/magic-grammar.json';
import {
  IStepSpec,
  buildMagicLine,
  flagOf,
  isName,
  loadsExtension,
  parseMagicLine,
  planLoadExt,
  stepKindOf,
  splitWords,
  validateSpec,
  withMagicLine
} from '../src/magic';

describe('the magic grammar of the Python side (magic-grammar.json)', () => {
  it.each(grammar.splitting.map(e => [e.line, e.words]))(
    'splits %j as Python does',
    (line, words) => {
      expect(splitWords(line as string)).toEqual(words);
    }
  );

  it('refuses what Python cannot read', () => {
    expect(() => splitWords('tx --check "amount > 0')).toThrow('No closing quotation');
    expect(() => splitWords("tx --check 'a")).toThrow('No closing quotation');
    expect(() => splitWords('tx \\')).toThrow('No escaped character');
  });

  it('keeps the name rule of Python', () => {
    for (const ok of ['_x', 'transactions_daily', 'a'.repeat(128), 'T1']) {
      expect(isName(ok)).toBe(true);
    }
    for (const bad of ['1st', 'my-model', 'a.b', 'a'.repeat(129), 'class', 'None', '_lb_x', '']) {
      expect(isName(bad)).toBe(false);
    }
  });

  it('takes each flag from the grammar', () => {
    expect(flagOf('feature', 'event_time')).toBe('--event-time');
    expect(flagOf('training', 'view')).toBe('--view');
    expect(() => flagOf('training', 'no_such_option')).toThrow('no option for no_such_option');
  });

  it('reads quoted values of the flags it does not edit', () => {
    expect(
      parseMagicLine('%%feature g --key k --check "amount > 0" --event-time ts\ndf')
    ).toEqual({ kind: 'feature', name: 'g', key: ['k'], eventTime: 'ts' });
  });
});

describe('buildMagicLine', () => {
  it.each<[IStepSpec, string]>([
    [
      { kind: 'feature', name: 'transactions', key: ['cc_num'], eventTime: 'ts', online: true },
      '%%feature transactions --key cc_num --event-time ts --online'
    ],
    [
      { kind: 'feature', name: 'pairs', key: ['a', 'b'], eventTime: 'when' },
      '%%feature pairs --key a --key b --event-time when'
    ],
    [
      { kind: 'training', name: 'fraud', view: 'fraud_view', label: 'is_fraud', alias: 'champion' },
      '%%training fraud --view fraud_view --label is_fraud --alias champion'
    ],
    [{ kind: 'training', name: 'fraud', view: 'fraud_view' }, '%%training fraud --view fraud_view'],
    [
      { kind: 'inference', name: 'fraud_online', model: 'fraud', alias: 'production' },
      '%%inference fraud_online --model fraud --alias production'
    ],
    [
      { kind: 'inference', name: 'batch', model: 'fraud', view: 'fraud_view' },
      '%%inference batch --model fraud --view fraud_view'
    ]
  ])('builds %j', (spec, line) => {
    expect(buildMagicLine(spec)).toBe(line);
  });

  it.each<[IStepSpec, RegExp]>([
    [{ kind: 'feature', name: '1st', key: ['k'], eventTime: 'ts' }, /feature group name "1st"/],
    [{ kind: 'feature', name: 'g', key: [], eventTime: 'ts' }, /needs a primary key/],
    [{ kind: 'feature', name: 'g', key: ['k'] }, /needs an event-time column/],
    [{ kind: 'feature', name: 'g', key: ['my key'], eventTime: 'ts' }, /cannot contain spaces/],
    [{ kind: 'training', name: 'm' }, /needs a feature view/],
    [{ kind: 'training', name: 'my-model', view: 'v' }, /model name "my-model"/],
    [{ kind: 'inference', name: 'd' }, /needs a model/],
    [{ kind: 'inference', name: 'd', model: 'm', alias: 'pro"d' }, /cannot contain spaces or quotes/]
  ])('refuses %j', (spec, message) => {
    expect(validateSpec(spec)).toMatch(message);
    expect(() => buildMagicLine(spec)).toThrow(message);
  });

  it('reads back what it wrote', () => {
    const specs: IStepSpec[] = [
      { kind: 'feature', name: 'g', key: ['a', 'b'], eventTime: 'ts', online: true },
      { kind: 'training', name: 'm', view: 'v', label: 'y' },
      { kind: 'inference', name: 'd', model: 'm', alias: 'production' }
    ];
    for (const spec of specs) {
      expect(parseMagicLine(`${buildMagicLine(spec)}\ncode()`)).toEqual(spec);
    }
  });

  it('skips flags the form does not edit', () => {
    expect(
      parseMagicLine('%%feature g --key k --mode upsert --event-time ts --utc\ndf')
    ).toEqual({ kind: 'feature', name: 'g', key: ['k'], eventTime: 'ts' });
  });
});

describe('stepKindOf', () => {
  it.each([
    ['%%feature g --key k --event-time ts\ndf', 'feature'],
    ['\n  %%training m --view v\n', 'training'],
    ['%%inference d --model m', 'inference'],
    ['%%time\nx = 1', null],
    ['x = 1\n%%feature g', null],
    ['%%features g', null],
    ['', null]
  ])('%j is %p', (source, kind) => {
    expect(stepKindOf(source)).toBe(kind);
  });
});

describe('withMagicLine', () => {
  it('puts the magic above the code', () => {
    expect(withMagicLine('df = load()\ndf', '%%feature g --key k --event-time ts')).toBe(
      '%%feature g --key k --event-time ts\ndf = load()\ndf'
    );
  });

  it('replaces an existing step magic line', () => {
    expect(withMagicLine('%%feature old --key k --event-time ts\ndf', '%%feature new --key k --event-time ts')).toBe(
      '%%feature new --key k --event-time ts\ndf'
    );
  });

  it('fills an empty cell', () => {
    expect(withMagicLine('', '%%training m --view v')).toBe('%%training m --view v\n');
  });
});

describe('planLoadExt', () => {
  const code = (source: string) => ({ type: 'code', source });
  const md = (source: string) => ({ type: 'markdown', source });

  it('does nothing when a cell loads the extension', () => {
    expect(planLoadExt([code('import x'), code('%load_ext kernel_magics'), code('df')], 2)).toBeNull();
    expect(loadsExtension(['%reload_ext kernel_magics'])).toBe(true);
    expect(loadsExtension(['# %load_ext kernel_magicsX'])).toBe(false);
  });

  it('prepends to the first code cell', () => {
    expect(planLoadExt([md('# title'), code('import pandas'), code('df')], 2)).toEqual({
      action: 'prepend',
      index: 1
    });
  });

  it('inserts a cell above when the step is the first code cell', () => {
    expect(planLoadExt([md('# title'), code('df')], 1)).toEqual({ action: 'insert', index: 1 });
  });

  it('inserts a cell when the first code cell starts with a cell magic', () => {
    expect(planLoadExt([code('%%time\nx'), code('df')], 1)).toEqual({ action: 'insert', index: 0 });
  });
});
