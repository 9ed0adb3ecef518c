/**
 * What the sections derive from the API's answers.
 */
import {
  compareVersions,
  hasActiveRuns,
  keyMetrics,
  lastRunByPipeline,
  lastRunBySchedule,
  runFraction,
  servedText,
  stepViews
} from '../src/derive';
import {
  IDeployment,
  IModelVersion,
  IRun,
  IStep,
  parseModelDetail,
  parsePipelines,
  parseRun,
  stepLabel
} from '../src/endpoints';
import { recorded } from './recorded';

const NB = '/srv/fti.ipynb';

/** A run as the server answers it (the recorded one), with `over` changed. */
function run(id: string, over: Record<string, unknown> = {}): IRun {
  return parseRun({
    ...recorded('run'),
    id,
    error: null,
    progress: null,
    status: 'succeeded',
    target: { notebook: NB, steps: ['clicks'] },
    queued_at: `2024-05-01T00:00:0${id.slice(-1)}+00:00`,
    output_path: `/runs/${id}/output.ipynb`,
    ...over
  });
}

const clicks: IStep = {
  kind: 'feature',
  name: 'clicks',
  notebook: NB,
  cellId: 'a',
  index: 2,
  schedule: null,
  tz: null
};
const fraud: IStep = { ...clicks, kind: 'training', name: 'fraud', index: 3 };

describe('stepViews', () => {
  it('joins each step with its schedules, last run and last output', () => {
    const runs = [
      run('r3', { status: 'running', output_path: '/runs/r3/output.ipynb' }),
      run('r2', { status: 'failed' }),
      run('r1')
    ];
    const schedule = {
      id: 1,
      name: 'fti-clicks',
      target: { notebook: NB, steps: ['feature:clicks'], pipeline: null },
      cron: '0 * * * *',
      timezone: 'UTC',
      paused: false,
      nextRunAt: null,
      lastScheduledFor: null
    };
    const [c, f] = stepViews({ path: 'fti.ipynb', steps: [clicks, fraud], tail: null, schedules: [schedule], runs });
    expect(c.schedules).toEqual([schedule]);
    expect(c.lastRun!.id).toBe('r3');
    // The running run's notebook is not finished: the last output is r2's.
    expect(c.lastOutput!.id).toBe('r2');
    expect(f).toEqual({ step: fraud, schedules: [], lastRun: null, lastOutput: null });
  });
});

describe('runs', () => {
  it('measures progress across cells and stages', () => {
    expect(runFraction(run('a', { status: 'running', progress: { done: 2, cells: 4, stage: 1, stages: 1 } }))).toBe(0.5);
    expect(runFraction(run('b', { status: 'running', progress: { done: 1, cells: 4, stage: 2, stages: 2 } }))).toBe(0.625);
    expect(runFraction(run('c', { status: 'queued' }))).toBeNull();
    expect(runFraction(run('d'))).toBe(1);
  });

  it('knows when runs are in progress', () => {
    expect(hasActiveRuns({ runs: [run('a'), run('b', { status: 'queued' })] })).toBe(true);
    expect(hasActiveRuns({ runs: [run('a'), run('b', { status: 'failed' })] })).toBe(false);
  });

  it('finds the latest run of each schedule', () => {
    const last = lastRunBySchedule([
      run('r1', { schedule_id: 1 }),
      run('r3', { schedule_id: 1 }),
      run('r2', { schedule_id: 2 }),
      run('r4')
    ]);
    expect(last.get(1)!.id).toBe('r3');
    expect(last.get(2)!.id).toBe('r2');
    expect(last.size).toBe(2);
  });
});

