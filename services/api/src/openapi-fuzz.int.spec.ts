import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminToken, manifest, testApi, type TestApi } from './api-fixture.js';
import { operationsOf, requestArbitrary, type FuzzRequest, type KnownValues } from './openapi-request-arbitrary.js';

/**
 * Watches this thread's event loop every 10 ms and remembers the longest stretch between two ticks,
 * with the CPU time this thread spent in it and the request that was running. On a shared, loaded
 * machine the wall-clock delay (monitorEventLoopDelay) mostly measures the process waiting for a
 * core; the thread's own CPU time between two ticks is what a blocking task costs, so the 100 ms
 * bound applies to it. Both are reported.
 */
const stallMonitor = () => {
  let at = performance.now();
  let cpu = process.threadCpuUsage();
  let running = '(between requests)';
  const worst = { cpuMs: 0, wallMs: 0, during: '' };
  const timer = setInterval(() => {
    const now = performance.now();
    const spent = process.threadCpuUsage(cpu);
    const cpuMs = (spent.user + spent.system) / 1000;
    if (cpuMs > worst.cpuMs) Object.assign(worst, { cpuMs, wallMs: now - at, during: running });
    at = now;
    cpu = process.threadCpuUsage();
  }, 10);
  return {
    worst,
    running: (label: string) => (running = label),
    stop: () => clearInterval(timer),
  };
};

/**
 * Schema-driven fuzzing of every operation of the live /openapi.json against the real API
 * (in-process Fastify on PostgreSQL and Redis). Properties: never a 5xx; every error is
 * problem+json; a rejected request appends nothing; the event loop never stalls > 100 ms.
 *
 * Seeded and bounded: FUZZ_SEED replays a run (the seed is printed first); FUZZ_RUNS caps the
 * requests per operation, FUZZ_BUDGET_MS the whole run (both, so CI stays within its minute).
 */
const seed = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const runsPerOperation = Number(process.env['FUZZ_RUNS'] ?? 250);
const budgetMs = Number(process.env['FUZZ_BUDGET_MS'] ?? 40_000);
/** A regular expression on `METHOD /path` to fuzz only some operations (when replaying one). */
const only = new RegExp(process.env['FUZZ_ONLY'] ?? '');

let api: TestApi;
let known: KnownValues;
beforeAll(async () => {
  // Generated requests often carry a wrong token; the backoff would otherwise answer 429 to the rest.
  api = await testApi({ authFailureAllowance: 1_000_000 });
  expect((await api.call('PUT', '/v1/namespaces/shop/manifest', { body: manifest })).statusCode).toBe(200);
  const P = '/v1/namespaces/shop/envs/prod';
  for (const [url, body] of [
    [`${P}/config/ui.theme`, { value: 'dark' }],
    [`${P}/tenants/acme/config/rate_limit.requests_per_minute`, { value: 250 }],
    [`${P}/flags/new_checkout`, { rollout: 25, enabled: true }],
    [`${P}/tenants/acme/secrets/stripe.api_key`, { value: 'sk_test_fuzz' }],
  ] as const)
    expect((await api.call('PUT', url, { body })).statusCode).toBe(200);
  const issued = await api.call('POST', '/v1/tokens', { body: { role: 'reader', namespace: 'shop' } });
  const { id, token } = issued.json() as { id: string; token: string };
  await api.project();
  known = {
    params: {
      ns: ['shop'],
      env: ['prod'],
      tenant: ['acme', 't-1'],
      key: [...Object.keys(manifest.keys), 'new_checkout'],
      flag: ['new_checkout'],
      name: ['stripe.api_key'],
      id: [id],
    },
    tokens: [adminToken, token, await api.issue('writer', { namespace: 'shop' })],
    bodies: {
      'PUT /v1/namespaces/{ns}/manifest': [
        JSON.stringify(manifest),
        JSON.stringify({ ...manifest, keys: { ...manifest.keys, 'slug.x': { type: 'string', pattern: '^(a+)+$' } } }),
      ],
      'PUT /v1/namespaces/{ns}/envs/{env}/config/{key}': [
        '{"value":"dark"}',
        '{"value":120}',
        '{"value":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}',
      ],
      'POST /v1/namespaces/{ns}/envs/{env}/revert': ['{"to":{"position":1},"reason":"fuzz","dryRun":true}'],
      'POST /ofrep/v1/evaluate/flags': ['{"context":{"targetingKey":"acme","namespace":"shop","environment":"prod"}}'],
    },
  };
});
afterAll(async () => api?.[Symbol.asyncDispose]());

interface Finding {
  request: FuzzRequest;
  status: number;
  problem: string;
}

