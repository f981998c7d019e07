import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt, FernetError, generateFernetKey, parseFernetKey } from './fernet.js';
import { coerce, globalTenant, planTenantConfigImport, pythonFloat, pythonInt } from './tenant-configs.js';

/**
 * Fernet against the spec's vectors and the tokens Python's `cryptography` makes; coercion
 * against what the seed's `_coerce` answers, run in python3 (seed_reference.py).
 */
const reference = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../..'),
  'packages/client-python/tests/seed_reference.py',
);
const python = <T>(command: string, input: unknown): T =>
  JSON.parse(execFileSync('python3', [reference, command], { input: JSON.stringify(input), encoding: 'utf8' })) as T;

// https://github.com/fernet/spec generate.json / verify.json
const vector = {
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  now: '1985-10-26T01:20:00-07:00',
  iv: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
  src: 'hello',
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
};

describe('Fernet', () => {
  const key = parseFernetKey(vector.secret);

  it('decrypts the spec vector and makes the same token from its IV and time', () => {
    expect(fernetDecrypt(key, vector.token).toString()).toBe(vector.src);
    expect(fernetEncrypt(key, vector.src, { iv: vector.iv, time: new Date(vector.now) })).toBe(vector.token);
  });

  it('refuses what the spec calls invalid: wrong MAC, too short, bad base64, bad padding, wrong key', () => {
    const raw = Buffer.from(vector.token, 'base64url');
    const flipped = Buffer.from(raw);
    flipped[flipped.length - 1]! ^= 1;
    const wrongKey = parseFernetKey(generateFernetKey());
    // A valid MAC over a ciphertext whose last block does not unpad.
    const badPadding = (() => {
      const body = Buffer.from(raw.subarray(0, raw.length - 32));
      body[body.length - 1]! ^= 0x55;
      return Buffer.concat([body, createHmac('sha256', key.signing).update(body).digest()]).toString('base64url');
    })();
    for (const [token, k, why] of [
      [flipped.toString('base64url'), key, /HMAC/],
      [raw.subarray(0, 40).toString('base64url'), key, /too short/],
      ['%%%%' + vector.token.slice(4), key, /base64/],
      [badPadding, key, /padding/],
      [vector.token, wrongKey, /HMAC/],
    ] as const) {
      expect(() => fernetDecrypt(k, token)).toThrow(FernetError);
      expect(() => fernetDecrypt(k, token)).toThrow(why);
    }
    expect(() => parseFernetKey('c2hvcnQ=')).toThrow(/32/);
  });

  it('decrypts tokens made by Python cryptography, and Python decrypts ours', () => {
    const keyText = generateFernetKey();
    const plaintexts = ['erp-123', 'ünïcødé ✓', 'x'.repeat(1000), ''];
    const tokens = python<string[]>('fernet', { key: keyText, plaintexts });
    expect(tokens.map((t) => fernetDecrypt(parseFernetKey(keyText), t).toString('utf8'))).toEqual(plaintexts);
    const ours = fernetEncrypt(parseFernetKey(keyText), 'made in node');
    const back = execFileSync(
      'python3',
      [
        '-c',
        'import sys; from cryptography.fernet import Fernet; print(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())',
        keyText,
        ours,
      ],
      { encoding: 'utf8' },
    );
    expect(back.trim()).toBe('made in node');
  });
});

