/**
 * The camel-cased values the sidebar reads from the Lakebook REST endpoints.
 *
 * The answers are described once, in Python (kernel_magics/doors/rest/contract.py); their
 * TypeScript types (`./contract`) are generated from it, and a test checks real answers of
 * a real server against it on every run. So each `parseX` only checks what a wrong server
 * (an older one, a proxy's error page) would break first: the answer is an object holding
 * its list, each item names itself. Then it maps the typed answer to the sidebar's shape,
 * or throws a `LakebookApiError`.
 */
import * as C from './contract';
import { Fields, JSONObject, isObject, malformed } from './json';

/** `data` as the contract's `T`, once `key` of it is checked to be a list. */
function listAnswer<T>(data: unknown, key: string, what: string): T {
  new Fields(data, what).list(key, item => item);
  return data as T;
}

/** An item of a list answer, once its identity fields are checked. */
function named<T>(item: unknown, what: string, counts: string[] = []): T {
  const f = new Fields(item, what);
  f.str('name');
  counts.forEach(key => f.count(key));
  return item as T;
}

/** The numeric entries (a metric the server could not compute is null). */
function numbers(values: Record<string, number | null> | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v)) {
      out[k] = v;
    }
  }
  return out;
}

// -- feature groups ---------------------------------------------------------

export interface IColumn {
  name: string;
  type: string;
  nullable: boolean;
}

export interface IFeatureGroup {
  name: string;
  version: number;
  keys: string[];
  eventTime: string;
  online: boolean;
  description: string;
  /** Rows in the group's table, when the server reports them. */
  rows: number | null;
  /** Number of commits (inserts). */
  commits: number;
  deltaVersion: number | null;
  lastCommitAt: string | null;
  /** Who made the last commit (the Jupyter user, LAKEBOOK_USER or the OS user). */
  lastCommitBy: string | null;
  createdAt: string | null;
  createdBy: string | null;
  schema: IColumn[];
  /** Embedding columns (vector features) with their dimension and metric. */
  embeddings: IEmbedding[];
}

export interface IEmbedding {
  column: string;
  dim: number;
  metric: string;
}

/** The nearest-neighbour index of one embedding column. */
export interface IIndexStatus extends IEmbedding {
  /** ready | tail | building | merging | saved | not built | offline */
  state: string;
  indexed: number | null;
  pending: number | null;
}

export interface INeighbors {
  columns: string[];
  neighbors: JSONObject[];
}

export interface IHistogram {
  edges: number[];
  counts: number[];
}

export interface IColumnStatistics {
  name: string;
  type: string;
  count: number | null;
  nulls: number | null;
  distinct: number | null;
  min: string | number | boolean | null;
  max: string | number | boolean | null;
  mean: number | null;
  stddev: number | null;
  histogram: IHistogram | null;
}

export interface IStatistics {
  rows: number | null;
  deltaVersion: number | null;
  columns: IColumnStatistics[];
}

export interface ICommit {
  deltaVersion: number;
  mode: string;
  rows: number | null;
  createdAt: string | null;
  /** Who made the commit. */
  who: string | null;
  checksPassed: string[];
  lineage: JSONObject;
  durationS: number | null;
}

export interface IFeatureGroupDetail extends IFeatureGroup {
  checks: string[];
  commitList: ICommit[];
  statistics: IStatistics | null;
  versions: number[];
  sample: JSONObject[];
  embeddingIndex: IIndexStatus[];
}

function featureGroup(
  g: C.FeatureGroup | C.FeatureGroupDetail,
  commits: number
): IFeatureGroup {
  return {
    name: g.name,
    version: g.version,
    keys: g.keys,
    eventTime: g.event_time ?? '',
    online: g.online,
    description: g.description,
    rows: g.rows,
    commits,
    deltaVersion: g.delta_version,
    lastCommitAt: g.last_commit_at,
    lastCommitBy: g.last_commit_by,
    createdAt: g.created_at,
    createdBy: g.created_by,
    schema: g.schema ?? [],
    embeddings: parseEmbeddings(g.embeddings)
  };
}

export function parseFeatureGroup(item: unknown): IFeatureGroup {
  const g = named<C.FeatureGroup>(item, 'a feature group', ['version']);
  return featureGroup(g, g.commits);
}

