import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { ev, manifest } from './testing/event-builders.js';
import { foldNew } from './testing/given.js';
import { defineManifest, key, toManifestDocument, type ManifestValues } from './define-manifest.js';
import { checkManifestChange } from './manifest-change.js';
import { manifestProblems, parseManifest, validateValue } from './manifest.js';

const failure = (result: ReturnType<typeof validateValue>) => {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
};

describe('validateValue', () => {
  it('accepts values that satisfy every constraint', () => {
    for (const [k, v] of [
      ['rate_limit.requests_per_minute', 30],
      ['search.provider', 'algolia'],
      ['ui.theme_color', '#00ff00'],
      ['features.ratio', 0.25],
      ['emails.enabled', false],
      ['billing.currency', 'EUR'],
    ] as const) {
      expect(validateValue(manifest, k, v), k).toEqual({ ok: true });
    }
  });

  it('rejects unknown keys with UNKNOWN_KEY naming the key', () => {
    const error = failure(validateValue(manifest, 'rate_limit.rpm', 3));
    expect(error.code).toBe('UNKNOWN_KEY');
    expect(error.message).toBe('rate_limit.rpm: not declared in the manifest');
    expect(failure(validateValue(null, 'a', 1)).message).toMatch(/no manifest/);
  });

  it.each([
    [
      'rate_limit.requests_per_minute',
      'abc',
      'rate_limit.requests_per_minute: expected integer, received a string of 3 characters (not repeated)',
    ],
    ['rate_limit.requests_per_minute', 1.5, 'rate_limit.requests_per_minute: expected integer, received 1.5 (number)'],
    [
      'rate_limit.requests_per_minute',
      0,
      'rate_limit.requests_per_minute: expected integer >= 1, received 0 (integer)',
    ],
    [
      'rate_limit.requests_per_minute',
      10001,
      'rate_limit.requests_per_minute: expected integer <= 10000, received 10001 (integer)',
    ],
    ['search.provider', 'solr', 'search.provider: expected one of "elastic", "algolia", received "solr" (string)'],
    ['ui.theme_color', 'red', 'ui.theme_color: expected string matching /^#[0-9a-f]{6}$/, received "red" (string)'],
    ['billing.currency', 'EURO', 'billing.currency: expected string of at most 3 characters, received "EURO" (string)'],
    ['features.ratio', Number.NaN, 'features.ratio: expected number, received null (non-finite number)'],
    ['emails.enabled', 'true', 'emails.enabled: expected boolean, received a string of 4 characters (not repeated)'],
    ['emails.enabled', null, 'emails.enabled: expected boolean, received null (null)'],
  ])('rejects %s = %j with VALIDATION_FAILED naming key, constraint and value', (k, value, message) => {
    const error = failure(validateValue(manifest, k, value));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe(message);
  });

  it('never echoes the value of a secret key', () => {
    const error = failure(validateValue(manifest, 'api.token_hint', 'short'));
    expect(error.message).toBe('api.token_hint: expected string of at least 8 characters, received [redacted string]');
    expect(JSON.stringify(error.details)).not.toContain('short');
  });

  it('validates nested objects and arrays', () => {
    const m = parseManifest({
      keys: {
        'limits.tiers': {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, max: { type: 'integer', minimum: 0 } },
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(validateValue(m, 'limits.tiers', [{ name: 'gold', max: 3 }])).toEqual({ ok: true });
    expect(failure(validateValue(m, 'limits.tiers', [{ name: 'gold', max: -1 }])).message).toBe(
      'limits.tiers[0].max: expected integer >= 0, received -1 (integer)',
    );
    expect(failure(validateValue(m, 'limits.tiers', [{ max: 1 }])).message).toMatch(
      /limits.tiers\[0\]: expected object with property "name"/,
    );
    expect(failure(validateValue(m, 'limits.tiers', [{ name: 'x', extra: 1 }])).message).toMatch(
      /without property "extra"/,
    );
  });
});

describe('parseManifest', () => {
  it('accepts the ShelfWise manifest', () => {
    expect(parseManifest(manifest)).toEqual(manifest);
  });

  it('lists every problem of a bad manifest in one error', () => {
    const bad = {
      keys: {
        'a.ok': { type: 'integer', default: 1 },
        'Bad Key': { type: 'string' },
        'b.type': { type: 'float' },
        'c.default': { type: 'integer', minimum: 5, default: 2 },
        'd.range': { type: 'integer', minimum: 5, maximum: 1 },
        'e.pattern': { type: 'string', pattern: '([' },
        'f.misplaced': { type: 'boolean', minLength: 2 },
        'g.typo': { type: 'string', minLenght: 2 },
        'h.enum': { type: 'string', enum: ['a', 3] },
        'i.mutable': { type: 'string', mutable: 'no' },
      },
      flags: { 'Bad Flag': {} },
    };
    expect(manifestProblems(bad)).toEqual([
      'keys.Bad Key: names are dot-separated lowercase words',
      'flags.Bad Flag: flag keys are letters, digits, _ . -, at most 200',
      'keys.b.type: "type" must be one of integer, number, boolean, string, object, array, got "float" (string)',
      'keys.c.default: default 2 (integer) is not valid: expected integer >= 5',
      'keys.d.range: "minimum" 5 is greater than "maximum" 1',
      expect.stringMatching(/^keys.e.pattern: "pattern" is not a valid regular expression/),
      'keys.f.misplaced: "minLength" does not apply to type boolean',
      'keys.g.typo: unknown keyword "minLenght"',
      'keys.h.enum: enum value 3 (integer) is not valid: expected string',
      'keys.i.mutable: "mutable" must be a boolean',
    ]);
    let caught: unknown;
    try {
      parseManifest(bad);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { problems: expect.arrayContaining(['keys.g.typo: unknown keyword "minLenght"']) },
    });
    expect((caught as Error).message).toMatch(/^invalid manifest:\n- keys.Bad Key/);
  });

  it('rejects a document of the wrong shape and __proto__ keys', () => {
    expect(manifestProblems({ keys: [] })[0]).toMatch(/^keys: /);
    expect(manifestProblems(JSON.parse('{"keys":{"__proto__":{"type":"string"}}}'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/names are dot-separated/)]),
    );
  });
});

describe('defineManifest / toManifestDocument', () => {
  const shelfwise = defineManifest({
    keys: {
      'rate_limit.requests_per_minute': z.number().int().min(1).default(100).describe('Requests per minute per tenant'),
      'search.provider': z.enum(['elastic', 'algolia']).default('elastic'),
      'billing.currency': key(z.string().length(3), { mutable: false, owner: 'billing' }),
      'ui.banner': z.string().optional().meta({ deprecated: true }),
      'limits.tiers': z.array(z.object({ name: z.string(), max: z.number().int() })).default([]),
    },
    flags: { new_checkout: { type: 'boolean', description: 'new checkout' } },
    secrets: { stripe_api_key: { description: 'Stripe', owner: 'billing' } },
  });

  it('produces a manifest document with JSON Schema per key, defaults and annotations kept', () => {
    const doc = toManifestDocument(shelfwise);
    expect(doc.keys['rate_limit.requests_per_minute']).toEqual({
      type: 'integer',
      minimum: 1,
      default: 100,
      description: 'Requests per minute per tenant',
    });
    expect(doc.keys['search.provider']).toEqual({ type: 'string', enum: ['elastic', 'algolia'], default: 'elastic' });
    expect(doc.keys['billing.currency']).toMatchObject({
      type: 'string',
      minLength: 3,
      maxLength: 3,
      mutable: false,
      owner: 'billing',
    });
    expect(doc.keys['ui.banner']).toMatchObject({ type: 'string', deprecated: true });
    expect(doc.flags).toEqual({ new_checkout: { type: 'boolean', description: 'new checkout' } });
    expect(doc.secrets).toEqual({ stripe_api_key: { description: 'Stripe', owner: 'billing' } });
    expect(validateValue(doc, 'limits.tiers', [{ name: 'a', max: 1.5 }]).ok).toBe(false);
    expect(validateValue(doc, 'rate_limit.requests_per_minute', 0).ok).toBe(false);
  });

  it('gives the SDK static types per key', () => {
    type V = ManifestValues<typeof shelfwise>;
    expectTypeOf<V['rate_limit.requests_per_minute']>().toEqualTypeOf<number>();
    expectTypeOf<V['search.provider']>().toEqualTypeOf<'elastic' | 'algolia'>();
    expectTypeOf<V['billing.currency']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<V['limits.tiers']>().toEqualTypeOf<Array<{ name: string; max: number }>>();
    expect(Object.keys(shelfwise.keys)).toHaveLength(5);
  });
});

describe('checkManifestChange', () => {
  it('lists every current value, in every environment and tenant, that the new manifest rejects', () => {
    const prod = foldNew([
      ev.manifest(),
      ev.set(null, 'rate_limit.requests_per_minute', 500),
      ev.set('tenant_001', 'rate_limit.requests_per_minute', 50),
      ev.set('tenant_002', 'ui.theme_color', '#ffffff'),
      ev.secret('tenant_003', 'db_password', 1),
    ]);
    const staging = foldNew(
      [ev.manifest(), ev.set(null, 'search.provider', 'algolia', { namespace: 'shop', environment: 'staging' })],
      'shop',
      'staging',
    );
    const { 'ui.theme_color': _removed, ...keys } = manifest.keys;
    const next = parseManifest({
      ...manifest,
      keys: {
        ...keys,
        'rate_limit.requests_per_minute': { type: 'integer', minimum: 60, maximum: 1000 },
        'search.provider': { type: 'string', enum: ['elastic'] },
      },
      secrets: { stripe_api_key: {} },
    });
    expect(checkManifestChange(next, [prod, staging])).toEqual([
      {
        environment: 'prod',
        tenant: 'tenant_001',
        kind: 'key',
        key: 'rate_limit.requests_per_minute',
        problem: 'rate_limit.requests_per_minute: expected integer >= 60, received 50 (integer)',
      },
      {
        environment: 'prod',
        tenant: 'tenant_002',
        kind: 'key',
        key: 'ui.theme_color',
        problem: 'ui.theme_color: removed from the manifest but set to "#ffffff" (string)',
      },
      {
        environment: 'prod',
        tenant: 'tenant_003',
        kind: 'secret',
        key: 'db_password',
        problem: 'secret db_password: removed from the manifest but still stored',
      },
      {
        environment: 'staging',
        tenant: null,
        kind: 'key',
        key: 'search.provider',
        problem: 'search.provider: expected one of "elastic", received "algolia" (string)',
      },
    ]);
    expect(checkManifestChange(manifest, [prod, staging])).toEqual([]);
  });
});

describe('hostile values and schemas (issue 19)', () => {
  const doc = parseManifest({
    keys: {
      'a.count': { type: 'integer' },
      'a.list': { type: 'array' },
      'a.slug': { type: 'string', pattern: '^(a+)+$' },
    },
  });

  it('integer keys take safe integers only: beyond 2^53 a double has already rounded the value', () => {
    expect(validateValue(doc, 'a.count', Number.MAX_SAFE_INTEGER).ok).toBe(true);
    expect(validateValue(doc, 'a.count', -Number.MAX_SAFE_INTEGER).ok).toBe(true);
    for (const unsafe of [2 ** 53, 12345678901234567890123, -1e20])
      expect(failure(validateValue(doc, 'a.count', unsafe)).message).toMatch(
        /expected integer between -9007199254740991 and 9007199254740991/,
      );
  });

  it('refuses unsafe integer bounds and defaults on integer keys, not on number keys', () => {
    expect(
      manifestProblems({
        keys: {
          'b.min': { type: 'integer', minimum: -1e20 },
          'b.max': { type: 'integer', exclusiveMaximum: 2 ** 53 },
          'b.default': { type: 'integer', default: 2 ** 53 },
          'b.number': { type: 'number', minimum: -1e300, default: 1e300 },
        },
      }),
    ).toEqual([
      'keys.b.min: "minimum" must lie between -9007199254740991 and 9007199254740991 on type integer, got -100000000000000000000 (integer)',
      'keys.b.max: "exclusiveMaximum" must lie between -9007199254740991 and 9007199254740991 on type integer, got 9007199254740992 (integer)',
      'keys.b.default: default 9007199254740992 (integer) is not valid: expected integer between -9007199254740991 and 9007199254740991',
    ]);
  });

  it('refuses values nested deeper than 64 levels without recursing into them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(failure(validateValue(doc, 'a.list', deep)).message).toBe('a.list: value nested deeper than 64 levels');
    let atLimit: unknown = [];
    for (let i = 1; i < 64; i++) atLimit = [atLimit];
    expect(validateValue(doc, 'a.list', atLimit).ok).toBe(true);
  });

  it('runs patterns in linear time and refuses those it cannot run, naming the construct', () => {
    expect(failure(validateValue(doc, 'a.slug', `${'a'.repeat(100_000)}!`)).code).toBe('VALIDATION_FAILED');
    expect(manifestProblems({ keys: { 'c.d': { type: 'string', pattern: '(a)\\1' } } })).toEqual([
      'keys.c.d: "pattern" uses a backreference (\\1), which has no linear-time match; rewrite it without',
    ]);
  });
});
