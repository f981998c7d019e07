import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bucket } from '@strata/core';
import { onOffFlag } from '@strata/core/testing';
import { manifest, testApi, type TestApi } from './api-fixture.js';

/** Flag definitions, segments, flagd import / export and previews through the real API. */

let api: TestApi;
beforeAll(async () => {
  api = await testApi();
  const withTyped = { ...manifest, flags: { ...manifest.flags, banner: { type: 'string' } } };
  expect((await api.call('PUT', '/v1/namespaces/shop/manifest', { body: withTyped })).statusCode).toBe(200);
});
afterAll(async () => api?.[Symbol.asyncDispose]());

const P = '/v1/namespaces/shop/envs/prod';
const banner = {
  state: 'ENABLED',
  variants: { plain: 'Welcome', sale: 'Sale!', vip: 'Hello VIP' },
  defaultVariant: 'plain',
  targeting: {
    if: [
      { $ref: 'vip' },
      'vip',
      { sem_ver: [{ var: 'appVersion' }, '>=', '2.0.0'] },
      {
        fractional: [
          ['sale', 50],
          ['plain', 50],
        ],
      },
      null,
    ],
  },
  metadata: { owner: 'growth' },
};

/** 422 problem+json, nothing appended. */
const rejected = async (method: 'PUT' | 'POST' | 'DELETE', url: string, body: unknown, path: RegExp) => {
  const before = await api.eventCount();
  const response = await api.call(method, url, { body });
  expect(response.statusCode, response.body).toBe(422);
  expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(response.json().detail).toMatch(path);
  expect(await api.eventCount()).toBe(before);
  return response.json();
};

describe('definitions and segments', () => {
  test('a definition referencing a missing segment is a 422 naming the path; with the segment it is set', async () => {
    await rejected('PUT', `${P}/flags/banner`, banner, /targeting\.if\[0\]\.\$ref: unknown segment "vip"/);
    const segment = await api.call('PUT', `${P}/segments/vip`, {
      body: { logic: { in: [{ var: 'plan' }, ['gold', 'platinum']] } },
    });
    expect(segment.statusCode, segment.body).toBe(200);
    const set = await api.call('PUT', `${P}/flags/banner`, { body: { ...banner, reason: 'spring sale' } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ position: expect.any(Number) });
  });

  test('bad definitions: unknown state, mixed variants, unknown variant, bad JsonLogic, type disagreement → 422, nothing appended', async () => {
    await rejected('PUT', `${P}/flags/banner`, { ...banner, state: 'ON' }, /state must be "ENABLED" or "DISABLED"/);
    await rejected(
      'PUT',
      `${P}/flags/banner`,
      { ...banner, variants: { plain: 'x', sale: 1, vip: 'y' } },
      /variants\.sale: variants must share one type/,
    );
    await rejected(
      'PUT',
      `${P}/flags/banner`,
      { ...banner, targeting: { if: [true, 'gold', null] } },
      /targeting\.if\[1\]: unknown variant "gold"/,
    );
    await rejected(
      'PUT',
      `${P}/flags/banner`,
      { ...banner, targeting: { frobnicate: [1] } },
      /targeting\.frobnicate: unknown operator/,
    );
    await rejected('PUT', `${P}/flags/new_checkout`, banner, /variants: the manifest declares a boolean flag/);
    await rejected('PUT', `${P}/segments/loop`, { logic: { $ref: 'loop' } }, /cyclic \$ref: loop → loop/);
    await rejected('DELETE', `${P}/segments/vip`, {}, /still referenced by flags\.banner\.targeting/);
  });

  test('the shorthand keeps working, bit for bit the seed buckets', async () => {
    expect(
      (await api.call('PUT', `${P}/flags/new_checkout`, { body: { rollout: 30, enabled: true } })).statusCode,
    ).toBe(200);
    await api.project();
    for (const tenant of ['acme', 'globex', 'initech', 'umbrella']) {
      const read = await api.call('GET', `${P}/tenants/${tenant}/flags/new_checkout`);
      expect(read.json()).toMatchObject({ enabled: bucket(tenant, 'new_checkout') < 30, reason: 'rollout' });
    }
  });
});

