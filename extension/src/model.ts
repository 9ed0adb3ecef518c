/**
 * State of the Lakebook sidebar, independent of any DOM.
 *
 * A `ResourceModel` holds the last answer of one endpoint (or of a group of
 * endpoints fetched together) and the last error, refreshes on demand, and
 * polls the server while it is `active` (a section sets its model active while
 * it is visible, so a hidden panel or a collapsed section costs nothing).
 * `LakebookModel` is the model of `GET /lakebook/api/status`.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { LakebookStatus } from './api';
import { describe } from './json';

/**
 * Default seconds between two automatic refreshes.
 */
export const DEFAULT_REFRESH_INTERVAL = 10;

/**
 * Fetch a fresh status; reject with an `Error` whose message is shown.
 */
export type StatusFetcher = () => Promise<LakebookStatus>;

/**
 * The last answer of one resource, with polling while active.
 */
export class ResourceModel<T> implements IDisposable {
  constructor(options: ResourceModel.IOptions<T>) {
    this._fetchData = options.fetch;
    this._name = options.name ?? 'lakebook:resource';
    this._interval = ResourceModel.normalizeInterval(
      options.refreshInterval ?? DEFAULT_REFRESH_INTERVAL
    );
    this._now = options.now ?? (() => new Date());
    this._fastWhile = options.fastWhile ?? null;
  }

  /**
   * Emitted whenever `data`, `error`, `loading` or `lastUpdated` change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The last answer received, kept while a refresh is in flight and after a
   * failed refresh, so that the view never blanks.
   */
  get data(): T | null {
    return this._data;
  }

  /**
   * The message of the last failed refresh, or `null` after a success.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * Whether a request to the server is in flight.
   */
  get loading(): boolean {
    return this._pending !== null;
  }

  /**
   * When the last successful refresh finished.
   */
  get lastUpdated(): Date | null {
    return this._lastUpdated;
  }

  /**
   * Seconds between automatic refreshes while active; 0 means never.
   */
  get refreshInterval(): number {
    return this._interval;
  }
  set refreshInterval(seconds: number) {
    const interval = ResourceModel.normalizeInterval(seconds);
    if (interval === this._interval) {
      return;
    }
    this._interval = interval;
    this._updatePoll(false);
  }

  /**
   * Whether the model polls the server. Becoming active refreshes at once.
   */
  get active(): boolean {
    return this._active;
  }
  set active(active: boolean) {
    if (active === this._active || this.isDisposed) {
      return;
    }
    this._active = active;
    this._updatePoll(true);
  }

  /**
   * Whether the automatic refresh is currently scheduled.
   */
  get polling(): boolean {
    return this._poll !== null;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Fetch a fresh status now.
   *
   * Never rejects: a failure is stored in `error`. Calls made while a request
   * is in flight share it, so answers cannot arrive out of order.
   */
  async refresh(): Promise<void> {
    try {
      await this._fetch();
    } catch {
      // The message is kept in `error`.
    }
    // The next automatic refresh is one full interval after this one.
    this._reschedulePoll();
  }

  /**
   * Forget the last answer and error (e.g. when what the model shows changes).
   */
  clear(): void {
    if (this._data === null && this._error === null) {
      return;
    }
    this._data = null;
    this._error = null;
    this._lastUpdated = null;
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._active = false;
    this._disposePoll();
    Signal.clearData(this);
  }

  /**
   * Fetch, update the state and rethrow a failure (so the poll backs off).
   */
  private _fetch(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    const pending = (async () => {
      try {
        const data = await this._fetchData();
        if (this._isDisposed) {
          return;
        }
        this._data = data;
        this._error = null;
        this._lastUpdated = this._now();
      } catch (reason) {
        if (!this._isDisposed) {
          this._error = describe(reason) || 'Unknown error';
        }
        throw reason;
      } finally {
        this._pending = null;
        if (!this._isDisposed) {
          this._changed.emit();
          this._followPace();
        }
      }
    })();
    this._pending = pending;
    this._changed.emit();
    return pending;
  }

  /**
   * Create, retime or dispose the poll to match `active` and the interval.
   */
  private _updatePoll(refreshNow: boolean): void {
    const wanted = this._active && !this._isDisposed;
    if (!wanted) {
      this._disposePoll();
      return;
    }
    if (this._interval === 0) {
      this._disposePoll();
      if (refreshNow) {
        void this.refresh();
      }
      return;
    }
    const interval = this._currentIntervalMs();
    if (this._poll) {
      this._poll.frequency = {
        interval,
        backoff: true,
        max: Math.max(interval, ResourceModel.MAX_BACKOFF_MS)
      };
      this._reschedulePoll();
      return;
    }
    // A new poll starts at once, which is the refresh on activation.
    this._poll = new Poll({
      auto: true,
      factory: () => this._fetch(),
      frequency: {
        interval,
        backoff: true,
        max: Math.max(interval, ResourceModel.MAX_BACKOFF_MS)
      },
      name: this._name,
      standby: 'when-hidden'
    });
  }

  private _reschedulePoll(): void {
    if (this._poll) {
      void this._poll.schedule({
        interval: this._currentIntervalMs(),
        phase: 'refreshed'
      });
    }
  }

  /**
   * The poll interval: the setting, or the fast pace while `fastWhile` holds
   * (e.g. while a run is in progress), whichever is shorter.
   */
  private _currentIntervalMs(): number {
    const base = this._interval * 1000;
    if (this._fastWhile && this._data !== null && this._fastWhile(this._data)) {
      return Math.min(base, ResourceModel.FAST_INTERVAL_MS);
    }
    return base;
  }

  /**
   * Switch between the normal and the fast pace after an answer.
   */
  private _followPace(): void {
    if (!this._poll || !this._fastWhile) {
      return;
    }
    const interval = this._currentIntervalMs();
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = {
        interval,
        backoff: true,
        max: Math.max(interval, ResourceModel.MAX_BACKOFF_MS)
      };
    }
  }

