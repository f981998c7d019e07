import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFailed } from 'vitest';
import { generateMasterKey } from '@strata/crypto';
import { forEachLine, spawnTied } from '@strata/service-runtime';
import { createTestDatabase, deleteByPrefix, testRedis, testTopic } from '@strata/testing';

/**
 * The whole stack as real processes for one spec file: api, relay and projector each run as
 * `node --import tsx services/<x>/src/main.ts` in its own process group (so a signal reaches
 * everything it started), on a database, Kafka topic, Redis prefix and consumer group of their
 * own. Output is kept in memory: the secret-leak spec searches it, failures print it.
 */

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nodeBin = path.join(repoRoot, 'node_modules/.bin/node');

/** `fetch` options for an API call: the bearer token, and `body` (a string as is) sent as JSON. */
export const bearerRequest = (method: string, token: string, body?: unknown, signal?: AbortSignal): RequestInit => ({
  method,
  headers: {
    authorization: `Bearer ${token}`,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  },
  ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  ...(signal === undefined ? {} : { signal }),
});

/** What the API answered, parsed; specs check its shape with `expect`, not with types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;

export type ServiceName = 'api' | 'relay' | 'projector';
const services: ServiceName[] = ['api', 'relay', 'projector'];

export interface StartedProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export interface Stack extends AsyncDisposable {
  /** Base URL of the API, e.g. `http://127.0.0.1:40123`. */
  url: string;
  adminToken: string;
  /** Superuser URL of the stack's database (inspection, pg_dump). */
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  brokers: string[];
  topic: string;
  groupId: string;
  /** Environment for anything else that should talk to this stack (the demo, the SDK child). */
  env: Record<string, string>;
  /** Everything every service process wrote so far, each line prefixed with its name. */
  logs(): string;
  /** Signals the whole process group of one service; resolves with how it exited. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts the service again (after kill) with the same environment; the API waits for /readyz. */
  restart(name: ServiceName): Promise<void>;
  /** Authenticated JSON call against the API; never throws on a status. */
  call<T = Json>(
    method: string,
    apiPath: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T; text: string }>;
  /** Starts another process (`node --import tsx <entry>`) with the stack's env; stopped on dispose. */
  spawnScript(name: string, entry: string, env?: Record<string, string>): StartedProcess;
}

import { freePort, waitFor } from '@strata/testing';

export { freePort, waitFor };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
};

const stopProcess = async (proc: StartedProcess, timeoutMs = 10_000) => {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
  await proc.exited;
  clearTimeout(timer);
  // Anything the service itself started dies with it.
  signalGroup(child, 'SIGKILL');
};

