/**
 * The fan-out path: log → relay → Kafka → projector → Redis.
 * - Relay backlog drain: a scratch log filled with BENCH_RELAY_EVENTS events (default 1,000,000),
 *   a Relay started on a fresh topic, timed until its checkpoint reaches the head (every event
 *   acknowledged by Kafka with acks=all). Floor: Kafka's own ProducerPerformance (the
 *   `kafka-producer-perf-test` tool, from the broker's jars) sending as many records of the same
 *   average size with acks=all and the idempotent producer, tuned for throughput (512 KiB
 *   batches, linger.ms 10, 5 requests in flight).
 * - Commit → Kafka at a steady 1 k events/s (BENCH_RELAY_STEADY_S, default 10 s): from the moment
 *   an append returns to the moment a consumer of the topic holds the event (so an upper bound of
 *   the relay's ack latency). Floor: ProducerPerformance at 1 k records/s, send → ack.
 * - Projector catch-up: a Projector on an empty log whose (empty) view generation is already live,
 *   consuming the drained topic from the beginning into it, timed until it applied every event.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopic, KafkaEventConsumer, KafkaPublisher, toKafkaMessage } from '@strata/kafka-bus';
import { PlatformaticPublisher } from '../../packages/kafka-bus/src/platformatic-publisher.js';
import { createPool, PostgresEventLog } from '@strata/postgres-log';
import { RedisViewStore } from '@strata/redis-views';
import { createLogger } from '@strata/service-runtime';
import { Projector } from '../../services/projector/src/projector.js';
import { Relay } from '../../services/relay/src/relay.js';
import { filledScratchLog } from './lib/filled-log.js';
import { record } from './lib/report.js';
import { deleteRedisPrefix, kafkaBrokers, redisUrl, runId, scratchDatabase, sleep } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

const backlog = Number(process.env.BENCH_RELAY_EVENTS ?? 1_000_000);
/** Events each Kafka client publishes in the client comparison (BENCH_PUBLISHER_EVENTS, default 200,000). */
const publisherEvents = Math.min(backlog, Number(process.env.BENCH_PUBLISHER_EVENTS ?? 200_000));
const steadySeconds = Number(process.env.BENCH_RELAY_STEADY_S ?? 10);
const partitions = 6;
const brokers = kafkaBrokers.split(',');
const quiet = createLogger({ service: 'bench', level: 'error' });

/** The broker's jars: KAFKA_LIBS, else infra/kafka/.local of this checkout or of the main one. */
const kafkaLibs = (): string => {
  if (process.env.KAFKA_LIBS) return process.env.KAFKA_LIBS;
  const here = fileURLToPath(new URL('../../infra/kafka/.local/libs-3.9.1', import.meta.url));
  if (fs.existsSync(here)) return here;
  const common = spawnSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { encoding: 'utf8' });
  return path.join(path.dirname(common.stdout.trim()), 'infra/kafka/.local/libs-3.9.1');
};

/**
 * The drain floor tuned for throughput, not the Java client's latency defaults (16 KiB batches,
 * no linger): batches up to half a partition's 1 MiB limit, 10 ms to fill them, five requests in
 * flight (the most the idempotent producer allows). The steady floor keeps the defaults.
 */
const drainFloorProps = ['batch.size=524288', 'linger.ms=10', 'max.in.flight.requests.per.connection=5'];

interface PerfResult {
  recordsPerSecond: number;
  p99Ms: number;
}

