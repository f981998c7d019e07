import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isSecret, Secret } from './secret.js';

describe('Secret', () => {
  const secret = new Secret('sk_live_123');

  it('reveals the plaintext only through reveal()', () => {
    expect(secret.reveal()).toBe('sk_live_123');
    expect(isSecret(secret)).toBe(true);
    expect(secret.equals(new Secret('sk_live_123'))).toBe(true);
  });

  it('redacts itself in strings, template literals, JSON, inspect and console formatting', () => {
    const renderings = [
      String(secret),
      `${secret}`,
      'key=' + secret,
      JSON.stringify({ secret }),
      inspect(secret),
      inspect({ nested: { secret } }, { depth: 5 }),
      Object.prototype.toString.call(secret),
    ];
    for (const text of renderings) expect(text).not.toContain('sk_live_123');
    expect(renderings.slice(0, 4)).toEqual(['[redacted]', '[redacted]', 'key=[redacted]', '{"secret":"[redacted]"}']);
    expect(Object.keys(secret)).toEqual([]);
  });
});
