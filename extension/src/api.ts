/**
 * Typed client for the Lakebook REST API (`/lakebook/api/...`).
 *
 * This module is deliberately free of JupyterLab imports: the transport is
 * injected (see `handler.ts` for the `ServerConnection` based one), so that
 * the parsing and error handling can be unit tested without a browser.
 */
import {
  IAliasMove,
  IAlert,
  IDeployment,
  IFeatureGroup,
  IFeatureGroupDetail,
  INeighbors,
  IModelDetail,
  IModelSummary,
  IMonitor,
  IPipeline,
  IRun,
  IRunOutput,
  ISchedule,
  IStep,
  IStepTail,
  ILineageGraph,
  parseLineage,
  parseAlert,
  parseAlerts,
  parseAliasMove,
  parseDeployments,
  parseFeatureGroupDetail,
  parseFeatureGroups,
  parseNeighbors,
  parseModelDetail,
  parseModels,
  parseMonitors,
  parsePipelines,
  parseRun,
  parseRunOutput,
  parseRuns,
  parseSchedule,
  parseSchedules,
  parseStepTails,
  parseSteps,
  IBusinessView,
  parseBusinessView
} from './endpoints';
import {
  LakebookApiError,
  describe,
  isCount,
  isObject,
  malformed
} from './json';
import * as C from './contract';
import schema from './contract.schema.json';

export { LakebookApiError, describe };
export * from './endpoints';

/**
 * The answer of `GET /lakebook/api/status` and its counts, as the REST contract
 * (kernel_magics/doors/rest/contract.py) describes them.
 */
export type LakebookStatus = C.Status;
export type StatusCounts = C.StatusCounts;
export type CountKey = keyof C.StatusCounts;

/** The counts every status answer carries: the contract's list, read from its schema. */
export const STATUS_COUNT_KEYS = (
  schema as { $defs: { StatusCounts: { required: string[] } } }
).$defs.StatusCounts.required as CountKey[];

/**
 * The counts the overview shows, in display order, with their labels (a presentation
 * choice: lineage events and KPIs have their own views).
 */
export const COUNT_LABELS = {
  feature_groups: 'Feature groups',
  feature_views: 'Feature views',
  models: 'Models',
  deployments: 'Deployments',
  schedules: 'Schedules',
  runs: 'Runs',
  monitors: 'Monitors'
} as const satisfies Partial<Record<CountKey, string>>;

/** A count the overview shows. */
export type ShownCount = keyof typeof COUNT_LABELS;

export const COUNT_KEYS = Object.keys(COUNT_LABELS) as ShownCount[];


/**
 * The part of a fetch `Response` that the client reads.
 */
export interface IResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  text(): Promise<string>;
}

/**
 * Read the JSON body of an API answer.
 *
 * A non-2xx answer is turned into a `LakebookApiError` whose message is taken
 * from the Lakebook error body (`{"error": "...", "status": 4xx}`), from a
 * Jupyter server error body (`{"message": "..."}`), or from the status line.
 */
export async function readResponse(response: IResponseLike): Promise<unknown> {
  let text = '';
  try {
    text = await response.text();
  } catch (reason) {
    throw new LakebookApiError(
      `Could not read the answer of the Lakebook server: ${describe(reason)}`,
      response.status
    );
  }
  let data: unknown = undefined;
  let parsed = false;
  if (text.trim().length > 0) {
    try {
      data = JSON.parse(text);
      parsed = true;
    } catch {
      parsed = false;
    }
  }
  if (!response.ok) {
    throw new LakebookApiError(
      errorMessage(response, parsed ? data : undefined),
      response.status
    );
  }
  if (!parsed) {
    throw new LakebookApiError(
      'The Lakebook server answered with something that is not JSON.',
      response.status
    );
  }
  return data;
}

function errorMessage(response: IResponseLike, body: unknown): string {
  if (isObject(body)) {
    for (const key of ['error', 'message', 'reason']) {
      const value = body[key];
      if (typeof value === 'string' && value.trim().length > 0) {
        return value;
      }
    }
  }
  if (response.status === 404) {
    return (
      'The Lakebook server extension is not available (HTTP 404). ' +
      'Check that the lakebook Python package is installed and enabled ' +
      'in this Jupyter server.'
    );
  }
  if (response.status === 403) {
    return 'Not allowed to read the Lakebook status (HTTP 403). Try reloading the page to log in again.';
  }
  const statusLine = `${response.status} ${response.statusText}`.trim();
  return `The Lakebook server answered HTTP ${statusLine}.`;
}

