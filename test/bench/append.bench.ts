/**
 * Appends, one event per command at 1 / 8 / 32 concurrent writers and 100-event batches:
 * Strata's PostgresEventLog against Emmett's PostgreSQL event store, each in its own scratch
 * database on the same server, measured by the same loop (`measureAppends`).
 */
import { STREAM_DOES_NOT_EXIST, type EventStore } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { createPool } from '@strata/postgres-log';
import {
  measureAppends,
  runAppendBenchmark,
  type AppendMeasurement,
} from '../../packages/postgres-log/bench/append.bench.js';
import { record } from './lib/report.js';
import { runId, scratchDatabase } from './lib/scratch.js';
import { formatRate } from './lib/stats.js';

const durationMs = Number(process.env.BENCH_APPEND_MS ?? 5_000);
/** On a shared machine one round says little: each scenario runs this many times, alternating with the peer, and reports the medians. */
const repeat = Math.max(1, Number(process.env.BENCH_APPEND_REPEAT ?? 1));
const allScenarios = [
  { writers: 1, batchSize: 1 },
  { writers: 8, batchSize: 1 },
  { writers: 32, batchSize: 1, target: '≥ 4 k/s, p99 ≤ 20 ms' },
  { writers: 8, batchSize: 100, target: '≥ 1.2× Emmett' },
];
/** BENCH_APPEND_SCENARIOS=8x100,32x1 runs only those (writers x batch size). */
const scenarios = process.env.BENCH_APPEND_SCENARIOS
  ? allScenarios.filter((s) => process.env.BENCH_APPEND_SCENARIOS!.split(',').includes(`${s.writers}x${s.batchSize}`))
  : allScenarios;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const medianOf = (runs: AppendMeasurement[]): AppendMeasurement => ({
  ...runs[0]!,
  eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
  p99Ms: median(runs.map((r) => r.p99Ms)),
});

/**
 * What a storage decision would buy the batched appends, measured rather than argued
 * (BENCH_APPEND_STORAGE=1; not part of the product): the same 8 × 100 rounds against Emmett given
 * the indexes the log keeps (a comparison of equal work), then against plain Emmett on a log
 * without its five audit indexes, also without the event id's unique index, with the scope, tenant
 * and actor indexes holding one entry per append instead of per event, with the audit indexes
 * moved to a table filled after commit by one statement in a loop (a read model; the log would
 * then answer filters from it plus a scan of its tail), with the audit indexes on hashes of their
 * values, and with commits that do not wait for the WAL flush. Each variant gets its own scratch
 * databases, ours and Emmett's (a store slows as it grows, and the comparison is of equals).
 */