describe('coercion like the seed', () => {
  const samples = [
    '42',
    ' 42 ',
    '+7',
    '-0',
    '007',
    '1_000',
    '1__0',
    '_1',
    '1_',
    '4.0',
    '1e3',
    '.5',
    '5.',
    ' -2.5e-3 ',
    'inf',
    '-Infinity',
    'nan',
    '1e400',
    '0x10',
    '',
    ' ',
    'abc',
    '٣',
    '١٢',
    '１２',
    '\u00a012\u2003',
    '\ufeff12',
    '9007199254740993',
    'true',
    'True',
    'TRUE',
    '1',
    'yes',
    'YES',
    'on',
    'false',
    '0',
    'no',
    ' true',
    'y',
  ];
  const types = ['integer', 'number', 'boolean', 'string'] as const;

  it('answers exactly what _coerce answers for every sample and type (or refuses what raises)', () => {
    const items = types.flatMap((type) => samples.map((value) => ({ value, type })));
    const expected = python<Array<{ ok: boolean; value?: unknown; finite?: boolean }>>('coerce', items);
    items.forEach(({ value, type }, i) => {
      const want = expected[i]!;
      let got: { ok: boolean; value?: unknown };
      try {
        got = { ok: true, value: coerce(value, type, 'tenant') };
      } catch {
        got = { ok: false };
      }
      const label = `${type} ${JSON.stringify(value)}`;
      // Python's int is unbounded and float may be inf; JSON cannot hold those, so Strata refuses.
      if (
        want.ok &&
        (want.finite === false ||
          (typeof want.value === 'number' && !Number.isSafeInteger(want.value) && type === 'integer'))
      )
        expect(got.ok, label).toBe(false);
      else expect(got, label).toEqual(want);
    });
  });

  it('keeps integers exact and refuses what JSON cannot hold', () => {
    expect(pythonInt('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => pythonInt('9007199254740993')).toThrow(/2\^53/);
    expect(() => pythonFloat('1e400')).toThrow();
  });
});

describe('planTenantConfigImport', () => {
  const manifest = {
    keys: {
      'rate_limit.requests_per_minute': { type: 'integer' },
      'ai.enabled': { type: 'boolean' },
      'ai.model_name': { type: 'string' },
    },
    flags: { ai_recommendations: { type: 'boolean' } },
    secrets: { 'erp.api_key': {} },
  };
  const fernetKey = parseFernetKey(generateFernetKey());
  const t = '0b7a3c2e-8a53-4f0e-9e53-6c1d3f3b2a10';

  it('maps every kind of row and lists every problem without its value', () => {
    const token = fernetEncrypt(fernetKey, 'erp-secret');
    const plan = planTenantConfigImport({
      manifest,
      fernetKey,
      environment: { RATE_LIMIT__REQUESTS_PER_MINUTE: '500', AI__ENABLED: 'maybe', UNRELATED: 'x' },
      rows: [
        { tenant: globalTenant, key: 'feature.ai_recommendations.rollout_pct', value: '150' },
        { tenant: t, key: 'feature.ai_recommendations.rollout_pct', value: '5' },
        { tenant: t, key: 'feature.ai_recommendations.override', value: 'enabled' },
        { tenant: t, key: 'feature.nope.override', value: 'enabled' },
        { tenant: t, key: 'secret.erp.api_key', value: token },
        { tenant: t, key: 'secret.other.api_key', value: token },
        { tenant: '11111111-1111-4111-8111-111111111111', key: 'secret.erp.api_key', value: 'gAAAAAbroken' },
        { tenant: t, key: 'rate_limit.requests_per_minute', value: ' 1_000 ' },
        { tenant: t, key: 'ai.enabled', value: 'YES' },
        { tenant: t, key: 'ai.model_name', value: 'gpt-4o' },
        { tenant: t, key: 'legacy.thing', value: 'v' },
        { tenant: t, key: 'rate_limit.requests_per_minute', value: 'lots' },
      ],
    });
    expect(plan.changes).toEqual([
      { kind: 'value', tenant: null, key: 'rate_limit.requests_per_minute', value: 500 },
      { kind: 'rollout', flag: 'ai_recommendations', rollout: 100, enabled: true },
      { kind: 'override', tenant: t, flag: 'ai_recommendations', override: 'enabled' },
      { kind: 'secret', tenant: t, name: 'erp.api_key', value: 'erp-secret' },
      { kind: 'value', tenant: t, key: 'rate_limit.requests_per_minute', value: 1000 },
      { kind: 'value', tenant: t, key: 'ai.enabled', value: true },
      { kind: 'value', tenant: t, key: 'ai.model_name', value: 'gpt-4o' },
    ]);
    expect(plan.problems.map((p) => [p.tenant?.slice(0, 8) ?? null, p.key, p.kind])).toEqual([
      [null, 'AI__ENABLED', 'refused'],
      [null, 'UNRELATED', 'unmapped'],
      ['0b7a3c2e', 'feature.ai_recommendations.rollout_pct', 'unmapped'],
      ['0b7a3c2e', 'feature.nope.override', 'unmapped'],
      ['0b7a3c2e', 'secret.other.api_key', 'unmapped'],
      ['11111111', 'secret.erp.api_key', 'undecryptable'],
      ['0b7a3c2e', 'legacy.thing', 'unmapped'],
      ['0b7a3c2e', 'rate_limit.requests_per_minute', 'refused'],
    ]);
    expect(JSON.stringify(plan.problems)).not.toMatch(/maybe|lots|erp-secret|gAAAA/);
  });

  it('--skip-unmapped skips only unmapped rows', () => {
    const plan = planTenantConfigImport({
      manifest,
      fernetKey,
      skipUnmapped: true,
      rows: [
        { tenant: t, key: 'legacy.thing', value: 'v' },
        { tenant: t, key: 'ai.enabled', value: 'no' },
        { tenant: t, key: 'secret.erp.api_key', value: 'not-a-token' },
      ],
    });
    expect(plan.skipped.map((p) => p.key)).toEqual(['legacy.thing']);
    expect(plan.problems.map((p) => p.kind)).toEqual(['undecryptable']);
    expect(plan.changes).toEqual([{ kind: 'value', tenant: t, key: 'ai.enabled', value: false }]);
  });
});