describe('models', () => {
  it('shows the most telling metrics first', () => {
    expect(keyMetrics({ zeta: 1, accuracy: 0.9, roc_auc: 0.95, f1: 0.8 }, 3)).toEqual([
      ['roc_auc', 0.95],
      ['f1', 0.8],
      ['accuracy', 0.9]
    ]);
  });

  const v = (version: number, metrics: Record<string, number>): IModelVersion => ({
    name: 'm',
    version,
    aliases: [],
    task: null,
    metrics,
    flavour: null,
    createdAt: null,
    createdBy: null,
    description: ''
  });

  it('compares versions: best per metric by the direction sent, ties to the newest', () => {
    const rows = compareVersions(
      [v(1, { accuracy: 0.8, rmse: 2 }), v(2, { accuracy: 0.9, rmse: 3 }), v(3, { accuracy: 0.9 })],
      { accuracy: 'higher', rmse: 'lower' }
    );
    const accuracy = rows.find(r => r.metric === 'accuracy')!;
    expect(accuracy.best).toBe(3);
    expect(accuracy.direction).toBe('higher');
    expect(accuracy.scaled).toEqual([0, 1, 1]);
    const rmse = rows.find(r => r.metric === 'rmse')!;
    expect(rmse.best).toBe(1);
    expect(rmse.values).toEqual([2, 3, null]);
    expect(rmse.scaled).toEqual([1, 0, null]);
  });

  it('follows the server for neg_ scorers (higher is better, whatever the name says)', () => {
    // what GET models/<name> sends for sklearn's neg_log_loss / neg_mean_squared_error
    const detail = parseModelDetail({
      name: 'm',
      aliases: {},
      versions: [],
      metric_directions: { neg_log_loss: 'higher', neg_mean_squared_error: 'higher', mae: 'lower' }
    });
    const rows = compareVersions(
      [
        v(1, { neg_log_loss: -0.7, neg_mean_squared_error: -4, mae: 1.5 }),
        v(2, { neg_log_loss: -0.2, neg_mean_squared_error: -9, mae: 0.5 })
      ],
      detail.metricDirections
    );
    const by = (m: string) => rows.find(r => r.metric === m)!;
    expect(by('neg_log_loss').best).toBe(2); // -0.2 beats -0.7
    expect(by('neg_log_loss').scaled).toEqual([0, 1]);
    expect(by('neg_mean_squared_error').best).toBe(1); // -4 beats -9
    expect(by('mae').best).toBe(2);
    expect(by('mae').scaled).toEqual([0, 1]);
  });

  it('marks no best when the server sent no direction', () => {
    const [row] = compareVersions([v(1, { custom: 1 }), v(2, { custom: 2 })], {});
    expect(row.direction).toBeNull();
    expect(row.best).toBeNull();
    expect(row.scaled).toEqual([0, 1]);
  });
});

describe('named pipelines', () => {
  it('finds the latest run of each pipeline and labels its steps', () => {
    const [daily, never] = parsePipelines({
      pipelines: [
        {
          name: 'daily',
          steps: [
            { notebook: '/srv/a.ipynb', step: 'feature:tx' },
            { notebook: '/srv/b.ipynb', step: 'fraud' }
          ]
        },
        { name: 'never', steps: [{ notebook: '/srv/c.ipynb', step: 'inference:scoring' }] }
      ]
    });
    const pipelines = [daily, never];
    const runs = [
      run('r3', { target: { pipeline: 'daily' }, status: 'running' }),
      run('r2', { target: { notebook: NB, steps: ['tx'] } }),
      run('r1', { target: { pipeline: 'daily' }, status: 'succeeded' })
    ];
    const last = lastRunByPipeline(pipelines, runs);
    expect(last.get('daily')?.id).toBe('r3');
    expect(last.has('never')).toBe(false);
    expect(daily.steps.map(stepLabel)).toEqual(['a.ipynb::tx', 'b.ipynb::fraud']);
    expect(never.steps.map(stepLabel)).toEqual(['c.ipynb::scoring']);
    expect(stepLabel({ notebook: '', step: 'plain' })).toBe('plain');
  });
});

describe('deployments', () => {
  const base: IDeployment = {
    name: 'd',
    model: 'fraud',
    alias: 'production',
    version: null,
    servedVersion: 3,
    view: null,
    kind: 'online',
    requests: 0,
    errors: 0,
    deadLetters: 0,
    latencyP50Ms: null,
    latencyP99Ms: null,
    lastRequestAt: null,
    endpoint: '/x',
    environmentMismatch: {},
    headline: null
  };

  it('says what is served', () => {
    expect(servedText(base)).toBe('fraud @production · served v3');
    expect(servedText({ ...base, servedVersion: null })).toBe('fraud @production');
    expect(servedText({ ...base, alias: null, version: 2 })).toBe('fraud v2 (pinned)');
  });
});
