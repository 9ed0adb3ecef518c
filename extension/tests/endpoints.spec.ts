/**
 * Parsing of every endpoint the sidebar reads, on answers recorded from a real
 * Jupyter server on this run (tests/test_rest_contract.py records them on the
 * browser test's lakehouse, extension/ui-tests/prepare_lakehouse.py), plus the
 * failures each parser must report.
 */
import { LakebookApiError, LakebookClient } from '../src/api';
import {
  parseAlerts,
  parseDeployments,
  parseFeatureGroupDetail,
  parseFeatureGroups,
  parseModelDetail,
  parseNeighbors,
  parseModels,
  parseMonitors,
  parseRun,
  parseRunOutput,
  parseRuns,
  parseSchedules,
  parseStepTails,
  parseSteps,
  targetLabel,
  targetsStep
} from '../src/endpoints';
import { recorded as fixture } from './recorded';

describe('feature groups', () => {
  it('parses the list', () => {
    const groups = parseFeatureGroups(fixture('feature-groups'));
    const tx = groups.find(g => g.name === 'transactions')!;
    expect(tx).toMatchObject({
      version: 1,
      keys: ['cc_num'],
      eventTime: 'ts',
      online: true,
      commits: 2,
      deltaVersion: 1,
      description: 'Card transactions',
      rows: 500
    });
    expect(tx.schema.map(c => c.name)).toEqual(['cc_num', 'amount', 'category', 'ts']);
    expect(groups.find(g => g.name === 'cards')!.online).toBe(false);
  });

  it('reads who created a group and made its last commit (team lakehouse)', () => {
    const data = fixture('feature-groups');
    data.feature_groups[0].created_by = 'alice';
    data.feature_groups[0].last_commit_by = 'bob';
    const g = parseFeatureGroups(data)[0];
    expect([g.createdBy, g.lastCommitBy]).toEqual(['alice', 'bob']);
    const detail = fixture('feature-groups_transactions');
    detail.commits[0].who = 'carol';
    detail.commits[1].who = null;
    expect(parseFeatureGroupDetail(detail).commitList.map(c => c.who)).toEqual(['carol', null]);
  });

  it('keeps a row count the server could not read as null', () => {
    const data = fixture('feature-groups');
    data.feature_groups[0].rows = null;
    expect(parseFeatureGroups(data)[0].rows).toBeNull();
  });

  it('reads embedding columns, their index and neighbours', () => {
    const g = parseFeatureGroupDetail(fixture('feature-groups_merchants'));
    expect(g.embeddings).toEqual([{ column: 'desc_vec', dim: 8, metric: 'cosine' }]);
    expect(g.embeddingIndex).toHaveLength(1);
    expect(g.embeddingIndex[0]).toMatchObject({ column: 'desc_vec', dim: 8, metric: 'cosine' });
    expect(g.embeddingIndex[0].state).toBeTruthy();
    const plain = parseFeatureGroupDetail(fixture('feature-groups_transactions'));
    expect(plain.embeddings).toEqual([]);
    expect(plain.embeddingIndex).toEqual([]);
    // POST feature-groups/merchants/neighbors {"key": 5, "k": 3}
    const n = parseNeighbors(fixture('feature-groups_merchants_neighbors'));
    expect(n.columns).toEqual(['merchant_id', 'category', 'ts', 'distance']);
    expect(n.neighbors).toHaveLength(3);
    expect(n.neighbors.map(r => r['merchant_id'])).not.toContain(5);
    expect(() => parseNeighbors({ columns: [] })).toThrow(LakebookApiError);
  });

  it('parses the detail: commits, statistics with histograms, sample', () => {
    const g = parseFeatureGroupDetail(fixture('feature-groups_transactions'));
    expect(g.commitList.map(c => c.deltaVersion)).toEqual([1, 0]);
    expect(g.commits).toBe(2);
    expect(g.commitList[0].checksPassed).toContain('amount >= 0');
    expect(g.checks).toEqual(['amount >= 0']);
    const amount = g.statistics!.columns.find(c => c.name === 'amount')!;
    expect(amount.histogram!.counts).toHaveLength(10);
    expect(amount.histogram!.edges).toHaveLength(11);
    const category = g.statistics!.columns.find(c => c.name === 'category')!;
    expect(category.histogram).toBeNull();
    expect(category.min).toBe('fuel');
    expect(g.sample.length).toBeGreaterThan(0);
    expect(Object.keys(g.sample[0]).sort()).toEqual(['amount', 'category', 'cc_num', 'ts']);
    expect(g.versions).toEqual([1]);
  });

  it('drops a histogram whose edges do not fit its counts', () => {
    const data = fixture('feature-groups_transactions');
    data.statistics.columns.amount.histogram.edges.pop();
    const g = parseFeatureGroupDetail(data);
    expect(g.statistics!.columns.find(c => c.name === 'amount')!.histogram).toBeNull();
  });

  it('accepts a group without statistics yet', () => {
    const data = fixture('feature-groups_transactions');
    data.statistics = {};
    data.commits = [];
    data.commit_count = 0;
    expect(parseFeatureGroupDetail(data).statistics).toBeNull();
  });

  it.each([
    ['no list', {}, '"feature_groups"'],
    ['a nameless group', { feature_groups: [{ version: 1 }] }, '"name"'],
    ['a bad version', { feature_groups: [{ name: 'x', version: -1 }] }, '"version"']
  ])('rejects %s', (_what, data, fragment) => {
    expect(() => parseFeatureGroups(data)).toThrow(LakebookApiError);
    expect(() => parseFeatureGroups(data)).toThrow(fragment);
  });
});

