import { describe, expect, it } from 'vitest';
import { appendEvents, checkPerKeyOrder, readTopic, relayFixture, spawnRelay, waitFor } from './test-support.js';

describe('relay crash (kill -9) and restart', () => {
  it('delivers every event at least once, per-key order kept for first occurrences, checkpoint reaches head', async () => {
    await using fixture = await relayFixture({ partitions: 6 });
    const { log, kafka, env } = fixture;
    const total = 10_000;
    await using first = spawnRelay(env);
    await first.waitForLog('leadership acquired');

    // 10,000 events in 1,000 appends from 8 concurrent writers; kill the relay half-way.
    const appending = appendEvents(log, { count: total, perAppend: 10, writers: 8, scopes: 24 });
    const killedAt = await waitFor(
      async () => {
        const checkpoint = await fixture.checkpoint();
        return checkpoint >= 3_000 ? checkpoint : 0;
      },
      'relay to publish 3,000 events',
      60_000,
      10,
    );
    first.crash();
    expect(await first.exited).toBeNull(); // killed by the signal, not exited
    await appending;
    const head = await log.headPosition();
    expect(head).toBe(total);
    const checkpointAfterKill = await fixture.checkpoint();
    expect(checkpointAfterKill).toBeLessThan(head);

    await using second = spawnRelay(env);
    await second.waitForLog('leadership acquired');
    await waitFor(async () => (await fixture.checkpoint()) === head, 'checkpoint to reach head', 60_000);

    const delivered = await readTopic(kafka, (d) => new Set(d.map((x) => x.event.position)).size === total, 60_000);
    const { duplicates, keys } = checkPerKeyOrder(delivered);
    expect(keys).toBe(24);
    expect(new Set(delivered.map((d) => d.event.position)).size).toBe(total);
    console.info(
      `relay crash: killed at checkpoint ${killedAt} (${checkpointAfterKill} saved), ${delivered.length} messages for ${total} events, ${duplicates} duplicates`,
    );

    second.terminate();
    expect(await second.exited).toBe(0);
    expect(second.lines.map((l) => l.msg)).toContain('relay stopped');
    expect(await fixture.checkpoint()).toBe(head);
  }, 180_000);
});
