/**
 * Types and parsers of the Lakebook REST endpoints the sidebar reads.
 *
 * Each `parseX` takes the decoded JSON body and returns a typed, camel-cased
 * value, or throws a `LakebookApiError` when the answer breaks the contract.
 * Unknown extra fields are ignored, optional ones may be missing.
 */
import { Fields, JSONObject, isObject, malformed } from './json';

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
  /** ready | tail | merging | saved | not built | offline */
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

function parseColumn(item: unknown): IColumn {
  const f = new Fields(item, 'a schema column');
  return {
    name: f.str('name'),
    type: f.optStr('type') ?? 'unknown',
    nullable: f.bool('nullable', true)
  };
}

export function parseFeatureGroup(item: unknown): IFeatureGroup {
  const f = new Fields(item, 'a feature group');
  const commits = f.data['commits'];
  return {
    name: f.str('name'),
    version: f.count('version'),
    keys: f.strList('keys'),
    eventTime: f.optStr('event_time') ?? '',
    online: f.bool('online'),
    description: f.optStr('description') ?? '',
    rows: f.optCount('rows') ?? f.optCount('row_count'),
    commits: Array.isArray(commits)
      ? commits.length
      : (f.optCount('commit_count') ?? f.optCount('commits') ?? 0),
    deltaVersion: f.optCount('delta_version'),
    lastCommitAt: f.optStr('last_commit_at'),
    lastCommitBy: f.optStr('last_commit_by'),
    createdAt: f.optStr('created_at'),
    createdBy: f.optStr('created_by'),
    schema: f.optList('schema', parseColumn),
    embeddings: parseEmbeddings(f.data['embeddings'])
  };
}

function parseEmbeddings(value: unknown): IEmbedding[] {
  if (!isObject(value)) {
    return [];
  }
  const out: IEmbedding[] = [];
  for (const [column, spec] of Object.entries(value)) {
    if (isObject(spec)) {
      const f = new Fields(spec, `the embedding column ${column}`);
      out.push({ column, dim: f.optCount('dim') ?? 0, metric: f.optStr('metric') ?? 'cosine' });
    }
  }
  return out;
}

function parseIndexStatus(item: unknown): IIndexStatus {
  const f = new Fields(item, 'an embedding index');
  return {
    column: f.str('column'),
    dim: f.optCount('dim') ?? 0,
    metric: f.optStr('metric') ?? 'cosine',
    state: f.optStr('state') ?? 'unknown',
    indexed: f.optCount('indexed'),
    pending: f.optCount('pending')
  };
}

export function parseNeighbors(data: unknown): INeighbors {
  const f = new Fields(data, 'the neighbours');
  return {
    columns: f.strList('columns'),
    neighbors: f.optList('neighbors', row => (isObject(row) ? row : {}))
  };
}

export function parseFeatureGroups(data: unknown): IFeatureGroup[] {
  return new Fields(data, 'the feature group list').list(
    'feature_groups',
    parseFeatureGroup
  );
}

function parseHistogram(value: unknown): IHistogram | null {
  if (!isObject(value)) {
    return null;
  }
  const edges = value['edges'];
  const counts = value['counts'];
  if (!Array.isArray(edges) || !Array.isArray(counts)) {
    return null;
  }
  const e = edges.filter((x): x is number => typeof x === 'number');
  const c = counts.filter((x): x is number => typeof x === 'number');
  if (c.length === 0 || e.length !== c.length + 1) {
    return null;
  }
  return { edges: e, counts: c };
}

function scalar(value: unknown): string | number | boolean | null {
  return typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
    ? value
    : null;
}

export function parseStatistics(value: unknown): IStatistics | null {
  if (!isObject(value) || !isObject(value['columns'])) {
    return null;
  }
  const f = new Fields(value, 'the statistics');
  const columns: IColumnStatistics[] = [];
  for (const [name, col] of Object.entries(value['columns'] as JSONObject)) {
    if (!isObject(col)) {
      continue;
    }
    const c = new Fields(col, `the statistics of ${name}`);
    columns.push({
      name,
      type: c.optStr('type') ?? '',
      count: c.optNum('count'),
      nulls: c.optNum('nulls'),
      distinct: c.optNum('distinct'),
      min: scalar(col['min']),
      max: scalar(col['max']),
      mean: c.optNum('mean'),
      stddev: c.optNum('stddev'),
      histogram: parseHistogram(col['histogram'])
    });
  }
  return {
    rows: f.optCount('rows'),
    deltaVersion: f.optCount('delta_version'),
    columns
  };
}

function parseCommit(item: unknown): ICommit {
  const f = new Fields(item, 'a commit');
  return {
    deltaVersion: f.count('delta_version'),
    mode: f.optStr('mode') ?? 'append',
    rows: f.optCount('rows'),
    createdAt: f.optStr('created_at'),
    who: f.optStr('who'),
    checksPassed: f.strList('checks_passed'),
    lineage: f.obj('lineage') ?? {},
    durationS: f.optNum('duration_s')
  };
}