function parseEmbeddings(value: C.FeatureGroup['embeddings']): IEmbedding[] {
  return Object.entries(value).map(([column, spec]) => ({
    column,
    dim: spec.dim,
    metric: spec.metric
  }));
}

function indexStatus(s: C.IndexStatus): IIndexStatus {
  return {
    column: s.column,
    dim: s.dim,
    metric: s.metric,
    state: s.state,
    indexed: s.indexed ?? null,
    pending: s.pending ?? null
  };
}

/** `POST feature-groups/<name>/neighbors`. */
export function parseNeighbors(data: unknown): INeighbors {
  const n = listAnswer<C.GroupNeighbors>(data, 'neighbors', 'the neighbours');
  return { columns: n.columns, neighbors: n.neighbors };
}

export function parseFeatureGroups(data: unknown): IFeatureGroup[] {
  return listAnswer<C.FeatureGroupList>(
    data,
    'feature_groups',
    'the feature group list'
  ).feature_groups.map(parseFeatureGroup);
}

/** A histogram whose edges fit its counts (one more edge than counts), else null. */
function histogram(h: C.Histogram | null | undefined): IHistogram | null {
  return h && h.counts.length > 0 && h.edges.length === h.counts.length + 1
    ? { edges: h.edges, counts: h.counts }
    : null;
}

export function parseStatistics(s: C.Statistics | null | undefined): IStatistics | null {
  if (!s || !s.columns) {
    return null; // no commit yet
  }
  return {
    rows: s.rows ?? null,
    deltaVersion: s.delta_version ?? null,
    columns: Object.entries(s.columns).map(([name, c]) => ({
      name,
      type: c.type,
      count: c.count ?? null,
      nulls: c.nulls ?? null,
      distinct: c.distinct ?? null,
      min: c.min ?? null,
      max: c.max ?? null,
      mean: c.mean ?? null,
      stddev: c.stddev ?? null,
      histogram: histogram(c.histogram)
    }))
  };
}

function commit(c: C.Commit): ICommit {
  return {
    deltaVersion: c.delta_version,
    mode: c.mode,
    rows: c.rows,
    createdAt: c.created_at,
    who: c.who,
    checksPassed: c.checks_passed,
    lineage: c.lineage,
    durationS: c.duration_s
  };
}

export function parseFeatureGroupDetail(data: unknown): IFeatureGroupDetail {
  const g = named<C.FeatureGroupDetail>(data, 'the feature group', ['version']);
  new Fields(data, 'the feature group').list('commits', item => item);
  return {
    ...featureGroup(g, g.commit_count),
    checks: g.checks,
    commitList: g.commits.map(commit),
    statistics: parseStatistics(g.statistics),
    versions: g.versions,
    sample: g.sample,
    embeddingIndex: g.embedding_index.map(indexStatus)
  };
}

// -- models -------------------------------------------------------------------

export interface IModelSummary {
  name: string;
  versions: number;
  latestVersion: number | null;
  aliases: Record<string, number>;
  task: string | null;
  latestMetrics: Record<string, number>;
  updatedAt: string | null;
}

export interface IModelVersion {
  name: string;
  version: number;
  aliases: string[];
  task: string | null;
  metrics: Record<string, number>;
  flavour: string | null;
  createdAt: string | null;
  createdBy: string | null;
  description: string;
}

/**
 * Which way a metric is better, as the registry decides it (the server sends
 * it: the sidebar keeps no rule of its own).
 */
export type MetricDirection = 'higher' | 'lower';

export interface IModelDetail {
  name: string;
  aliases: Record<string, number>;
  versions: IModelVersion[];
  /** Per metric, which way is better; a metric the server did not rate is absent. */
  metricDirections: Record<string, MetricDirection>;
}

export interface IAliasMove {
  name: string;
  alias: string;
  version: number | null;
  previous: number | null;
}

export function parseModels(data: unknown): IModelSummary[] {
  return listAnswer<C.ModelList>(data, 'models', 'the model list').models.map(item => {
    const m = named<C.ModelSummary>(item, 'a model');
    return {
      name: m.name,
      versions: m.versions,
      latestVersion: m.latest_version,
      aliases: m.aliases,
      task: m.task,
      latestMetrics: numbers(m.latest_metrics),
      updatedAt: m.updated_at
    };
  });
}

