import { Redis } from 'ioredis';
import pg from 'pg';
import { expect, test } from 'vitest';
import { seededRandom } from '@strata/core/testing';
import { globalKeys, viewKeys, viewTag } from '@strata/redis-views';
import { readWholeTopic, sleep, startStack, waitFor, type ServiceName } from './stack-fixture.js';

/**
 * BRIEF invariant 4 under real crashes: while writes flow through the API, the relay and the
 * projector process groups are killed with SIGKILL at random moments and started again. In the
 * end the Redis views equal the fold of the log, and every event was applied exactly once.
 */
const ns = 'chaos';
const P = `/v1/namespaces/${ns}/envs/prod`;
const tenants = ['t0', 't1', 't2', 't3', 't4', 't5'];
const manifest = {
  keys: {
    'limits.rpm': { type: 'integer', default: 60, minimum: 1, maximum: 1_000_000 },
    'ui.banner': { type: 'string', default: 'none' },
  },
  flags: { beta: { type: 'boolean', description: 'beta features' } },
  secrets: {},
};
/**
 * Every random choice (commands, values, kill order and moments) comes from one seeded PRNG; the
 * seed is printed first and `STRATA_FAULT_SEED=<seed>` replays the same sequence of choices (how
 * the three writers interleave with the kills still depends on timing).
 */
const seed = Number(process.env['STRATA_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const random = seededRandom(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const between = (min: number, max: number) => min + Math.floor(random() * (max - min));

test('kill -9 of relay and projector mid-stream: views equal the log fold, nothing applied twice', async () => {
  console.info(`fault seed ${seed} (replay: STRATA_FAULT_SEED=${seed} npx vitest run test/e2e/fault.e2e.spec.ts)`);
  await using stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  const ok = async (method: string, path: string, body?: unknown) => {
    for (;;) {
      const answer = await stack.call(method, path, body);
      // Three writers can outrun the admin token's rate limit on a fast machine: wait, not fail.
      if (answer.status === 429) {
        await sleep(100);
        continue;
      }
      if (answer.status >= 300) throw new Error(`${method} ${path} → ${answer.status} ${answer.text}`);
      return answer.body;
    }
  };
  await ok('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'chaos' });

  // Writers: three concurrent loops of one-event commands of every kind the views fold.
  let writing = true;
  let writes = 0;
  const writer = async () => {
    while (writing) {
      const tenant = pick(tenants);
      const roll = random();
      if (roll < 0.45) {
        await ok('PUT', `${P}/tenants/${tenant}/config/limits.rpm`, { value: between(1, 100_000), reason: 'w' });
      } else if (roll < 0.6) {
        await ok('PUT', `${P}/config/limits.rpm`, { value: between(1, 100_000), reason: 'w' });
      } else if (roll < 0.7) {
        await ok('PUT', `${P}/tenants/${tenant}/config/ui.banner`, { value: `b${writes}`, reason: 'w' });
      } else if (roll < 0.75) {
        await stack.call('DELETE', `${P}/tenants/${tenant}/config/ui.banner`, { reason: 'w' });
      } else if (roll < 0.87) {
        await ok('PUT', `${P}/flags/beta`, { rollout: between(0, 101), enabled: random() < 0.8, reason: 'w' });
      } else {
        await ok('PUT', `${P}/tenants/${tenant}/flags/beta`, {
          override: pick(['enabled', 'disabled', null] as const),
          reason: 'w',
        });
      }
      writes++;
    }
  };
  const writers = [writer(), writer(), writer()];

  // Chaos: each of relay and projector killed twice, in random order, at random moments.
  const victims: ServiceName[] = ['relay', 'relay', 'projector', 'projector'].sort(
    () => random() - 0.5,
  ) as ServiceName[];
  const kills: string[] = [];
  try {
    for (const victim of victims) {
      await sleep(between(700, 2_000));
      const before = writes;
      expect(await stack.kill(victim, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      kills.push(`${victim}@${before}`);
      await sleep(between(0, 800));
      await stack.restart(victim);
    }
    await sleep(1_000);
  } finally {
    writing = false;
    await Promise.all(writers);
  }
  expect(writes).toBeGreaterThan(50);

  // The log's head, then the views of the environment catching up to it.
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const head = Number((await db.query<{ h: string }>('SELECT max(position) AS h FROM strata.events')).rows[0]!.h);
    await waitFor(
      async () => (await stack.call('GET', `${P}/tenants/t0/config?minPosition=${head}`)).status === 200,
      `the views to reach position ${head} after the crashes`,
      40_000,
      200,
    );

    // Views (current, from Redis) equal the fold of the log at the head (point-in-time, from PostgreSQL).
    for (const tenant of [...tenants, 'never-written']) {
      const view = await ok('GET', `${P}/tenants/${tenant}/config?minPosition=${head}`);
      const folded = await ok('GET', `${P}/tenants/${tenant}/config?position=${head}`);
      expect(view.values, tenant).toEqual(folded.values);
      const flagView = await ok('GET', `${P}/tenants/${tenant}/flags/beta?minPosition=${head}`);
      const flagFolded = await ok('GET', `${P}/tenants/${tenant}/flags/beta?position=${head}`);
      expect(flagView, tenant).toEqual(flagFolded);
    }

    // Exactly once: each view counts the events it applied; the log says how many it has.
    const { rows } = await db.query<{ environment: string | null; n: string; last: string }>(
      `SELECT environment, count(*) AS n, max(position) AS last
         FROM strata.events WHERE namespace = $1 GROUP BY 1 ORDER BY 1 NULLS FIRST`,
      [ns],
    );
    expect(rows.map((r) => r.environment)).toEqual([null, 'prod']);
    const redis = new Redis(stack.redisUrl);
    try {
      const gen = await redis.get(globalKeys(stack.prefix).generation);
      expect(gen).not.toBeNull();
      for (const row of rows) {
        const tag = viewTag(ns, row.environment);
        const keys = viewKeys(stack.prefix, gen!, tag);
        expect(Number(await redis.get(keys.pos)), `${tag} :pos`).toBe(Number(row.last));
        expect(Number(await redis.get(keys.count)), `${tag} :n`).toBe(Number(row.n));
      }
    } finally {
      redis.disconnect();
    }

    // The crashes really caused redelivery (or at least nothing was lost on the way).
    const messages = await readWholeTopic(stack, { atLeast: head });
    const distinct = new Set(messages.map((m) => (JSON.parse(m.value) as { position: number }).position));
    expect(distinct.size).toBe(head);
    console.info(
      `fault (seed ${seed}): ${writes} writes, head ${head}, kills ${kills.join(', ')}; ` +
        `${messages.length} Kafka messages for ${head} events (${messages.length - head} redelivered)`,
    );
  } finally {
    await db.end();
  }
}, 90_000);
