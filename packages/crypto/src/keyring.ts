import { randomBytes } from 'node:crypto';
import { StrataError } from '@strata/core';
import { KEY_BYTES, decodeBase64 } from './aes-gcm.js';

export const masterKidPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The master keys from `STRATA_MASTER_KEYS`. Format: comma-separated `kid:base64key` entries,
 * each key exactly 32 bytes in standard base64. The active key — the one new tenant keys are
 * wrapped with — is the entry marked with a leading `*`, or the first entry when none is marked:
 *
 *   STRATA_MASTER_KEYS="*mk-2025b:q83v…=,mk-2025a:3Ew9…="
 *
 * Retired keys stay in the list until `keysWrappedBy(kid)` says nothing depends on them.
 * Key bytes never leave this object except to the code that wraps and unwraps with them; it
 * prints as its key ids only.
 */
export class Keyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  /** Id of the master key that wraps new tenant keys. */
  readonly activeKid: string;

  constructor(keys: Iterable<readonly [kid: string, key: Uint8Array]>, activeKid?: string) {
    const map = new Map<string, Buffer>();
    for (const [kid, key] of keys) {
      if (!masterKidPattern.test(kid)) throw keyringError('a key id is not 1-64 letters, digits, _ . -');
      if (map.has(kid)) throw keyringError(`key id '${kid}' appears twice`);
      if (key.length !== KEY_BYTES) throw keyringError(`key '${kid}' is ${key.length} bytes, expected ${KEY_BYTES}`);
      map.set(kid, Buffer.from(key));
    }
    const first = map.keys().next();
    if (first.done) throw keyringError('no keys');
    const active = activeKid ?? first.value;
    if (!map.has(active)) throw keyringError(`active key id '${active}' is not in the keyring`);
    this.#keys = map;
    this.activeKid = active;
  }

  /** Parses the `STRATA_MASTER_KEYS` format strictly; errors name the entry, never its key. */
  static parse(text: string): Keyring {
    if (typeof text !== 'string' || text.trim() === '') throw keyringError('is empty');
    const entries: [string, Buffer][] = [];
    let active: string | undefined;
    text.split(',').forEach((raw, index) => {
      const at = `entry ${index + 1}`;
      const entry = raw.trim();
      if (entry === '') throw keyringError(`${at} is empty (stray comma?)`);
      const colon = entry.indexOf(':');
      if (colon < 0) throw keyringError(`${at} has no ':' between key id and key`);
      let kid = entry.slice(0, colon).trim();
      const marked = kid.startsWith('*');
      if (marked) kid = kid.slice(1);
      // The kid is echoed only once it is known to be a well-formed id, never key material.
      if (!masterKidPattern.test(kid)) throw keyringError(`${at}: key id must be 1-64 letters, digits, _ . -`);
      if (marked) {
        if (active !== undefined) throw keyringError(`both '${active}' and '${kid}' are marked active with '*'`);
        active = kid;
      }
      const key = decodeBase64(entry.slice(colon + 1).trim());
      if (!key) throw keyringError(`key '${kid}' is not valid standard base64`);
      if (key.length !== KEY_BYTES)
        throw keyringError(`key '${kid}' decodes to ${key.length} bytes, expected ${KEY_BYTES}`);
      entries.push([kid, key]);
    });
    return new Keyring(entries, active);
  }

  /** Reads `STRATA_MASTER_KEYS`; a missing variable is an error (dev defaults are the API's call). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): Keyring {
    const text = env.STRATA_MASTER_KEYS;
    if (text === undefined) throw keyringError('is not set');
    return Keyring.parse(text);
  }

  /** Every master key id, active first. */
  get kids(): string[] {
    return [this.activeKid, ...[...this.#keys.keys()].filter((kid) => kid !== this.activeKid)];
  }

  has(kid: string): boolean {
    return this.#keys.has(kid);
  }

  /** The key bytes, or KEY_NOT_FOUND naming only the id. */
  key(kid: string): Buffer {
    const key = this.#keys.get(kid);
    if (!key) throw new StrataError('KEY_NOT_FOUND', `master key '${kid}' is not in the keyring`, { kid });
    return key;
  }

  toJSON(): { activeKid: string; kids: string[] } {
    return { activeKid: this.activeKid, kids: this.kids };
  }

  toString(): string {
    return `Keyring(${this.kids.map((kid) => (kid === this.activeKid ? `*${kid}` : kid)).join(', ')})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** A new `kid:base64key` entry for STRATA_MASTER_KEYS, e.g. `mk-20250614-9f2c1a:…`. */
export const generateMasterKey = (kid?: string): string => {
  const id = kid ?? `mk-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
  if (!masterKidPattern.test(id)) throw keyringError('a key id must be 1-64 letters, digits, _ . -');
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
};

const keyringError = (problem: string): StrataError =>
  new StrataError('VALIDATION_FAILED', `STRATA_MASTER_KEYS ${problem}`);