/**
 * Validate and narrow the body of `GET /lakebook/api/status`.
 *
 * Unknown extra fields are ignored so that a newer server keeps working with
 * this client; missing or mistyped known fields raise a `LakebookApiError`.
 */
export function parseStatus(data: unknown): LakebookStatus {
  if (!isObject(data)) {
    throw malformed('the answer is not a JSON object');
  }
  const { home, catalog_version, lakebook_version, counts } = data;
  if (typeof home !== 'string' || home.length === 0) {
    throw malformed('"home" must be a non-empty string');
  }
  if (!isCount(catalog_version)) {
    throw malformed('"catalog_version" must be a non-negative integer');
  }
  if (typeof lakebook_version !== 'string') {
    throw malformed('"lakebook_version" must be a string');
  }
  if (!isObject(counts)) {
    throw malformed('"counts" must be an object');
  }
  const parsedCounts = {} as StatusCounts;
  for (const key of STATUS_COUNT_KEYS) {
    const value = counts[key];
    if (!isCount(value)) {
      throw malformed(`"counts.${key}" must be a non-negative integer`);
    }
    parsedCounts[key] = value;
  }
  return {
    home,
    catalog_version,
    lakebook_version,
    counts: parsedCounts
  };
}

/**
 * The transport used by the client: request `endPoint` below
 * `<baseUrl>/lakebook/api/` and resolve with the decoded JSON body, or reject
 * with a `LakebookApiError`.
 */
export type RequestFunction = (
  endPoint: string,
  init?: RequestInit
) => Promise<unknown>;

/**
 * Fetch the text body of a path below `/lakebook/api/` (e.g. an HTML report).
 */
export type RequestTextFunction = (endPoint: string) => Promise<string>;

/**
 * What to schedule: a step of a notebook (path relative to the server root).
 */
export interface IScheduleRequest {
  notebook: string;
  step: string;
  cron: string;
  tz: string;
}

/**
 * Typed client of the Lakebook REST API.
 */
export class LakebookClient {
  constructor(request: RequestFunction, requestText?: RequestTextFunction) {
    this._request = request;
    this._requestText = requestText ?? null;
  }

  /** Fetch the lakehouse summary. */
  async status(): Promise<LakebookStatus> {
    return parseStatus(await this._get('status'));
  }

  async featureGroups(): Promise<IFeatureGroup[]> {
    return parseFeatureGroups(await this._get('feature-groups'));
  }

  async featureGroup(name: string, version?: number): Promise<IFeatureGroupDetail> {
    const query = version === undefined ? '' : `?version=${version}`;
    return parseFeatureGroupDetail(
      await this._get(`feature-groups/${encodeURIComponent(name)}${query}`)
    );
  }

  /** The rows nearest to the stored vector of `key` in group `name`. */
  async neighbors(
    name: string,
    request: { key: unknown; k?: number; col?: string; filter?: string; version?: number }
  ): Promise<INeighbors> {
    return parseNeighbors(
      await this._send('POST', `feature-groups/${encodeURIComponent(name)}/neighbors`, request)
    );
  }

  async models(): Promise<IModelSummary[]> {
    return parseModels(await this._get('models'));
  }

  async model(name: string): Promise<IModelDetail> {
    return parseModelDetail(await this._get(`models/${encodeURIComponent(name)}`));
  }