describe('import, export, preview', () => {
  const file = {
    $schema: 'https://flagd.dev/schema/v0/flags.json',
    $evaluators: { beta: { ends_with: [{ var: 'email' }, '@beta.example'] } },
    flags: {
      'dark.mode': onOffFlag({ if: [{ $ref: 'beta' }, 'on', 'off'] }),
      'page.size': { state: 'ENABLED', variants: { small: 10, large: 50 }, defaultVariant: 'small' },
    },
  };

  test('import declares missing flags (type from variants) and appends everything at once', async () => {
    const before = await api.eventCount();
    const response = await api.call('POST', `${P}/flags/import`, { body: { ...file, reason: 'from flagd' } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ appended: 4, flags: ['dark.mode', 'page.size'], segments: ['beta'] });
    expect(await api.eventCount()).toBe(before + 4);
    const events = (await api.call('GET', '/v1/events?limit=1000')).json().events as Array<{
      type: string;
      streamId?: string;
      position: number;
    }>;
    const last = events.slice(-4);
    expect(last.map((e) => e.type)).toEqual([
      'ManifestPublished',
      'SegmentSet',
      'FlagDefinitionSet',
      'FlagDefinitionSet',
    ]);
    const published = events.at(-4) as unknown as { data: { manifest: { flags: Record<string, unknown> } } };
    expect(published.data.manifest.flags).toMatchObject({
      'dark.mode': { type: 'boolean' },
      'page.size': { type: 'number' },
    });
  });

  test('OFREP evaluates definitions against the whole context: typed values, variant, reason, metadata', async () => {
    await api.project();
    const ofrep = (key: string, context: Record<string, unknown>) =>
      api.call('POST', `/ofrep/v1/evaluate/flags/${key}`, {
        body: { context: { namespace: 'shop', environment: 'prod', ...context } },
      });
    const beta = await ofrep('dark.mode', { targetingKey: 'acme', email: 'ann@beta.example' });
    expect(beta.statusCode, beta.body).toBe(200);
    expect(beta.json()).toMatchObject({ key: 'dark.mode', value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    expect((await ofrep('dark.mode', { targetingKey: 'acme', email: 'bob@else.example' })).json()).toMatchObject({
      value: false,
      variant: 'off',
    });
    expect((await ofrep('page.size', { targetingKey: 'acme' })).json()).toMatchObject({
      value: 10,
      variant: 'small',
      reason: 'STATIC',
    });
    const vip = await ofrep('banner', { targetingKey: 'globex', plan: 'gold' });
    expect(vip.json()).toMatchObject({ value: 'Hello VIP', variant: 'vip', metadata: { owner: 'growth' } });
    const bulk = await api.call('POST', '/ofrep/v1/evaluate/flags', {
      body: { context: { namespace: 'shop', environment: 'prod', targetingKey: 'acme', email: 'a@beta.example' } },
    });
    expect(bulk.json().flags).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'dark.mode', value: true, reason: 'TARGETING_MATCH' })]),
    );
  });

  test('a bad file is a 422 naming the path in the file, nothing appended', async () => {
    await rejected(
      'POST',
      `${P}/flags/import`,
      { flags: { 'x.y': { state: 'ENABLED', variants: { a: 1 }, defaultVariant: 'a', targeting: { $ref: 'nope' } } } },
      /flags\.x\.y\.targeting\.\$ref: unknown segment "nope"/,
    );
  });

  test('export is a flagd file: re-importing it changes nothing but appends the same definitions', async () => {
    const exported = (await api.call('GET', `${P}/flags/export`)).json();
    expect(exported.$schema).toBe('https://flagd.dev/schema/v0/flags.json');
    expect(exported.flags['dark.mode']).toEqual(file.flags['dark.mode']);
    expect(exported.flags.new_checkout).toEqual(onOffFlag({ if: [{ rollout: [30] }, 'on', 'off'] }));
    expect(exported.$evaluators).toEqual({ ...file.$evaluators, vip: { in: [{ var: 'plan' }, ['gold', 'platinum']] } });
    const again = await api.call('POST', `${P}/flags/import`, { body: exported });
    expect(again.statusCode, again.body).toBe(200);
    const diff = await api.call(
      'GET',
      `${P}/diff?from=${again.json().position - again.json().appended}&to=${again.json().position}`,
    );
    expect(diff.statusCode).toBe(200);
    const changes = diff.json().changes as Array<{ kind: string; flag?: string }>;
    // Only the shorthand flag changes form (now a definition); every answer stays the same.
    expect(changes.filter((c) => c.kind !== 'flag' || c.flag !== 'new_checkout')).toEqual([]);
  });

  test('preview: which tenants change variant, from what to what', async () => {
    await api.call('PUT', `${P}/tenants/acme/config/ui.theme`, { body: { value: 'dark' } });
    await api.call('PUT', `${P}/tenants/globex/config/ui.theme`, { body: { value: 'dark' } });
    const proposed = onOffFlag({ if: [{ '==': [{ var: 'targetingKey' }, 'acme'] }, 'on', 'off'] });
    const response = await api.call('POST', `${P}/flags/dark.mode/preview`, {
      body: { definition: proposed, tenants: 'seen', contexts: [{ targetingKey: 'zed', email: 'z@beta.example' }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      evaluated: 3,
      flips: [
        { tenant: 'zed', from: { variant: 'on', value: true }, to: { variant: 'off', value: false } },
        { tenant: 'acme', from: { variant: 'off' }, to: { variant: 'on' } },
      ],
    });
    const bad = await api.call('POST', `${P}/flags/dark.mode/preview`, {
      body: { definition: { ...proposed, defaultVariant: 'maybe' } },
    });
    expect(bad.statusCode).toBe(422);
  });

  test('revert a rule change: history, diff and revert cover definitions and segments', async () => {
    const before = (await api.call('GET', '/v1/events?limit=1000')).json().events.at(-1).position as number;
    const changed = await api.call('PUT', `${P}/flags/dark.mode`, {
      body: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
    });
    expect(changed.statusCode).toBe(200);
    const history = (await api.call('GET', `/v1/events?type=FlagDefinitionSet&limit=1000`)).json().events;
    expect(history.at(-1)).toMatchObject({ type: 'FlagDefinitionSet', data: { flag: 'dark.mode' } });
    const reverted = await api.call('POST', `${P}/revert`, { body: { to: { position: before }, reason: 'undo' } });
    expect(reverted.statusCode, reverted.body).toBe(200);
    const after = await api.call('GET', `${P}/diff?from=${before}&to=${reverted.json().position}`);
    expect(after.json().changes).toEqual([]);
    const exported = (await api.call('GET', `${P}/flags/export`)).json();
    expect(exported.flags['dark.mode']).toEqual(file.flags['dark.mode']);
    // The file as it was between the change and the revert, by position and by time.
    const then = (await api.call('GET', `${P}/flags/export?position=${changed.json().position}`)).json();
    expect(then.flags['dark.mode']).toEqual({
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'on',
    });
    expect(then.metadata.position).toBe(changed.json().position);
    const changedAt = history.at(-1).recordedAt as string;
    const byTime = (await api.call('GET', `${P}/flags/export?at=${encodeURIComponent(changedAt)}`)).json();
    expect(byTime.flags['dark.mode']).toEqual(then.flags['dark.mode']);
    const both = await api.call('GET', `${P}/flags/export?at=${encodeURIComponent(changedAt)}&position=1`);
    expect(both.statusCode).toBe(400);
  });
});

