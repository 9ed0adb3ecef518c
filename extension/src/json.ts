/**
 * Error type and small readers for the JSON answers of the Lakebook REST API.
 *
 * No JupyterLab imports: unit tested under Node.
 */

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

export type JSONObject = Record<string, unknown>;

export function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * The error for an answer that breaks the API contract.
 */
export function malformed(detail: string): LakebookApiError {
  return new LakebookApiError(
    `Unexpected answer from the Lakebook server: ${detail}.`
  );
}

/**
 * The identity checks of one JSON answer, naming it in errors (`what`): the typed
 * answer (`./contract`) is read only once its object, its name and its lists are there.
 *
 * A field that is missing or mistyped throws a `LakebookApiError`, so a wrong server (an
 * older one, a proxy's error page) is reported, not half drawn.
 */
export class Fields {
  constructor(data: unknown, what: string) {
    if (!isObject(data)) {
      throw malformed(`${what} is not a JSON object`);
    }
    this.data = data;
    this.what = what;
  }

  readonly data: JSONObject;
  readonly what: string;

  /** A required non-empty string. */
  str(key: string): string {
    const value = this.data[key];
    if (typeof value !== 'string' || value.length === 0) {
      throw malformed(`"${key}" of ${this.what} must be a non-empty string`);
    }
    return value;
  }

  /** A required non-negative integer. */
  count(key: string): number {
    const value = this.data[key];
    if (!isCount(value)) {
      throw malformed(`"${key}" of ${this.what} must be a non-negative integer`);
    }
    return value;
  }

  /** A required list, each item parsed by `parse`. */
  list<T>(key: string, parse: (item: unknown, index: number) => T): T[] {
    const value = this.data[key];
    if (!Array.isArray(value)) {
      throw malformed(`"${key}" of ${this.what} must be a list`);
    }
    return value.map(parse);
  }
}