describe('models', () => {
  it('parses the list with aliases and latest metrics', () => {
    const [fraud] = parseModels(fixture('models'));
    expect(fraud).toMatchObject({
      name: 'fraud',
      versions: 2,
      latestVersion: 2,
      aliases: { production: 1, champion: 2 },
      task: 'classification',
      latestMetrics: { accuracy: 0.93, roc_auc: 0.95 }
    });
  });

  it('parses the detail with each version and its aliases', () => {
    const detail = parseModelDetail(fixture('models_fraud'));
    expect(detail.versions.map(v => [v.version, v.aliases])).toEqual([
      [1, ['production']],
      [2, ['champion']]
    ]);
    expect(detail.versions[0].metrics).toEqual({ accuracy: 0.81, roc_auc: 0.84 });
    expect(detail.versions[0].flavour).toBe('sklearn');
    expect(detail.metricDirections).toEqual({ accuracy: 'higher', roc_auc: 'higher' });
  });

  it('drops metrics the server could not compute (null)', () => {
    const data = fixture('models');
    data.models[0].latest_metrics = { accuracy: 0.9, nan: null };
    expect(parseModels(data)[0].latestMetrics).toEqual({ accuracy: 0.9 });
  });
});

describe('deployments', () => {
  it('parses endpoint, served version, traffic and latency', () => {
    const [d] = parseDeployments(fixture('deployments'));
    expect(d).toMatchObject({
      name: 'fraud_online',
      model: 'fraud',
      alias: 'production',
      version: null,
      kind: 'online',
      errors: 0,
      endpoint: '/lakebook/api/deployments/fraud_online/predict'
    });
    // the prepared lakehouse's traffic (its count depends on what the preparation sends)
    expect(d.requests).toBeGreaterThan(0);
    const versions = parseModelDetail(fixture('models_fraud')).versions.map(v => v.version);
    expect(versions).toContain(d.servedVersion);
    expect(d.latencyP50Ms).toBeGreaterThan(0);
    expect(d.latencyP99Ms).toBeGreaterThanOrEqual(d.latencyP50Ms!);
  });

  it('counts the rows the inference log could not write', () => {
    const data = fixture('deployments');
    expect(parseDeployments(data)[0].deadLetters).toBe(0);
    data.deployments[0].dead_letter_rows = 3;
    expect(parseDeployments(data)[0].deadLetters).toBe(3);
  });

  it('shows a deployment without traffic', () => {
    const data = fixture('deployments');
    Object.assign(data.deployments[0], {
      requests: 0,
      latency_p50_ms: null,
      latency_p99_ms: null,
      served_version: null
    });
    const [d] = parseDeployments(data);
    expect(d).toMatchObject({ requests: 0, latencyP50Ms: null, servedVersion: null });
  });
});