export function parseModelVersion(item: unknown): IModelVersion {
  const v = named<C.ModelVersion>(item, 'a model version', ['version']);
  return {
    name: v.name,
    version: v.version,
    aliases: v.aliases,
    task: v.task,
    metrics: numbers(v.metrics),
    flavour: v.flavour,
    createdAt: v.created_at,
    createdBy: v.created_by,
    description: v.description
  };
}

export function parseModelDetail(data: unknown): IModelDetail {
  const m = named<C.ModelDetail>(data, 'the model');
  new Fields(data, 'the model').list('versions', item => item);
  return {
    name: m.name,
    aliases: m.aliases,
    versions: m.versions.map(parseModelVersion),
    metricDirections: m.metric_directions
  };
}

/** `POST models/<name>/aliases/<alias>`. */
export function parseAliasMove(data: unknown): IAliasMove {
  const m = named<C.AliasMove>(data, 'the alias move');
  return { name: m.name, alias: m.alias, version: m.version, previous: m.previous ?? null };
}

// -- deployments --------------------------------------------------------------

export interface IDeployment {
  name: string;
  model: string;
  /** The alias the deployment follows, or null when pinned to `version`. */
  alias: string | null;
  version: number | null;
  /** The model version the last request was answered with. */
  servedVersion: number | null;
  view: string | null;
  kind: string;
  requests: number;
  errors: number;
  /** Logged predictions the inference log could not write (kept in a dead-letter file). */
  deadLetters: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  lastRequestAt: string | null;
  endpoint: string;
  /** Packages whose versions here differ from the model's training environment. */
  environmentMismatch: Record<string, [string | null, string | null]>;
  /** The headline business KPI (null when the deployment defines no KPI). */
  headline: IHeadline | null;
}

/** A deployment's headline KPI: its latest weekly value and the trend. */
export interface IHeadline {
  kpi: string | null;
  value: number | null;
  trend: 'up' | 'down' | 'flat' | null;
  version: number | null;
  arm: string | null;
}

export function parseHeadline(h: C.Headline | null | undefined): IHeadline | null {
  if (!h) {
    return null;
  }
  return {
    kpi: h.kpi,
    value: h.value,
    trend: h.trend,
    version: h.version ?? null,
    arm: h.arm ?? null
  };
}

/** What `deployments/<name>/business` answers: the view with its Vega-Lite spec. */
export interface IBusinessView {
  deployment: string;
  every: string;
  headline: IHeadline | null;
  spec: JSONObject;
  kpiRows: number;
  alerts: { message: string; kind: string }[];
  /** The arms' comparison; null with a single series or when it could not be made. */
  comparison: C.ArmComparison | null;
}

export function parseBusinessView(data: unknown): IBusinessView {
  const v = new Fields(data, 'the business view').data as unknown as C.BusinessView;
  // the chart is what the view is for: an answer without one is refused, not half drawn
  if (!isObject(v.spec)) {
    throw new Error('The business view has no chart spec.');
  }
  const c = v.comparison;
  return {
    deployment: v.deployment,
    every: v.every,
    headline: parseHeadline(v.headline),
    spec: v.spec,
    kpiRows: v.kpis.length,
    alerts: v.alerts.map(a => ({ message: a.message, kind: a.kind })),
    comparison: c && 'arms' in c ? c : null
  };
}

/** Package -> [version at training, version here]. */
function mismatchOf(
  value: C.Deployment['environment_mismatch']
): Record<string, [string | null, string | null]> {
  const out: Record<string, [string | null, string | null]> = {};
  for (const [k, [then, now]] of Object.entries(value)) {
    out[k] = [then ?? null, now ?? null];
  }
  return out;
}