const startProcess = (name: string, entry: string, env: Record<string, string>, sink: string[]): StartedProcess => {
  const child = spawnTied(nodeBin, ['--conditions=@strata/source', '--import', 'tsx', path.resolve(repoRoot, entry)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const own: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    forEachLine(stream, (line) => {
      own.push(line);
      sink.push(`${name}| ${line}`);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => own.join('\n') };
};

export interface StackOptions {
  partitions?: number;
  /** Extra environment for every service (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /**
   * A broker of the spec's own (privateKafka of @strata/testing) instead of the shared one: the relay creates
   * the topic there, as on a fresh install, and the spec may stop and start that broker.
   */
  brokers?: string[];
}

export const startStack = async (options: StackOptions = {}): Promise<Stack> => {
  const db = await createTestDatabase();
  const redis = await testRedis();
  const kafka = options.brokers
    ? {
        brokers: options.brokers,
        topic: `strata.e2e.${randomBytes(4).toString('hex')}`,
        // The spec owns the broker and throws it away with its data.
        [Symbol.asyncDispose]: async () => undefined,
      }
    : await testTopic({ partitions: options.partitions ?? 3 });
  const port = await freePort();
  const adminToken = `e2e-admin-${randomBytes(18).toString('hex')}`;
  const groupId = `${kafka.topic}.projector`;
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    STRATA_REDIS_PREFIX: redis.prefix,
    KAFKA_BROKERS: kafka.brokers.join(','),
    STRATA_TOPIC: kafka.topic,
    STRATA_TOPIC_PARTITIONS: String(options.partitions ?? 3),
    PROJECTOR_GROUP: groupId,
    // A killed projector's partitions move to its successor after this, not after 30 s.
    PROJECTOR_SESSION_TIMEOUT_MS: '6000',
    PROJECTOR_HEARTBEAT_INTERVAL_MS: '500',
    RELAY_LEADER_RETRY_MS: '200',
    PORT: String(port),
    STRATA_ADMIN_TOKEN: adminToken,
    STRATA_MASTER_KEYS: generateMasterKey(`e2e-${randomBytes(3).toString('hex')}`),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  // The relay and the projector run as the application role (INSERT/SELECT on the log, nothing
  // more). The API migrates at start (CREATE SCHEMA IF NOT EXISTS), which that role may not do,
  // so it runs as the owner, as `npm start` does.
  const serviceEnv: Record<ServiceName, Record<string, string>> = {
    api: env,
    relay: { ...env, DATABASE_URL: db.appUrl },
    projector: { ...env, DATABASE_URL: db.appUrl },
  };
  const sink: string[] = [];
  const running = new Map<string, StartedProcess>();
  const extras: StartedProcess[] = [];

  const waitReady = async () => {
    await waitFor(
      async () => {
        for (const [name, proc] of running) {
          if (proc.child.exitCode !== null) throw new Error(`${name} exited during start:\n${proc.output()}`);
        }
        try {
          return (await fetch(`${url}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      `${url}/readyz`,
      30_000,
      100,
    );
  };

  const start = (name: ServiceName) => {
    running.set(name, startProcess(name, `services/${name}/src/main.ts`, serviceEnv[name], sink));
  };

  const stack: Stack = {
    url,
    adminToken,
    databaseUrl: db.url,
    redisUrl: redis.url,
    prefix: redis.prefix,
    brokers: kafka.brokers,
    topic: kafka.topic,
    groupId,
    env: { ...env, STRATA_URL: url, STRATA_TOKEN: adminToken },
    logs: () => sink.join('\n'),
    async kill(name, signal = 'SIGKILL') {
      const proc = running.get(name);
      if (!proc) throw new Error(`${name} is not running`);
      signalGroup(proc.child, signal);
      const exit = await proc.exited;
      running.delete(name);
      return exit;
    },
    async restart(name) {
      const old = running.get(name);
      if (old) await stopProcess(old);
      start(name);
      if (name === 'api') await waitReady();
    },
    async call(method, apiPath, body, token = adminToken) {
      const response = await fetch(`${url}${apiPath}`, bearerRequest(method, token, body));
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
      return { status: response.status, body: parsed as Json, text };
    },
    spawnScript(name, entry, extraEnv = {}) {
      const proc = startProcess(name, entry, { ...stack.env, ...extraEnv }, sink);
      extras.push(proc);
      return proc;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([...extras, ...running.values()].map((proc) => stopProcess(proc)));
      running.clear();
      const errors: unknown[] = [];
      for (const dispose of [kafka, redis, db]) {
        try {
          await dispose[Symbol.asyncDispose]();
        } catch (error) {
          errors.push(error);
        }
      }
      // The projector may write a last key after testRedis cleaned up; sweep once more.
      try {
        const { Redis } = await import('ioredis');
        const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
        await deleteByPrefix(client, redis.prefix);
        client.disconnect();
      } catch {
        // best effort
      }
      if (errors.length > 0) throw errors[0];
    },
  };

  try {
    // A failing spec shows what the services said (the last lines are the interesting ones).
    onTestFailed(() => console.error(`stack logs (last 200 lines):\n${sink.slice(-200).join('\n')}`));
  } catch {
    // started outside a test (beforeAll): nothing to hook into
  }
  try {
    for (const name of services) start(name);
    await waitReady();
  } catch (error) {
    const logs = stack.logs();
    try {
      await stack[Symbol.asyncDispose]();
    } catch {
      // the start error is the one worth reporting
    }
    throw new Error(`the stack did not start: ${(error as Error).message}\n${logs}`);
  }
  return stack;
};

/**
 * Every message of the stack's topic, read from the beginning by a throw-away consumer group:
 * waits until it holds as many messages as the topic's offsets say (and at least `atLeast`).
 */
export const readWholeTopic = async (
  stack: Pick<Stack, 'brokers' | 'topic'>,
  { atLeast = 1, timeoutMs = 20_000 }: { atLeast?: number; timeoutMs?: number } = {},
): Promise<{ key: string; value: string; partition: number; offset: string }[]> => {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'strata-e2e-audit', brokers: stack.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    await waitFor(
      async () => {
        const offsets = await admin.fetchTopicOffsets(stack.topic);
        total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
        return total >= atLeast;
      },
      `${atLeast} messages on ${stack.topic}`,
      timeoutMs,
      100,
    );
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `${stack.topic}.audit.${randomBytes(4).toString('hex')}` });
  const messages: { key: string; value: string; partition: number; offset: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: stack.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        messages.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          partition,
          offset: message.offset,
        });
      },
    });
    await waitFor(() => messages.length >= total, `${total} messages read back from ${stack.topic}`, timeoutMs, 50);
  } finally {
    await consumer.disconnect();
  }
  return messages;
};
