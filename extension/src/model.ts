/**
 * State of the Lakebook sidebar, independent of any DOM.
 *
 * The model holds the last status answered by the server and the last error,
 * refreshes on demand, and polls the server while it is `active` (the panel
 * sets it active while it is visible).
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { LakebookStatus, describe } from './api';

/**
 * Default seconds between two automatic refreshes.
 */
export const DEFAULT_REFRESH_INTERVAL = 10;

/**
 * Fetch a fresh status; reject with an `Error` whose message is shown.
 */
export type StatusFetcher = () => Promise<LakebookStatus>;

export class LakebookModel implements IDisposable {
  constructor(options: LakebookModel.IOptions) {
    this._fetchStatus = options.fetchStatus;
    this._interval = LakebookModel.normalizeInterval(
      options.refreshInterval ?? DEFAULT_REFRESH_INTERVAL
    );
    this._now = options.now ?? (() => new Date());
  }

  /**
   * Emitted whenever `status`, `error`, `loading` or `lastUpdated` change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The last status received, kept while a refresh is in flight and after a
   * failed refresh, so that the view never blanks.
   */
  get status(): LakebookStatus | null {
    return this._status;
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
    const interval = LakebookModel.normalizeInterval(seconds);
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
        const status = await this._fetchStatus();
        if (this._isDisposed) {
          return;
        }
        this._status = status;
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
    const interval = this._interval * 1000;
    if (this._poll) {
      this._poll.frequency = {
        interval,
        backoff: true,
        max: Math.max(interval, LakebookModel.MAX_BACKOFF_MS)
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
        max: Math.max(interval, LakebookModel.MAX_BACKOFF_MS)
      },
      name: 'lakebook:status',
      standby: 'when-hidden'
    });
  }

  private _reschedulePoll(): void {
    if (this._poll) {
      void this._poll.schedule({
        interval: this._interval * 1000,
        phase: 'refreshed'
      });
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
  private _error: string | null = null;
  private _fetchStatus: StatusFetcher;
  private _interval: number;
  private _isDisposed = false;
  private _lastUpdated: Date | null = null;
  private _now: () => Date;
  private _pending: Promise<void> | null = null;
  private _poll: Poll | null = null;
  private _status: LakebookStatus | null = null;
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
