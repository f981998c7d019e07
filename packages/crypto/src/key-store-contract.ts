import { expect, it } from 'vitest';
import { isStrataError, type StrataErrorCode } from '@strata/core';
import type { KeyStore } from './key-store.js';
import { Keyring } from './keyring.js';
import { SecretCipher } from './secret-cipher.js';

/** Two master keys, `old` active: enough to exercise rotation. */
export const contractKeyring = (): Keyring =>
  new Keyring([
    ['mk-old', Buffer.alloc(32, 1)],
    ['mk-new', Buffer.alloc(32, 2)],
  ]);

export const expectStrataError = async (promise: Promise<unknown>, code: StrataErrorCode, forbidden: string[] = []) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isStrataError(error)) throw new Error(`expected StrataError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  const shown = `${error.message} ${JSON.stringify(error.details ?? {})} ${String(error.stack)}`;
  for (const text of forbidden) expect(shown).not.toContain(text);
  return error;
};

const scope = (tenant: string | null, version = 1) => ({
  namespace: 'shelfwise',
  environment: 'prod',
  tenant,
  name: 'db.password',
  version,
});

/**
 * Behaviour every KeyStore must have, run against each implementation (in-memory in a unit spec,
 * PostgreSQL in an int spec). `create` gets a keyring with `mk-old` active and `mk-new`.
 */
export const keyStoreContract = (create: (keyring: Keyring) => Promise<KeyStore> | KeyStore) => {
  it('gives each tenant one stable KEK, separate from the namespace KEK', async () => {
    const store = await create(contractKeyring());
    const a1 = await store.kekFor('shelfwise', 'acme');
    const a2 = await store.kekFor('shelfwise', 'acme');
    const b = await store.kekFor('shelfwise', 'globex');
    const ns = await store.kekFor('shelfwise', null);
    const other = await store.kekFor('other-app', 'acme');
    expect(a2.id).toBe(a1.id);
    expect(Buffer.from(a2.key).equals(Buffer.from(a1.key))).toBe(true);
    expect(new Set([a1.id, b.id, ns.id, other.id]).size).toBe(4);
    expect(Buffer.from(await store.resolve(a1.id)).equals(Buffer.from(a1.key))).toBe(true);
  });

  it('creates a tenant KEK once under concurrent first use', async () => {
    const store = await create(contractKeyring());
    const keks = await Promise.all(Array.from({ length: 16 }, () => store.kekFor('shelfwise', 'race')));
    expect(new Set(keks.map((kek) => kek.id)).size).toBe(1);
  });

  it('answers KEY_NOT_FOUND for an unknown KEK id', async () => {
    const store = await create(contractKeyring());
    await expectStrataError(
      Promise.resolve().then(() => store.resolve('tk_nope')),
      'KEY_NOT_FOUND',
    );
  });

  it("shreds one tenant: its envelopes fail with KEY_SHREDDED, other tenants' still open", async () => {
    const store = await create(contractKeyring());
    const cipher = new SecretCipher(store);
    const acme = await cipher.seal({ ...scope('acme'), plaintext: 'acme-secret' });
    const globex = await cipher.seal({ ...scope('globex'), plaintext: 'globex-secret' });
    const env = await cipher.seal({ ...scope(null), plaintext: 'env-secret' });

    const shredded = await store.shred('shelfwise', 'acme');
    expect(shredded).toBe(acme.kek);
    await expectStrataError(cipher.open(acme, scope('acme')), 'KEY_SHREDDED', ['acme-secret']);
    expect((await cipher.open(globex, scope('globex'))).reveal()).toBe('globex-secret');
    expect((await cipher.open(env, scope(null))).reveal()).toBe('env-secret');
    expect(await store.shred('shelfwise', 'acme')).toBeNull();

    // The tenant may come back; it gets a new key and the old envelopes stay dead.
    const again = await cipher.seal({ ...scope('acme', 2), plaintext: 'acme-new' });
    expect(again.kek).not.toBe(acme.kek);
    expect((await cipher.open(again, scope('acme', 2))).reveal()).toBe('acme-new');
    await expectStrataError(cipher.open(acme, scope('acme')), 'KEY_SHREDDED');
  });

  it('re-wraps every live KEK on master rotation and then reports nothing under the old kid', async () => {
    const store = await create(contractKeyring());
    const cipher = new SecretCipher(store);
    const sealed = await Promise.all(
      ['t1', 't2', 't3'].map(async (tenant) => ({
        tenant,
        envelope: await cipher.seal({ ...scope(tenant), plaintext: `v-${tenant}` }),
      })),
    );
    await store.shred('shelfwise', 't3');
    const live = sealed
      .filter(({ tenant }) => tenant !== 't3')
      .map(({ envelope }) => envelope.kek)
      .sort();
    expect(await store.keysWrappedBy('mk-old')).toEqual(live);

    expect((await store.rewrapAll('mk-old', 'mk-new')).sort()).toEqual(live);
    expect(await store.keysWrappedBy('mk-old')).toEqual([]);
    expect(await store.keysWrappedBy('mk-new')).toEqual(live);
    expect(await store.rewrapAll('mk-old', 'mk-new')).toEqual([]);
    for (const { tenant, envelope } of sealed.slice(0, 2))
      expect((await cipher.open(envelope, scope(tenant))).reveal()).toBe(`v-${tenant}`);
    await expectStrataError(store.rewrapAll('mk-new', 'mk-missing'), 'KEY_NOT_FOUND');
    await expectStrataError(store.rewrapAll('mk-new', 'mk-new'), 'BAD_REQUEST');
  });
};
