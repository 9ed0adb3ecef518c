/**
 * Typed client for the Lakebook REST API (`/lakebook/api/...`).
 *
 * This module is deliberately free of JupyterLab imports: the transport is
 * injected (see `handler.ts` for the `ServerConnection` based one), so that
 * the parsing and error handling can be unit tested without a browser.
 */

/**
 * Names of the catalog object counts reported by `GET /lakebook/api/status`.
 */
export const COUNT_KEYS = [
  'feature_groups',
  'feature_views',
  'models',
  'deployments',
  'schedules',
  'runs',
  'monitors'
] as const;

export type CountKey = (typeof COUNT_KEYS)[number];

/**
 * Human readable labels of the counts, in display order.
 */
export const COUNT_LABELS: Readonly<Record<CountKey, string>> = {
  feature_groups: 'Feature groups',
  feature_views: 'Feature views',
  models: 'Models',
  deployments: 'Deployments',
  schedules: 'Schedules',
  runs: 'Runs',
  monitors: 'Monitors'
};

export type StatusCounts = Record<CountKey, number>;

/**
 * The answer of `GET /lakebook/api/status`.
 */
export interface LakebookStatus {
  /** Absolute path of the lakehouse home folder. */
  home: string;
  /** Schema version of the SQLite catalog. */
  catalog_version: number;
  /** Version of the `lakebook` Python package serving the API. */
  lakebook_version: string;
  /** Number of objects of each kind in the catalog. */
  counts: StatusCounts;
}

/**
 * An error answered by the Lakebook API, or raised while talking to it.
 *
 * `status` is the HTTP status code, or 0 when no HTTP answer was received
 * (network failure) or the answer could not be understood.
 */
export class LakebookApiError extends Error {
  readonly status: number;

  constructor(message: string, status = 0) {
    super(message);
    this.name = 'LakebookApiError';
    this.status = status;
    // Keep `instanceof` working when compiled to older targets.
    Object.setPrototypeOf(this, LakebookApiError.prototype);
  }
}

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
  for (const key of COUNT_KEYS) {
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
 * Typed client of the Lakebook REST API.
 */
export class LakebookClient {
  constructor(request: RequestFunction) {
    this._request = request;
  }

  /**
   * Fetch the lakehouse summary.
   */
  async status(): Promise<LakebookStatus> {
    return parseStatus(await this._request('status', { method: 'GET' }));
  }

  private _request: RequestFunction;
}

/**
 * A one-line description of any thrown value, for display.
 */
export function describe(reason: unknown): string {
  if (reason instanceof Error) {
    return reason.message || reason.name;
  }
  if (typeof reason === 'string') {
    return reason;
  }
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}

function malformed(detail: string): LakebookApiError {
  return new LakebookApiError(
    `Unexpected answer from the Lakebook server: ${detail}.`
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
