import {
  STATUS_COUNT_KEYS,
  IResponseLike,
  LakebookApiError,
  LakebookClient,
  LakebookStatus,
  parseStatus,
  readResponse
} from '../src/api';
import { recorded } from './recorded';

const GOOD = {
  home: '/tmp/x/.lakebook',
  catalog_version: 1,
  lakebook_version: '0.1.0',
  counts: {
    feature_groups: 2,
    feature_views: 1,
    models: 3,
    deployments: 0,
    schedules: 4,
    runs: 17,
    monitors: 1,
    lineage_events: 5,
    kpis: 2
  }
};

function response(
  status: number,
  body: string,
  statusText = ''
): IResponseLike {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    text: async () => body
  };
}

async function rejection(promise: Promise<unknown>): Promise<LakebookApiError> {
  try {
    await promise;
  } catch (reason) {
    expect(reason).toBeInstanceOf(LakebookApiError);
    return reason as LakebookApiError;
  }
  throw new Error('expected a rejection');
}

describe('parseStatus', () => {
  it('reads the answer a real server gave (every count of the contract)', () => {
    const status = parseStatus(recorded('status'));
    expect(Object.keys(status.counts).sort()).toEqual([...STATUS_COUNT_KEYS].sort());
    expect(STATUS_COUNT_KEYS).toEqual(expect.arrayContaining(['feature_groups', 'kpis']));
  });

  it('accepts the contract example', () => {
    const status: LakebookStatus = parseStatus(GOOD);
    expect(status).toEqual(GOOD);
  });

  it('ignores unknown fields and unknown counts', () => {
    const status = parseStatus({
      ...GOOD,
      extra: true,
      counts: { ...GOOD.counts, alerts: 3 }
    });
    expect(Object.keys(status.counts).sort()).toEqual([...STATUS_COUNT_KEYS].sort());
    expect(status).not.toHaveProperty('extra');
  });

  it.each([
    ['a non-object', [1, 2], 'not a JSON object'],
    ['null', null, 'not a JSON object'],
    ['a missing home', { ...GOOD, home: undefined }, '"home"'],
    ['an empty home', { ...GOOD, home: '' }, '"home"'],
    ['a string catalog version', { ...GOOD, catalog_version: '1' }, '"catalog_version"'],
    ['a fractional catalog version', { ...GOOD, catalog_version: 1.5 }, '"catalog_version"'],
    ['a numeric lakebook version', { ...GOOD, lakebook_version: 1 }, '"lakebook_version"'],
    ['missing counts', { ...GOOD, counts: undefined }, '"counts"'],
    ['counts as a list', { ...GOOD, counts: [] }, '"counts"'],
    [
      'a missing count',
      { ...GOOD, counts: { ...GOOD.counts, runs: undefined } },
      '"counts.runs"'
    ],
    [
      'a negative count',
      { ...GOOD, counts: { ...GOOD.counts, models: -1 } },
      '"counts.models"'
    ],
    [
      'a string count',
      { ...GOOD, counts: { ...GOOD.counts, monitors: '3' } },
      '"counts.monitors"'
    ]
  ])('rejects %s', (_name, data, fragment) => {
    expect(() => parseStatus(data)).toThrow(LakebookApiError);
    expect(() => parseStatus(data)).toThrow(fragment);
  });
});

describe('readResponse', () => {
  it('decodes a JSON body', async () => {
    await expect(readResponse(response(200, JSON.stringify(GOOD)))).resolves.toEqual(GOOD);
  });

  it('uses the Lakebook error body', async () => {
    const error = await rejection(
      readResponse(
        response(400, JSON.stringify({ error: 'Feature group "x" not found', status: 400 }))
      )
    );
    expect(error.message).toBe('Feature group "x" not found');
    expect(error.status).toBe(400);
  });

  it('uses a Jupyter server error body', async () => {
    const error = await rejection(
      readResponse(response(403, JSON.stringify({ message: 'Forbidden', reason: null })))
    );
    expect(error.message).toBe('Forbidden');
    expect(error.status).toBe(403);
  });

  it('explains a 404 without a body', async () => {
    const error = await rejection(readResponse(response(404, '<html>Not Found</html>', 'Not Found')));
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/server extension is not available/);
  });

  it('falls back to the status line', async () => {
    const error = await rejection(readResponse(response(502, '', 'Bad Gateway')));
    expect(error.message).toBe('The Lakebook server answered HTTP 502 Bad Gateway.');
  });

  it('rejects a 200 that is not JSON', async () => {
    const error = await rejection(readResponse(response(200, '<html></html>')));
    expect(error.message).toMatch(/not JSON/);
  });

  it('works with a real fetch Response', async () => {
    const real = new Response(JSON.stringify({ error: 'bad', status: 422 }), { status: 422 });
    const error = await rejection(readResponse(real));
    expect(error.message).toBe('bad');
    expect(error.status).toBe(422);
  });
});

describe('LakebookClient', () => {
  it('requests "status" and parses it', async () => {
    const calls: string[] = [];
    const client = new LakebookClient(async endPoint => {
      calls.push(endPoint);
      return GOOD;
    });
    await expect(client.status()).resolves.toEqual(GOOD);
    expect(calls).toEqual(['status']);
  });

  it('rejects a malformed status', async () => {
    const client = new LakebookClient(async () => ({ home: '/x' }));
    const error = await rejection(client.status());
    expect(error.message).toMatch(/Unexpected answer/);
  });

  it('passes transport errors through', async () => {
    const client = new LakebookClient(async () => {
      throw new LakebookApiError('down', 503);
    });
    const error = await rejection(client.status());
    expect(error.status).toBe(503);
  });
});

describe('LakebookClient actions of the sidebar', () => {
  function recording(answer: unknown) {
    const calls: { endPoint: string; init?: RequestInit }[] = [];
    const client = new LakebookClient(async (endPoint, init) => {
      calls.push({ endPoint, init });
      return answer;
    });
    return { client, calls };
  }

  it('acknowledges an alert with a POST to its route', async () => {
    const { client, calls } = recording({
      id: 7,
      monitor: 'fraud_drift',
      kind: 'drift',
      message: 'drift share 62%',
      acknowledged: true
    });
    const alert = await client.acknowledgeAlert(7);
    expect(calls).toEqual([
      {
        endPoint: 'alerts/7/acknowledge',
        init: { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } }
      }
    ]);
    expect(alert.acknowledged).toBe(true);
    expect(alert.monitor).toBe('fraud_drift');
  });

  it('lists named pipelines and runs one', async () => {
    const listed = recording({
      pipelines: [
        {
          name: 'daily',
          steps: [{ notebook: '/srv/a.ipynb', step: 'feature:tx' }],
          updated_at: '2024-05-01'
        }
      ]
    });
    expect(await listed.client.pipelines()).toEqual([
      {
        name: 'daily',
        steps: [{ notebook: '/srv/a.ipynb', step: 'feature:tx' }],
        updatedAt: '2024-05-01'
      }
    ]);
    expect(listed.calls[0].endPoint).toBe('pipelines');
    const started = recording({ id: 'r1', status: 'queued', target: { pipeline: 'daily' } });
    const run = await started.client.runPipeline('daily');
    expect(started.calls[0].endPoint).toBe('runs');
    expect(started.calls[0].init?.body).toBe('{"pipeline":"daily"}');
    expect(run.target.pipeline).toBe('daily');
  });
});