  /** Point `alias` of model `name` at `version`. */
  async moveAlias(name: string, alias: string, version: number): Promise<IAliasMove> {
    return parseAliasMove(
      await this._send(
        'POST',
        `models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
        { version }
      )
    );
  }

  async deployments(): Promise<IDeployment[]> {
    return parseDeployments(await this._get('deployments'));
  }

  /** The business view of a deployment: KPIs, alerts, arms and the Vega-Lite spec. */
  async business(name: string, every: string): Promise<IBusinessView> {
    return parseBusinessView(
      await this._get(
        `deployments/${encodeURIComponent(name)}/business?every=${encodeURIComponent(every)}`
      )
    );
  }

  /**
   * The steps of a notebook (path relative to the server root), each with whether a run now
   * would skip it, and the cells after its last step.
   */
  async steps(path: string): Promise<{ steps: IStep[]; tails: IStepTail[] }> {
    const data = await this._get(`steps?path=${encodeURIComponent(path)}&why=1`);
    return { steps: parseSteps(data), tails: parseStepTails(data) };
  }

  async schedules(): Promise<ISchedule[]> {
    return parseSchedules(await this._get('schedules'));
  }

  async schedule(request: IScheduleRequest): Promise<ISchedule> {
    return parseSchedule(await this._send('POST', 'schedules', { ...request }));
  }

  async pauseSchedule(id: number, pause: boolean): Promise<ISchedule> {
    return parseSchedule(
      await this._send('POST', `schedules/${id}/${pause ? 'pause' : 'resume'}`, {})
    );
  }

  async deleteSchedule(id: number): Promise<void> {
    await this._send('DELETE', `schedules/${id}`);
  }

  /** The named pipelines. */
  async pipelines(): Promise<IPipeline[]> {
    return parsePipelines(await this._get('pipelines'));
  }

  /** Run a named pipeline now. */
  async runPipeline(name: string): Promise<IRun> {
    return parseRun(await this._send('POST', 'runs', { pipeline: name }));
  }

  async runs(limit = 30): Promise<IRun[]> {
    return parseRuns(await this._get(`runs?limit=${limit}`));
  }

  /** The lineage graph: of one object (kind, name, version), else of the lakehouse. */
  async lineage(ref?: { kind?: string; name: string; version?: string | null }): Promise<ILineageGraph> {
    const query: string[] = [];
    if (ref) {
      query.push(`name=${encodeURIComponent(ref.name)}`);
      if (ref.kind) {
        query.push(`kind=${encodeURIComponent(ref.kind)}`);
      }
      if (ref.version) {
        query.push(`version=${encodeURIComponent(ref.version)}`);
      }
    }
    return parseLineage(await this._get(`lineage${query.length ? `?${query.join('&')}` : ''}`));
  }

  async run(id: string): Promise<IRun> {
    return parseRun(await this._get(`runs/${encodeURIComponent(id)}`));
  }

  /** Run a step now (notebook path relative to the server root). */
  /**
   * Run a step now. A click asks for a run: `force` (the default) executes it
   * even when its fingerprint says it is up to date.
   */
  async runNow(notebook: string, step: string, force = true): Promise<IRun> {
    return parseRun(await this._send('POST', 'runs', { notebook, step, force }));
  }

  async cancelRun(id: string): Promise<IRun> {
    return parseRun(await this._send('POST', `runs/${encodeURIComponent(id)}/cancel`, {}));
  }

  async rerun(id: string): Promise<IRun> {
    return parseRun(await this._send('POST', `runs/${encodeURIComponent(id)}/rerun`, {}));
  }

  async runOutput(id: string): Promise<IRunOutput> {
    return parseRunOutput(await this._get(`runs/${encodeURIComponent(id)}/output`));
  }

  async monitors(): Promise<IMonitor[]> {
    return parseMonitors(await this._get('monitors'));
  }

  async alerts(): Promise<IAlert[]> {
    return parseAlerts(await this._get('alerts'));
  }

  /** Mark an alert as seen (it stays in the history). */
  async acknowledgeAlert(id: number): Promise<IAlert> {
    return parseAlert(await this._send('POST', `alerts/${id}/acknowledge`, {}));
  }

  /** The HTML of a report (path below `/lakebook/api/`). */
  async reportHtml(path: string): Promise<string> {
    if (!this._requestText) {
      throw new LakebookApiError('This client cannot fetch reports.');
    }
    return this._requestText(path);
  }

  private _get(endPoint: string): Promise<unknown> {
    return this._request(endPoint, { method: 'GET' });
  }

  private _send(method: string, endPoint: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    return this._request(endPoint, init);
  }

  private _request: RequestFunction;
  private _requestText: RequestTextFunction | null;
}
