import { describe, expect, it } from 'vitest';
import type { NewTokenRecord, TokenStore } from '../ports.js';
import type { Create } from './create.js';
import { expectStrataError } from './expect-strata-error.js';

let made = 0;
/** Ids, hashes and namespaces unique across cases: implementations may share one database. */
const unique = () => `${Date.now().toString(36)}${(made++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const hashOf = (text: string): Uint8Array => new TextEncoder().encode(text.padEnd(32, '#').slice(0, 32));

const newToken = (namespace: string, overrides: Partial<NewTokenRecord> = {}): NewTokenRecord => {
  const id = `tok_${unique()}`;
  return {
    id,
    tokenHash: hashOf(id),
    role: 'reader',
    namespace,
    environment: 'prod',
    tenant: null,
    description: 'contract',
    createdBy: 'admin',
    expiresAt: null,
    ...overrides,
  };
};

const hour = 3_600_000;
const inHours = (hours: number) => new Date(Date.now() + hours * hour).toISOString();

/**
 * Behaviour every TokenStore must have, run against each implementation (in memory in a unit
 * spec, PostgreSQL in an int spec). The clock of an implementation that has one is the real time.
 */
export const tokenStoreContract = (name: string, create: Create<TokenStore>) =>
  describe(`TokenStore contract: ${name}`, () => {
    it('finds a stored token by its hash, never by anything else', async () => {
      const store = await create();
      const ns = `ns-${unique()}`;
      const token = newToken(ns, { tenant: 'acme', expiresAt: inHours(1) });
      const record = await store.insert(token);
      expect(record).toMatchObject({
        id: token.id,
        role: 'reader',
        namespace: ns,
        environment: 'prod',
        tenant: 'acme',
        description: 'contract',
        createdBy: 'admin',
        revokedAt: null,
        rotatedTo: null,
      });
      expect(Date.parse(record.expiresAt!)).toBe(Date.parse(token.expiresAt!));
      expect(Number.isNaN(Date.parse(record.createdAt))).toBe(false);
      expect(JSON.stringify(record)).not.toContain('tokenHash');
      expect(await store.findByHash(token.tokenHash)).toEqual(record);
      expect(await store.findByHash(hashOf(`other-${unique()}`))).toBeNull();
    });

    it('finds an expired token (the caller says it expired) but lists only live ones', async () => {
      const store = await create();
      const ns = `ns-${unique()}`;
      const expired = await store.insert(newToken(ns, { expiresAt: inHours(-1) }));
      const live = await store.insert(newToken(ns, { expiresAt: inHours(1) }));
      const forever = await store.insert(newToken(ns));
      expect((await store.findByHash(hashOf(expired.id)))?.id).toBe(expired.id);
      expect((await store.list({ namespace: ns })).map((t) => t.id)).toEqual([live.id, forever.id]);
      expect((await store.list({ namespace: ns, includeRevoked: true })).map((t) => t.id)).toEqual([
        expired.id,
        live.id,
        forever.id,
      ]);
      // By id, whatever its state.
      expect((await store.list({ id: expired.id })).map((t) => t.id)).toEqual([expired.id]);
      expect(await store.list({ id: `tok_${unique()}` })).toEqual([]);
    });

    it('revokes once: the token is no longer found, and a second revoke is NOT_FOUND', async () => {
      const store = await create();
      const ns = `ns-${unique()}`;
      const token = newToken(ns);
      await store.insert(token);
      await store.revoke(token.id, 'admin');
      expect(await store.findByHash(token.tokenHash)).toBeNull();
      expect(await store.list({ namespace: ns })).toEqual([]);
      const [revoked] = await store.list({ id: token.id });
      expect(revoked?.revokedAt).not.toBeNull();
      await expectStrataError(store.revoke(token.id, 'admin'), 'NOT_FOUND');
      await expectStrataError(store.revoke(`tok_${unique()}`, 'admin'), 'NOT_FOUND');
    });

    it('rotates to a successor with the same role and scope, shortening (never lengthening) the old expiry', async () => {
      const store = await create();
      const ns = `ns-${unique()}`;
      const old = await store.insert(newToken(ns, { role: 'writer', tenant: 'acme', description: 'ci' }));
      const successor = {
        id: `tok_${unique()}`,
        tokenHash: hashOf(`succ-${unique()}`),
        createdBy: 'ops',
        expiresAt: null,
      };
      const until = inHours(1);
      const { previous, record } = await store.rotate(old.id, successor, until);
      expect(record).toMatchObject({
        id: successor.id,
        role: 'writer',
        namespace: ns,
        environment: 'prod',
        tenant: 'acme',
        description: 'ci',
        createdBy: 'ops',
        expiresAt: null,
        rotatedTo: null,
      });
      expect(previous).toMatchObject({ id: old.id, rotatedTo: successor.id });
      expect(Date.parse(previous.expiresAt!)).toBe(Date.parse(until));
      expect((await store.findByHash(successor.tokenHash))?.id).toBe(successor.id);
      expect((await store.findByHash(hashOf(old.id)))?.rotatedTo).toBe(successor.id);

      await expectStrataError(
        store.rotate(old.id, { ...successor, id: `tok_${unique()}`, tokenHash: hashOf(unique()) }, until),
        'VERSION_CONFLICT',
      );
      // A successor's own rotation cannot lengthen what its predecessor had.
      const soon = inHours(2);
      const next = { id: `tok_${unique()}`, tokenHash: hashOf(`next-${unique()}`), createdBy: 'ops', expiresAt: null };
      const short = await store.insert(newToken(ns, { expiresAt: soon }));
      const rotated = await store.rotate(short.id, next, inHours(5));
      expect(Date.parse(rotated.previous.expiresAt!)).toBe(Date.parse(soon));
    });

    it('refuses to rotate a token that is not live, and stores nothing then', async () => {
      const store = await create();
      const ns = `ns-${unique()}`;
      const expired = await store.insert(newToken(ns, { expiresAt: inHours(-1) }));
      const revoked = await store.insert(newToken(ns));
      await store.revoke(revoked.id, 'admin');
      for (const id of [expired.id, revoked.id, `tok_${unique()}`]) {
        const successor = { id: `tok_${unique()}`, tokenHash: hashOf(unique()), createdBy: 'ops', expiresAt: null };
        await expectStrataError(store.rotate(id, successor, inHours(1)), 'NOT_FOUND');
        expect(await store.list({ id: successor.id })).toEqual([]);
      }
    });
  });
