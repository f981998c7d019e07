import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProjectionStatus } from '@strata/contracts';
import { progressLine, renderProgressBar } from './progress-bar.js';
import { runCli } from './program.js';
import { formatTable, colorsFor, stripAnsi } from './output.js';

type Handler = (request: { method: string; path: string; query: URLSearchParams; body: unknown; headers: Headers }) => {
  status?: number;
  body?: unknown;
  type?: string;
};

/** A fake API: routes by "METHOD /path" and records what it was sent. */
const fakeApi = (routes: Record<string, Handler>) => {
  const calls: Array<{ method: string; path: string; query: URLSearchParams; body: unknown; headers: Headers }> = [];
  const fetch = (async (input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const request = {
      method,
      path: url.pathname,
      query: url.searchParams,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: new Headers(init?.headers),
    };
    calls.push(request);
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) {
      return new Response(
        JSON.stringify({
          title: 'Not found',
          status: 404,
          detail: `no route ${method} ${url.pathname}`,
          code: 'NOT_FOUND',
          errorId: 'e-404',
        }),
        {
          status: 404,
          headers: { 'content-type': 'application/problem+json' },
        },
      );
    }
    const answer = handler(request);
    return new Response(JSON.stringify(answer.body ?? {}), {
      status: answer.status ?? 200,
      headers: { 'content-type': answer.type ?? 'application/json' },
    });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
};

const run = async (
  argv: string[],
  fetch: typeof globalThis.fetch,
  options: { tty?: boolean; stdin?: string; confirm?: boolean } = {},
) => {
  let stdout = '';
  let stderr = '';
  const stdin = Readable.from(
    options.stdin === undefined ? [] : [options.stdin],
  ) as unknown as NodeJS.ReadableStream & { isTTY?: boolean };
  stdin.isTTY = options.tty;
  const code = await runCli(['--url', 'http://api.test', '--token', 't', '-n', 'shop', '-e', 'prod', ...argv], {
    stdout: { write: (s: string) => (stdout += s), isTTY: options.tty },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.tty, columns: 100 },
    stdin,
    env: { HOME: '/nonexistent' },
    fetch,
    confirm: async () => options.confirm ?? false,
    sleep: async () => undefined,
    now: () => Date.parse('2026-05-01T12:00:00Z'),
  });
  return { code, stdout, stderr };
};

/** A `GET /v1/projections/status` answer: generation 1, nothing rebuilding, no projector reported yet. */
const projectionStatus = (fields: Partial<ProjectionStatus>): ProjectionStatus => ({
  generation: 1,
  needsRebuild: false,
  head: 1000,
  rebuilding: null,
  position: null,
  lag: null,
  progress: null,
  last: null,
  checkpoints: [],
  partitions: [],
  ...fields,
});

const problem = (status: number, title: string, detail: string) => () => ({
  status,
  type: 'application/problem+json',
  body: { title, status, detail, errorId: 'abc-123' },
});

describe('errors', () => {
  it('turns problem+json into one line and the exit code of its status', async () => {
    for (const [status, code] of [
      [401, 4],
      [403, 4],
      [409, 5],
      [404, 6],
      [422, 1],
      [503, 7],
    ] as const) {
      const { fetch } = fakeApi({
        'PUT /v1/namespaces/shop/envs/prod/config/a.b': problem(status, 'Some title', 'what went wrong'),
      });
      const result = await run(['set', 'a.b', '1'], fetch);
      expect(result.code).toBe(code);
      expect(result.stderr).toBe('strata: Some title: what went wrong (error id abc-123)\n');
    }
  });

  it('says the server is unavailable (7) when nothing answers', async () => {
    const fetch = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof globalThis.fetch;
    const result = await run(['get'], fetch);
    expect(result).toMatchObject({
      code: 7,
      stderr: 'strata: server unavailable: cannot reach http://api.test (ECONNREFUSED)\n',
    });
  });

  it('usage errors exit 2 with one line', async () => {
    const { fetch } = fakeApi({});
    expect(await run(['flags', 'set', 'f', '--rollout', '120'], fetch)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^strata: option '--rollout <n>' argument '120' is invalid\. expected a percentage/,
      ),
    });
    expect(await run(['nope'], fetch)).toMatchObject({ code: 2 });
    expect(await run(['at', 'yesterday'], fetch)).toMatchObject({ code: 2 });
  });

  it('keys: a server without the endpoint is "not supported", not a crash', async () => {
    const { fetch } = fakeApi({});
    expect(await run(['keys', 'rotate'], fetch)).toMatchObject({
      code: 1,
      stderr: 'strata: keys rotate: not supported by this server\n',
    });
  });
});