export function parseDeployments(data: unknown): IDeployment[] {
  const list = listAnswer<C.DeploymentList>(data, 'deployments', 'the deployment list');
  return list.deployments.map(item => {
    const d = named<C.Deployment>(item, 'a deployment');
    return {
      name: d.name,
      model: d.model,
      alias: d.alias,
      version: d.version,
      servedVersion: d.served_version,
      view: d.view,
      kind: d.kind,
      requests: d.requests,
      errors: d.errors,
      deadLetters: d.dead_letter_rows,
      latencyP50Ms: d.latency_p50_ms,
      latencyP99Ms: d.latency_p99_ms,
      lastRequestAt: d.last_request_at,
      environmentMismatch: mismatchOf(d.environment_mismatch),
      endpoint: d.endpoint,
      headline: parseHeadline(d.headline)
    };
  });
}

// -- named pipelines ------------------------------------------------------------

/**
 * A named pipeline (`lh.pipelines.create(name, steps=[...])`): steps of one or
 * more notebooks run in dependency order.
 */
export interface IPipelineStep {
  /** Absolute path of the notebook, as the server sees it. */
  notebook: string;
  /** The step's name, possibly as `kind:name`. */
  step: string;
}

export interface IPipeline {
  name: string;
  steps: IPipelineStep[];
  updatedAt: string | null;
}

export function parsePipelines(data: unknown): IPipeline[] {
  return listAnswer<C.PipelineList>(data, 'pipelines', 'the pipeline list').pipelines.map(
    item => {
      const p = named<C.Pipeline>(item, 'a pipeline');
      return { name: p.name, steps: p.steps, updatedAt: p.updated_at };
    }
  );
}

/**
 * `fti.ipynb::clicks` for a pipeline step (`kind:` prefix dropped).
 */
export function stepLabel(s: IPipelineStep): string {
  const name = s.step.replace(/^(feature|training|inference):/, '');
  return s.notebook ? `${basename(s.notebook)}::${name}` : name;
}

// -- steps, schedules and runs ------------------------------------------------

export const STEP_KINDS = ['feature', 'training', 'inference'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export function isStepKind(value: unknown): value is StepKind {
  return (STEP_KINDS as readonly unknown[]).includes(value);
}

export interface IStep {
  kind: StepKind;
  name: string;
  /** Absolute path of the notebook, as the server sees it. */
  notebook: string;
  cellId: string | null;
  index: number;
  /** The cron of the magic's own `--schedule`, if any. */
  schedule: string | null;
  tz: string | null;
  /** Whether a run now would skip it (asked with `?why=1`), and why it would not. */
  upToDate?: boolean | null;
  reasons?: string[];
}

/**
 * The code cells after a notebook's last step (`NOTEBOOK::cells:tail`): a run of the whole
 * notebook runs them, and skips them when they are up to date.
 */
export interface IStepTail {
  /** Absolute path of the notebook, as the server sees it. */
  notebook: string;
  /** The first and the last of those cells (0-based). */
  firstIndex: number;
  index: number;
  ref: string;
  upToDate: boolean;
  reasons: string[];
}

/** The cells after each notebook's last step, in a step list asked with `?why=1`. */
export function parseStepTails(data: unknown): IStepTail[] {
  return new Fields(data, 'the step list').list('tails', item => {
    const f = new Fields(item, 'the cells after a last step');
    f.str('notebook');
    f.count('first_index');
    f.count('index');
    const t = item as C.StepTail;
    return {
      notebook: t.notebook,
      firstIndex: t.first_index,
      index: t.index,
      ref: t.ref,
      upToDate: t.up_to_date === true,
      reasons: t.reasons ?? []
    };
  });
}

export function parseSteps(data: unknown): IStep[] {
  return listAnswer<C.StepList>(data, 'steps', 'the step list').steps.map(item => {
    const s = named<C.Step>(item, 'a step', ['index']);
    // the sidebar builds magic lines per kind: a kind it does not know is not guessed at
    if (!isStepKind(s.kind)) {
      throw malformed(`step kind "${s.kind}" is not one of ${STEP_KINDS.join(', ')}`);
    }
    return {
      kind: s.kind,
      name: s.name,
      notebook: s.notebook,
      cellId: s.cell_id,
      index: s.index,
      schedule: s.schedule,
      tz: s.tz,
      // only with ?why=1
      upToDate: s.up_to_date ?? null,
      reasons: s.reasons ?? []
    };
  });
}

// -- lineage ---------------------------------------------------------------------------

/** One node of the lineage graph (`GET /lakebook/api/lineage`). */
export interface ILineageNode {
  id: string;
  kind: string;
  name: string;
  version: string | null;
  who: string | null;
  createdAt: string | null;
  status: string | null;
  stale: boolean;
  reason: string | null;
  notebook: string | null;
}

export interface ILineageEdge {
  source: string;
  target: string;
  relation: string;
}

export interface ILineageGraph {
  nodes: ILineageNode[];
  edges: ILineageEdge[];
}

/** `GET lineage`. */
export function parseLineage(data: unknown): ILineageGraph {
  const g = listAnswer<C.LineageGraph>(data, 'nodes', 'the lineage graph');
  new Fields(data, 'the lineage graph').list('edges', item => item);
  return {
    nodes: g.nodes.map(n => ({
      id: n.id,
      kind: n.kind,
      name: n.name,
      version: n.version,
      who: n.who,
      createdAt: n.created_at,
      status: n.status,
      stale: n.stale,
      reason: n.reason,
      notebook: n.notebook
    })),
    edges: g.edges.map(e => ({ source: e.source, target: e.target, relation: e.relation }))
  };
}

/**
 * What a run or a schedule executes.
 */
export interface ITarget {
  notebook: string | null;
  /** Step names (`name` or `kind:name`); null means the whole notebook. */
  steps: string[] | null;
  pipeline: string | null;
}

function target(t: C.Target | null | undefined): ITarget {
  return {
    notebook: t?.notebook ?? null,
    steps: t?.steps ?? null,
    pipeline: t?.pipeline ?? null
  };
}

export interface ISchedule {
  id: number;
  name: string;
  target: ITarget;
  cron: string;
  timezone: string;
  paused: boolean;
  nextRunAt: string | null;
  lastScheduledFor: string | null;
}

export function parseSchedule(item: unknown): ISchedule {
  const s = named<C.Schedule>(item, 'a schedule', ['id']);
  return {
    id: s.id,
    name: s.name,
    target: target(s.target),
    cron: s.cron,
    timezone: s.timezone,
    paused: s.paused,
    nextRunAt: s.next_run_at,
    lastScheduledFor: s.last_scheduled_for
  };
}

export function parseSchedules(data: unknown): ISchedule[] {
  return listAnswer<C.ScheduleList>(data, 'schedules', 'the schedule list').schedules.map(
    parseSchedule
  );
}

export const RUN_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
  'up_to_date'
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number] | 'unknown';

