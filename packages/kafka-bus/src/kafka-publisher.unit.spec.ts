import { Partitioners, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { rememberingPartitioner } from './kafka-publisher.js';

const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));

describe('rememberingPartitioner', () => {
  it('gives every key the partition the default (murmur2) partitioner gives it, for each partition count', () => {
    const plain = Partitioners.DefaultPartitioner();
    const remembering = rememberingPartitioner(Partitioners.DefaultPartitioner)();
    const keys = Array.from({ length: 300 }, (_, i) => `ns-${i % 17}/env-${i}`);
    let checked = 0;
    for (const count of [1, 6, 7, 6]) {
      for (const topic of ['strata.events', 'other']) {
        for (const key of [...keys, ...keys]) {
          const args: PartitionerArgs = { topic, partitionMetadata: metadata(count), message: { key, value: 'v' } };
          expect(remembering(args)).toBe(plain(args));
          checked++;
        }
      }
    }
    expect(checked).toBe(4 * 2 * 600);
  });

  it('asks the partitioner once per key and partition count, and passes explicit partitions and unkeyed messages through', () => {
    const asked: string[] = [];
    const partitioner = rememberingPartitioner(() => (args) => {
      asked.push(`${String(args.message.key)}:${args.partitionMetadata.length}`);
      return 3;
    })();
    const send = (key: string | undefined, count: number, partition?: number) =>
      partitioner({ topic: 't', partitionMetadata: metadata(count), message: { key, value: 'v', partition } });
    for (let i = 0; i < 5; i++) send('a/b', 6);
    send('a/b', 12);
    send(undefined, 6);
    send(undefined, 6);
    expect(send('a/b', 6, 1)).toBe(3); // the inner partitioner decides; here it always says 3
    expect(asked).toEqual(['a/b:6', 'a/b:12', 'undefined:6', 'undefined:6', 'a/b:6']);
  });
});
