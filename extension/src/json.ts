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
 * Read the fields of one JSON object, naming it in errors (`what`).
 *
 * Required fields that are missing or mistyped throw a `LakebookApiError`;
 * optional fields of the wrong type read as `null`, so that a server which
 * grows or loosens a field does not break the sidebar.
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

  /** A required number. */
  num(key: string): number {
    const value = this.data[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw malformed(`"${key}" of ${this.what} must be a number`);
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

  optStr(key: string): string | null {
    const value = this.data[key];
    return typeof value === 'string' && value.length > 0 ? value : null;
  }

  optNum(key: string): number | null {
    const value = this.data[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  }

  optCount(key: string): number | null {
    const value = this.data[key];
    return isCount(value) ? value : null;
  }

  bool(key: string, fallback = false): boolean {
    const value = this.data[key];
    if (typeof value === 'boolean') {
      return value;
    }
    if (typeof value === 'number') {
      return value !== 0;
    }
    return fallback;
  }

  /** A list of strings (a lone string counts as a list of one). */
  strList(key: string): string[] {
    const value = this.data[key];
    if (typeof value === 'string') {
      return value ? [value] : [];
    }
    if (!Array.isArray(value)) {
      return [];
    }
    return value.filter((v): v is string => typeof v === 'string');
  }

  /** The numeric entries of an object (others dropped). */
  numbers(key: string): Record<string, number> {
    const value = this.data[key];
    const out: Record<string, number> = {};
    if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === 'number' && Number.isFinite(v)) {
          out[k] = v;
        }
      }
    }
    return out;
  }

  obj(key: string): JSONObject | null {
    const value = this.data[key];
    return isObject(value) ? value : null;
  }

  /** A required list, each item parsed by `parse`. */
  list<T>(key: string, parse: (item: unknown, index: number) => T): T[] {
    const value = this.data[key];
    if (!Array.isArray(value)) {
      throw malformed(`"${key}" of ${this.what} must be a list`);
    }
    return value.map(parse);
  }

  /** An optional list: anything but a list reads as empty. */
  optList<T>(key: string, parse: (item: unknown, index: number) => T): T[] {
    const value = this.data[key];
    return Array.isArray(value) ? value.map(parse) : [];
  }
}
