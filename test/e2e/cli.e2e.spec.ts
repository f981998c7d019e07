import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freePort, testRedis, type TestDatabase, type TestRedis } from '@strata/testing';
import { spawnTied } from '@strata/service-runtime';

/**
 * The real `strata` binary against the real API process (PostgreSQL, Redis), as a user runs it.
 * Present-time reads need the Redis views: without relay and projector in this spec, `strata
 * rebuild` brings them up to date from the log — which exercises rebuild too.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The CLI from source (no build needed); the built, installed `strata` is tested by test/e2e/packages.e2e.spec.ts.
const main = join(root, 'packages/cli/src/main.ts');
// Absolute: the CLI runs in a scratch directory, where a bare `tsx` would not resolve.
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
/** The seed's bucket, computed here independently of the code under test: sha256("<tenant>:<flag>")[:8] % 100. */
const bucketOf = (tenant: string, flag: string): number =>
  createHash('sha256').update(`${tenant}:${flag}`, 'utf8').digest().readUInt32BE(0) % 100;
const adminToken = 'e2e-admin-token-0123456789abcdef';
const work = mkdtempSync(join(tmpdir(), 'strata-cli-e2e-'));

let db: TestDatabase;
let redis: TestRedis;
let api: ChildProcess;
let url: string;
const apiLog: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const strata = (
  args: string[],
  options: { token?: string; stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> =>
  new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['--conditions=@strata/source', '--import', tsx, main, '-n', 'shop', '-e', 'prod', ...args],
      {
        cwd: work,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: work,
          STRATA_URL: url,
          STRATA_TOKEN: options.token ?? adminToken,
          NO_COLOR: '1',
          ...options.env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? '');
  });

const ok = async (args: string[], options?: Parameters<typeof strata>[1]): Promise<string> => {
  const run = await strata(args, options);
  if (run.code !== 0) throw new Error(`strata ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
};

const json = async <T>(args: string[], options?: Parameters<typeof strata>[1]): Promise<T> =>
  JSON.parse(await ok(['--json', ...args], options)) as T;

const manifest = {
  keys: {
    'checkout.max_items': { type: 'integer', default: 20, minimum: 1, maximum: 500 },
    'ui.theme': { type: 'string', enum: ['light', 'dark'], default: 'light' },
    'billing.currency': { type: 'string', mutable: false },
    'db.password': { type: 'string', secret: true },
  },
  flags: { new_checkout: { type: 'boolean' } },
  secrets: { 'stripe.key': { description: 'Stripe API key' } },
};

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await testRedis();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  api = spawnTied(process.execPath, ['--conditions=@strata/source', '--import', 'tsx', 'services/api/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      STRATA_REDIS_PREFIX: redis.prefix,
      PORT: String(port),
      STRATA_ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout?.on('data', (d: Buffer) => apiLog.push(d.toString()));
  api.stderr?.on('data', (d: Buffer) => apiLog.push(d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (api.exitCode !== null) throw new Error(`the API exited ${api.exitCode}: ${apiLog.join('').slice(-2000)}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the API did not answer /healthz within 60s: ${apiLog.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));
  await ok(['manifest', 'publish', 'manifest.json', '--reason', 'e2e']);
});

afterAll(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
  await redis?.[Symbol.asyncDispose]();
  await db?.[Symbol.asyncDispose]();
});

