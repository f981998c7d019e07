import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newEvent, partitionKey, streamIds, type EventLog, type RecordedEvent } from '@strata/core';
import { KafkaEventConsumer } from '@strata/kafka-bus';
import { createPool, PostgresCheckpoints, PostgresEventLog } from '@strata/postgres-log';
import { createLogger, spawnTied } from '@strata/service-runtime';
import { createTestDatabase, freePort, testTopic, waitFor, type TestDatabase, type TestTopic } from '@strata/testing';

/** Helpers shared by the relay's int and e2e specs (not exported from the package). */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export { freePort, waitFor };

export interface RelayFixture extends AsyncDisposable {
  db: TestDatabase;
  kafka: TestTopic;
  /** The log of `db`, for appending and reading the head. */
  log: EventLog;
  /** The relay's saved position (`relay:<topic>`), 0 before its first save. */
  checkpoint(): Promise<number>;
  /** What a relay process needs to serve this database and topic. */
  env: Record<string, string>;
}

/** What every relay spec starts from: its own database and topic, the log on it, the checkpoint. */
export const relayFixture = async ({ partitions }: { partitions: number }): Promise<RelayFixture> => {
  const db = await createTestDatabase();
  const kafka = await testTopic({ partitions }).catch(async (error: unknown) => {
    await db[Symbol.asyncDispose]();
    throw error;
  });
  const pool = createPool(db.url);
  const checkpoints = new PostgresCheckpoints(pool);
  return {
    db,
    kafka,
    log: new PostgresEventLog(pool),
    checkpoint: () => checkpoints.load(`relay:${kafka.topic}`),
    env: {
      DATABASE_URL: db.appUrl,
      KAFKA_BROKERS: kafka.brokers.join(','),
      STRATA_TOPIC: kafka.topic,
      STRATA_TOPIC_PARTITIONS: String(partitions),
    },
    async [Symbol.asyncDispose]() {
      await pool.end();
      await kafka[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
};

export interface RelayProcess extends AsyncDisposable {
  child: ChildProcess;
  /** SIGKILL to the whole process group (tsx CLI and the relay under it): a crash. */
  crash(): void;
  /** SIGTERM to the tsx CLI, which forwards it to the relay, as a supervisor would. */
  terminate(): void;
  /** Every JSON line the relay wrote to stderr so far. */
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Parsed `/metrics` values by name (needs RELAY_METRICS_PORT). */
  metrics(): Promise<Record<string, number>>;
}

/** Starts `tsx services/relay/src/main.ts` as a real child process with the given environment. */
export const spawnRelay = (env: Record<string, string>): RelayProcess => {
  // `node --import tsx`, one process (the tsx CLI would run the relay in a second one, which a
  // SIGKILL to the CLI alone would orphan, still holding the lock), tied to the test runner.
  const child = spawnTied(
    process.execPath,
    ['--conditions=@strata/source', '--import', 'tsx', 'services/relay/src/main.ts'],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: 'non-json line', line });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const crash = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  };
  return {
    child,
    crash,
    terminate: () => child.kill('SIGTERM'),
    lines,
    exited,
    waitForLog: (msg, timeoutMs = 60_000) =>
      waitFor(
        () => lines.find((line) => line.msg === msg),
        `relay log "${msg}" (seen: ${lines.map((l) => l.msg).join(', ')})`,
        timeoutMs,
      ),
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${env.RELAY_METRICS_PORT}/metrics`);
      const values: Record<string, number> = {};
      for (const line of (await response.text()).split('\n')) {
        const match = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
        if (match) values[match[1]!] = Number(match[2]);
      }
      return values;
    },
    async [Symbol.asyncDispose]() {
      crash();
      await exited;
    },
  };
};

export interface Delivered {
  event: RecordedEvent;
  partition: number;
}

/** Reads the topic from the beginning with a fresh consumer group until `done` says so. */
export const readTopic = async (
  { brokers, topic }: { brokers: string[]; topic: string },
  done: (delivered: Delivered[]) => boolean,
  timeoutMs = 60_000,
): Promise<Delivered[]> => {
  const delivered: Delivered[] = [];
  const consumer = new KafkaEventConsumer({
    brokers,
    logger: createLogger({ service: 'relay-test', level: 'error' }),
  });
  await consumer.run({
    groupId: `${topic}.reader.${Math.random().toString(36).slice(2, 8)}`,
    topic,
    handleBatch: async (events, partition) => {
      for (const event of events) delivered.push({ event, partition });
    },
  });
  try {
    await waitFor(() => done(delivered), 'events on the topic', timeoutMs);
  } finally {
    await consumer.stop();
  }
  return delivered;
};

/**
 * Checks what the relay promises: for every key, the first occurrence of each event comes in
 * increasing position order and all of a key's messages sit in one partition. Returns the number
 * of duplicates (allowed: at-least-once).
 */
export const checkPerKeyOrder = (delivered: Delivered[]): { duplicates: number; keys: number } => {
  const seen = new Set<number>();
  const lastByKey = new Map<string, number>();
  const partitionByKey = new Map<string, number>();
  let duplicates = 0;
  for (const { event, partition } of delivered) {
    const key = partitionKey(event);
    const expectedPartition = partitionByKey.get(key) ?? partition;
    if (expectedPartition !== partition)
      throw new Error(`key ${key} found in partitions ${expectedPartition} and ${partition}`);
    partitionByKey.set(key, partition);
    if (seen.has(event.position)) {
      duplicates++;
      continue;
    }
    seen.add(event.position);
    const last = lastByKey.get(key) ?? 0;
    if (event.position <= last) throw new Error(`key ${key}: position ${event.position} first seen after ${last}`);
    lastByKey.set(key, event.position);
  }
  return { duplicates, keys: lastByKey.size };
};

/**
 * Appends `count` ConfigValueSet events spread over `scopes` namespace/environment pairs, `perAppend`
 * per transaction, from `writers` concurrent writers. Returns the log head afterwards.
 */
export const appendEvents = async (
  log: EventLog,
  {
    count,
    perAppend = 10,
    writers = 8,
    scopes = 12,
    offset = 0,
  }: { count: number; perAppend?: number; writers?: number; scopes?: number; offset?: number },
): Promise<void> => {
  let next = 0;
  const appends = Math.ceil(count / perAppend);
  const writer = async () => {
    for (let i = next++; i < appends; i = next++) {
      const namespace = `ns${(i + offset) % scopes}`;
      const environment = (i + offset) % 2 === 0 ? 'dev' : 'prod';
      const size = Math.min(perAppend, count - i * perAppend);
      const events = Array.from({ length: size }, (_, j) =>
        newEvent(
          'ConfigValueSet',
          { namespace, environment, tenant: null, key: 'limits.max_items', value: offset + i * perAppend + j },
          { actor: 'relay-test', correlationId: `c-${offset + i}` },
        ),
      );
      const result = await log.append(streamIds.environment(namespace, environment), events);
      if (!result.ok) throw new Error(`append failed: ${result.reason}`);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
};
