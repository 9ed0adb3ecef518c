import { LakebookStatus } from '../src/api';
import { DEFAULT_REFRESH_INTERVAL, LakebookModel } from '../src/model';

function status(runs: number): LakebookStatus {
  return {
    home: '/h/.lakebook',
    catalog_version: 1,
    lakebook_version: '0.1.0',
    counts: {
      feature_groups: 0,
      feature_views: 0,
      models: 0,
      deployments: 0,
      schedules: 0,
      runs,
      monitors: 0,
      lineage_events: 0,
      kpis: 0
    }
  };
}

/**
 * A fetcher whose answers the test settles by hand.
 */
class ManualFetcher {
  calls = 0;
  private _pending: Array<{
    resolve: (s: LakebookStatus) => void;
    reject: (e: Error) => void;
  }> = [];

  fetch = (): Promise<LakebookStatus> => {
    this.calls++;
    return new Promise((resolve, reject) => this._pending.push({ resolve, reject }));
  };

  resolve(value: LakebookStatus): void {
    this._pending.shift()!.resolve(value);
  }

  reject(error: Error): void {
    this._pending.shift()!.reject(error);
  }
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

describe('LakebookModel', () => {
  let model: LakebookModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('starts empty and inactive', () => {
    model = new LakebookModel({ fetchStatus: async () => status(0) });
    expect(model.status).toBeNull();
    expect(model.error).toBeNull();
    expect(model.loading).toBe(false);
    expect(model.active).toBe(false);
    expect(model.polling).toBe(false);
    expect(model.refreshInterval).toBe(DEFAULT_REFRESH_INTERVAL);
  });

  it('keeps the old status while a refresh is in flight', async () => {
    const fetcher = new ManualFetcher();
    const now = new Date(2024, 0, 1, 12, 0, 0);
    model = new LakebookModel({ fetchStatus: fetcher.fetch, now: () => now });
    let changes = 0;
    model.changed.connect(() => changes++);

    const first = model.refresh();
    expect(model.loading).toBe(true);
    fetcher.resolve(status(1));
    await first;
    expect(model.status?.counts.runs).toBe(1);
    expect(model.lastUpdated).toBe(now);
    expect(model.loading).toBe(false);

    const second = model.refresh();
    expect(model.loading).toBe(true);
    expect(model.status?.counts.runs).toBe(1);
    fetcher.resolve(status(2));
    await second;
    expect(model.status?.counts.runs).toBe(2);
    // Start and end of each of the two refreshes.
    expect(changes).toBe(4);
  });

  it('keeps the last status and reports the error on failure', async () => {
    const fetcher = new ManualFetcher();
    model = new LakebookModel({ fetchStatus: fetcher.fetch });

    const ok = model.refresh();
    fetcher.resolve(status(5));
    await ok;

    const failed = model.refresh();
    fetcher.reject(new Error('catalog is locked'));
    await expect(failed).resolves.toBeUndefined();
    expect(model.error).toBe('catalog is locked');
    expect(model.status?.counts.runs).toBe(5);

    const recovered = model.refresh();
    fetcher.resolve(status(6));
    await recovered;
    expect(model.error).toBeNull();
    expect(model.status?.counts.runs).toBe(6);
  });

  it('shares one request between overlapping refreshes', async () => {
    const fetcher = new ManualFetcher();
    model = new LakebookModel({ fetchStatus: fetcher.fetch });
    const a = model.refresh();
    const b = model.refresh();
    expect(fetcher.calls).toBe(1);
    fetcher.resolve(status(3));
    await Promise.all([a, b]);
    expect(model.status?.counts.runs).toBe(3);
  });

  it('refreshes at once when activated and polls only while active', async () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      model = new LakebookModel({
        fetchStatus: async () => status(++calls),
        refreshInterval: 10
      });
      await jest.advanceTimersByTimeAsync(60_000);
      expect(calls).toBe(0);

      model.active = true;
      expect(model.polling).toBe(true);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(1);
      expect(model.status?.counts.runs).toBe(1);

      await jest.advanceTimersByTimeAsync(10_000);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(calls).toBe(3);

      model.active = false;
      expect(model.polling).toBe(false);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(calls).toBe(3);

      model.active = true;
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(4);
    } finally {
      model?.dispose();
      model = null;
      jest.useRealTimers();
    }
  });

