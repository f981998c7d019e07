/**
 * The ShelfWise story (shared/seeds/000): a 200-tenant SaaS with per-tenant rate limits, an AI
 * feature ramped 5% → 25% → 100% with a forced-on beta tenant and a forced-off restricted one,
 * and a publisher's ERP API key kept as a secret — then the auditor's questions only an event
 * log can answer. Every step is a real call against the running stack.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createLegacyDatabase } from './legacy.js';
import { shelfwiseManifest, tenantIds, tenants } from './shelfwise.js';

// kafkajs 2.2.4 schedules a timer with a negative delay on Node ≥ 24 (kafkajs #1751, harmless).
process.removeAllListeners('warning');

const apiUrl = process.env.STRATA_URL ?? 'http://127.0.0.1:8080';
const adminToken = process.env.STRATA_TOKEN ?? 'dev-admin-token';
const ns = 'shelfwise';
const env = 'prod';
const scope = `/v1/namespaces/${ns}/envs/${env}`;

const here = path.dirname(fileURLToPath(import.meta.url));
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/strata';

/** The real `strata` CLI, as an operator runs it; its lines are indented under the story's. */
const strata = (args: string[]): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    execFile(
      path.join(here, '../../node_modules/.bin/strata'),
      args,
      // The launcher's shebang finds `node` on PATH: make it this Node 24.
      { env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }),
    );
  });
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `     ${line}`)
    .join('\n');

const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (title: string) => say(`\n── ${title} ${'─'.repeat(Math.max(0, 86 - title.length))}`);

interface Problem {
  title?: string;
  detail?: string;
}

const call = async <T>(
  method: string,
  path: string,
  body?: unknown,
  token = adminToken,
): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
};

const ok = async <T>(method: string, path: string, body?: unknown, token?: string): Promise<T> => {
  const answer = await call<T & Problem>(method, path, body, token);
  if (answer.status >= 400)
    throw new Error(`${method} ${path} → ${answer.status} ${answer.body.title ?? ''}: ${answer.body.detail ?? ''}`);
  return answer.body;
};

interface Written {
  position: number;
}
interface Resolved {
  position: number;
  values: Record<string, { value: unknown; source: string; position: number }>;
}
interface FlagAnswer {
  enabled: boolean;
  reason: string;
  position: number;
}

const rateLimitOf = async (tenant: string, query = '') => {
  const resolved = await ok<Resolved>('GET', `${scope}/tenants/${tenant}/config${query}`);
  return resolved.values['rate_limit.requests_per_minute'];
};

const countEnabled = async (minPosition: number) => {
  let enabled = 0;
  const reasons: Record<string, number> = {};
  for (const tenant of tenantIds) {
    const answer = await ok<FlagAnswer>(
      'GET',
      `${scope}/tenants/${tenant}/flags/ai_recommendations?minPosition=${minPosition}`,
    );
    if (answer.enabled) enabled++;
    reasons[answer.reason] = (reasons[answer.reason] ?? 0) + 1;
  }
  return { enabled, reasons };
};

const flagOf = (tenant: string, minPosition: number) =>
  ok<FlagAnswer>('GET', `${scope}/tenants/${tenant}/flags/ai_recommendations?minPosition=${minPosition}`);