describe('steps, schedules and runs', () => {
  const steps = parseSteps(fixture('steps_path_fti'));
  const schedules = parseSchedules(fixture('schedules'));
  const runs = parseRuns(fixture('runs'));
  // the step run of the prepared lakehouse (the list also holds a failed notebook run)
  const stepRun = runs.find(r => r.id === fixture('run').id)!;

  it('parses the steps of a notebook', () => {
    expect(steps.map(s => [s.kind, s.name, s.index])).toEqual([
      ['feature', 'clicks', 3],
      ['training', 'fraud', 4]
    ]);
    expect(steps[0].notebook).toMatch(/fti\.ipynb$/);
  });

  it('parses the cells after the last step, with why a whole-notebook run would run them', () => {
    // asked without ?why=1: no verdicts, so no tails either
    expect(parseStepTails(fixture('steps_path_fti'))).toEqual([]);
    const [tail, ...more] = parseStepTails(fixture('steps_path_fti_why'));
    expect(more).toEqual([]);
    expect(tail).toMatchObject({ firstIndex: 5, index: 5, upToDate: false });
    expect(tail.ref).toMatch(/fti\.ipynb::cells:tail$/);
    // the prepared lakehouse never ran the whole notebook successfully
    expect(tail.reasons).toEqual(['it has never run successfully']);
    const withWhy = parseSteps(fixture('steps_path_fti_why'));
    expect(withWhy.map(s => typeof s.upToDate)).toEqual(['boolean', 'boolean']);
  });

  it('rejects an unknown step kind', () => {
    const data = fixture('steps_path_fti');
    data.steps[0].kind = 'magic';
    expect(() => parseSteps(data)).toThrow(/step kind "magic"/);
  });

  it('parses schedules with their target and next run', () => {
    expect(schedules[0]).toMatchObject({
      id: 1,
      name: 'fti-clicks',
      cron: '0 6 * * *',
      timezone: 'Europe/Amsterdam',
      paused: false,
      target: { steps: ['clicks'], pipeline: null }
    });
    expect(schedules[0].nextRunAt).toMatch(/^\d{4}-/);
  });

  it('parses runs with progress, duration and output', () => {
    const run = stepRun;
    expect(runs.map(r => r.status).sort()).toEqual(['failed', 'succeeded']);
    expect(run.status).toBe('succeeded');
    expect(run.label).toBe('fti.ipynb::clicks');
    expect(run.progress).toMatchObject({ stage: 1, stages: 1 });
    expect(run.progress!.done).toBe(run.progress!.cells);
    expect(run.target.notebook).toBe(steps[0].notebook);
    expect(run.durationS).toBeGreaterThan(0);
    expect(run.outputPath).toMatch(/output\.ipynb$/);
    expect(run.error).toBeNull();
  });

  it('reads a failed run\'s error', () => {
    const run = parseRun(fixture('run_failed'));
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ ename: 'ValueError', evalue: 'no data today' });
    expect(run.label).toBe('failing.ipynb');
  });

  it('shows a status it does not know as unknown, and labels a pipeline run', () => {
    const run = parseRun({
      ...fixture('run'),
      status: 'exploded',
      target: { pipeline: 'nightly' },
      label: ''
    });
    expect(run.status).toBe('unknown');
    expect(run.label).toBe('pipeline nightly');
  });

  it('matches runs and schedules to the step they run', () => {
    expect(targetsStep(schedules[0].target, steps[0])).toBe(true);
    expect(targetsStep(schedules[0].target, steps[1])).toBe(false);
    expect(targetsStep(stepRun.target, steps[0])).toBe(true);
    const kindName = { notebook: steps[0].notebook, steps: ['feature:clicks'], pipeline: null };
    expect(targetsStep(kindName, steps[0])).toBe(true);
    const wholeNotebook = { notebook: steps[0].notebook, steps: null, pipeline: null };
    expect(targetsStep(wholeNotebook, steps[0])).toBe(false);
    const other = { notebook: '/elsewhere/fti.ipynb', steps: ['clicks'], pipeline: null };
    expect(targetsStep(other, steps[0])).toBe(false);
  });

  it('labels targets like the server', () => {
    expect(targetLabel({ notebook: '/a/b/nb.ipynb', steps: ['x', 'y'], pipeline: null })).toBe(
      'nb.ipynb::x,y'
    );
    expect(targetLabel({ notebook: '/a/nb.ipynb', steps: null, pipeline: null })).toBe('nb.ipynb');
  });

  it('parses a run output notebook', () => {
    const out = parseRunOutput(fixture('run_output'));
    expect(out.runId).toBe(stepRun.id);
    expect(out.path).toBe(stepRun.outputPath);
    expect((out.notebook['cells'] as unknown[]).length).toBeGreaterThan(0);
    expect(() => parseRunOutput({ run_id: 'r', notebook: {} })).toThrow(/notebook/);
  });
});