  it('follows a changed refresh interval, and 0 turns polling off', async () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      model = new LakebookModel({
        fetchStatus: async () => status(++calls),
        refreshInterval: 60
      });
      model.active = true;
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(1);

      model.refreshInterval = 2;
      await jest.advanceTimersByTimeAsync(2_000);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(2_000);
      expect(calls).toBe(3);

      model.refreshInterval = 0;
      expect(model.polling).toBe(false);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(calls).toBe(3);

      // A manual refresh still works.
      await model.refresh();
      expect(calls).toBe(4);
    } finally {
      model?.dispose();
      model = null;
      jest.useRealTimers();
    }
  });

  it('backs off while the server keeps failing', async () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      model = new LakebookModel({
        fetchStatus: async () => {
          calls++;
          throw new Error('down');
        },
        refreshInterval: 1
      });
      model.active = true;
      await jest.advanceTimersByTimeAsync(20_000);
      expect(model.error).toBe('down');
      // Without back-off there would be about 20 calls.
      expect(calls).toBeGreaterThan(1);
      // Lumino randomises each back-off step, hence the margin.
      expect(calls).toBeLessThanOrEqual(10);
    } finally {
      model?.dispose();
      model = null;
      jest.useRealTimers();
    }
  });

  it('stops everything when disposed', async () => {
    const fetcher = new ManualFetcher();
    model = new LakebookModel({ fetchStatus: fetcher.fetch });
    let changes = 0;
    model.changed.connect(() => changes++);
    const pending = model.refresh();
    const before = changes;
    model.dispose();
    fetcher.resolve(status(9));
    await pending;
    await flush();
    expect(model.status).toBeNull();
    expect(changes).toBe(before);
    model.active = true;
    expect(model.polling).toBe(false);
  });

  it.each([
    [10, 10],
    [0, 0],
    [-5, 0],
    [0.2, 1],
    [10 ** 9, LakebookModel.MAX_INTERVAL],
    [Number.NaN, DEFAULT_REFRESH_INTERVAL],
    ['7', DEFAULT_REFRESH_INTERVAL],
    [undefined, DEFAULT_REFRESH_INTERVAL]
  ])('normalizes the interval %p to %p', (input, expected) => {
    expect(LakebookModel.normalizeInterval(input)).toBe(expected);
  });
});

describe('ResourceModel', () => {
  it('polls fast while the answer says so, then at the normal pace', async () => {
    jest.useFakeTimers();
    const { ResourceModel } = await import('../src/model');
    let calls = 0;
    let running = true;
    const model = new ResourceModel<{ running: boolean }>({
      fetch: async () => {
        calls++;
        return { running };
      },
      refreshInterval: 10,
      fastWhile: data => data.running
    });
    try {
      model.active = true;
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(1);
      // While running: every 1.5 s.
      await jest.advanceTimersByTimeAsync(ResourceModel.FAST_INTERVAL_MS * 4);
      expect(calls).toBeGreaterThanOrEqual(4);
      running = false;
      await jest.advanceTimersByTimeAsync(ResourceModel.FAST_INTERVAL_MS);
      const settled = calls;
      // Back to every 10 s.
      await jest.advanceTimersByTimeAsync(9_000);
      expect(calls).toBe(settled);
      await jest.advanceTimersByTimeAsync(2_000);
      expect(calls).toBe(settled + 1);
    } finally {
      model.dispose();
      jest.useRealTimers();
    }
  });

  it('forgets its answer on clear', async () => {
    const { ResourceModel } = await import('../src/model');
    const model = new ResourceModel({ fetch: async () => 5 });
    await model.refresh();
    expect(model.data).toBe(5);
    let changes = 0;
    model.changed.connect(() => changes++);
    model.clear();
    expect(model.data).toBeNull();
    expect(changes).toBe(1);
    model.clear();
    expect(changes).toBe(1);
    model.dispose();
  });
});