export function parseFeatureGroupDetail(data: unknown): IFeatureGroupDetail {
  const base = parseFeatureGroup(data);
  const f = new Fields(data, 'the feature group');
  const commitList = f.optList('commits', parseCommit);
  const sample = f.optList('sample', row => (isObject(row) ? row : {}));
  return {
    ...base,
    commits: commitList.length || base.commits,
    checks: f.strList('checks'),
    commitList,
    statistics: parseStatistics(f.data['statistics']),
    versions: f
      .optList('versions', v => (typeof v === 'number' ? v : null))
      .filter((v): v is number => v !== null),
    sample,
    embeddingIndex: f.optList('embedding_index', parseIndexStatus)
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
  return new Fields(data, 'the model list').list('models', item => {
    const f = new Fields(item, 'a model');
    return {
      name: f.str('name'),
      versions: f.optCount('versions') ?? 0,
      latestVersion: f.optCount('latest_version'),
      aliases: f.numbers('aliases'),
      task: f.optStr('task'),
      latestMetrics: f.numbers('latest_metrics'),
      updatedAt: f.optStr('updated_at')
    };
  });
}

export function parseModelVersion(item: unknown): IModelVersion {
  const f = new Fields(item, 'a model version');
  return {
    name: f.str('name'),
    version: f.count('version'),
    aliases: f.strList('aliases'),
    task: f.optStr('task'),
    metrics: f.numbers('metrics'),
    flavour: f.optStr('flavour'),
    createdAt: f.optStr('created_at'),
    createdBy: f.optStr('created_by'),
    description: f.optStr('description') ?? ''
  };
}

export function parseModelDetail(data: unknown): IModelDetail {
  const f = new Fields(data, 'the model');
  const metricDirections: Record<string, MetricDirection> = {};
  for (const [metric, direction] of Object.entries(f.obj('metric_directions') ?? {})) {
    if (direction === 'higher' || direction === 'lower') {
      metricDirections[metric] = direction;
    }
  }
  return {
    name: f.str('name'),
    aliases: f.numbers('aliases'),
    versions: f.list('versions', parseModelVersion),
    metricDirections
  };
}

export function parseAliasMove(data: unknown): IAliasMove {
  const f = new Fields(data, 'the alias move');
  return {
    name: f.str('name'),
    alias: f.str('alias'),
    version: f.optCount('version'),
    previous: f.optCount('previous')
  };
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

export function parseHeadline(data: unknown): IHeadline | null {
  if (data === null || data === undefined || typeof data !== 'object') {
    return null;
  }
  const f = new Fields(data, 'a headline KPI');
  const trend = f.optStr('trend');
  return {
    kpi: f.optStr('kpi'),
    value: f.optNum('value'),
    trend: trend === 'up' || trend === 'down' || trend === 'flat' ? trend : null,
    version: f.optCount('version'),
    arm: f.optStr('arm')
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
  comparison: JSONObject | null;
}

export function parseBusinessView(data: unknown): IBusinessView {
  const f = new Fields(data, 'the business view');
  const spec = f.obj('spec');
  if (spec === null) {
    throw new Error('The business view has no chart spec.');
  }
  const raw = (data as JSONObject)['alerts'];
  const alerts = Array.isArray(raw)
    ? raw.map(a => {
        const af = new Fields(a, 'an alert');
        return { message: af.optStr('message') ?? '', kind: af.optStr('kind') ?? '' };
      })
    : [];
  const kpis = (data as JSONObject)['kpis'];
  return {
    deployment: f.str('deployment'),
    every: f.optStr('every') ?? '1w',
    headline: parseHeadline((data as JSONObject)['headline']),
    spec,
    kpiRows: Array.isArray(kpis) ? kpis.length : 0,
    alerts,
    comparison: f.obj('comparison')
  };
}

function mismatchOf(value: unknown): Record<string, [string | null, string | null]> {
  const out: Record<string, [string | null, string | null]> = {};
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (Array.isArray(v) && v.length === 2) {
        out[k] = [typeof v[0] === 'string' ? v[0] : null, typeof v[1] === 'string' ? v[1] : null];
      }
    }
  }
  return out;
}

export function parseDeployments(data: unknown): IDeployment[] {
  return new Fields(data, 'the deployment list').list('deployments', item => {
    const f = new Fields(item, 'a deployment');
    const name = f.str('name');
    return {
      name,
      model: f.str('model'),
      alias: f.optStr('alias'),
      version: f.optCount('version'),
      servedVersion: f.optCount('served_version') ?? f.optCount('model_version'),
      view: f.optStr('view'),
      kind: f.optStr('kind') ?? 'online',
      requests: f.optCount('requests') ?? 0,
      errors: f.optCount('errors') ?? 0,
      deadLetters: f.optCount('dead_letter_rows') ?? 0,
      latencyP50Ms: f.optNum('latency_p50_ms'),
      latencyP99Ms: f.optNum('latency_p99_ms'),
      lastRequestAt: f.optStr('last_request_at'),
      environmentMismatch: mismatchOf(isObject(item) ? item.environment_mismatch : null),
      endpoint:
        f.optStr('endpoint') ??
        `/lakebook/api/deployments/${encodeURIComponent(name)}/predict`,
      headline: parseHeadline((item as JSONObject)['headline'])
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

function parsePipelineStep(item: unknown): IPipelineStep {
  if (typeof item === 'string') {
    const at = item.lastIndexOf('::');
    return at < 0
      ? { notebook: '', step: item }
      : { notebook: item.slice(0, at), step: item.slice(at + 2) };
  }
  const f = new Fields(item, 'a pipeline step');
  return { notebook: f.optStr('notebook') ?? '', step: f.str('step') };
}

export function parsePipelines(data: unknown): IPipeline[] {
  return new Fields(data, 'the pipeline list').list('pipelines', item => {
    const f = new Fields(item, 'a pipeline');
    return {
      name: f.str('name'),
      steps: f.optList('steps', parsePipelineStep),
      updatedAt: f.optStr('updated_at')
    };
  });
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

export function parseSteps(data: unknown): IStep[] {
  return new Fields(data, 'the step list').list('steps', item => {
    const f = new Fields(item, 'a step');
    const kind = f.str('kind');
    if (!isStepKind(kind)) {
      throw malformed(`step kind "${kind}" is not one of ${STEP_KINDS.join(', ')}`);
    }
    return {
      kind,
      name: f.str('name'),
      notebook: f.str('notebook'),
      cellId: f.optStr('cell_id'),
      index: f.optCount('index') ?? 0,
      schedule: f.optStr('schedule'),
      tz: f.optStr('tz'),
      upToDate: isObject(item) && typeof item.up_to_date === 'boolean' ? item.up_to_date : null,
      reasons: isObject(item) && Array.isArray(item.reasons) ? f.strList('reasons') : []
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

export function parseLineage(data: unknown): ILineageGraph {
  const f = new Fields(data, 'the lineage graph');
  const nodes = f.list('nodes', item => {
    const n = new Fields(item, 'a lineage node');
    return {
      id: n.str('id'),
      kind: n.str('kind'),
      name: n.str('name'),
      version: n.optStr('version'),
      who: n.optStr('who'),
      createdAt: n.optStr('created_at'),
      status: n.optStr('status'),
      stale: n.bool('stale'),
      reason: n.optStr('reason'),
      notebook: n.optStr('notebook')
    };
  });
  const edges = f.list('edges', item => {
    const e = new Fields(item, 'a lineage edge');
    return { source: e.str('source'), target: e.str('target'), relation: e.str('relation') };
  });
  return { nodes, edges };
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

function parseTarget(value: unknown): ITarget {
  if (!isObject(value)) {
    return { notebook: null, steps: null, pipeline: null };
  }
  const f = new Fields(value, 'a target');
  return {
    notebook: f.optStr('notebook'),
    steps: Array.isArray(value['steps']) ? f.strList('steps') : null,
    pipeline: f.optStr('pipeline')
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
  const f = new Fields(item, 'a schedule');
  return {
    id: f.count('id'),
    name: f.str('name'),
    target: parseTarget(f.data['target']),
    cron: f.str('cron'),
    timezone: f.optStr('timezone') ?? 'UTC',
    paused: f.bool('paused'),
    nextRunAt: f.optStr('next_run_at'),
    lastScheduledFor: f.optStr('last_scheduled_for')
  };
}

export function parseSchedules(data: unknown): ISchedule[] {
  return new Fields(data, 'the schedule list').list('schedules', parseSchedule);
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
  const raw = f.str('status');
  const status = (RUN_STATUSES as readonly string[]).includes(raw)
    ? (raw as RunStatus)
    : 'unknown';
  const progress = f.obj('progress');
  const error = f.obj('error');
  let parsedProgress: IRunProgress | null = null;
  if (progress) {
    const p = new Fields(progress, 'the run progress');
    parsedProgress = {
      done: p.optCount('done') ?? 0,
      cells: p.optCount('cells'),
      stage: p.optCount('stage') ?? 1,
      stages: p.optCount('stages') ?? 1
    };
  }
  let parsedError: IRunError | null = null;
  if (error) {
    const e = new Fields(error, 'the run error');
    parsedError = {
      cellIndex: e.optCount('cell_index'),
      ename: e.optStr('ename') ?? 'Error',
      evalue: e.optStr('evalue') ?? e.optStr('message') ?? ''
    };
  }
  const target = parseTarget(f.data['target']);
  return {
    id: f.str('id'),
    status,
    target,
    label: f.optStr('label') ?? targetLabel(target),
    attempt: f.optCount('attempt') ?? 1,
    maxAttempts: f.optCount('max_attempts') ?? 1,
    scheduleId: f.optCount('schedule_id'),
    queuedAt: f.optStr('queued_at'),
    startedAt: f.optStr('started_at'),
    finishedAt: f.optStr('finished_at'),
    durationS: f.optNum('duration_s'),
    outputPath: f.optStr('output_path'),
    error: parsedError,
    progress: parsedProgress,
    cancelRequested: f.bool('cancel_requested')
  };
}

export function parseRuns(data: unknown): IRun[] {
  return new Fields(data, 'the run list').list('runs', parseRun);
}

export interface IRunOutput {
  runId: string;
  path: string;
  notebook: JSONObject;
}

export function parseRunOutput(data: unknown): IRunOutput {
  const f = new Fields(data, 'the run output');
  const notebook = f.obj('notebook');
  if (!notebook || !Array.isArray(notebook['cells'])) {
    throw malformed('"notebook" of the run output must be a notebook');
  }
  return { runId: f.str('run_id'), path: f.optStr('path') ?? '', notebook };
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

function verdictOf(value: unknown): Verdict {
  if (value === 'ok' || value === 'drift' || value === 'failed' || value === 'skipped') {
    return value;
  }
  if (value === 'passed' || value === 'success') {
    return 'ok';
  }
  return 'unknown';
}

/**
 * Parse `GET /monitors`. The latest result may be nested (`latest`,
 * `last_result`) or flat on the monitor.
 */
export function parseMonitors(data: unknown): IMonitor[] {
  return new Fields(data, 'the monitor list').list('monitors', item => {
    const f = new Fields(item, 'a monitor');
    const name = f.str('name');
    const nested = f.obj('latest') ?? f.obj('last_result') ?? f.obj('result');
    const r = new Fields(nested ?? f.data, `the latest result of ${name}`);
    const resultId = r.optCount('id') ?? r.optCount('result_id');
    const spec = f.obj('spec');
    const watches =
      f.optStr('watches') ??
      f.optStr('source') ??
      (f.optStr('deployment') ? `deployment ${f.optStr('deployment')}` : null) ??
      (f.optStr('feature_group') ? `group ${f.optStr('feature_group')}` : null) ??
      (spec && typeof spec['deployment'] === 'string'
        ? `deployment ${spec['deployment']}`
        : null) ??
      (spec && typeof spec['feature_group'] === 'string'
        ? `feature group ${spec['feature_group']}`
        : null) ??
      '';
    let reportPath = r.optStr('report_url') ?? f.optStr('report_url');
    if (reportPath) {
      reportPath = reportPath.replace(/^(.*\/)?lakebook\/api\//, '');
    } else if (resultId !== null && (nested || r.optStr('status'))) {
      reportPath = `monitors/${encodeURIComponent(name)}/reports/${resultId}.html`;
    }
    // `drifted_columns` is a list of names (or a count); `columns` an object
    // of per-column scores (or a count).
    let drifted: number | null = null;
    let driftedNames: string[] = [];
    const d = r.data['drifted_columns'];
    if (Array.isArray(d)) {
      driftedNames = d.filter((x): x is string => typeof x === 'string');
      drifted = driftedNames.length;
    } else {
      drifted = r.optCount('drifted_columns');
    }
    const columns = r.obj('columns');
    let total: number | null = r.optCount('columns');
    if (columns) {
      const entries = Object.entries(columns);
      total = entries.length;
      if (drifted === null) {
        driftedNames = entries
          .filter(([, v]) => isObject(v) && (v['drifted'] === true || v['drift_detected'] === true))
          .map(([k]) => k);
        drifted = driftedNames.length;
      }
    }
    return {
      name,
      watches,
      verdict: verdictOf(r.optStr('status') ?? r.optStr('verdict')),
      driftShare: r.optNum('drift_share'),
      driftedColumns: drifted,
      driftedNames,
      columns: total,
      resultId,
      checkedAt: r.optStr('created_at') ?? r.optStr('checked_at'),
      reason: r.optStr('reason'),
      reportPath
    };
  });
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
  const f = new Fields(item, 'an alert');
  return {
    id: f.count('id'),
    monitor: f.optStr('monitor') ?? '',
    kind: f.optStr('kind') ?? 'drift',
    message: f.optStr('message') ?? '',
    createdAt: f.optStr('created_at'),
    acknowledged: f.bool('acknowledged')
  };
}

export function parseAlerts(data: unknown): IAlert[] {
  return new Fields(data, 'the alert list').list('alerts', parseAlert);
}
