import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testApi, type TestApi } from './api-fixture.js';

/** Hostile input past the obvious (issue 19): a pattern that backtracks, deep nesting, unsafe integers. */
let api: TestApi;
const P = '/v1/namespaces/hostile/envs/prod';
const manifest = {
  keys: {
    'slug.nested': { type: 'string', pattern: '^(a+)+$' },
    'slug.common': { type: 'string', pattern: '^([a-z0-9]+-?)+$' },
    'limit.count': { type: 'integer', default: 1 },
    'limit.ratio': { type: 'number' },
    'blob.any': { type: 'array' },
    'blob.object': { type: 'object' },
  },
};

beforeAll(async () => {
  api = await testApi();
  const published = await api.call('PUT', '/v1/namespaces/hostile/manifest', { body: manifest });
  expect(published.statusCode, published.body).toBe(200);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

/** Runs `requests`, then checks that the log holds no event it did not hold before them. */
const expectNothingAppended = async (requests: () => Promise<void>) => {
  const before = await api.eventCount();
  await requests();
  expect(await api.eventCount()).toBe(before);
};

const expectRejected = async (response: Awaited<ReturnType<TestApi['call']>>, status: number | number[]) => {
  expect([status].flat(), response.body).toContain(response.statusCode);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
};

describe('manifest patterns run in linear time', () => {
  test('a nested-quantifier pattern answers 422 in under 100 ms and /healthz stays responsive', async () => {
    // Warm the scope so the timed request measures validation, not the first load from PostgreSQL.
    expect((await api.call('PUT', `${P}/config/slug.nested`, { body: { value: 'aaa' } })).statusCode).toBe(200);
    await expectNothingAppended(async () => {
      for (const [key, value] of [
        ['slug.nested', `${'a'.repeat(32)}!`],
        ['slug.common', `${'a'.repeat(40)}!`],
        ['slug.nested', `${'a'.repeat(30_000)}!`],
      ] as const) {
        // The best of three: a backtracking engine takes minutes every time (one more `a` doubles it),
        // while a loaded machine only sometimes adds a scheduling delay to a fast answer.
        let writeMs = Number.POSITIVE_INFINITY;
        let healthMs = Number.POSITIVE_INFINITY;
        for (let attempt = 0; attempt < 3; attempt++) {
          const started = performance.now();
          const write = api.call('PUT', `${P}/config/${key}`, { body: { value } });
          const health = api.call('GET', '/healthz', { token: null }).then((r) => {
            healthMs = Math.min(healthMs, performance.now() - started);
            return r;
          });
          const response = await write;
          writeMs = Math.min(writeMs, performance.now() - started);
          expect((await health).statusCode).toBe(200);
          await expectRejected(response, 422);
          expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED', key });
        }
        expect(writeMs).toBeLessThan(100);
        expect(healthMs).toBeLessThan(100);
      }
    });
  });

  test('publishing a pattern the engine cannot run is a 422 naming the construct; nothing appended', () =>
    expectNothingAppended(async () => {
      for (const [pattern, construct] of [
        ['^(a)\\1$', 'backreference'],
        ['^(?=.*\\d).+$', 'lookahead'],
        ['(?<!x)y', 'negative lookbehind'],
      ] as const) {
        const response = await api.call('PUT', '/v1/namespaces/hostile/manifest', {
          body: { keys: { ...manifest.keys, 'slug.bad': { type: 'string', pattern } } },
        });
        await expectRejected(response, 422);
        expect(response.json().detail).toContain(`keys.slug.bad: "pattern" uses a ${construct}`);
      }
    }));

  test('patterns keep their JSON Schema meaning: an unanchored ECMA-262 search', async () => {
    const body = { keys: { ...manifest.keys, 'slug.free': { type: 'string', pattern: '\\d\\s' } } };
    expect((await api.call('PUT', '/v1/namespaces/hostile/manifest', { body })).statusCode).toBe(200);
    // \s includes U+00A0 in ECMA-262 (not in RE2's own syntax); the match may be anywhere.
    expect((await api.call('PUT', `${P}/config/slug.free`, { body: { value: 'x1\u00a0y' } })).statusCode).toBe(200);
    expect((await api.call('PUT', `${P}/config/slug.free`, { body: { value: 'x1y' } })).statusCode).toBe(422);
  });
});

describe('nesting depth is bounded', () => {
  const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

  test.each([
    ['5,000 arrays deep', `{"value": ${nested(5_000)}}`, 'blob.any'],
    ['65 levels in the body', `{"value": ${nested(64)}}`, 'blob.any'],
    ['5,000 objects deep', `{"value": ${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`, 'blob.object'],
    [
      'deep inside a string is fine, deep outside is not',
      `{"value": [${'"[[[[",'.repeat(10)}${nested(80)}]}`,
      'blob.any',
    ],
  ])('%s → 400 problem, nothing appended', (_name, raw, key) =>
    expectNothingAppended(async () => {
      const response = await api.call('PUT', `${P}/config/${key}`, { raw });
      await expectRejected(response, 400);
      expect(response.json()).toMatchObject({
        code: 'BAD_REQUEST',
        detail: expect.stringMatching(/nested deeper than 64/),
      });
    }),
  );

  test('64 levels in the body are accepted, and brackets inside strings do not count', async () => {
    const atLimit = await api.call('PUT', `${P}/config/blob.any`, { raw: `{"value": ${nested(63)}}` });
    expect(atLimit.statusCode, atLimit.body).toBe(200);
    const inString = await api.call('PUT', `${P}/config/blob.any`, { raw: `{"value": ["${'['.repeat(5_000)}\\""]}` });
    expect(inString.statusCode, inString.body).toBe(200);
  });

  test('other deep bodies (manifests, OFREP contexts) are refused the same way', async () => {
    const keys = JSON.stringify(manifest.keys).slice(0, -1);
    const manifestResponse = await api.call('PUT', '/v1/namespaces/hostile/manifest', {
      raw: `{"keys": ${keys}, "a.b": {"type": "array", "default": ${nested(5_000)}}}}`,
    });
    await expectRejected(manifestResponse, 400);
    const ofrep = await api.call('POST', '/ofrep/v1/evaluate/flags', {
      raw: `{"context": {"targetingKey": "t", "namespace": "hostile", "environment": "prod", "deep": ${nested(5_000)}}}`,
    });
    await expectRejected(ofrep, 400);
  });
});

describe('integers beyond 2^53', () => {
  test.each([['12345678901234567890123'], ['9007199254740993'], ['-9007199254740993'], ['9007199254740992'], ['1e20']])(
    '%s on an integer key → 422, nothing appended',
    (literal) =>
      expectNothingAppended(async () => {
        const response = await api.call('PUT', `${P}/config/limit.count`, { raw: `{"value": ${literal}}` });
        await expectRejected(response, 422);
        expect(response.json().code).toBe('VALIDATION_FAILED');
      }),
  );

  test('an integer literal that a JSON number cannot hold exactly is refused wherever it is', () =>
    expectNothingAppended(async () => {
      for (const [key, literal] of [
        ['limit.ratio', '12345678901234567890123'],
        ['blob.any', '[1, 9007199254740993]'],
      ] as const) {
        const response = await api.call('PUT', `${P}/config/${key}`, { raw: `{"value": ${literal}}` });
        await expectRejected(response, 422);
        expect(response.json().detail).toMatch(/cannot be stored exactly/);
      }
    }));

  test('safe integers and ordinary numbers are accepted, stored exactly', async () => {
    for (const [key, literal, stored] of [
      ['limit.count', '9007199254740991', 9007199254740991],
      ['limit.count', '-9007199254740991', -9007199254740991],
      ['limit.ratio', '1e300', 1e300],
      ['limit.ratio', '0.1', 0.1],
    ] as const) {
      const response = await api.call('PUT', `${P}/config/${key}`, { raw: `{"value": ${literal}}` });
      expect(response.statusCode, response.body).toBe(200);
      await api.project();
      const read = await api.call('GET', `${P}/config`);
      expect(read.json().values[key].value).toBe(stored);
    }
  });

  test.each([
    [{ minimum: 12345678901234567890123 }, 'minimum'],
    [{ maximum: 9007199254740992 }, 'maximum'],
    [{ default: 9007199254740993 }, 'default'],
    [{ exclusiveMaximum: 1e300 }, 'exclusiveMaximum'],
  ])('a manifest with an unsafe integer %o → 422', (constraint, name) =>
    expectNothingAppended(async () => {
      const raw = JSON.stringify({ keys: { ...manifest.keys, 'limit.other': { type: 'integer', ...constraint } } });
      const response = await api.call('PUT', '/v1/namespaces/hostile/manifest', { raw });
      await expectRejected(response, 422);
      expect(response.json().detail).toContain(name === 'default' ? 'default' : `"${name}"`);
    }),
  );
});

describe('found by the fuzz suite (openapi-fuzz.int.spec.ts)', () => {
  test('a path segment that is not valid percent-encoded UTF-8 → 400 problem', async () => {
    for (const url of ['/v1/tokens/%ED%A0%80', '/v1/namespaces/%zz/manifest', `${P}/config/%C0%AE`]) {
      const response = await api.call('DELETE', url);
      await expectRejected(response, 400);
      expect(response.json().code).toBe('BAD_REQUEST');
    }
  });

  test.each([
    ['a NUL character', '{"value": "a\\u0000b"}'],
    ['a lone surrogate', '{"value": "a\\ud800b"}'],
    ['a lone surrogate in a property name', '{"value": {"\\udfff": 1}}'],
  ])('a body string with %s → 400 problem, nothing appended', (_name, raw) =>
    expectNothingAppended(async () => {
      const response = await api.call('PUT', `${P}/config/blob.object`, { raw });
      await expectRejected(response, 400);
      expect(response.json().detail).toMatch(/NUL character or a lone surrogate/);
    }),
  );

  test('a token description with a NUL character → 400, not a 500 from PostgreSQL', async () => {
    const response = await api.call('POST', '/v1/tokens', { raw: '{"role": "reader", "description": "a\\u0000"}' });
    await expectRejected(response, 400);
  });

  test('minPosition beyond the log head → 400 at once, not a 504 after waiting', async () => {
    const started = performance.now();
    const response = await api.call('GET', `${P}/config?minPosition=9007199254740991`);
    await expectRejected(response, 400);
    expect(response.json().detail).toMatch(/beyond the log head/);
    expect(performance.now() - started).toBeLessThan(900); // the fixture waits 1 s before a 504
    const head = await api.log.headPosition();
    await api.project();
    expect((await api.call('GET', `${P}/config?minPosition=${head}`)).statusCode).toBe(200);
  });

  test('minPosition answered by a write elsewhere → the view as of then, not a 504', async () => {
    await api.project();
    const elsewhere = await api.call('PUT', '/v1/namespaces/hostile/envs/staging/config/limit.count', {
      body: { value: 7 },
    });
    const { position } = elsewhere.json() as { position: number };
    await api.project();
    const started = performance.now();
    const read = await api.call('GET', `${P}/config?minPosition=${position}`);
    expect(read.statusCode, read.body).toBe(200);
    expect(performance.now() - started).toBeLessThan(900); // the fixture waits 1 s before a 504
    // Read-your-writes still waits for a write to this view that is not projected yet.
    const own = (await api.call('PUT', `${P}/config/limit.count`, { body: { value: 8 } })).json() as {
      position: number;
    };
    const waiting = api.call('GET', `${P}/config?minPosition=${own.position}`);
    await api.project();
    const mine = await waiting;
    expect(mine.statusCode).toBe(200);
    expect(mine.json().values['limit.count'].value).toBe(8);
  });
});
