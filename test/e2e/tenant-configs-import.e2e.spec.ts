import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fernetEncrypt, parseFernetKey } from '@strata/cli';
import { writeTenantConfigs } from '../../examples/shelfwise/legacy.js';
import { repoRoot, startStack, type Json, type Stack } from './stack-fixture.js';

/**
 * `strata import tenant-configs` as a ShelfWise operator runs it: a legacy table built the way
 * the seed writes it (string values, Fernet tokens from Python's cryptography, rollouts on the
 * all-zero tenant) in a database of its own, the real CLI against the real stack, and then every
 * tenant's values, flag decisions and secrets compared with what the seed's own Python code
 * answers for the same rows (packages/client-python/tests/seed_reference.py).
 */

const reference = join(repoRoot, 'packages/client-python/tests/seed_reference.py');
const manifest = JSON.parse(
  readFileSync(join(repoRoot, 'packages/client-python/tests/seed_manifest.json'), 'utf8'),
) as { keys: Record<string, unknown>; flags: Record<string, unknown> };
const python = <T>(command: string, input: unknown): T =>
  JSON.parse(
    execFileSync('python3', [reference, command], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64e6 }),
  ) as T;

interface Dataset {
  fernet_key: string;
  tenants: string[];
  rows: Array<{ tenant_id: string; key: string; value: string }>;
  env_file: string;
}
interface Answers {
  values: Record<string, Record<string, unknown>>;
  flags: Record<string, Record<string, boolean>>;
  secrets: Record<string, { erp: string | null }>;
}

const work = mkdtempSync(join(tmpdir(), 'strata-import-e2e-'));
const bin = join(repoRoot, 'node_modules/.bin/strata');
let stack: Stack;
let admin: pg.Client;
const databases: string[] = [];