/** A write's answer as the contract has it. */
const written = (position: number) => ({ position, version: 1, appended: 1, replayed: false });

describe('values', () => {
  it('set sends JSON when the value parses, the string otherwise', async () => {
    const { fetch, calls } = fakeApi({
      'PUT /v1/namespaces/shop/envs/prod/config/a.b': () => ({ body: written(7) }),
      'PUT /v1/namespaces/shop/envs/prod/tenants/acme/config/a.b': () => ({ body: written(8) }),
    });
    expect(await run(['set', 'a.b', '{"x":1}', '--reason', 'because'], fetch)).toMatchObject({
      code: 0,
      stdout: 'shop/prod a.b = {"x":1} (position 7)\n',
    });
    await run(['set', 'a.b', 'hello', '-t', 'acme'], fetch);
    expect(calls.map((c) => c.body)).toEqual([{ value: { x: 1 }, reason: 'because' }, { value: 'hello' }]);
  });

  it('get prints one value, or 6 for a key without one', async () => {
    const { fetch, calls } = fakeApi({
      'GET /v1/namespaces/shop/envs/prod/tenants/acme/config': () => ({
        body: { position: 9, values: { 'a.b': { value: 5, source: 'tenant', position: 8 } } },
      }),
    });
    expect(await run(['get', 'a.b', '-t', 'acme', '--position', '9'], fetch)).toMatchObject({ code: 0, stdout: '5\n' });
    expect(calls[0]?.query.get('position')).toBe('9');
    expect(await run(['get', 'nope', '-t', 'acme'], fetch)).toMatchObject({
      code: 6,
      stderr: expect.stringContaining('nope: no value in shop/prod/acme'),
    });
    const table = await run(['get', '-t', 'acme'], fetch);
    expect(table.stdout).toBe('shop/prod/acme at position 9\nKEY  VALUE  SOURCE  POSITION\na.b  5      tenant  8\n');
  });
});

describe('flags stale', () => {
  it("lists core's staleFlags of the folded environment: 0% or 100%, unchanged for longer than --days", async () => {
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const e = (position: number, flag: string, rollout: number, recordedAt: string) => ({
      position,
      eventId: `ev${position}`,
      type: 'FlagRolloutChanged',
      streamId: 'env:shop/prod',
      streamVersion: position,
      recordedAt,
      actor: 'admin',
      data: { namespace: 'shop', environment: 'prod', flag, rollout, enabled: true },
      metadata: { actor: 'admin' },
    });
    const { fetch } = fakeApi({
      'GET /v1/events': () => ({
        body: {
          events: [e(1, 'done', 100, old), e(2, 'ramping', 25, old), e(3, 'fresh', 100, recent)],
          next: null,
        },
      }),
    });
    const result = await run(['--json', 'flags', 'stale'], fetch);
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as { days: number; flags: Array<{ flag: string; rollout: number }> };
    expect(answer.days).toBe(30);
    expect(answer.flags.map((f) => [f.flag, f.rollout])).toEqual([['done', 100]]);
    const longer = await run(['--json', 'flags', 'stale', '--days', '1'], fetch);
    expect((JSON.parse(longer.stdout) as typeof answer).flags.map((f) => f.flag)).toEqual(['done', 'fresh']);
    const text = await run(['flags', 'stale'], fetch);
    expect(text.stdout).toContain('done  on 100%');
    expect(text.stderr).toContain('shop/prod: 1 flag(s) at 0% or 100% unchanged for more than 30 days');
  });
});

