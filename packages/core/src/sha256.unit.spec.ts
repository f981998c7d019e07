import { describe, expect, it } from 'vitest';
import vectors from '../test-vectors/flag-buckets.json' with { type: 'json' };
import { bucket } from './flags.js';
import { sha256Hex, utf8 } from './sha256.js';

describe('sha256', () => {
  it('matches the FIPS 180-4 examples, including multi-block input', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it("matches Python's hashlib around every padding boundary and for astral characters", () => {
    expect(vectors.digests.length).toBeGreaterThan(5);
    for (const [input, hex] of vectors.digests as Array<[string, string]>) expect(sha256Hex(input), input).toBe(hex);
  });

  it('encodes UTF-8 exactly like TextEncoder, lone surrogates included', () => {
    const encoder = new TextEncoder();
    for (const text of ['', 'abc', 'é', '€', '日本語', '😀', '👩‍👩‍👧', '\ud800', 'a\udc00b', '\u{10ffff}', '\0']) {
      expect([...utf8(text)], JSON.stringify(text)).toEqual([...encoder.encode(text)]);
    }
  });
});

describe('bucket', () => {
  it(`equals the Python buckets bit for bit for ${vectors.cases.length} tenants x ${vectors.flags.length} flags`, () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(10_000);
    let checked = 0;
    const mismatches: string[] = [];
    for (const [tenant, buckets] of vectors.cases as Array<[string, number[]]>) {
      vectors.flags.forEach((flag, i) => {
        checked++;
        const got = bucket(tenant, flag);
        if (got !== buckets[i]) mismatches.push(`${JSON.stringify(tenant)}:${flag} → ${got}, python ${buckets[i]}`);
      });
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(checked).toBe(vectors.cases.length * vectors.flags.length);
  });

  it('spreads tenants roughly uniformly over 0-99', () => {
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 20_000; i++) counts[bucket(`tenant-${i}`, 'new_checkout')]!++;
    expect(Math.min(...counts)).toBeGreaterThan(120);
    expect(Math.max(...counts)).toBeLessThan(280);
  });
});