test(
  'every operation of /openapi.json: no 5xx, problem+json errors, nothing appended on rejection',
  { timeout: budgetMs + 60_000 },
  async () => {
    const spec = (await api.call('GET', '/openapi.json', { token: null })).json();
    // An accepted change stream never ends by itself (inject would wait for ever); its hostile
    // inputs are covered in changes.int.spec.ts.
    const all = operationsOf(spec).filter((operation) => !operation.path.endsWith('/changes'));
    expect(all.length).toBeGreaterThan(30);
    const operations = all.filter((operation) => only.test(operation.id));
    console.log(
      `fuzz seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run services/api/src/openapi-fuzz.int.spec.ts)`,
    );

    // Building an arbitrary is lazy and costs up to 100 ms the first time (fast-check compiles the
    // schemas' regular expressions): done here, before the event loop is watched.
    const arbitraries = new Map(operations.map((operation) => [operation, requestArbitrary(operation, known)]));
    for (const arbitrary of arbitraries.values()) fc.sample(arbitrary, { numRuns: 1, seed });

    const counts = new Map<string, { requests: number; byStatus: Map<number, number> }>();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const stalls = stallMonitor();
    let head = await api.log.headPosition();
    const started = Date.now();
    loop.enable();
    try {
      for (const [index, operation] of operations.entries()) {
        const left = budgetMs - (Date.now() - started);
        const count = { requests: 0, byStatus: new Map<number, number>() };
        counts.set(operation.id, count);
        if (left <= 0) continue;
        // Checked before each request, not by fast-check's interruptAfterTimeLimit: an interrupted
        // run would leave its request in flight, appending after the next operation has started.
        const deadline = Date.now() + Math.max(200, left / (operations.length - index));
        const result = await fc.check(
          fc.asyncProperty(arbitraries.get(operation)!, async (request): Promise<boolean> => {
            if (Date.now() > deadline) return true; // out of time: the rest of the runs send nothing
            count.requests += 1;
            stalls.running(
              `#${count.requests} ${request.method} ${request.url.slice(0, 200)} ${request.payload?.slice(0, 100) ?? ''}`,
            );
            const response = await api.app.inject({
              method: request.method,
              url: request.url,
              headers: request.headers,
              ...(request.payload !== undefined ? { payload: request.payload } : {}),
            });
            count.byStatus.set(response.statusCode, (count.byStatus.get(response.statusCode) ?? 0) + 1);
            const finding = (problem: string): Finding => ({ request, status: response.statusCode, problem });
            const after = await api.log.headPosition();
            const before = head;
            const appended = after !== before;
            head = after;
            if (response.statusCode >= 500) throw findingError(finding(`5xx: ${response.body.slice(0, 300)}`));
            if (response.statusCode >= 400) {
              if (!/^application\/problem\+json/.test(String(response.headers['content-type'])))
                throw findingError(finding(`error without problem+json: ${response.headers['content-type']}`));
              const problem = response.json() as Record<string, unknown>;
              if (problem['status'] !== response.statusCode || typeof problem['errorId'] !== 'string')
                throw findingError(finding(`malformed problem: ${response.body.slice(0, 300)}`));
              if (appended) {
                const events = (await api.log.readAll(before, 5)).map((e) => ({ type: e.type, metadata: e.metadata }));
                throw findingError(
                  finding(
                    `a rejected request appended events (head ${before} → ${after}: ${JSON.stringify(events)}): ${response.body.slice(0, 300)}`,
                  ),
                );
              }
            } else if (appended) await api.project(); // what relay + projector would do; keeps minPosition reads honest
            stalls.running('(generating the next request)');
            return true;
          }),
          {
            seed: seed + all.indexOf(operation), // the same sequence whatever FUZZ_ONLY selects
            numRuns: runsPerOperation,
            endOnFailure: true,
          },
        );
        if (result.failed) {
          const error = result.errorInstance as Error | undefined;
          throw new Error(
            `${operation.id} (seed ${seed + all.indexOf(operation)}, path ${result.counterexamplePath}): ${error?.message ?? String(result.errorInstance)}`,
          );
        }
      }
    } finally {
      loop.disable();
      stalls.stop();
      const total = [...counts.values()].reduce((n, c) => n + c.requests, 0);
      const rows = [...counts].map(
        ([id, c]) =>
          `  ${String(c.requests).padStart(5)}  ${id}  ${[...c.byStatus]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}×${n}`)
            .join(' ')}`,
      );
      console.log(
        `fuzz: ${total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s over ${counts.size} operations; event loop delay (wall clock) max ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms; longest busy stretch ${stalls.worst.cpuMs.toFixed(1)} ms CPU (${stalls.worst.wallMs.toFixed(1)} ms wall) during ${stalls.worst.during}\n${rows.join('\n')}`,
      );
    }
    expect(stalls.worst.cpuMs, `event loop busy during ${stalls.worst.during}`).toBeLessThan(100);
  },
);

const findingError = (finding: Finding) =>
  new Error(
    `${finding.problem}\n  ${finding.request.method} ${finding.request.url.slice(0, 300)}\n  headers ${JSON.stringify(finding.request.headers).slice(0, 300)}\n  body ${finding.request.payload?.slice(0, 300) ?? '(none)'}`,
  );