/** Proves the plaintext is nowhere but in the authorised answer: PostgreSQL, Redis and Kafka, searched for real. */
const searchEverywhere = async (...markers: string[]) => {
  const holds = (text: string) => markers.some((m) => text.includes(m));
  const found: string[] = [];
  const db = new pg.Client({
    connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/strata',
  });
  await db.connect();
  try {
    const tables = await db.query<{ t: string }>(
      "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = 'strata'",
    );
    for (const { t } of tables.rows) {
      const hit = await db.query(`SELECT 1 FROM ${t} AS r WHERE r::text LIKE ANY($1) LIMIT 1`, [
        markers.map((m) => `%${m}%`),
      ]);
      if (hit.rowCount) found.push(`PostgreSQL ${t}`);
    }
  } finally {
    await db.end();
  }
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    let scanned = 0;
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${process.env.STRATA_REDIS_PREFIX ?? 'strata:'}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of keys) {
        scanned++;
        const type = await redis.type(key);
        const value =
          type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'string'
              ? ((await redis.get(key)) ?? '')
              : '';
        if (holds(value)) found.push(`Redis ${key}`);
      }
    } while (cursor !== '0');
    say(`   searched ${scanned} Redis keys`);
  } finally {
    redis.disconnect();
  }
  const kafka = new Kafka({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  const topic = process.env.STRATA_TOPIC ?? 'strata.events';
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const consumer = kafka.consumer({ groupId: `shelfwise-demo-audit-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    if (total === 0) resolve();
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (holds(message.value?.toString() ?? '')) found.push(`Kafka ${topic}`);
        if (++seen >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  say(`   searched ${seen} Kafka messages`);
  return found;
};

const main = async () => {
  say(`ShelfWise on Strata — ${tenantIds.length} tenants, namespace "${ns}", environment "${env}"`);

  step('1. The manifest: every key typed, with defaults and bounds');
  const manifest = await ok<Written>('PUT', `/v1/namespaces/${ns}/manifest`, {
    ...shelfwiseManifest,
    reason: 'ShelfWise settings model',
  });
  say(
    `   published at position ${manifest.position}: ${Object.keys(shelfwiseManifest.keys).length} keys, 1 flag, 1 secret`,
  );
  const rejected = await call<Problem>('PUT', `${scope}/config/rate_limit.requests_per_minute`, {
    value: 0,
    reason: 'typo',
  });
  say(`   a rate limit of 0 is refused before it reaches the log: ${rejected.status} ${rejected.body.detail ?? ''}`);

  step("2. Moving in: ShelfWise's tenant_configs table and .env, imported in one atomic write");
  const legacy = await createLegacyDatabase(databaseUrl);
  say(
    `   the legacy table: ${legacy.rows} rows of strings, rollouts on the all-zero tenant, a Fernet-encrypted ERP key`,
  );
  const importArgs = [
    'import',
    'tenant-configs',
    '--source',
    legacy.url,
    '--fernet-key',
    legacy.fernetKey,
    '--env-file',
    path.join(here, 'legacy.env'),
    '-n',
    ns,
    '-e',
    env,
  ];
  const dry = await strata([...importArgs, '--dry-run']);
  say(
    `   $ strata import tenant-configs --source … --fernet-key … --env-file legacy.env --dry-run\n${indent(dry.out)}`,
  );
  const imported = await strata(importArgs);
  say(`   $ strata import tenant-configs …\n${indent(imported.out)}`);
  const again = await strata(importArgs);
  say(`   again:\n${indent(again.out)}`);
  if (dry.code !== 0 || imported.code !== 0 || again.code !== 0) throw new Error('the import failed (see above)');
  await legacy.drop();
  const head = await ok<{ events: Array<{ position: number }> }>(
    'GET',
    `/v1/events?namespace=${ns}&after=${manifest.position}&limit=1000`,
  );
  const importedAt = head.events[head.events.length - 1]?.position ?? manifest.position;

  step('3. Per-tenant rate limits, as imported: default 100/min, tenant A 1,000, tenant B 10,000');
  for (const [name, id] of [
    ['A', tenants.a],
    ['B', tenants.b],
    ['any other', tenantIds[42]!],
  ] as const) {
    const value = await rateLimitOf(id, `?minPosition=${importedAt}`);
    say(
      `   tenant ${name.padEnd(9)} ${String(value?.value).padStart(6)}/min   from ${value?.source} (position ${value?.position})`,
    );
  }
  const beforeRollout = manifest.position;

  step('4. AI recommendations: beta forced on, restricted forced off (both imported), 5% (imported) → 25% → 100%');
  const positions: Record<number, number> = {};
  for (const rollout of [5, 25, 100]) {
    // 5% came with the import; each further step is one write.
    const written =
      rollout === 5
        ? { position: importedAt }
        : await ok<Written>('PUT', `${scope}/flags/ai_recommendations`, {
            rollout,
            enabled: true,
            reason: `ramp to ${rollout}%`,
          });
    positions[rollout] = written.position;
    const { enabled, reasons } = await countEnabled(written.position);
    const beta = await flagOf(tenants.beta, written.position);
    const restricted = await flagOf(tenants.restricted, written.position);
    say(
      `   ${String(rollout).padStart(3)}%: ${String(enabled).padStart(3)} of ${tenantIds.length} tenants enabled ` +
        `(${Object.entries(reasons)
          .map(([r, n]) => `${n} ${r}`)
          .join(', ')}); beta ${beta.enabled ? 'on' : 'off'}, restricted ${restricted.enabled ? 'on' : 'off'}`,
    );
  }

  step("5. A publisher's ERP API key: imported from Fernet, now an envelope-encrypted secret; rotated");
  const secretPath = `${scope}/tenants/${tenants.publisher}/secrets/erp.api_key`;
  const marker = `erp-key-${Math.random().toString(36).slice(2)}-DEMO-MARKER`;
  const stored = await ok<Written & { secretVersion: number }>('PUT', secretPath, {
    value: marker,
    reason: 'publisher rotated its ERP key',
  });
  say(
    `   the imported key is version 1; the rotated one is version ${stored.secretVersion} at position ${stored.position}`,
  );
  const integration = await ok<{ token: string }>('POST', '/v1/tokens', {
    role: 'secret-reader',
    namespace: ns,
    env,
    tenant: tenants.publisher,
    description: 'inventory sync service for the publisher',
  });
  const read = await ok<{ value: string; version: number }>('GET', secretPath, undefined, integration.token);
  say(
    `   the authorised inventory-sync token reads it back: ${read.value === marker ? 'the same value' : 'A DIFFERENT VALUE'} (version ${read.version})`,
  );
  const otherTenant = await call<Problem>(
    'GET',
    `${scope}/tenants/${tenants.a}/secrets/erp.api_key`,
    undefined,
    integration.token,
  );
  say(`   the same token asking for tenant A's secret: ${otherTenant.status} ${otherTenant.body.title ?? ''}`);
  const plainReader = await ok<{ token: string }>('POST', '/v1/tokens', {
    role: 'reader',
    namespace: ns,
    env,
    description: 'dashboard',
  });
  const denied = await call<Problem>('GET', secretPath, undefined, plainReader.token);
  say(`   a reader token without secret-read permission: ${denied.status} ${denied.body.title ?? ''}`);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // let the relay and projector carry it everywhere
  const leaks = await searchEverywhere(marker, legacy.erpKey);
  say(
    leaks.length === 0
      ? '   plaintext (the imported key and the rotated one) found in PostgreSQL, Redis or Kafka: nowhere'
      : `   PLAINTEXT FOUND IN: ${leaks.join(', ')}`,
  );
  if (leaks.length > 0) process.exitCode = 1;

  step("6. The auditor's view");
  const history = await ok<{
    events: {
      position: number;
      type: string;
      recordedAt: string;
      metadata: { actor: string; reason?: string };
      data: Record<string, unknown>;
    }[];
  }>('GET', `/v1/events?namespace=${ns}&env=${env}&key=ai_recommendations&limit=20`);
  for (const event of history.events) {
    const data = event.data;
    const what =
      event.type === 'FlagRolloutChanged'
        ? `rollout ${String(data.rollout)}%`
        : `override ${String(data.override)} for ${String(data.tenant).slice(0, 8)}…`;
    say(
      `   #${String(event.position).padEnd(5)} ${event.recordedAt.slice(11, 23)}  ${event.metadata.actor.padEnd(8)} ${what.padEnd(34)} "${event.metadata.reason ?? ''}"`,
    );
  }
  const then = await ok<FlagAnswer>(
    'GET',
    `${scope}/tenants/${tenantIds[7]}/flags/ai_recommendations?position=${beforeRollout}`,
  );
  const thenA = await rateLimitOf(tenants.a, `?position=${beforeRollout}`);
  say(
    `   before the import (position ${beforeRollout}): ai_recommendations for tenant #7 was ${then.enabled ? 'on' : 'off'} (${then.reason}); tenant A's limit was ${String(thenA?.value)}`,
  );
  const diff = await ok<{ changes: unknown[] }>('GET', `${scope}/diff?from=${positions[25]}&to=${positions[100]}`);
  say(`   diff 25% → 100%: ${diff.changes.length} change(s): ${JSON.stringify(diff.changes)}`);

  step('7. Put it back: revert the flag to the 25% state by appending compensating events');
  const plan = await ok<{ plan: { streams: { events: unknown[] }[] } }>('POST', `${scope}/revert`, {
    to: { position: positions[25] },
    keys: ['ai_recommendations'],
    dryRun: true,
    reason: 'AI recommendations overloaded the model provider',
  });
  say(`   dry run: ${plan.plan.streams.reduce((n, s) => n + s.events.length, 0)} compensating event(s)`);
  const reverted = await ok<Written>('POST', `${scope}/revert`, {
    to: { position: positions[25] },
    keys: ['ai_recommendations'],
    dryRun: false,
    reason: 'AI recommendations overloaded the model provider',
  });
  const afterRevert = await countEnabled(reverted.position);
  say(
    `   applied at position ${reverted.position}: ${afterRevert.enabled} of ${tenantIds.length} tenants enabled again, exactly as at 25%`,
  );

  step('8. Verify that nobody rewrote history');
  const verified = await ok<{ ok: boolean; checked: number; firstBadPosition?: number }>('GET', '/v1/verify');
  say(
    verified.ok
      ? `   hash chain intact: ${verified.checked} events checked`
      : `   TAMPERED: first bad position ${verified.firstBadPosition}`,
  );
  if (!verified.ok) process.exitCode = 1;
  say('');
};

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
