import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isStrataError } from '@strata/core';
import { generateMasterKey, Keyring } from './keyring.js';

const k1 = Buffer.alloc(32, 7).toString('base64');
const k2 = Buffer.alloc(32, 9).toString('base64');

const parseError = (text: string) => {
  try {
    Keyring.parse(text);
  } catch (error) {
    if (!isStrataError(error)) throw error;
    return error;
  }
  throw new Error('expected a parse error');
};

describe('Keyring', () => {
  it('takes the first entry as active by default', () => {
    const keyring = Keyring.parse(`mk-a:${k1}, mk-b:${k2}`);
    expect(keyring.activeKid).toBe('mk-a');
    expect(keyring.kids).toEqual(['mk-a', 'mk-b']);
    expect(keyring.key('mk-b').toString('base64')).toBe(k2);
  });

  it('honours one entry marked active with *', () => {
    const keyring = Keyring.parse(`mk-a:${k1},*mk-b:${k2}`);
    expect(keyring.activeKid).toBe('mk-b');
    expect(keyring.kids).toEqual(['mk-b', 'mk-a']);
  });

  it.each([
    ['', 'is empty'],
    [`mk-a:${k1},`, 'entry 2 is empty'],
    [k1, "entry 1 has no ':'"],
    [`mk a:${k1}`, 'entry 1: key id'],
    [`mk-a:${k1.slice(0, -4)}`, "key 'mk-a' decodes to"],
    [`mk-a:${Buffer.alloc(16, 7).toString('base64')}`, 'expected 32'],
    [`mk-a:${k1.replace('B', '-')}`, 'not valid standard base64'],
    [`mk-a:${k1},mk-a:${k2}`, "'mk-a' appears twice"],
    [`*mk-a:${k1},*mk-b:${k2}`, 'both'],
  ])('rejects %j with a message naming the problem', (text, problem) => {
    const error = parseError(text);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('STRATA_MASTER_KEYS');
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain(k1.slice(0, 12));
    expect(error.message).not.toContain(k2.slice(0, 12));
  });

  it('answers KEY_NOT_FOUND for an unknown kid', () => {
    expect(() => Keyring.parse(`mk-a:${k1}`).key('mk-z')).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND' }));
  });

  it('requires STRATA_MASTER_KEYS in the environment', () => {
    expect(() => Keyring.fromEnv({})).toThrow(/STRATA_MASTER_KEYS is not set/);
    expect(Keyring.fromEnv({ STRATA_MASTER_KEYS: `mk-a:${k1}` }).activeKid).toBe('mk-a');
  });

  it('never prints key material', () => {
    const keyring = Keyring.parse(`mk-a:${k1},*mk-b:${k2}`);
    for (const shown of [
      String(keyring),
      inspect(keyring, { showHidden: true, depth: 5 }),
      JSON.stringify(keyring),
      `${keyring}`,
    ]) {
      expect(shown).toContain('mk-b');
      expect(shown).not.toContain(k1.slice(0, 12));
      expect(shown).not.toContain(k2.slice(0, 12));
    }
  });

  it('generates entries that parse back into a 32-byte key', () => {
    const entry = generateMasterKey();
    expect(entry).toMatch(/^mk-\d{8}-[0-9a-f]{6}:/);
    const named = generateMasterKey('mk-2026');
    const keyring = Keyring.parse(`${entry},${named}`);
    expect(keyring.key('mk-2026')).toHaveLength(32);
    expect(generateMasterKey()).not.toBe(entry);
    expect(() => generateMasterKey('bad id')).toThrow(/key id/);
  });
});