const storageVariants: { name: string; sql?: string; peerSql?: string; indexer?: boolean; asyncCommit?: boolean }[] = [
  {
    // Emmett's messages table has one index, its primary key (stream, version): nothing finds an
    // event by global position, by id or by what it touched. The same 8 × 100 rounds with Emmett
    // given what the log indexes, as expression indexes over its JSON: position, event id, and the
    // five audit filters (each ending in position, partial where ours are).
    name: 'against Emmett given the same indexes (position, event id, the 5 audit filters)',
    peerSql: `CREATE INDEX ON emt_messages (global_position);
          CREATE UNIQUE INDEX ON emt_messages (message_id, partition, is_archived);
          CREATE INDEX ON emt_messages ((message_data ->> 'namespace') COLLATE "C", (message_data ->> 'environment') COLLATE "C", global_position);
          CREATE INDEX ON emt_messages ((message_data ->> 'tenant') COLLATE "C", global_position) WHERE message_data ->> 'tenant' IS NOT NULL;
          CREATE INDEX ON emt_messages ((coalesce(message_data ->> 'key', message_data ->> 'flag', message_data ->> 'name')) COLLATE "C", global_position)
            WHERE coalesce(message_data ->> 'key', message_data ->> 'flag', message_data ->> 'name') IS NOT NULL;
          CREATE INDEX ON emt_messages ((message_metadata ->> 'actor') COLLATE "C", global_position);
          CREATE INDEX ON emt_messages (message_type COLLATE "C", global_position)`,
  },
  {
    name: 'without the 5 audit indexes',
    sql: 'DROP INDEX strata.events_scope_ix, strata.events_tenant_ix, strata.events_key_ix, strata.events_actor_ix, strata.events_type_ix',
  },
  {
    name: 'without the audit indexes and the event id index',
    sql: `DROP INDEX strata.events_scope_ix, strata.events_tenant_ix, strata.events_key_ix, strata.events_actor_ix, strata.events_type_ix;
          ALTER TABLE strata.events DROP CONSTRAINT events_event_id_key`,
  },
  {
    name: 'scope, tenant and actor indexed once per append (key and type per event)',
    // The bench's appends are 100 events from stream version 1: version % 100 = 1 marks each one's first event.
    sql: `DROP INDEX strata.events_scope_ix, strata.events_tenant_ix, strata.events_actor_ix;
          CREATE INDEX ON strata.events (namespace, environment, position) WHERE stream_version % 100 = 1;
          CREATE INDEX ON strata.events (tenant, position) WHERE tenant IS NOT NULL AND stream_version % 100 = 1;
          CREATE INDEX ON strata.events (actor, position) WHERE stream_version % 100 = 1`,
  },
  {
    name: 'audit indexes as a table filled after commit',
    indexer: true,
    sql: `DROP INDEX strata.events_scope_ix, strata.events_tenant_ix, strata.events_key_ix, strata.events_actor_ix, strata.events_type_ix;
          CREATE TABLE strata.event_facets (position bigint NOT NULL, namespace text COLLATE "C", environment text COLLATE "C",
            tenant text COLLATE "C", key text COLLATE "C", actor text COLLATE "C", type text COLLATE "C");
          CREATE INDEX ON strata.event_facets (namespace, environment, position);
          CREATE INDEX ON strata.event_facets (tenant, position) WHERE tenant IS NOT NULL;
          CREATE INDEX ON strata.event_facets (key, position) WHERE key IS NOT NULL;
          CREATE INDEX ON strata.event_facets (actor, position);
          CREATE INDEX ON strata.event_facets (type, position);
          CREATE TABLE strata.facets_head (id integer PRIMARY KEY, position bigint NOT NULL);
          INSERT INTO strata.facets_head VALUES (1, 0);
          CREATE FUNCTION strata.index_facets(max_events integer) RETURNS bigint LANGUAGE plpgsql AS $$
          DECLARE done bigint; last bigint;
          BEGIN
            SELECT position INTO done FROM strata.facets_head WHERE id = 1 FOR UPDATE SKIP LOCKED;
            IF NOT FOUND THEN RETURN NULL; END IF;
            WITH added AS (
              INSERT INTO strata.event_facets
              SELECT position, namespace, environment, tenant, key, actor, type FROM strata.events
               WHERE position > done AND position <= done + max_events RETURNING position)
            SELECT max(position) INTO last FROM added;
            IF last IS NOT NULL THEN UPDATE strata.facets_head SET position = last WHERE id = 1; END IF;
            RETURN coalesce(last, done);
          END $$`,
  },
  {
    // Same filters, smaller and cheaper keys: a 4-byte hash of the value instead of the text (the
    // query would add `hashtext(tenant) = hashtext($1) AND tenant = $1`, rechecking the value).
    name: 'audit indexes on hashes of their values',
    sql: `DROP INDEX strata.events_scope_ix, strata.events_tenant_ix, strata.events_key_ix, strata.events_actor_ix, strata.events_type_ix;
          CREATE INDEX ON strata.events (hashtext(namespace || '/' || coalesce(environment, '')), position);
          CREATE INDEX ON strata.events (hashtext(tenant), position) WHERE tenant IS NOT NULL;
          CREATE INDEX ON strata.events (hashtext(key), position) WHERE key IS NOT NULL;
          CREATE INDEX ON strata.events (hashtext(actor), position);
          CREATE INDEX ON strata.events (hashtext(type), position)`,
  },
  { name: 'commits not waiting for the WAL flush', asyncCommit: true },
];

/** BENCH_APPEND_STORAGE=1: every variant; a comma-separated list of words: the variants whose name holds one. */
const chosenVariant = (variant: (typeof storageVariants)[number]): boolean => {
  const chosen = process.env.BENCH_APPEND_STORAGE;
  if (!chosen) return false;
  return chosen === '1' || chosen.split(',').some((word) => variant.name.includes(word.trim()));
};

/** One Emmett round of `writers` × `batchSize`, each writer on its own stream, with exact expected versions. */
const emmettRound = (emmett: EventStore, writers: number, batchSize: number, stream: string) => {
  const versions = new Array<bigint>(writers).fill(0n);
  return measureAppends({
    label: `emmett ${writers} × ${batchSize}`,
    writers,
    durationMs,
    appendOnce: async (writer, i) => {
      const events = Array.from({ length: batchSize }, (_, j) => ({
        type: 'ConfigValueSet',
        data: {
          namespace: 'bench',
          environment: 'prod',
          tenant: `t${stream}-${writer}`,
          key: `bench.key_${j % 20}`,
          value: i,
        },
        metadata: { actor: 'admin', reason: 'test' },
      }));
      const result = await emmett.appendToStream(`tenant-${stream}-${writer}`, events, {
        expectedStreamVersion: versions[writer] === 0n ? STREAM_DOES_NOT_EXIST : versions[writer]!,
      });
      versions[writer] = result.nextExpectedStreamVersion;
      return batchSize;
    },
  });
};

