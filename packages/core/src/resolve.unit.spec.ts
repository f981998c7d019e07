import { describe, expect, it } from 'vitest';
import { ev, manifest } from './testing/event-builders.js';
import { foldNew } from './testing/given.js';
import { envVarLayer, envVarName, resolveConfig, resolveKey } from './resolve.js';
import { initialState } from './scope-state.js';

const state = foldNew([
  ev.manifest(),
  ev.set(null, 'rate_limit.requests_per_minute', 200),
  ev.set('tenant_001', 'rate_limit.requests_per_minute', 30),
  ev.set(null, 'search.provider', 'algolia'),
  ev.set('tenant_001', 'api.token_hint', 'abcdefgh'),
]);

describe('resolveConfig', () => {
  it('resolves tenant → environment → default, with source and position of each value', () => {
    const resolved = resolveConfig(state, 'tenant_001');
    expect(resolved.position).toBe(5);
    expect(resolved.values).toEqual({
      'api.token_hint': { value: 'abcdefgh', source: 'tenant', position: 5, secret: true },
      'emails.enabled': { value: true, source: 'default', position: 1 },
      'features.ratio': { value: 0.5, source: 'default', position: 1 },
      'rate_limit.requests_per_minute': { value: 30, source: 'tenant', position: 3 },
      'search.provider': { value: 'algolia', source: 'environment', position: 4 },
    });
    expect(resolved.missing).toEqual(['billing.currency', 'ui.theme_color']);
  });

  it('gives another tenant (and the environment itself) the environment layer', () => {
    expect(resolveConfig(state, 'tenant_002').values['rate_limit.requests_per_minute']).toEqual({
      value: 200,
      source: 'environment',
      position: 2,
    });
    expect(resolveConfig(state, null).values['api.token_hint']).toBeUndefined();
    expect(resolveConfig(state, null).missing).toContain('api.token_hint');
  });

  it('without a manifest, resolves whatever values are set', () => {
    const bare = foldNew([ev.set(null, 'a.b', 1), ev.set('t', 'c.d', 2)]);
    expect(resolveConfig(bare, 't')).toEqual({
      position: 2,
      values: {
        'a.b': { value: 1, source: 'environment', position: 1 },
        'c.d': { value: 2, source: 'tenant', position: 2 },
      },
      missing: [],
    });
    expect(resolveConfig(initialState('x', 'y'), 't')).toEqual({ position: 0, values: {}, missing: [] });
  });
});

describe('resolveKey', () => {
  it('resolves one key like resolveConfig does', () => {
    for (const tenant of ['tenant_001', 'tenant_002', null]) {
      for (const key of Object.keys(manifest.keys)) {
        expect(resolveKey(state, tenant, key)).toEqual(resolveConfig(state, tenant).values[key]);
      }
    }
  });
});

describe('envVarLayer', () => {
  it('maps dotted keys to upper-case names with __', () => {
    expect(envVarName('rate_limit.requests_per_minute')).toBe('RATE_LIMIT__REQUESTS_PER_MINUTE');
    expect(envVarName('search.provider', 'SHOP_')).toBe('SHOP_SEARCH__PROVIDER');
  });

  it('coerces and validates values, and reports invalid ones instead of throwing', () => {
    const layer = envVarLayer(
      manifest,
      {
        SHOP_RATE_LIMIT__REQUESTS_PER_MINUTE: '45',
        SHOP_EMAILS__ENABLED: 'no',
        SHOP_FEATURES__RATIO: '0.75',
        SHOP_SEARCH__PROVIDER: 'solr',
        SHOP_UI__THEME_COLOR: '#abcdef',
        SHOP_BILLING__CURRENCY: undefined,
        SHOP_API__TOKEN_HINT: 'short',
        RATE_LIMIT__REQUESTS_PER_MINUTE: '1',
      },
      { prefix: 'SHOP_' },
    );
    expect(Object.fromEntries(layer.values)).toEqual({
      'rate_limit.requests_per_minute': 45,
      'emails.enabled': false,
      'features.ratio': 0.75,
      'ui.theme_color': '#abcdef',
    });
    expect(layer.errors.map((e) => [e.variable, e.error.code, e.error.message])).toEqual([
      [
        'SHOP_SEARCH__PROVIDER',
        'VALIDATION_FAILED',
        'SHOP_SEARCH__PROVIDER: search.provider: expected one of "elastic", "algolia", received "solr" (string)',
      ],
      [
        'SHOP_API__TOKEN_HINT',
        'VALIDATION_FAILED',
        'SHOP_API__TOKEN_HINT: api.token_hint: expected string of at least 8 characters, received [redacted string]',
      ],
    ]);
    const typeErrors = envVarLayer(manifest, { RATE_LIMIT__REQUESTS_PER_MINUTE: '4.5', EMAILS__ENABLED: 'maybe' });
    expect(typeErrors.errors.map((e) => e.error.message)).toEqual([
      'RATE_LIMIT__REQUESTS_PER_MINUTE (rate_limit.requests_per_minute): expected an integer, received "4.5"',
      'EMAILS__ENABLED (emails.enabled): expected a boolean (true/false/1/0/yes/no/on/off), received "maybe"',
    ]);
  });

  it('sits between the tenant and the environment layers', () => {
    const envVars = envVarLayer(manifest, { RATE_LIMIT__REQUESTS_PER_MINUTE: '45', SEARCH__PROVIDER: 'elastic' });
    expect(resolveKey(state, 'tenant_001', 'rate_limit.requests_per_minute', { envVars })).toMatchObject({
      value: 30,
      source: 'tenant',
    });
    expect(resolveKey(state, 'tenant_002', 'rate_limit.requests_per_minute', { envVars })).toEqual({
      value: 45,
      source: 'envVar',
      position: 0,
    });
    expect(resolveConfig(state, 'tenant_002', { envVars }).values['search.provider']).toEqual({
      value: 'elastic',
      source: 'envVar',
      position: 0,
    });
  });
});
