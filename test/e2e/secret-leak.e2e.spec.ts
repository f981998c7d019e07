import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dumpKeys } from '@strata/testing';
import { readWholeTopic, startStack, type Stack } from './stack-fixture.js';

/**
 * BRIEF invariant 7 and "Secrets never appear in plaintext in the log, Kafka, Redis, logs, errors
 * or metrics": unique markers go in through the API, come back out only to secret-read, and are
 * then searched for in every place the running stack keeps or emits data.
 */
const ns = 'vault';
const P = `/v1/namespaces/${ns}/envs/prod`;
const manifest = {
  keys: { 'rate_limit.requests_per_minute': { type: 'integer', default: 60, minimum: 1, maximum: 10000 } },
  flags: {},
  secrets: { 'erp.api_key': { description: 'ERP key' } },
};

let stack: Stack;
beforeAll(async () => {
  // At debug every line a process can write is searched, the API's two per request included.
  stack = await startStack({ env: { LOG_LEVEL: 'debug' } });
});
afterAll(async () => stack?.[Symbol.asyncDispose]());

test('secret markers come back only to secret-read and appear nowhere else: PostgreSQL, pg_dump, Kafka, Redis, logs, metrics, history, errors', async () => {
  const tag = randomBytes(6).toString('hex');
  const markers = {
    envV1: `LEAKMARK-env1-${tag}`,
    envV2: `LEAKMARK-env2-${tag}`,
    tenantV1: `LEAKMARK-ten1-${tag}`,
    tenantV2: `LEAKMARK-ten2-${tag}`,
  };
  const all = Object.values(markers);
  const found: string[] = [];
  /** Records where any marker shows up; every searched place goes through here. */
  const search = (where: string, text: string) => {
    for (const marker of all) if (text.includes(marker)) found.push(`${where} contains ${marker}`);
  };
  const ok = async (method: string, path: string, body?: unknown, token?: string) => {
    const answer = await stack.call(method, path, body, token);
    if (answer.status >= 300) throw new Error(`${method} ${path} → ${answer.status} ${answer.text}`);
    return answer.body;
  };
  const issue = async (role: string, scope: Record<string, string> = {}) =>
    (await ok('POST', '/v1/tokens', { role, namespace: ns, env: 'prod', ...scope })).token as string;

  await ok('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'leak test' });
  const tokens = {
    writer: await issue('secret-writer'),
    reader: await issue('secret-reader'),
    acmeReader: await issue('secret-reader', { tenant: 'acme' }),
    globexReader: await issue('secret-reader', { tenant: 'globex' }),
    plainReader: await issue('reader'),
    configWriter: await issue('writer'),
    auditor: await issue('auditor'),
  };

  // Store at both scopes, then rotate each (the first version stays readable for a grace period).
  const grace = new Date(Date.now() + 10 * 60_000).toISOString();
  await ok('PUT', `${P}/secrets/erp.api_key`, { value: markers.envV1, reason: 'initial' }, tokens.writer);
  const tenantV1 = await ok(
    'PUT',
    `${P}/tenants/acme/secrets/erp.api_key`,
    { value: markers.tenantV1, reason: 'initial' },
    tokens.writer,
  );
  const envV2 = await ok(
    'PUT',
    `${P}/secrets/erp.api_key`,
    { value: markers.envV2, previousReadableUntil: grace, reason: 'rotate' },
    tokens.writer,
  );
  expect(envV2.secretVersion).toBe(2);
  await ok(
    'PUT',
    `${P}/tenants/acme/secrets/erp.api_key`,
    { value: markers.tenantV2, reason: 'rotate' },
    tokens.writer,
  );

  // Authorised reads answer exactly the plaintext.
  expect((await ok('GET', `${P}/secrets/erp.api_key`, undefined, tokens.reader)).value).toBe(markers.envV2);
  expect((await ok('GET', `${P}/secrets/erp.api_key?version=1`, undefined, tokens.reader)).value).toBe(markers.envV1);
  expect(await ok('GET', `${P}/tenants/acme/secrets/erp.api_key`, undefined, tokens.acmeReader)).toMatchObject({
    value: markers.tenantV2,
    version: 2,
    source: 'tenant',
  });
  expect((await ok('GET', `${P}/tenants/globex/secrets/erp.api_key`, undefined, tokens.globexReader)).value).toBe(
    markers.envV2,
  );

  // Wrong role, wrong tenant, wrong scope: 403 (401 for a bad token), and no marker in the answer.
  const denied: [string, string][] = [
    [`${P}/secrets/erp.api_key`, tokens.writer],
    [`${P}/secrets/erp.api_key`, tokens.plainReader],
    [`${P}/secrets/erp.api_key`, tokens.auditor],
    [`${P}/secrets/erp.api_key`, tokens.configWriter],
    [`${P}/secrets/erp.api_key`, tokens.acmeReader], // tenant credential, environment-wide secret
    [`${P}/tenants/acme/secrets/erp.api_key`, tokens.globexReader],
    [`${P}/tenants/acme/secrets/erp.api_key`, tokens.plainReader],
    [`/v1/namespaces/other/envs/prod/secrets/erp.api_key`, tokens.reader],
  ];
  for (const [path, token] of denied) {
    const answer = await stack.call('GET', path, undefined, token);
    expect(answer.status, `${path}`).toBe(403);
    search(`403 body of GET ${path}`, answer.text);
  }
  const badToken = await stack.call('GET', `${P}/secrets/erp.api_key`, undefined, `${markers.envV2}-as-token`);
  expect(badToken.status).toBe(401);
  search('401 body', badToken.text);

  // Errors around the secret, each quoting a marker where it does not belong.
  const bad: [string, string, unknown, string?][] = [
    // (a marker written as a config value of the wrong type: see the next test)
    ['PUT', `${P}/config/erp.api_key`, { value: markers.envV2, reason: 'secret as config' }],
    ['PUT', `${P}/config/no.such.key`, { value: markers.envV1, reason: 'unknown key' }],
    ['PUT', `${P}/secrets/erp.api_key`, { value: markers.envV2, extra: markers.envV2 }, tokens.writer],
    ['PUT', `${P}/secrets/erp.api_key`, { value: 12345, reason: markers.envV1 }, tokens.writer],
    ['PUT', `${P}/secrets/undeclared`, { value: markers.envV2, reason: 'x' }, tokens.writer],
    ['PUT', `${P}/secrets/erp.api_key`, `{"value": "${markers.envV2}", `, tokens.writer], // malformed JSON
    ['PUT', `${P}/secrets/erp.api_key`, { value: markers.envV2, reason: 'no permission' }, tokens.configWriter],
    ['PUT', `${P}/tenants/acme/secrets/erp.api_key`, { value: markers.tenantV2 }, tokens.globexReader],
    ['POST', `${P}/revert`, { to: { position: 1 }, reason: 'bad', keys: [markers.envV1] }],
  ];
  for (const [method, path, body, token] of bad) {
    const answer = await stack.call(method, path, body, token);
    expect(answer.status, `${method} ${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    search(`${answer.status} body of ${method} ${path}`, answer.text);
  }

  // A real revert of the tenant secret to its first version: re-encrypted, never logged in clear.
  const revert = await ok('POST', `${P}/revert`, {
    to: { position: tenantV1.position },
    tenants: ['acme'],
    keys: ['erp.api_key'],
    reason: 'roll the key back',
  });
  const head = revert.position as number;
  expect((await ok('GET', `${P}/tenants/acme/secrets/erp.api_key`, undefined, tokens.acmeReader)).value).toBe(
    markers.tenantV1,
  );

  // Everything applied: the views of this environment reached the head.
  await ok('GET', `${P}/tenants/acme/config?minPosition=${head}`);

  // HTTP outputs that describe secrets without values.
  const outputs: Record<string, string> = {
    metrics: (await stack.call('GET', '/metrics')).text,
    events: (await stack.call('GET', '/v1/events?limit=1000')).text,
    export: (await stack.call('GET', '/v1/events/export')).text,
    eventsAsAuditor: (await stack.call('GET', `/v1/events?namespace=${ns}&limit=1000`, undefined, tokens.auditor)).text,
    diff: (await stack.call('GET', `${P}/diff?from=0`)).text,
    tenantDiff: (await stack.call('GET', `${P}/diff?from=0&tenants=acme`)).text,
    revertDryRun: (await stack.call('POST', `${P}/revert`, { to: { position: 1 }, dryRun: true, reason: 'dry' })).text,
    revertDryRunV1: (
      await stack.call('POST', `${P}/revert`, { to: { position: tenantV1.position }, dryRun: true, reason: 'dry' })
    ).text,
    secretList: (await stack.call('GET', `${P}/secrets`, undefined, tokens.plainReader)).text,
    tenantSecretList: (await stack.call('GET', `${P}/tenants/acme/secrets`)).text,
  };
  for (const [where, text] of Object.entries(outputs)) {
    expect(text.length, where).toBeGreaterThan(20);
    search(`HTTP ${where}`, text);
  }
  expect(outputs.export).toContain('SecretVersionAdded');
  expect(outputs.metrics).toContain('strata_');

  // PostgreSQL: every row of every table in schema strata.
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  let rowsScanned = 0;
  try {
    const tables = await db.query<{ t: string }>(
      "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = 'strata'",
    );
    expect(tables.rows.length).toBeGreaterThan(3);
    for (const { t } of tables.rows) {
      const { rows } = await db.query<{ r: string }>(`SELECT r::text AS r FROM ${t} AS r`);
      rowsScanned += rows.length;
      for (const { r } of rows) search(`PostgreSQL ${t}`, r);
    }
    const { rows } = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM strata.events WHERE type = 'SecretVersionAdded'",
    );
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(5);
  } finally {
    await db.end();
  }
  expect(rowsScanned).toBeGreaterThanOrEqual(head);

  // pg_dump of the whole database, if the client tools are installed.
  let dumped = 0;
  try {
    const dump = execFileSync('pg_dump', ['--no-owner', stack.databaseUrl], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    dumped = dump.length;
    expect(dump).toContain('SecretVersionAdded');
    search('pg_dump', dump);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    console.warn('pg_dump is not on PATH: skipped the dump search');
  }

  // Kafka: every message the relay published, from the beginning.
  const messages = await readWholeTopic(stack, { atLeast: head });
  expect(messages.length).toBeGreaterThanOrEqual(head);
  expect(messages.filter((m) => m.value.includes('SecretVersionAdded')).length).toBeGreaterThanOrEqual(5);
  for (const m of messages) search(`Kafka ${stack.topic}[${m.partition}]@${m.offset}`, `${m.key}\n${m.value}`);

  // Redis: every key under the stack's prefix, whatever its type.
  const redis = new Redis(stack.redisUrl);
  let keysScanned = 0;
  let sawEnvelope = false;
  try {
    for (const [key, value] of Object.entries(await dumpKeys(redis, stack.prefix))) {
      keysScanned++;
      const content = typeof value === 'string' ? value : JSON.stringify(value);
      if (content.includes('ciphertext')) sawEnvelope = true;
      search(`Redis ${key}`, `${key}\n${content}`);
    }
  } finally {
    redis.disconnect();
  }
  expect(keysScanned).toBeGreaterThan(5);
  expect(sawEnvelope).toBe(true);

  // The processes' own output (at LOG_LEVEL=debug the API logs every request).
  const logs = stack.logs();
  for (const service of ['api', 'relay', 'projector']) expect(logs).toContain(`${service}| `);
  expect(logs.split('\n').length).toBeGreaterThan(50);
  search('process logs', logs);

  console.info(
    `secret leak search: ${rowsScanned} PostgreSQL rows, pg_dump ${dumped} chars, ${messages.length} Kafka messages, ` +
      `${keysScanned} Redis keys, ${logs.split('\n').length} log lines, ${Object.keys(outputs).length} HTTP outputs`,
  );
  expect(found).toEqual([]);
});

/**
 * Someone pastes a secret into the wrong field: a config write of it to an integer key. The
 * problem answer and the API's log line must say what was wrong without repeating the value.
 */
test('a config value of the wrong type is not echoed in the error answer or the log', async () => {
  const marker = `LEAKMARK-cfg-${randomBytes(6).toString('hex')}`;
  const logLinesBefore = stack.logs().split('\n').length;
  const answers: string[] = [];
  for (const path of [
    `${P}/config/rate_limit.requests_per_minute`,
    `${P}/tenants/acme/config/rate_limit.requests_per_minute`,
  ]) {
    const answer = await stack.call('PUT', path, { value: marker, reason: 'pasted into the wrong field' });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    answers.push(answer.text);
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // the API's log lines reach the pipe
  const newLogs = stack.logs().split('\n').slice(logLinesBefore).join('\n');
  expect(newLogs).toContain('VALIDATION_FAILED');
  expect(answers.filter((a) => a.includes(marker))).toEqual([]);
  expect(newLogs.split('\n').filter((l) => l.includes(marker))).toEqual([]);
});