describe('tenant overrides of typed flags', () => {
  const ofrep = async (key: string, context: Record<string, unknown>) =>
    (
      await api.call('POST', `/ofrep/v1/evaluate/flags/${key}`, {
        body: { context: { namespace: 'shop', environment: 'prod', ...context } },
      })
    ).json();

  test('an unknown variant, or a variant with an override, is a 422 naming the path, nothing appended', async () => {
    await rejected('PUT', `${P}/tenants/initech/flags/banner`, { variant: 'gold' }, /variant: unknown variant "gold"/);
    const before = await api.eventCount();
    const both = await api.call('PUT', `${P}/tenants/initech/flags/banner`, {
      body: { variant: 'vip', override: 'enabled' },
    });
    expect(both.statusCode).toBeGreaterThanOrEqual(400);
    expect(both.statusCode).toBeLessThan(500);
    expect(both.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await api.eventCount()).toBe(before);
  });

  test('a pinned variant always wins (OFREP, flag reads, ?at=), shows in diff, and revert takes it back', async () => {
    await api.project();
    const start = (await api.call('GET', '/v1/events?limit=1000')).json().events.at(-1).position as number;
    expect(await ofrep('banner', { targetingKey: 'initech', plan: 'free', appVersion: '1.0.0' })).toMatchObject({
      value: 'Welcome',
      reason: 'DEFAULT',
    });
    const pinned = await api.call('PUT', `${P}/tenants/initech/flags/banner`, {
      body: { variant: 'vip', reason: 'key account' },
    });
    expect(pinned.statusCode, pinned.body).toBe(200);
    const events = (await api.call('GET', '/v1/events?type=FlagOverrideSet&limit=1000')).json().events;
    expect(events.at(-1)).toMatchObject({
      data: { tenant: 'initech', flag: 'banner', override: 'enabled', variant: 'vip' },
    });
    await api.project();
    expect(await ofrep('banner', { targetingKey: 'initech', plan: 'free', appVersion: '1.0.0' })).toMatchObject({
      value: 'Hello VIP',
      variant: 'vip',
      reason: 'TARGETING_MATCH',
    });
    const read = await api.call('GET', `${P}/tenants/initech/flags/banner`);
    expect(read.json()).toMatchObject({ enabled: true, reason: 'override', variant: 'Hello VIP' });
    const past = await api.call('GET', `${P}/tenants/initech/flags/banner?position=${start}`);
    expect(past.json()).toMatchObject({ reason: 'targeting' });
    expect(past.json().variant).not.toBe('Hello VIP');
    const diff = await api.call('GET', `${P}/diff?from=${start}&to=${pinned.json().position}`);
    expect(diff.json().changes).toEqual([
      expect.objectContaining({
        kind: 'override',
        tenant: 'initech',
        flag: 'banner',
        before: null,
        after: expect.objectContaining({ override: 'enabled', variant: 'vip' }),
      }),
    ]);
    const reverted = await api.call('POST', `${P}/revert`, { body: { to: { position: start }, reason: 'undo' } });
    expect(reverted.statusCode, reverted.body).toBe(200);
    await api.project();
    expect(await ofrep('banner', { targetingKey: 'initech', plan: 'free', appVersion: '1.0.0' })).toMatchObject({
      value: 'Welcome',
      reason: 'DEFAULT',
    });
  });

  test('disabled on a string flag answers DISABLED (the caller default); enabled runs the rule', async () => {
    expect(
      (await api.call('PUT', `${P}/tenants/hooli/flags/banner`, { body: { override: 'disabled' } })).statusCode,
    ).toBe(200);
    expect(
      (await api.call('PUT', `${P}/tenants/pied/flags/banner`, { body: { override: 'enabled' } })).statusCode,
    ).toBe(200);
    await api.project();
    expect(await ofrep('banner', { targetingKey: 'hooli', plan: 'gold' })).toMatchObject({ reason: 'DISABLED' });
    expect(await ofrep('banner', { targetingKey: 'pied', plan: 'gold' })).toMatchObject({
      value: 'Hello VIP',
      reason: 'TARGETING_MATCH',
    });
  });
});

describe('the manifest declares variants', () => {
  test('a definition whose variants differ from the declared ones is a 422 naming the path; matching ones are set', async () => {
    const published0 = (await api.call('GET', '/v1/events?type=ManifestPublished&limit=1000')).json().events;
    const current = published0.at(-1).data.manifest as { flags: Record<string, unknown> };
    const withTheme = {
      ...current,
      flags: { ...current.flags, theme: { type: 'string', variants: ['light', 'dark'] } },
    };
    const published = await api.call('PUT', '/v1/namespaces/shop/manifest', { body: withTheme });
    expect(published.statusCode, published.body).toBe(200);
    const theme = { state: 'ENABLED', variants: { light: '#fff', dark: '#000' }, defaultVariant: 'light' };
    await rejected(
      'PUT',
      `${P}/flags/theme`,
      { ...theme, variants: { light: '#fff', neon: '#0f0' } },
      /variants\.neon: the manifest declares the variants "light", "dark".*variants: the manifest declares the variant "dark"/,
    );
    expect((await api.call('PUT', `${P}/flags/theme`, { body: theme })).statusCode).toBe(200);
  });
});