describe('monitoring', () => {
  it('parses verdicts, drift shares and report paths', () => {
    const monitors = parseMonitors(fixture('monitors'));
    const drift = monitors.find(m => m.name === 'transactions_drift')!;
    expect(drift).toMatchObject({
      verdict: 'drift',
      driftShare: 1,
      driftedColumns: 2,
      driftedNames: ['amount', 'category'],
      resultId: 1,
      watches: 'feature group transactions',
      reportPath: 'monitors/transactions_drift/reports/1.html'
    });
    const stable = monitors.find(m => m.name === 'transactions_stable')!;
    expect(stable.verdict).toBe('ok');
    expect(stable.driftShare).toBe(0);
  });

  it('shows a monitor that never ran without a report', () => {
    const data = fixture('monitors');
    const m = parseMonitors(data).find(x => x.name === 'never_run')!;
    expect(m).toMatchObject({ verdict: 'unknown', driftShare: null, reportPath: null });
    expect(m.watches).toBe('feature group transactions');
    const [first] = data.monitors;
    const [d] = parseMonitors({ monitors: [{ ...first, spec: { deployment: 'scorer' } }] });
    expect(d.watches).toBe('deployment scorer');
  });

  it('parses alerts', () => {
    const alert = parseAlerts(fixture('alerts')).find(a => a.monitor === 'transactions_drift')!;
    expect(alert).toMatchObject({ id: 1, kind: 'drift', acknowledged: false });
    expect(alert.message).toMatch(/2 of 2 columns drifted/);
  });
});

describe('LakebookClient', () => {
  function recording(answer: unknown) {
    const calls: { endPoint: string; method?: string; body?: unknown }[] = [];
    const client = new LakebookClient(async (endPoint, init) => {
      calls.push({
        endPoint,
        method: init?.method,
        body: init?.body ? JSON.parse(init.body as string) : undefined
      });
      return answer;
    });
    return { client, calls };
  }

  it('runs a step now with a POST to runs', async () => {
    const { client, calls } = recording(fixture('run'));
    const run = await client.runNow('fti.ipynb', 'feature:clicks');
    expect(run.id).toBeTruthy();
    expect(calls).toEqual([
      { endPoint: 'runs', method: 'POST', body: { notebook: 'fti.ipynb', step: 'feature:clicks', force: true } }
    ]);
  });

  it('moves an alias with the version in the body', async () => {
    // the server's answer to POST models/fraud/aliases/staging {"version": 1}
    const { client, calls } = recording(fixture('alias_move'));
    const moved = await client.moveAlias('fraud', 'staging', 1);
    expect(moved).toEqual({ name: 'fraud', alias: 'staging', version: 1, previous: null });
    expect(calls[0]).toEqual({
      endPoint: 'models/fraud/aliases/staging',
      method: 'POST',
      body: { version: 1 }
    });
  });

  it('schedules, pauses and deletes schedules', async () => {
    const { client, calls } = recording(fixture('schedules').schedules[0]);
    await client.schedule({ notebook: 'fti.ipynb', step: 'clicks', cron: '0 * * * *', tz: 'UTC' });
    await client.pauseSchedule(1, true);
    await client.pauseSchedule(1, false);
    await client.deleteSchedule(1);
    expect(calls.map(c => `${c.method} ${c.endPoint}`)).toEqual([
      'POST schedules',
      'POST schedules/1/pause',
      'POST schedules/1/resume',
      'DELETE schedules/1'
    ]);
    expect(calls[0].body).toEqual({ notebook: 'fti.ipynb', step: 'clicks', cron: '0 * * * *', tz: 'UTC' });
  });

  it('encodes names and paths', async () => {
    const { client, calls } = recording({ steps: [], tails: [] });
    await client.steps('my folder/a&b.ipynb');
    expect(calls[0].endPoint).toBe('steps?path=my%20folder%2Fa%26b.ipynb&why=1');
  });

  it('fetches report HTML through the text transport', async () => {
    const paths: string[] = [];
    const client = new LakebookClient(
      async () => ({}),
      async path => {
        paths.push(path);
        return '<html>report</html>';
      }
    );
    await expect(client.reportHtml('monitors/m/reports/1.html')).resolves.toBe('<html>report</html>');
    expect(paths).toEqual(['monitors/m/reports/1.html']);
    await expect(new LakebookClient(async () => ({})).reportHtml('x')).rejects.toThrow(LakebookApiError);
  });
});