/** Runs ProducerPerformance and parses its summary line. */
const producerPerformance = (
  topic: string,
  records: number,
  recordSize: number,
  throughput: number,
  props: readonly string[] = [],
): PerfResult => {
  const run = spawnSync(
    'java',
    [
      '-Xmx512m',
      '-cp',
      `${kafkaLibs()}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      String(throughput),
      '--producer-props',
      `bootstrap.servers=${brokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
      ...props,
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const summary = /(\d+) records sent, ([\d.]+) records\/sec .*?, ([\d.]+) ms 99th/.exec(run.stdout);
  if (!summary)
    throw new Error(`ProducerPerformance printed no summary: ${run.stdout.slice(-500)} ${run.stderr.slice(-1500)}`);
  return { recordsPerSecond: Number(summary[2]), p99Ms: Number(summary[3]) };
};

const waitUntil = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> => {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`);
    await sleep(20);
  }
};

export const relayBench = async (): Promise<void> => {
  const run = runId();
  const topic = `bench.relay.${run}`;
  const floorTopic = `bench.relay-floor.${run}`;
  const clientTopic = `bench.relay-clients.${run}`;
  const prefix = `bench:projector:${run}:`;
  const admin = new Kafka({ clientId: 'bench-relay', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await using db = await filledScratchLog('relay', backlog);
  await using emptyDb = await scratchDatabase('projector');
  const pool = createPool(db.url, { max: 8, onError: () => {} });
  const log = new PostgresEventLog(pool);
  const emptyPool = createPool(emptyDb.url, { max: 2, onError: () => {} });
  const relay = new Relay({
    databaseUrl: db.url,
    brokers,
    topic,
    partitions,
    metricsPort: undefined,
    batchSize: Number(process.env.RELAY_BATCH_SIZE ?? 1000),
    leaderRetryMs: 1000,
    pollIntervalMs: 1000,
    logger: quiet,
  });
  let projector: Projector | undefined;
  try {
    const sample = await log.readAll(0, 1000);
    const recordSize = Math.round(
      sample.reduce((sum, e) => sum + Buffer.byteLength(toKafkaMessage(e).value as string), 0) / sample.length,
    );

    const t0 = performance.now();
    await relay.start();
    await waitUntil('relay drain', async () => (await relay.metrics()).checkpointPosition >= backlog, 1_800_000);
    const drainSeconds = (performance.now() - t0) / 1000;

    await ensureTopic({ brokers, topic: floorTopic, partitions, clientId: 'bench-relay', logger: quiet });
    const floor = producerPerformance(floorTopic, backlog, recordSize, -1, drainFloorProps);
    record({
      benchmark: 'relay',
      metric: `relay backlog drain ${backlog.toLocaleString()} events (${recordSize} B, ${drainSeconds.toFixed(1)} s): events/s`,
      ours: formatRate(backlog / drainSeconds),
      peer: formatRate(floor.recordsPerSecond),
      peerName: 'kafka-producer-perf-test, tuned',
      ratio: backlog / drainSeconds / floor.recordsPerSecond,
      target: '≥ 50 k/s',
    });

    // The two Kafka clients behind the publisher's contract, on the same pages of the same log
    // (what the relay does per batch: read a page, publish it, wait for every ack), alternating.
    const clients = {
      kafkajs: () => new KafkaPublisher({ brokers, topic: clientTopic, logger: quiet }),
      '@platformatic/kafka': () => new PlatformaticPublisher({ brokers, topic: clientTopic }),
    };
    const rates: Record<string, number[]> = { kafkajs: [], '@platformatic/kafka': [] };
    await ensureTopic({ brokers, topic: clientTopic, partitions, clientId: 'bench-relay', logger: quiet });
    for (let round = 0; round < 3; round++) {
      for (const [name, create] of Object.entries(clients)) {
        const publisher = create();
        await publisher.connect();
        try {
          const c0 = performance.now();
          for (let after = 0; after < publisherEvents;) {
            const page = await log.readAll(after, Math.min(1000, publisherEvents - after));
            await publisher.publish(page);
            after = page.at(-1)!.position;
          }
          rates[name]!.push(publisherEvents / ((performance.now() - c0) / 1000));
        } finally {
          await publisher.disconnect();
        }
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const ours = median(rates['kafkajs']!);
    const other = median(rates['@platformatic/kafka']!);
    console.log(
      `  publisher rounds: kafkajs ${rates['kafkajs']!.map(formatRate).join(', ')}; @platformatic/kafka ${rates['@platformatic/kafka']!.map(formatRate).join(', ')}`,
    );
    record({
      benchmark: 'relay',
      metric: `publish ${publisherEvents.toLocaleString()} log events in 1,000-event pages, median of 3: kafkajs (the relay's client)`,
      ours: formatRate(ours),
      peer: formatRate(other),
      peerName: '@platformatic/kafka, same pages',
      ratio: ours / other,
    });

    // Steady load: 10 one-event appends every 10 ms from concurrent writers (the log group-commits).
    const appendedAt = new Map<number, number>();
    const arrivedAt = new Map<number, number>();
    const probe = new KafkaEventConsumer({ brokers, clientId: 'bench-relay-probe', logger: quiet });
    await probe.run({
      groupId: `bench-relay-probe-${run}`,
      topic,
      fromBeginning: false,
      handleBatch: async (events) => {
        const now = performance.now();
        for (const event of events) arrivedAt.set(event.position, now);
      },
    });
    try {
      // The probe reads from the topic's end: it must own every partition before anything is written.
      await waitUntil('probe assigned', () => probe.assignedPartitions().length === partitions, 120_000);
      await sleep(2000);
      const writes: Promise<void>[] = [];
      const perTick = 10;
      const ticks = steadySeconds * 100;
      const startAt = performance.now();
      for (let tick = 0; tick < ticks; tick++) {
        const due = startAt + tick * 10;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        for (let j = 0; j < perTick; j++) {
          const n = tick * perTick + j;
          writes.push(
            log
              .append(`steady-${run}-${n}`, [
                {
                  type: 'ConfigValueSet',
                  data: {
                    namespace: 'bench',
                    environment: `env${n % 4}`,
                    tenant: null,
                    key: `key_${n % 50}`,
                    value: n,
                  },
                  metadata: { actor: 'bench' },
                },
              ])
              .then((result) => {
                if (!result.ok) throw new Error('steady append conflicted');
                appendedAt.set(result.positions[0]!, performance.now());
              }),
          );
        }
      }
      await Promise.all(writes);
      const written = ticks * perTick;
      // Bounded: an event the probe missed (a late partition assignment) only shrinks n.
      await waitUntil(
        'steady events consumed',
        () => [...appendedAt.keys()].every((p) => arrivedAt.has(p)),
        30_000,
      ).catch(() => undefined);
      if (appendedAt.size !== written) throw new Error(`only ${appendedAt.size} of ${written} steady appends answered`);
    } finally {
      await probe.stop();
    }
    const latencies = [...appendedAt]
      .filter(([position]) => arrivedAt.has(position))
      .map(([position, at]) => Math.max(0, arrivedAt.get(position)! - at))
      .sort((a, b) => a - b);
    if (latencies.length < appendedAt.size * 0.9)
      throw new Error(`the probe saw ${latencies.length} of ${appendedAt.size} steady events`);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    const steadyFloor = producerPerformance(floorTopic, steadySeconds * 1000, recordSize, 1000);
    record({
      benchmark: 'relay',
      metric: `commit → on Kafka at 1 k events/s: p99 (n=${latencies.length})`,
      ours: `${p99.toFixed(1)} ms`,
      peer: `${steadyFloor.p99Ms.toFixed(1)} ms`,
      peerName: 'kafka-producer-perf-test ack',
      ratio: steadyFloor.p99Ms / p99,
    });

    // Projector catch-up of the drained topic (backlog + steady events).
    const total = backlog + steadySeconds * 1000;
    projector = new Projector({
      databaseUrl: emptyDb.url,
      redisUrl,
      brokers,
      topic,
      prefix,
      groupId: `bench-projector-${run}`,
      metricsPort: undefined,
      watchIntervalMs: 60_000,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3_000,
      logger: quiet,
    });
    // A live, empty view generation first, so the projector applies the topic instead of rebuilding.
    const redis = new Redis(redisUrl);
    try {
      await new RedisViewStore({ redis, prefix }).rebuild({
        eventLog: new PostgresEventLog(emptyPool),
        dropDelayMs: 0,
      });
    } finally {
      redis.disconnect();
    }
    const p0 = performance.now();
    await projector.start();
    const started = projector;
    await waitUntil(
      'projector catch-up',
      () => started.metrics.appliedTotal + started.metrics.duplicatesTotal >= total,
      1_800_000,
    );
    const catchUpSeconds = (performance.now() - p0) / 1000;
    record({
      benchmark: 'projector',
      metric: `Kafka backlog ${total.toLocaleString()} events → Redis views (${catchUpSeconds.toFixed(1)} s)`,
      ours: formatRate(total / catchUpSeconds),
      peer: formatRate(backlog / drainSeconds),
      peerName: 'relay drain (same run)',
      ratio: null,
      target: '≥ 50 k/s',
    });
  } finally {
    await projector?.stop().catch(() => undefined);
    await relay.stop().catch(() => undefined);
    await pool.end();
    await emptyPool.end();
    await admin.deleteTopics({ topics: [topic, floorTopic, clientTopic], timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
    await deleteRedisPrefix(prefix);
  }
};