describe('history', () => {
  it('shows the newest first with before → after, scope and reason', async () => {
    const e = (position: number, type: string, data: object, reason: string | null, extra: object = {}) => ({
      position,
      eventId: `ev${position}`,
      type,
      streamId: 'env:shop/prod',
      streamVersion: position,
      recordedAt: `2026-05-01T10:0${position}:00Z`,
      actor: 'admin',
      data: { namespace: 'shop', environment: 'prod', ...data },
      metadata: { actor: 'admin', reason },
      ...extra,
    });
    const { fetch, calls } = fakeApi({
      'GET /v1/events': (r) => {
        const after = Number(r.query.get('after') ?? 0);
        const limit = Number(r.query.get('limit') ?? 100);
        const events = [
          e(1, 'ConfigValueSet', { tenant: null, key: 'a', value: 1 }, 'first', { before: null, after: { value: 1 } }),
          e(2, 'FlagRolloutChanged', { flag: 'f', rollout: 5, enabled: true }, null),
          e(3, 'FlagRolloutChanged', { flag: 'f', rollout: 25, enabled: true }, 'ramp'),
          e(4, 'ConfigValueSet', { tenant: 'acme', key: 'a', value: 2 }, null, { before: null, after: { value: 2 } }),
        ].filter((event) => event.position > after);
        const page = events.slice(0, limit);
        return { body: { events: page, next: page.length === limit ? page[page.length - 1]?.position : null } };
      },
    });
    const result = await run(['history', '--limit', '3', '--key', 'a'], fetch);
    expect(calls[0]?.query.get('key')).toBe('a');
    expect(calls[0]?.query.get('namespace')).toBe('shop');
    expect(result.stdout.split('\n')).toEqual([
      'POS  TIME                  ACTOR  SCOPE           KEY     BEFORE → AFTER  REASON',
      '4    2026-05-01 10:04:00Z  admin  shop/prod/acme  a       ∅ → 2',
      '3    2026-05-01 10:03:00Z  admin  shop/prod       flag f  on 5% → on 25%  ramp',
      '2    2026-05-01 10:02:00Z  admin  shop/prod       flag f  ∅ → on 5%',
      '',
    ]);
  });
});

describe('revert', () => {
  const plan = {
    position: 10,
    dryRun: true,
    to: 4,
    plan: {
      streams: [
        {
          streamId: 'env:shop/prod',
          events: [
            {
              type: 'ConfigValueSet',
              data: { namespace: 'shop', environment: 'prod', tenant: null, key: 'a', value: 1 },
              metadata: { actor: 'admin', revertTo: 4 },
            },
          ],
        },
      ],
      skipped: [],
    },
  };
  const routes = () =>
    fakeApi({
      'POST /v1/namespaces/shop/envs/prod/revert': (r) =>
        (r.body as { dryRun: boolean }).dryRun
          ? { body: plan }
          : { body: { position: 11, to: 4, appended: 1, applied: plan.plan } },
    });

  it('--dry-run prints the plan and changes nothing', async () => {
    const { fetch, calls } = routes();
    const result = await run(['revert', '--to', '4', '--dry-run'], fetch);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('revert to position 4 (now at 10): 1 compensating event');
    expect(result.stdout).toContain('shop/prod a → 1');
    expect(calls).toHaveLength(1);
  });

  it('refuses without a TTY and without --yes (exit 2), asks on a TTY, applies with --yes', async () => {
    let api = routes();
    expect(await run(['revert', '--to', '4'], api.fetch)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('pass --yes'),
    });
    expect(api.calls).toHaveLength(1);
    api = routes();
    expect(await run(['revert', '--to', '4'], api.fetch, { tty: true, confirm: false })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cancelled'),
    });
    api = routes();
    const applied = await run(['revert', '--to', '4', '--yes', '--reason', 'bad deploy'], api.fetch);
    expect(applied).toMatchObject({
      code: 0,
      stdout: 'reverted shop/prod to position 4: 1 event appended (position 11)\n',
    });
    expect(api.calls.map((c) => c.body)).toEqual([
      { to: { position: 4 }, reason: 'bad deploy', dryRun: true },
      { to: { position: 4 }, reason: 'bad deploy', dryRun: false },
    ]);
  });
});