export function isActiveStatus(status: RunStatus): boolean {
  return status === 'queued' || status === 'running';
}

export interface IRunProgress {
  /** Cells finished in the current stage. */
  done: number;
  /** Cells in the current stage (the injected parameters cell included). */
  cells: number | null;
  stage: number;
  stages: number;
}

export interface IRunError {
  cellIndex: number | null;
  ename: string;
  evalue: string;
}

export interface IRun {
  id: string;
  status: RunStatus;
  target: ITarget;
  label: string;
  attempt: number;
  maxAttempts: number;
  scheduleId: number | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationS: number | null;
  outputPath: string | null;
  error: IRunError | null;
  progress: IRunProgress | null;
  cancelRequested: boolean;
}

export function parseRun(item: unknown): IRun {
  const f = new Fields(item, 'a run');
  f.str('id');
  const r = item as C.Run;
  // a newer server's status shows as unknown rather than breaking the run list
  const status = (RUN_STATUSES as readonly string[]).includes(r.status)
    ? r.status
    : 'unknown';
  const t = target(r.target);
  const p = r.progress;
  const e = r.error;
  return {
    id: r.id,
    status,
    target: t,
    label: r.label || targetLabel(t),
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    scheduleId: r.schedule_id,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationS: r.duration_s,
    outputPath: r.output_path,
    error: e ? { cellIndex: e.cell_index ?? null, ename: e.ename, evalue: e.evalue } : null,
    progress: p ? { done: p.done, cells: p.cells, stage: p.stage, stages: p.stages } : null,
    cancelRequested: r.cancel_requested
  };
}

export function parseRuns(data: unknown): IRun[] {
  return listAnswer<C.RunList>(data, 'runs', 'the run list').runs.map(parseRun);
}

