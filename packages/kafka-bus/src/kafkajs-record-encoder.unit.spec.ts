import { describe, expect, it } from 'vitest';
import { encodeRecord, kafkajsEncodeRecord, recordEncoderInstalled } from './kafkajs-record-encoder.js';

interface Encoded {
  buffer: Buffer;
}
const bytes = (encoder: unknown) => Buffer.from((encoder as Encoded).buffer);

/** Deterministic pseudo-random numbers, so a failure names the same case every run. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed / 0x80000000;
};

const strings = [
  '',
  'a',
  'tenant-42/prod',
  'ünïcødé ✓ 𝄞',
  'x'.repeat(127),
  'y'.repeat(128),
  'z'.repeat(600),
  '{"json":true}',
];

describe('encodeRecord', () => {
  it('writes the bytes kafkajs writes, for every shape of key, value, headers and deltas', () => {
    const next = random(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
    const bytesValue = () => {
      const text = pick(strings);
      const roll = next();
      return roll < 0.1 ? null : roll < 0.2 ? undefined : roll < 0.5 ? Buffer.from(text) : text;
    };
    const deltas = [0, 1, 63, 64, -1, -64, -65, 999, 8191, 8192, 2 ** 29, -(2 ** 30), 2 ** 30 - 1];
    let compared = 0;
    for (let i = 0; i < 3_000; i++) {
      const headers: Record<string, Buffer | string> = {};
      const headerCount = Math.floor(next() * 7);
      for (let h = 0; h < headerCount; h++) {
        const value = bytesValue();
        headers[pick(['type', 'position', 'event-id', 'ü', 'k'.repeat(130), `h${h}`])] = value ?? '';
      }
      const record = {
        offsetDelta: pick(deltas.filter((d) => d >= 0)),
        timestampDelta: pick(deltas),
        key: bytesValue(),
        value: bytesValue(),
        ...(next() < 0.9 ? { headers } : {}),
      };
      expect(bytes(encodeRecord(record)), JSON.stringify(record)).toEqual(bytes(kafkajsEncodeRecord(record)));
      compared++;
    }
    expect(compared).toBe(3_000);
  });

  it('hands the shapes it does not encode itself to kafkajs, with the same result', () => {
    const delegated = [
      { timestampDelta: 2 ** 40, key: 'k', value: 'v' },
      { timestampDelta: -(2 ** 31), key: 'k', value: 'v' },
      { offsetDelta: 0, key: 'k', value: 'v', headers: { many: ['a', 'b'] } },
    ];
    for (const record of delegated) {
      expect(bytes(encodeRecord(record))).toEqual(bytes(kafkajsEncodeRecord(record)));
    }
    expect(() => encodeRecord({ key: 'k', value: 'v', headers: { gone: null } })).toThrow();
  });

  it('is the encoder kafkajs produce requests use', () => {
    expect(recordEncoderInstalled()).toBe(true);
  });
});