  private _disposePoll(): void {
    if (this._poll) {
      this._poll.dispose();
      this._poll = null;
    }
  }

  private _active = false;
  private _changed = new Signal<this, void>(this);
  private _data: T | null = null;
  private _error: string | null = null;
  private _fastWhile: ((data: T) => boolean) | null;
  private _fetchData: () => Promise<T>;
  private _interval: number;
  private _isDisposed = false;
  private _lastUpdated: Date | null = null;
  private _now: () => Date;
  private _pending: Promise<void> | null = null;
  private _name: string;
  private _poll: Poll | null = null;
}

export namespace ResourceModel {
  export interface IOptions<T> {
    /** Where fresh answers come from; reject with an `Error` to show. */
    fetch: () => Promise<T>;
    /** Seconds between automatic refreshes; 0 turns them off. */
    refreshInterval?: number;
    /** Poll name (for debugging). */
    name?: string;
    /** Poll every FAST_INTERVAL_MS while this holds for the last answer. */
    fastWhile?: (data: T) => boolean;
    /** Clock, for tests. */
    now?: () => Date;
  }

  /**
   * Poll interval while `fastWhile` holds (live run progress).
   */
  export const FAST_INTERVAL_MS = 1500;

  /**
   * Longest wait between two polls after repeated failures.
   */
  export const MAX_BACKOFF_MS = 5 * 60 * 1000;

  /**
   * Longest accepted refresh interval, in seconds (one day).
   */
  export const MAX_INTERVAL = 24 * 60 * 60;

  /**
   * Clamp a refresh interval to [0, MAX_INTERVAL]; junk means the default.
   */
  export function normalizeInterval(seconds: unknown): number {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      return DEFAULT_REFRESH_INTERVAL;
    }
    if (seconds <= 0) {
      return 0;
    }
    return Math.min(Math.max(seconds, 1), MAX_INTERVAL);
  }
}

/**
 * The model of `GET /lakebook/api/status` (the "Lakehouse" section).
 */
export class LakebookModel extends ResourceModel<LakebookStatus> {
  constructor(options: LakebookModel.IOptions) {
    super({
      fetch: options.fetchStatus,
      refreshInterval: options.refreshInterval,
      now: options.now,
      name: 'lakebook:status'
    });
  }

  /**
   * The last status received (see `data`).
   */
  get status(): LakebookStatus | null {
    return this.data;
  }
}

export namespace LakebookModel {
  export interface IOptions {
    /** Where fresh statuses come from. */
    fetchStatus: StatusFetcher;
    /** Seconds between automatic refreshes; 0 turns them off. */
    refreshInterval?: number;
    /** Clock, for tests. */
    now?: () => Date;
  }

  export const MAX_BACKOFF_MS = ResourceModel.MAX_BACKOFF_MS;
  export const MAX_INTERVAL = ResourceModel.MAX_INTERVAL;
  export const normalizeInterval = ResourceModel.normalizeInterval;
}