export interface IRunOutput {
  runId: string;
  path: string;
  notebook: JSONObject;
}

export function parseRunOutput(data: unknown): IRunOutput {
  const f = new Fields(data, 'the run output');
  const o = data as C.RunOutput;
  // rendered cell by cell: anything but a notebook is refused here, not half drawn
  if (!isObject(o.notebook) || !Array.isArray(o.notebook['cells'])) {
    throw malformed('"notebook" of the run output must be a notebook');
  }
  return { runId: f.str('run_id'), path: o.path, notebook: o.notebook };
}

/**
 * `fti.ipynb::clicks` for a target (the server sends its own `label`).
 */
export function targetLabel(target: ITarget): string {
  if (target.pipeline) {
    return `pipeline ${target.pipeline}`;
  }
  const nb = basename(target.notebook ?? '');
  return target.steps && target.steps.length
    ? `${nb}::${target.steps.join(',')}`
    : nb;
}

export function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

/**
 * Whether a run's or schedule's target runs exactly this step (and no
 * other): same notebook, and the step named as `name` or `kind:name`.
 */
export function targetsStep(target: ITarget, step: IStep): boolean {
  if (target.pipeline || target.notebook !== step.notebook) {
    return false;
  }
  const steps = target.steps ?? [];
  return (
    steps.length === 1 &&
    (steps[0] === step.name || steps[0] === `${step.kind}:${step.name}`)
  );
}

// -- monitoring -----------------------------------------------------------------

export type Verdict = 'ok' | 'drift' | 'failed' | 'skipped' | 'unknown';

export interface IMonitor {
  name: string;
  /** What the monitor watches, e.g. `deployment fraud_online`. */
  watches: string;
  verdict: Verdict;
  driftShare: number | null;
  driftedColumns: number | null;
  /** Names of the drifted columns, when the server lists them. */
  driftedNames: string[];
  columns: number | null;
  resultId: number | null;
  checkedAt: string | null;
  reason: string | null;
  /** Path of the HTML report below `/lakebook/api/`, when there is one. */
  reportPath: string | null;
}

function verdictOf(status: C.MonitorSummary['status']): Verdict {
  return status === 'never run' ? 'unknown' : status;
}

/** What a monitor watches, from its spec (`deployment x`, `feature group y`). */
function watches(spec: JSONObject): string {
  if (typeof spec['deployment'] === 'string') {
    return `deployment ${spec['deployment']}`;
  }
  return typeof spec['feature_group'] === 'string'
    ? `feature group ${spec['feature_group']}`
    : '';
}

/** Parse `GET monitors`: each monitor with its latest result. */
export function parseMonitors(data: unknown): IMonitor[] {
  return listAnswer<C.MonitorList>(data, 'monitors', 'the monitor list').monitors.map(
    item => {
      const m = named<C.MonitorSummary>(item, 'a monitor');
      const r = m.latest;
      const columns = m.spec['columns'];
      return {
        name: m.name,
        watches: watches(m.spec),
        verdict: verdictOf(m.status),
        driftShare: r?.drift_share ?? null,
        driftedColumns: r ? r.drifted_columns.length : null,
        driftedNames: r?.drifted_columns ?? [],
        columns: Array.isArray(columns) ? columns.length : null,
        resultId: r?.id ?? null,
        checkedAt: r?.created_at ?? null,
        reason: r?.reason ?? null,
        // the server's URL is relative to its base URL; the client's paths to /lakebook/api/
        reportPath: r?.report_url ? r.report_url.replace(/^(.*\/)?lakebook\/api\//, '') : null
      };
    }
  );
}

export interface IAlert {
  id: number;
  monitor: string;
  kind: string;
  message: string;
  createdAt: string | null;
  acknowledged: boolean;
}

export function parseAlert(item: unknown): IAlert {
  new Fields(item, 'an alert').count('id');
  const a = item as C.Alert;
  return {
    id: a.id,
    monitor: a.monitor,
    kind: a.kind,
    message: a.message,
    createdAt: a.created_at,
    acknowledged: a.acknowledged
  };
}

export function parseAlerts(data: unknown): IAlert[] {
  return listAnswer<C.AlertList>(data, 'alerts', 'the alert list').alerts.map(parseAlert);
}