/** `repeat` rounds of ours then Emmett's, alternating (a neighbour's burst hits both alike); the medians. */
const alternate = async (
  label: string,
  ours: () => Promise<AppendMeasurement>,
  peer: (round: number) => Promise<AppendMeasurement>,
): Promise<{ ours: AppendMeasurement; peer: AppendMeasurement }> => {
  const ourRuns: AppendMeasurement[] = [];
  const peerRuns: AppendMeasurement[] = [];
  for (let round = 0; round < repeat; round++) {
    const o = await ours();
    const p = await peer(round);
    console.log(
      `  ${label} round ${round + 1}: strata ${formatRate(o.eventsPerSecond)}, emmett ${formatRate(p.eventsPerSecond)} (${(o.eventsPerSecond / p.eventsPerSecond).toFixed(2)}×)`,
    );
    ourRuns.push(o);
    peerRuns.push(p);
  }
  return { ours: medianOf(ourRuns), peer: medianOf(peerRuns) };
};

export const appendBench = async (): Promise<void> => {
  await using strataDb = await scratchDatabase('append');
  await using emmettDb = await scratchDatabase('emmett', { migrated: false });
  // Killed connections when the scratch database is dropped WITH (FORCE) are expected.
  const pool = createPool(strataDb.url, { max: 40, onError: () => {} });
  const emmett = getPostgreSQLEventStore(emmettDb.url);
  try {
    await emmett.appendToStream('warmup', [{ type: 'ConfigValueSet', data: { key: 'warmup', value: 0 } }]); // creates its schema
    const run = runId();
    for (const { writers, batchSize, target } of scenarios) {
      const { ours, peer } = await alternate(
        `${writers} × ${batchSize}`,
        () => runAppendBenchmark(pool, { writers, batchSize, durationMs }),
        (round) => emmettRound(emmett, writers, batchSize, `${run}-${writers}x${batchSize}-${round}`),
      );
      report(writers, batchSize, ours, peer, repeat, target);
    }
    for (const variant of storageVariants.filter(chosenVariant)) await storageVariant(variant, run);
  } finally {
    await emmett.close();
    await pool.end();
  }
};

/** A variant's setup statements, on their own connection. */
const runSql = async (url: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(sql).finally(() => client.end());
};

const storageVariant = async (variant: (typeof storageVariants)[number], run: string): Promise<void> => {
  await using db = await scratchDatabase('append_storage');
  await using emmettDb = await scratchDatabase('emmett_storage', { migrated: false });
  if (variant.sql) await runSql(db.url, variant.sql);
  if (variant.asyncCommit)
    await runSql(db.url, `ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET synchronous_commit = off`);
  const pool = createPool(db.url, { max: 40, onError: () => {} });
  const emmett = getPostgreSQLEventStore(emmettDb.url);
  let indexing = variant.indexer === true;
  // The read model's writer: one statement at a time, as fast as it goes (it shares the machine).
  const indexer = (async () => {
    while (indexing) await pool.query('SELECT strata.index_facets(20000)');
  })();
  try {
    await emmett.appendToStream('warmup', [{ type: 'ConfigValueSet', data: { key: 'warmup', value: 0 } }]); // creates its schema
    if (variant.peerSql) await runSql(emmettDb.url, variant.peerSql);
    const { ours, peer } = await alternate(
      `8 × 100, ${variant.name}`,
      () => runAppendBenchmark(pool, { writers: 8, batchSize: 100, durationMs }),
      (round) => emmettRound(emmett, 8, 100, `${run}-storage-${storageVariants.indexOf(variant)}-${round}`),
    );
    record({
      benchmark: 'append',
      metric: `experiment, not the product — 8 × 100 batches ${variant.name}${repeat > 1 ? ` (median of ${repeat})` : ''}: events/s`,
      ours: formatRate(ours.eventsPerSecond),
      peer: formatRate(peer.eventsPerSecond),
      peerName: 'Emmett PostgreSQL store',
      ratio: ours.eventsPerSecond / peer.eventsPerSecond,
    });
  } finally {
    indexing = false;
    await indexer;
    await pool.end();
    await emmett.close();
  }
};

const report = (
  writers: number,
  batchSize: number,
  ours: AppendMeasurement,
  peer: AppendMeasurement,
  rounds: number,
  target?: string,
) => {
  const shape =
    (batchSize === 1
      ? `${writers} writer${writers > 1 ? 's' : ''}, 1 event/append`
      : `${writers} writers × ${batchSize}-event batches`) + (rounds > 1 ? ` (median of ${rounds})` : '');
  record({
    benchmark: 'append',
    metric: `${shape}: events/s`,
    ours: formatRate(ours.eventsPerSecond),
    peer: formatRate(peer.eventsPerSecond),
    peerName: 'Emmett PostgreSQL store',
    ratio: ours.eventsPerSecond / peer.eventsPerSecond,
    ...(target ? { target } : {}),
  });
  record({
    benchmark: 'append',
    metric: `${shape}: p99`,
    ours: `${ours.p99Ms.toFixed(1)} ms`,
    peer: `${peer.p99Ms.toFixed(1)} ms`,
    peerName: 'Emmett PostgreSQL store',
    ratio: peer.p99Ms / ours.p99Ms,
    ...(target ? { target } : {}),
  });
};