describe('apply', () => {
  it('sends If-Match with the stream version it planned against; a conflict exits 5 and says to plan again', async () => {
    const events = [
      {
        position: 1,
        eventId: 'ev1',
        type: 'ConfigValueSet',
        streamId: 'env:shop/prod',
        streamVersion: 3,
        recordedAt: 'x',
        actor: 'admin',
        data: { namespace: 'shop', environment: 'prod', tenant: null, key: 'a', value: 1 },
        metadata: { actor: 'admin' },
      },
    ];
    const { fetch, calls } = fakeApi({
      'GET /v1/events': (r) => ({
        body: {
          events: r.query.get('type') ? [] : events.filter((e) => e.position > Number(r.query.get('after') ?? 0)),
          next: null,
        },
      }),
      'PUT /v1/namespaces/shop/envs/prod/config/a': problem(
        409,
        'Version conflict',
        'If-Match 3 is stale: the current version is 4',
      ),
    });
    const written = join(mkdtempSync(join(tmpdir(), 'strata-unit-')), 'f.yaml');
    writeFileSync(written, 'namespace: shop\nenvironment: prod\nconfig:\n  a: 2\n');
    const result = await run(['apply', written], fetch);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      /Version conflict: If-Match 3 is stale.*0 of 1 changes were applied before it; run strata plan again\n$/,
    );
    const put = calls.find((c) => c.method === 'PUT');
    expect(put?.headers.get('if-match')).toBe('"3"');
    expect(put?.body).toEqual({ value: 2, reason: 'strata apply' });
  });
});

describe('verify', () => {
  it('exits 1 naming the first bad position', async () => {
    const { fetch } = fakeApi({ 'GET /v1/verify': () => ({ body: { ok: false, firstBadPosition: 3, checked: 2 } }) });
    expect(await run(['verify'], fetch)).toMatchObject({
      code: 1,
      stderr: 'strata: verify failed: the log was altered at position 3 (checked 2 events before it)\n',
    });
  });
});

describe('rebuild', () => {
  it('prints one line per update without a TTY, then a summary', async () => {
    const running = (position: number) => ({
      startedAt: 'x',
      actor: 'admin',
      progress: { generation: 2, position, head: 1000, events: position, eventsPerSecond: 1000 },
    });
    const statuses = [
      projectionStatus({ rebuilding: running(500) }),
      projectionStatus({ rebuilding: running(1000) }),
      projectionStatus({
        last: {
          generation: 2,
          previous: 1,
          position: 1000,
          events: 1000,
          eventsPerSecond: 1000,
          rebuilt: true,
          finishedAt: 'x',
        },
      }),
    ];
    const { fetch } = fakeApi({
      'POST /v1/projections/rebuild': () => ({ status: 202, body: { started: true, running: true, generation: 2 } }),
      'GET /v1/projections/status': () => ({ body: statuses.shift() }),
    });
    const result = await run(['rebuild'], fetch);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'rebuild: position 500/1000 (50%), 500 events, 1,000 ev/s, ETA 1s\nrebuild: position 1000/1000 (100%), 1,000 events, 1,000 ev/s, ETA 0s\n',
    );
    expect(result.stdout).toMatch(/^rebuilt generation 2: 1,000 events up to position 1000/);
  });

  it('draws a bar that fits the terminal', () => {
    const line = renderProgressBar({ position: 520_000, head: 1_000_000, events: 520_000, rate: 41_200 }, 80);
    expect(line).toMatch(/^\[█{16}░{15}\]  52%  520,000\/1,000,000  41,200 ev\/s  ETA 12s$/);
    expect([...line].length).toBeLessThanOrEqual(80);
    expect([...renderProgressBar({ position: 1, head: 2, events: 1, rate: 1 }, 50)].length).toBeLessThanOrEqual(50);
    expect(progressLine({ position: 0, head: 0, events: 0, rate: 0 })).toBe(
      'rebuild: position 0/0 (0%), 0 events, rate unknown, ETA --',
    );
  });
});

