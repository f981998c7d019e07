import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { canonicalJson, chainHash, genesisHash, type ChainedEvent } from './hash-chain.js';

const event: ChainedEvent = {
  position: 1,
  eventId: '01J0000000000000000000000A',
  streamId: 'env:shop/prod',
  streamVersion: 1,
  type: 'ConfigValueSet',
  schemaVersion: 1,
  data: { namespace: 'shop', environment: 'prod', tenant: null, key: 'a.b', value: { z: 1, a: [1, 'x'] } },
  metadata: { actor: 'admin', reason: undefined },
  recordedAt: '2025-01-01T00:00:00.000Z',
};

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members, like JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"x":2,"y":1}]},"b":1}',
    );
  });

  it('is exactly JSON.stringify when keys are already sorted', () => {
    const value = { a: [1, -0, 1.5e-7, 'x\u2028"\\', { b: null, c: false }], d: { e: 'é' }, f: 2 ** 60 };
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
  });

  it('gives the same text for data that went through a JSON round trip (as jsonb does)', () => {
    const value = { é: 'ü\n"', n: 0.1, big: 1e21, list: [null, true], nested: { b: 2, a: 1 } };
    expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
  });
});

describe('chainHash', () => {
  it('is a hex sha256 that depends on the previous hash and on every field', () => {
    const first = chainHash(genesisHash, event);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(genesisHash, { ...event })).toBe(first);
    expect(chainHash(first, event)).not.toBe(first);
    expect(chainHash(genesisHash, { ...event, position: 2 })).not.toBe(first);
    expect(chainHash(genesisHash, { ...event, data: { ...(event.data as object), value: 2 } })).not.toBe(first);
    expect(chainHash(genesisHash, { ...event, metadata: { actor: 'mallory' } })).not.toBe(first);
  });
});

describe('the text the chain hashes', () => {
  it('is the canonical JSON in the layout strata.append_batch assembles (migrations/0007)', () => {
    const text =
      '{"data":{"environment":"prod","key":"a.b","namespace":"shop","tenant":null,"value":{"a":[1,"x"],"z":1}},' +
      '"eventId":"01J0000000000000000000000A","metadata":{"actor":"admin"},"position":1,' +
      '"recordedAt":"2025-01-01T00:00:00.000Z","schemaVersion":1,"streamId":"env:shop/prod","streamVersion":1,' +
      '"type":"ConfigValueSet"}';
    expect(chainHash(genesisHash, event)).toBe(
      createHash('sha256')
        .update(genesisHash + text)
        .digest('hex'),
    );
  });
});