// Every step starts the CLI afresh under tsx (seconds each on a loaded 2-core machine); the tests that
// chain a dozen of them need more than the suite's 60 s.
describe('strata against the running API', { timeout: 180_000 }, () => {
  it('validates manifests locally and refuses bad ones', async () => {
    expect(await ok(['manifest', 'validate', 'manifest.json'])).toBe(
      'manifest.json: valid (4 keys, 1 flags, 1 secrets)\n',
    );
    writeFileSync(join(work, 'bad-manifest.yaml'), 'keys:\n  a: { type: integr }\n');
    const bad = await strata(['manifest', 'validate', 'bad-manifest.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^strata: bad-manifest.yaml: invalid manifest: keys.a: "type" must be one of/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('publishing the manifest in force again appends nothing and names its position', async () => {
    expect(await ok(['manifest', 'publish', 'manifest.json'])).toMatch(/: manifest unchanged \(position [1-9]\d*\)\n$/);
  });

  it('sets and reads values; JSON when it parses; point-in-time reads from the log', async () => {
    const set = await json<{ position: number }>(['set', 'checkout.max_items', '50', '--reason', 'bigger carts']);
    await ok(['set', 'checkout.max_items', '120', '-t', 'acme']);
    expect(await ok(['get', 'checkout.max_items', '--position', String(set.position)])).toBe('50\n');
    expect(
      await ok(['get', 'checkout.max_items', '-t', 'acme', '--at', new Date(Date.now() + 60_000).toISOString()]),
    ).toBe('120\n');
    const resolved = await json<{ values: Record<string, { value: unknown; source: string }> }>([
      'at',
      String(set.position + 1),
      '-t',
      'acme',
    ]);
    expect(resolved.values['checkout.max_items']).toMatchObject({ value: 120, source: 'tenant' });
    expect(resolved.values['ui.theme']).toMatchObject({ value: 'light', source: 'default' });
  });

  it('fails with one line and the documented exit codes', async () => {
    const invalid = await strata(['set', 'checkout.max_items', '9999']);
    expect(invalid).toMatchObject({ code: 1, stdout: '' });
    expect(invalid.stderr).toMatch(
      /^strata: Validation failed: checkout.max_items: expected integer <= 500, received 9999 \(integer\) \(error id [0-9a-f-]+\)\n$/,
    );
    expect(await strata(['set', 'ui.theme', 'purple'])).toMatchObject({ code: 1 });
    const unknown = await strata(['set', 'no.such.key', '1']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^strata: Unknown key: no.such.key: not declared in the manifest \(error id /);
    expect(await strata(['get', 'no.such.key', '--position', '1'])).toMatchObject({
      code: 6,
      stderr: expect.stringMatching(/^strata: no.such.key: no value in shop\/prod/),
    });
    const badToken = await strata(['get', '--position', '1'], { token: 'not-a-token' });
    expect(badToken).toMatchObject({
      code: 4,
      stderr: expect.stringMatching(/^strata: Unauthenticated: unknown or revoked token \(error id /),
    });
    await ok(['set', 'billing.currency', 'EUR']);
    const conflict = await strata(['set', 'billing.currency', 'USD']);
    expect(conflict.code).toBe(5);
    expect(conflict.stderr.trim().split('\n')).toHaveLength(1);
    expect(await strata(['get'], { env: { STRATA_URL: 'http://127.0.0.1:9' } })).toMatchObject({
      code: 7,
      stderr: expect.stringContaining('server unavailable'),
    });
    expect(await strata(['flags', 'set', 'new_checkout', '--rollout', '150'])).toMatchObject({ code: 2 });
    const keys = await strata(['keys', 'status']);
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout)).toMatchObject({ activeKid: expect.any(String), masterKeys: expect.any(Array) });
  });

  it('flags: rollout, override, evaluation and who-flips with the bucket rule', async () => {
    await ok(['flags', 'set', 'new_checkout', '--rollout', '25']);
    await ok(['flags', 'override', 'new_checkout', 'enabled', '-t', 'pinned']);
    const rebuilt = await strata(['rebuild', '--interval', '50']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/^rebuilt generation \d+: \d+ events up to position \d+/);
    const tenants = Array.from({ length: 60 }, (_, i) => `tenant-${i}`);
    for (const tenant of tenants.slice(0, 3)) {
      const evaluation = await json<{ enabled: boolean; reason: string; bucket: number }>([
        'flags',
        'eval',
        'new_checkout',
        '-t',
        tenant,
      ]);
      expect(evaluation).toMatchObject({
        enabled: bucketOf(tenant, 'new_checkout') < 25,
        reason: 'rollout',
        bucket: bucketOf(tenant, 'new_checkout'),
      });
    }
    expect(await json(['flags', 'eval', 'new_checkout', '-t', 'pinned'])).toMatchObject({
      enabled: true,
      reason: 'override',
    });
    const flips = await json<{ on: Array<{ tenant: string }>; off: unknown[]; overridden: number }>(
      ['flags', 'who-flips', 'new_checkout', '--rollout', '50', '--tenants-from', '-'],
      { stdin: [...tenants, 'pinned'].join('\n') },
    );
    expect(flips.off).toEqual([]);
    expect(flips.overridden).toBe(1);
    expect(flips.on.map((f) => f.tenant)).toEqual(
      tenants.filter((t) => bucketOf(t, 'new_checkout') >= 25 && bucketOf(t, 'new_checkout') < 50),
    );
    // Ramping to 50 then evaluating: exactly the predicted tenants are on now.
    await ok(['flags', 'set', 'new_checkout', '--rollout', '50']);
    expect(await ok(['get', '--position', '1'])).toContain('shop/prod at position 1');
  });

  it('flags import / export / set --definition / preview with flagd files', async () => {
    const file = {
      $evaluators: { staff: { ends_with: [{ var: 'email' }, '@shop.example'] } },
      flags: {
        'promo.banner': {
          state: 'ENABLED',
          variants: { none: '', spring: 'Spring sale' },
          defaultVariant: 'none',
          targeting: { if: [{ $ref: 'staff' }, 'spring', null] },
        },
      },
    };
    writeFileSync(join(work, 'flags.json'), JSON.stringify(file));
    expect(await ok(['flags', 'import', 'flags.json', '-r', 'from flagd'])).toMatch(
      /^shop\/prod: imported 1 flag\(s\), 1 segment\(s\) \(position \d+\)/,
    );
    const exported = await json<{ flags: Record<string, unknown>; $evaluators: Record<string, unknown> }>([
      'flags',
      'export',
    ]);
    expect(exported.flags['promo.banner']).toEqual(file.flags['promo.banner']);
    expect(exported.$evaluators).toEqual(file.$evaluators);
    const everyone = { ...file.flags['promo.banner'], targeting: { if: [true, 'spring', null] } };
    writeFileSync(join(work, 'everyone.json'), JSON.stringify(everyone));
    const preview = await json<{
      changed: number;
      flips: Array<{ from: { variant: string }; to: { variant: string } }>;
    }>(['flags', 'preview', 'promo.banner', '-d', 'everyone.json', '--contexts', '-'], {
      stdin: JSON.stringify([
        { targetingKey: 'a', email: 'x@other.example' },
        { targetingKey: 'b', email: 'y@shop.example' },
      ]),
    });
    expect(preview.changed).toBe(1);
    expect(preview.flips[0]).toMatchObject({ from: { variant: 'none' }, to: { variant: 'spring' } });
    expect(await ok(['flags', 'set', 'promo.banner', '-d', 'everyone.json'])).toMatch(/promo.banner: definition set/);
    expect(await ok(['flags', 'override', 'promo.banner', '--variant', 'spring', '-t', 'acme'])).toMatch(
      /promo.banner: pinned to variant spring \(position \d+\)/,
    );
    const unknownVariant = await strata(['flags', 'override', 'promo.banner', '--variant', 'winter', '-t', 'acme']);
    expect(unknownVariant.code).not.toBe(0);
    expect(unknownVariant.stderr).toMatch(/variant: unknown variant "winter"/);
    expect(
      await strata(['flags', 'override', 'promo.banner', 'enabled', '--variant', 'spring', '-t', 'acme']),
    ).toMatchObject({ code: 2 });
    const bad = await strata(['flags', 'set', 'promo.banner', '-d', '-'], {
      stdin: JSON.stringify({ ...everyone, state: 'MAYBE' }),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/state: state must be "ENABLED" or "DISABLED"/);
  });

  it('secrets: set from stdin, get, list and rotate; never in history or export', async () => {
    await ok(['secrets', 'set', 'stripe.key'], { stdin: 'sk_live_first\n' });
    expect(await ok(['secrets', 'get', 'stripe.key'])).toBe('sk_live_first\n');
    await ok(['secrets', 'rotate', 'stripe.key', '-', '--grace', '10m'], { stdin: 'sk_live_second' });
    expect(await ok(['secrets', 'get', 'stripe.key'])).toBe('sk_live_second\n');
    expect(await ok(['secrets', 'get', 'stripe.key', '--secret-version', '1'])).toBe('sk_live_first\n');
    const list = await ok(['secrets', 'list']);
    expect(list).toMatch(/stripe.key\s+\(environment\)\s+v2 \(v1 until/);
    const history = await ok(['history', '--limit', '100']);
    const exported = await ok(['export']);
    for (const text of [list, history, exported]) expect(text).not.toContain('sk_live');
    expect(
      await strata(['secrets', 'get', 'stripe.key', '-t', 'nobody-has-this'], {
        token: await ok(['tokens', 'create', '--role', 'reader']).then((t) => t.trim()),
      }),
    ).toMatchObject({ code: 4 });
  });

  it('history: newest first, filters, before → after, JSON', async () => {
    const table = await ok(['history', '--key', 'checkout.max_items']);
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^POS\s+TIME\s+ACTOR\s+SCOPE\s+KEY\s+BEFORE → AFTER\s+REASON$/);
    expect(lines[1]).toMatch(/shop\/prod\/acme\s+checkout.max_items\s+∅ → 120/);
    expect(lines[2]).toMatch(/admin\s+shop\/prod\s+checkout.max_items\s+∅ → 50\s+bigger carts/);
    const events = await json<Array<{ position: number; type: string }>>([
      'history',
      '--type',
      'FlagRolloutChanged',
      '--limit',
      '10',
    ]);
    expect(events.map((e) => e.type)).toEqual(['FlagRolloutChanged', 'FlagRolloutChanged']);
    expect(events[0]!.position).toBeGreaterThan(events[1]!.position);
    const ndjson = (await ok(['history', '--ndjson', '--limit', '2'])).trim().split('\n');
    expect(ndjson).toHaveLength(2);
    expect(JSON.parse(ndjson[0]!).position).toBeGreaterThan(JSON.parse(ndjson[1]!).position);
  });

  it('revert: the --dry-run plan is exactly what --yes applies; refuses without a TTY or --yes', async () => {
    const before = await json<{ position: number }>(['set', 'ui.theme', 'dark']);
    await ok(['set', 'checkout.max_items', '75']);
    await ok(['flags', 'override', 'new_checkout', 'disabled', '-t', 'acme']);
    const to = before.position - 1;
    const stateThen = await json<{ values: unknown }>(['get', '-t', 'acme', '--position', String(to)]);
    const dryRun = await json<{
      plan: { streams: Array<{ streamId: string; events: Array<{ type: string; data: unknown }> }> };
    }>(['revert', '--to', String(to), '--dry-run']);
    expect(dryRun.plan.streams.flatMap((s) => s.events)).toHaveLength(3);
    const human = await ok(['revert', '--to', String(to), '--dry-run']);
    expect(human).toMatch(/revert to position \d+ \(now at \d+\): 3 compensating events/);
    const refused = await strata(['revert', '--to', String(to)]);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('pass --yes') });
    const applied = await json<{ appended: number; applied: typeof dryRun.plan }>([
      'revert',
      '--to',
      String(to),
      '--yes',
      '--reason',
      'e2e revert',
    ]);
    const strip = (plan: typeof dryRun.plan) =>
      plan.streams.map((s) => ({
        streamId: s.streamId,
        events: s.events.map((e) => ({ type: e.type, data: e.data })),
      }));
    expect(strip(applied.applied)).toEqual(strip(dryRun.plan));
    expect(applied.appended).toBe(3);
    const now = await json<{ position: number; values: unknown }>([
      'get',
      '-t',
      'acme',
      '--at',
      new Date(Date.now() + 60_000).toISOString(),
    ]);
    expect(now.values).toEqual(stateThen.values);
    const diff = await json<{ changes: unknown[] }>(['diff', String(to), String(now.position)]);
    expect(diff.changes).toEqual([]);
    expect(await ok(['history', '--limit', '3'])).toContain('e2e revert');
  });

  it('config as code: export, plan, apply round trip; drift exits 3; plaintext secrets refused', async () => {
    // A key the manifest declares secret never takes a plain value: it would sit in the log as is.
    const plain = await strata(['set', 'db.password', 'hunter2']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('db.password: declared secret in the manifest');
    await ok(['export', '--out', 'prod.yaml']);
    const exported = readFileSync(join(work, 'prod.yaml'), 'utf8');
    expect(exported).not.toContain('hunter2');
    expect(exported).toMatch(/stripe.key:\n\s+secretRef: stripe.key\n\s+version: 2/);
    expect(await strata(['plan', 'prod.yaml', '--check'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('no changes'),
    });

    writeFileSync(
      join(work, 'edited.yaml'),
      exported
        .replace('checkout.max_items: 50', 'checkout.max_items: 64')
        .replace(/tenants:\n/, 'tenants:\n  newco:\n    config:\n      ui.theme: dark\n'),
    );
    const drift = await strata(['plan', 'edited.yaml', '--check']);
    expect(drift.code).toBe(3);
    expect(drift.stdout).toContain('~ config.checkout.max_items: 50 → 64');
    expect(drift.stdout).toContain('+ tenants.newco.config.ui.theme = "dark"');
    expect(await ok(['apply', 'edited.yaml'])).toMatch(/^applied 2 changes/);
    expect(await strata(['plan', 'edited.yaml', '--check'])).toMatchObject({ code: 0 });

    // Someone changes the store: the file now drifts from it.
    await ok(['set', 'checkout.max_items', '65']);
    expect(await strata(['plan', 'edited.yaml', '--check'])).toMatchObject({ code: 3 });

    writeFileSync(
      join(work, 'leaky.yaml'),
      exported.replace('checkout.max_items: 50', 'checkout.max_items: 50\n  db.password: hunter3'),
    );
    const leaky = await strata(['apply', 'leaky.yaml']);
    expect(leaky.code).toBe(1);
    expect(leaky.stderr).toMatch(
      /^strata: leaky.yaml: refused, it holds what looks like secret plaintext: config.db.password is marked secret: true/,
    );
    writeFileSync(
      join(work, 'leaky2.yaml'),
      'namespace: shop\nenvironment: prod\nsecrets:\n  stripe.key: sk_live_oops\n',
    );
    expect(await strata(['plan', 'leaky2.yaml'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('secrets.stripe.key holds a literal value'),
    });
    expect(await ok(['history', '--limit', '50', '--json'])).not.toContain('hunter');
  });

  it('config as code: export → apply to a fresh environment is exact for flags, segments, variants and pins', async () => {
    const a = ['-e', 'flags-a'];
    const b = ['-e', 'flags-b'];
    const flagd = {
      $evaluators: { beta: { in: [{ var: 'targetingKey' }, ['acme', 'tenant-3']] } },
      flags: {
        'search.engine': {
          state: 'ENABLED',
          variants: { classic: 'v1', vector: 'v2' },
          defaultVariant: 'classic',
          targeting: { if: [{ $ref: 'beta' }, 'vector', null] },
          metadata: { owner: 'search' },
        },
      },
    };
    writeFileSync(join(work, 'search.json'), JSON.stringify(flagd));
    await ok([...a, 'flags', 'import', 'search.json']);
    await ok([...a, 'flags', 'set', 'new_checkout', '--rollout', '30']);
    // The shorthand's weighted variants have no CLI flag of their own; the API takes them.
    const variants = await fetch(`${url}/v1/namespaces/shop/envs/flags-a/flags/new_checkout`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        rollout: 40,
        enabled: true,
        variants: [
          { value: true, weight: 70 },
          { value: false, weight: 30 },
        ],
      }),
    });
    expect(variants.status, await variants.text()).toBe(200);
    await ok([...a, 'flags', 'override', 'search.engine', '--variant', 'vector', '-t', 'globex']);
    await ok([...a, 'flags', 'override', 'search.engine', 'disabled', '-t', 'initech']);
    await ok([...a, 'flags', 'override', 'new_checkout', 'enabled', '-t', 'globex']);
    await ok([...a, 'set', 'ui.theme', 'dark', '-t', 'acme']);

    // The YAML a user edits and applies; the documents compared as JSON.
    const docA = await json<Record<string, unknown>>([...a, 'export']);
    expect(docA).toMatchObject({
      environment: 'flags-a',
      flags: {
        new_checkout: {
          rollout: 40,
          enabled: true,
          variants: [
            { value: true, weight: 70 },
            { value: false, weight: 30 },
          ],
        },
        'search.engine': flagd.flags['search.engine'],
      },
      segments: flagd.$evaluators,
      tenants: {
        globex: { flags: { 'search.engine': { variant: 'vector' }, new_checkout: 'enabled' } },
        initech: { flags: { 'search.engine': 'disabled' } },
      },
    });
    await ok([...a, 'export', '--out', 'flags-a.yaml']);
    const yamlA = readFileSync(join(work, 'flags-a.yaml'), 'utf8');
    expect(yamlA).toContain('\nenvironment: flags-a\n');
    writeFileSync(join(work, 'flags-b.yaml'), yamlA.replace('\nenvironment: flags-a\n', '\nenvironment: flags-b\n'));
    expect(await ok([...b, 'apply', 'flags-b.yaml'])).toMatch(/^applied 7 changes/);
    expect(await strata([...b, 'plan', 'flags-b.yaml', '--check'])).toMatchObject({ code: 0 });
    const docB = await json<Record<string, unknown>>([...b, 'export']);
    const { position: _a, ...restA } = docA;
    const { position: _b, ...restB } = docB;
    expect({ ...restB, environment: 'flags-a' }).toEqual(restA);

    // The same answers for every tenant: the views of both environments, brought up by a rebuild.
    await ok(['rebuild', '--interval', '50']);
    const tenants = ['acme', 'globex', 'initech', ...Array.from({ length: 8 }, (_, i) => `tenant-${i}`)];
    for (const flag of ['new_checkout', 'search.engine']) {
      for (const tenant of tenants) {
        const [inA, inB] = await Promise.all(
          [a, b].map((env) => json<Record<string, unknown>>([...env, 'flags', 'eval', flag, '-t', tenant])),
        );
        expect({ ...inB, position: 0 }, `${flag} for ${tenant}`).toEqual({ ...inA, position: 0 });
      }
    }
    expect(await json([...b, 'flags', 'eval', 'search.engine', '-t', 'globex'])).toMatchObject({ reason: 'override' });

    // A file that drops the shorthand's variants removes them (apply sends variants: null).
    const withoutVariants = structuredClone(docB) as { flags: Record<string, Record<string, unknown>> };
    delete withoutVariants.flags['new_checkout']!['variants'];
    writeFileSync(join(work, 'flags-b-plain.json'), JSON.stringify(withoutVariants));
    expect(await ok([...b, 'plan', 'flags-b-plain.json'])).toContain(
      '~ flags.new_checkout: on 40% over 2 variants → on 40%, variants removed',
    );
    expect(await ok([...b, 'apply', 'flags-b-plain.json'])).toMatch(/^applied 1 change /);
    expect(await strata([...b, 'plan', 'flags-b-plain.json', '--check'])).toMatchObject({ code: 0 });
    const plainB = await json<{ flags: Record<string, unknown> }>([...b, 'export']);
    expect(plainB.flags['new_checkout']).toEqual({ rollout: 40, enabled: true });
    // The same over HTTP: omitted keeps the variants, null removes them, and the OpenAPI body says so.
    const put = (body: object) =>
      fetch(`${url}/v1/namespaces/shop/envs/flags-a/flags/new_checkout`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await put({ rollout: 50, enabled: true })).status).toBe(200);
    expect((await json<{ flags: Record<string, unknown> }>([...a, 'export'])).flags['new_checkout']).toMatchObject({
      rollout: 50,
      variants: [
        { value: true, weight: 70 },
        { value: false, weight: 30 },
      ],
    });
    expect((await put({ rollout: 50, enabled: true, variants: null })).status).toBe(200);
    expect((await json<{ flags: Record<string, unknown> }>([...a, 'export'])).flags['new_checkout']).toEqual({
      rollout: 50,
      enabled: true,
    });
  });

  const writerToken = ['tokens', 'create', '--role', 'writer', '--scope', 'shop/prod'];

  it('tokens: create, list, use, revoke', async () => {
    const created = await json<{ id: string; token: string }>([...writerToken, '-d', 'e2e writer']);
    expect(await ok(['tokens', 'list'])).toMatch(new RegExp(`${created.id}\\s+writer\\s+shop/prod\\s+e2e writer`));
    await ok(['set', 'ui.theme', 'light'], { token: created.token });
    expect(await strata(['-n', 'other', 'set', 'ui.theme', 'light'], { token: created.token })).toMatchObject({
      code: 4,
    });
    expect(await ok(['tokens', 'revoke', created.id])).toContain(`token ${created.id} revoked`);
    expect(await strata(['set', 'ui.theme', 'dark'], { token: created.token })).toMatchObject({ code: 4 });
  });

  it('tokens: --expires-in makes a short-lived token; rotate prints the successor and keeps the old one for --grace', async () => {
    // Each CLI run may take seconds on a loaded machine: assert on the answers' times, and on
    // refusals after them, never on something still working a few seconds later.
    const before = Date.now();
    const short = await json<{ id: string; token: string; expiresAt: string }>([...writerToken, '--expires-in', '3s']);
    expect(Date.parse(short.expiresAt)).toBeGreaterThanOrEqual(before + 3_000);
    expect(Date.parse(short.expiresAt)).toBeLessThanOrEqual(Date.now() + 3_000);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(short.expiresAt) - Date.now()) + 100));
    const expired = await strata(['set', 'ui.theme', 'light'], { token: short.token });
    expect(expired.code).toBe(4);
    expect(expired.stderr).toMatch(new RegExp(`token ${short.id} expired at ${short.expiresAt}`));
    expect(expired.stderr.trim().split('\n')).toHaveLength(1);
    expect(await strata(['tokens', 'create', '--role', 'reader', '--expires-in', 'soon'])).toMatchObject({ code: 2 });

    const old = await json<{ id: string; token: string }>(['tokens', 'create', '--role', 'writer', '--scope', 'shop']);
    const rotatedAt = Date.now();
    const rotate = await strata(['tokens', 'rotate', old.id, '--grace', '10m', '-r', 'e2e rotation']);
    expect(rotate.code).toBe(0);
    // Without --json: the new token alone on stdout, what happened on stderr.
    const successor = rotate.stdout.trim();
    expect(successor).toMatch(/^strata_[A-Za-z0-9_-]+$/);
    expect(rotate.stderr).toMatch(new RegExp(`replaces ${old.id} .*keeps working until`));
    await ok(['set', 'ui.theme', 'light'], { token: successor });
    await ok(['set', 'ui.theme', 'light'], { token: old.token });
    expect(await strata(['tokens', 'rotate', old.id])).toMatchObject({ code: 5 });
    const listed = await json<{ id: string; expiresAt: string | null; rotatedTo: string | null }[]>(['tokens', 'list']);
    const previous = listed.find((t) => t.id === old.id)!;
    expect(Date.parse(previous.expiresAt!)).toBeGreaterThanOrEqual(rotatedAt + 600_000);
    expect(Date.parse(previous.expiresAt!)).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(previous.rotatedTo).toMatch(/^tok_/);
  });

  it('secrets due: overdue versions per scope with age and due date; --check exits 3', async () => {
    writeFileSync(
      join(work, 'vault.json'),
      JSON.stringify({
        keys: {},
        flags: {},
        secrets: { 'erp.key': { rotateEvery: 'PT1S' }, 'tls.key': { rotateEvery: 'P90D' } },
      }),
    );
    await ok(['-n', 'vault', 'manifest', 'publish', 'vault.json']);
    await ok(['-n', 'vault', 'secrets', 'set', 'erp.key', 'v1']);
    await ok(['-n', 'vault', 'secrets', 'set', 'tls.key', 'v1', '-t', 'acme']);
    await new Promise((r) => setTimeout(r, 1_200));
    const table = await ok(['-n', 'vault', 'secrets', 'due', '--within', '100d']);
    expect(table).toMatch(/vault\/prod\s+erp\.key\s+v1\s+0d\s+PT1S\s+\S.*overdue/);
    expect(table).toMatch(/vault\/prod\/acme\s+tls\.key\s+v1\s+0d\s+P90D\s+.*due soon/);
    expect(await strata(['-n', 'vault', 'secrets', 'due', '--check'])).toMatchObject({ code: 3 });
    const listed = await json<{ overdue: number; secrets: { name: string }[] }>(['-n', 'vault', 'secrets', 'due']);
    expect(listed).toMatchObject({ overdue: 1, secrets: [{ name: 'erp.key' }] });
    expect(await strata(['-n', 'vault', '-e', 'staging', 'secrets', 'due', '--check'])).toMatchObject({
      code: 0,
      stdout: '(nothing due)\n',
    });
    expect(await strata(['secrets', 'due', '--within', 'forever'])).toMatchObject({ code: 2 });
    const bad = await strata(['secrets', 'due'], {
      token: await ok(['tokens', 'create', '--role', 'reader']).then((t) => t.trim()),
    });
    expect(bad.code).toBe(4);
  });

  it('verify: intact, then catches a tampered event and names its position', async () => {
    expect(await ok(['verify'])).toMatch(/^ok: hash chain intact, \d+ events checked/);
    const owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    try {
      await owner.query('SET session_replication_role = replica');
      await owner.query(`UPDATE strata.events SET data = jsonb_set(data, '{value}', '499') WHERE position = 2`);
    } finally {
      await owner.end();
    }
    const tampered = await strata(['verify']);
    expect(tampered).toMatchObject({
      code: 1,
      stderr: 'strata: verify failed: the log was altered at position 2 (checked 1 events before it)\n',
    });
  });
});