describe('projections status', () => {
  const status = projectionStatus({
    generation: 3,
    head: 1200,
    position: 1190,
    lag: 10,
    checkpoints: [{ name: 'relay:strata.events', position: 1200, lag: 0, updatedAt: '2026-05-01T11:59:58Z' }],
    partitions: [
      {
        partition: 0,
        committed: 40,
        highWatermark: 40,
        lag: 0,
        instance: 'a:1',
        updatedAt: '2026-05-01T11:59:59Z',
        ageMs: 1000,
        stale: false,
      },
      {
        partition: 1,
        committed: 30,
        highWatermark: 37,
        lag: 7,
        instance: 'a:1',
        updatedAt: '2026-05-01T11:59:59Z',
        ageMs: 1000,
        stale: false,
      },
      {
        partition: 2,
        committed: 10,
        highWatermark: 15,
        lag: 5,
        instance: 'b:2',
        updatedAt: '2026-05-01T11:57:55Z',
        ageMs: 125_000,
        stale: true,
      },
    ],
  });

  it('prints a row per partition with its state in words; --json is the whole answer', async () => {
    const { fetch } = fakeApi({ 'GET /v1/projections/status': () => ({ body: status }) });
    const human = await run(['projections', 'status'], fetch);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(
      [
        'generation 3, log head 1200, views at position 1190, behind by 10',
        '',
        'CHECKPOINT           POSITION  LAG  UPDATED',
        'relay:strata.events  1200      0    2026-05-01 11:59:58Z',
        '',
        'PARTITION  COMMITTED  HIGH WATERMARK  LAG  INSTANCE  UPDATED               STATE',
        '0          40         40              0    a:1       2026-05-01 11:59:59Z  caught up',
        '1          30         37              7    a:1       2026-05-01 11:59:59Z  behind by 7',
        '2          10         15              5    b:2       2026-05-01 11:57:55Z  stale: last report 2m05s ago, then behind by 5',
        '',
      ].join('\n'),
    );
    const asJson = await run(['--json', 'projections', 'status'], fetch);
    expect(JSON.parse(asJson.stdout)).toEqual(status);
  });

  it('says so when no projector has reported yet', async () => {
    const { fetch } = fakeApi({
      'GET /v1/projections/status': () => ({
        body: projectionStatus({ generation: 3, head: 1200, needsRebuild: true }),
      }),
    });
    expect((await run(['projections', 'status'], fetch)).stdout).toBe(
      'generation 3, log head 1200, no views yet (needs a rebuild)\n\nno projector has reported its partitions yet\n',
    );
  });
});

describe('output', () => {
  it('colours only on a TTY and never with NO_COLOR', () => {
    expect(colorsFor({ write: () => true, isTTY: true }, {}).enabled).toBe(true);
    expect(colorsFor({ write: () => true, isTTY: true }, { NO_COLOR: '1' }).enabled).toBe(false);
    expect(colorsFor({ write: () => true, isTTY: false }, {}).enabled).toBe(false);
  });

  it('aligns coloured cells by their visible width', () => {
    const c = colorsFor({ write: () => true, isTTY: true }, {});
    const table = formatTable(
      ['A', 'B'],
      [
        [c.red('xx'), 'y'],
        ['z', 'w'],
      ],
      c,
    );
    expect(stripAnsi(table)).toBe('A   B\nxx  y\nz   w\n');
  });
});