/** A fresh database holding the seed's table (its SQLAlchemy model, as DDL) and these rows. */
const legacyDatabase = async (rows: Dataset['rows']): Promise<string> => {
  const name = `legacy_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push(name);
  const url = new URL(stack.databaseUrl);
  url.pathname = `/${name}`;
  await writeTenantConfigs(
    url.toString(),
    rows.map((r) => [r.tenant_id, r.key, r.value] as const),
  );
  return url.toString();
};

/** `strata import tenant-configs` of a legacy database into shelfwise/<env>. */
const importArgs = (source: string, fernetKey: string, env: string): string[] => [
  'import',
  'tenant-configs',
  '--source',
  source,
  '--fernet-key',
  fernetKey,
  '-n',
  'shelfwise',
  '-e',
  env,
];

const strata = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(
      bin,
      args,
      {
        cwd: work,
        env: {
          PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
          HOME: work,
          STRATA_URL: stack.url,
          STRATA_TOKEN: stack.adminToken,
          NO_COLOR: '1',
        },
        timeout: 120_000,
        maxBuffer: 64e6,
      },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });

const eventsAfter = async (after: number): Promise<Json[]> => {
  const events: Json[] = [];
  for (let cursor: number | null = after; cursor !== null;) {
    const page: { status: number; body: Json; text: string } = await stack.call(
      'GET',
      `/v1/events?namespace=shelfwise&after=${cursor}&limit=1000`,
    );
    expect(page.status, page.text).toBe(200);
    events.push(...page.body.events);
    cursor = page.body.events.length === 0 ? null : page.body.next;
  }
  return events;
};
const head = async (): Promise<number> => {
  const events = await eventsAfter(0);
  return events.length === 0 ? 0 : events[events.length - 1].position;
};

beforeAll(async () => {
  stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  admin = new pg.Client({ connectionString: stack.databaseUrl });
  await admin.connect();
  const published = await stack.call('PUT', '/v1/namespaces/shelfwise/manifest', manifest);
  expect(published.status, published.text).toBe(200);
}, 180_000);

afterAll(async () => {
  for (const name of databases) await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin?.end();
  await stack?.[Symbol.asyncDispose]();
});

describe('strata import tenant-configs', () => {
  it('imports the seed table in one transaction and then answers exactly what the seed answered', async () => {
    const data = python<Dataset>('dataset', { tenants: 60, seed: 17 });
    const source = await legacyDatabase(data.rows);
    const envFile = join(work, 'prod.env');
    writeFileSync(envFile, data.env_file);
    const args = [...importArgs(source, data.fernet_key, 'prod'), '--env-file', envFile];
    const plaintexts = data.tenants.flatMap((t) => {
      const row = data.rows.find((r) => r.tenant_id === t && r.key === 'secret.erp.api_key');
      return row ? [row.value] : [];
    });
    const expected = python<Answers>('answers', data);
    const secrets = Object.values(expected.secrets).flatMap((s) => (s.erp ? [s.erp] : []));
    expect(secrets.length).toBeGreaterThan(5);
    expect(plaintexts.length).toBe(secrets.length);

    // Dry run: the plan, nothing appended.
    const before = await head();
    const dry = await strata([...args, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /row\(s\) and 4 environment variable\(s\) → \d+ values, 3 rollouts, \d+ overrides, \d+ secrets/,
    );
    expect(dry.stdout).toMatch(/secret {4}\S+ {2}erp\.api_key \(value not shown\)/);
    expect(dry.stdout).toContain('dry run: nothing was written');
    expect(await head()).toBe(before);

    // The import: one transaction, every event with the importer's actor and reason.
    const started = performance.now();
    const run = await strata([...args, '--json']);
    console.info(
      `strata import tenant-configs: ${data.rows.length} rows of ${data.tenants.length} tenants in ${Math.round(performance.now() - started)} ms (CLI start included)`,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Json;
    // One event per row (3 of them rollouts on the all-zero tenant) and per environment variable.
    expect(report.appended).toBe(data.rows.length + 4);
    const events = await eventsAfter(before);
    expect(events.length).toBe(report.appended);
    expect(events[events.length - 1].position).toBe(report.position);
    expect(new Set(events.map((e: Json) => e.recordedAt)).size).toBe(1);
    for (const e of events) expect(e.metadata).toMatchObject({ actor: 'admin', reason: 'import:tenant_configs' });

    // Plaintext went to the API only: never printed, never logged.
    for (const s of secrets) {
      expect(dry.stdout + dry.stderr + run.stdout + run.stderr).not.toContain(s);
      expect(stack.logs()).not.toContain(s);
    }

    // Every tenant (and the all-zero one) as the seed answers it.
    const at = `minPosition=${report.position}`;
    for (const tenant of data.tenants) {
      const resolved = await stack.call('GET', `/v1/namespaces/shelfwise/envs/prod/tenants/${tenant}/config?${at}`);
      expect(resolved.status).toBe(200);
      const values = Object.fromEntries(
        Object.keys(expected.values[tenant]!).map((k) => [k, resolved.body.values[k]?.value]),
      );
      expect(values, tenant).toEqual(expected.values[tenant]);
      for (const [flag, enabled] of Object.entries(expected.flags[tenant]!)) {
        const answer = await stack.call(
          'GET',
          `/v1/namespaces/shelfwise/envs/prod/tenants/${tenant}/flags/${flag}?${at}`,
        );
        expect([tenant, flag, answer.body.enabled]).toEqual([tenant, flag, enabled]);
      }
      const secret = await stack.call(
        'GET',
        `/v1/namespaces/shelfwise/envs/prod/tenants/${tenant}/secrets/erp.api_key`,
      );
      if (expected.secrets[tenant]!.erp === null) expect(secret.status).toBe(404);
      else expect([tenant, secret.body.value]).toEqual([tenant, expected.secrets[tenant]!.erp]);
    }

    // Again: nothing appended.
    const again = await strata([...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ appended: 0 });
    expect(await head()).toBe(report.position);

    // A secret rotated in Strata since: importing a legacy key for it writes the next version (not
    // version 1, which the secret already has).
    const owner = Object.keys(expected.secrets).find((t) => expected.secrets[t]!.erp !== null)!;
    const secretPath = `/v1/namespaces/shelfwise/envs/prod/tenants/${owner}/secrets/erp.api_key`;
    const rotated = await stack.call('PUT', secretPath, { value: 'rotated-in-strata', reason: 'rotation' });
    expect(rotated.status, rotated.text).toBe(200);
    // The legacy table copied again with a new ERP key for that tenant (as the demo's fresh legacy
    // database holds): a real decision on the rotated secret, which must take the next version.
    const fernet = parseFernetKey(data.fernet_key);
    const reencrypted = await legacyDatabase(
      data.rows.map((r) =>
        r.tenant_id === owner && r.key === 'secret.erp.api_key'
          ? { ...r, value: fernetEncrypt(fernet, 'erp-key-from-the-new-copy') }
          : r,
      ),
    );
    const reimport = await strata([...args.slice(0, 3), reencrypted, ...args.slice(4), '--json']);
    expect(reimport.code, reimport.stderr).toBe(0);
    expect(JSON.parse(reimport.stdout)).toMatchObject({ appended: 1, changed: { secret: 1 } });
    const restored = await stack.call('GET', `${secretPath}?minPosition=${await head()}`);
    expect(restored.body).toMatchObject({ value: 'erp-key-from-the-new-copy', version: 3 });

    // The same rows changed in Strata since, and the legacy table edited: only the edits land.
    const edited = {
      ...data,
      rows: data.rows.map((r) => (r.key === 'rate_limit.burst_size' ? { ...r, value: '77' } : r)),
    };
    const editedSource = await legacyDatabase(edited.rows);
    const burst = data.rows.filter((r) => r.key === 'rate_limit.burst_size' && r.value !== '77').length;
    const rerun = await strata([...args.slice(0, 3), editedSource, ...args.slice(4), '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    // (plus the ERP key, which the legacy table still holds in its first form)
    expect(JSON.parse(rerun.stdout)).toMatchObject({ appended: burst + 1, changed: { value: burst, secret: 1 } });
  });

  it('documents its endpoint in the OpenAPI document', async () => {
    const openapi = await stack.call('GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).toContain('/v1/namespaces/{ns}/envs/{env}/import');
  });

  it('lists every row it cannot import (unmapped, refused, undecryptable), appends nothing, exits 8', async () => {
    const data = python<Dataset>('dataset', { tenants: 5, seed: 3 });
    const t = data.tenants[0]!;
    const bad = [
      { tenant_id: t, key: 'legacy.unknown_key', value: 'x' },
      { tenant_id: t, key: 'rate_limit.requests_per_minute', value: '0' },
      { tenant_id: t, key: 'ai.max_tokens', value: 'lots' },
      { tenant_id: t, key: 'feature.ai_recommendations.override', value: 'maybe' },
      { tenant_id: data.tenants[1]!, key: 'secret.erp.api_key', value: 'gAAAAABnot-a-real-token' },
    ];
    const rows = [
      ...data.rows.filter(
        (r) =>
          !(
            r.tenant_id === t &&
            ['rate_limit.requests_per_minute', 'ai.max_tokens', 'feature.ai_recommendations.override'].includes(r.key)
          ) && !(r.tenant_id === data.tenants[1] && r.key === 'secret.erp.api_key'),
      ),
      ...bad,
    ];
    const source = await legacyDatabase(rows);
    const before = await head();
    const args = importArgs(source, data.fernet_key, 'staging');
    const run = await strata(args);
    expect(run.code, run.stderr).toBe(8);
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /^strata: import refused: 5 of \d+ row\(s\) cannot be imported .*nothing was written$/,
    );
    expect(run.stderr).toMatch(new RegExp(`${t}  legacy\\.unknown_key: unmapped: `));
    expect(run.stderr).toMatch(new RegExp(`${t}  rate_limit\\.requests_per_minute: refused: .*>= 1`));
    expect(run.stderr).toMatch(new RegExp(`${t}  ai\\.max_tokens: refused: `));
    expect(run.stderr).toMatch(new RegExp(`${t}  feature\\.ai_recommendations\\.override: refused: `));
    expect(run.stderr).toMatch(new RegExp(`${data.tenants[1]}  secret\\.erp\\.api_key: undecryptable: `));
    expect(run.stderr).not.toMatch(/lots|maybe|not-a-real-token/);
    expect(await head()).toBe(before);

    // The endpoint behind it: a tenant-scoped credential may not import for other tenants.
    const scoped = await stack.call('POST', '/v1/tokens', {
      role: 'writer',
      namespace: 'shelfwise',
      env: 'staging',
      tenant: t,
      description: 'one tenant',
    });
    const afterToken = await head(); // issuing a token is an event too
    const denied = await stack.call(
      'POST',
      '/v1/namespaces/shelfwise/envs/staging/import',
      { changes: [{ kind: 'value', tenant: data.tenants[1], key: 'ai.enabled', value: true }] },
      scoped.body.token,
    );
    expect(denied.status, denied.text).toBe(403);
    expect(await head()).toBe(afterToken);

    // --skip-unmapped skips only the unmapped row: the refusals still stop the import.
    const skipping = await strata([...args, '--skip-unmapped']);
    expect(skipping.code).toBe(8);
    expect(skipping.stderr).toMatch(/import refused: 4 of/);
    const onlyUnmapped = await legacyDatabase([...data.rows, bad[0]!]);
    const ok = await strata([...args.slice(0, 3), onlyUnmapped, ...args.slice(4), '--skip-unmapped', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      skipped: [{ tenant: t, key: 'legacy.unknown_key', kind: 'unmapped' }],
    });
    expect(await head()).toBeGreaterThan(before);
  });
});
