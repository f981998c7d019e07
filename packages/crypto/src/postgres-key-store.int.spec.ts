import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@strata/testing';
import { contractKeyring, expectStrataError, keyStoreContract } from './key-store-contract.js';
import { Keyring } from './keyring.js';
import { PostgresKeyStore } from './postgres-key-store.js';
import { SecretCipher } from './secret-cipher.js';

const MARKER = 'MARKER-7f3a-plaintext';
const scope = (tenant: string | null, name = 'db.password') => ({
  namespace: 'shelfwise',
  environment: 'prod',
  tenant,
  name,
  version: 1,
});

describe('PostgresKeyStore', () => {
  let db: TestDatabase;
  /** Everything runs as the application role, so the migration's grants are tested too. */
  let app: pg.Pool;
  let owner: pg.Pool;
  const pools: pg.Pool[] = [];
  const appPool = () => {
    const pool = new pg.Pool({ connectionString: db.appUrl, max: 8 });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = appPool();
    owner = new pg.Pool({ connectionString: db.url, max: 2 });
    pools.push(owner);
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await db[Symbol.asyncDispose]();
  });

  describe('contract', () => {
    // Each case gets its own namespace rows via a fresh table state.
    keyStoreContract(async (keyring) => {
      await owner.query('ALTER TABLE strata.tenant_keys DISABLE TRIGGER tenant_keys_guard');
      await owner.query('DELETE FROM strata.tenant_keys');
      await owner.query('ALTER TABLE strata.tenant_keys ENABLE TRIGGER tenant_keys_guard');
      return new PostgresKeyStore(app, keyring);
    });
  });

  it('creates a tenant KEK exactly once when many processes race for it', async () => {
    const stores = Array.from({ length: 4 }, () => new PostgresKeyStore(appPool(), contractKeyring()));
    const keks = await Promise.all(
      stores.flatMap((store) => Array.from({ length: 8 }, () => store.kekFor('race-ns', 'tenant-1'))),
    );
    expect(new Set(keks.map((kek) => kek.id)).size).toBe(1);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM strata.tenant_keys WHERE namespace = 'race-ns'`);
    expect(rows[0].n).toBe(1);
  });

  it('makes a shred visible to other processes within the cache lifetime', async () => {
    const writer = new SecretCipher(new PostgresKeyStore(app, contractKeyring()));
    const uncached = new PostgresKeyStore(appPool(), contractKeyring(), { cacheTtlMs: 0 });
    const cached = new PostgresKeyStore(appPool(), contractKeyring(), { cacheTtlMs: 60_000 });
    const envelope = await writer.seal({ ...scope('cache-tenant'), plaintext: MARKER });
    await cached.resolve(envelope.kek);

    expect(await new PostgresKeyStore(app, contractKeyring()).shred('shelfwise', 'cache-tenant')).toBe(envelope.kek);
    await expectStrataError(new SecretCipher(uncached).open(envelope, scope('cache-tenant')), 'KEY_SHREDDED', [MARKER]);
    // Documented trade-off: a process that unwrapped the KEK recently may serve it until its TTL ends.
    expect((await new SecretCipher(cached).open(envelope, scope('cache-tenant'))).reveal()).toBe(MARKER);
  });

  it('after rotation, decrypts with only the new master key and not at all with only the old one', async () => {
    const [oldKey, newKey] = [Buffer.alloc(32, 11), Buffer.alloc(32, 12)];
    const before = new Keyring([['rot-old', oldKey]]);
    const both = new Keyring([
      ['rot-new', newKey],
      ['rot-old', oldKey],
    ]);
    const cipher = new SecretCipher(new PostgresKeyStore(app, before));
    const envelope = await cipher.seal({ ...scope('rot-tenant'), plaintext: MARKER });

    const rewrapped = await new PostgresKeyStore(app, both, { rewrapBatchSize: 1 }).rewrapAll('rot-old', 'rot-new');
    expect(rewrapped).toContain(envelope.kek);
    expect(await new PostgresKeyStore(app, both).keysWrappedBy('rot-old')).toEqual([]);

    const onlyNew = new SecretCipher(new PostgresKeyStore(app, new Keyring([['rot-new', newKey]])));
    expect((await onlyNew.open(envelope, scope('rot-tenant'))).reveal()).toBe(MARKER);
    const onlyOld = new SecretCipher(new PostgresKeyStore(app, before, { cacheTtlMs: 0 }));
    await expectStrataError(onlyOld.open(envelope, scope('rot-tenant')), 'KEY_NOT_FOUND', [MARKER]);
  });

  it('fails closed with DECRYPTION_FAILED under the wrong master key bytes for the same kid', async () => {
    const envelope = await new SecretCipher(
      new PostgresKeyStore(app, new Keyring([['mk-x', Buffer.alloc(32, 21)]])),
    ).seal({
      ...scope('wrong-master'),
      plaintext: MARKER,
    });
    const impostor = new SecretCipher(new PostgresKeyStore(app, new Keyring([['mk-x', Buffer.alloc(32, 22)]])));
    const error = await expectStrataError(impostor.open(envelope, scope('wrong-master')), 'DECRYPTION_FAILED', [
      MARKER,
    ]);
    expect(error.message).not.toContain(Buffer.alloc(32, 21).toString('base64'));
  });

  it('keeps plaintext and unwrapped keys out of the tenant_keys table dump', async () => {
    const keyring = contractKeyring();
    const store = new PostgresKeyStore(app, keyring);
    const cipher = new SecretCipher(store);
    await cipher.seal({ ...scope('dump-tenant'), plaintext: MARKER });
    await cipher.seal({ ...scope(null, 'env.secret'), plaintext: MARKER });
    const kek = await store.kekFor('shelfwise', 'dump-tenant');
    await store.shred('shelfwise', 'dump-tenant');

    const dump = execFileSync('pg_dump', ['--data-only', '--table=strata.tenant_keys', db.url], { encoding: 'utf8' });
    expect(dump).toContain(kek.id);
    const rows = JSON.stringify((await owner.query('SELECT * FROM strata.tenant_keys')).rows);
    for (const text of [dump, rows]) {
      expect(text).not.toContain(MARKER);
      expect(text).not.toContain(Buffer.from(MARKER).toString('base64').slice(0, 16));
      expect(text).not.toContain(Buffer.from(kek.key).toString('base64'));
      expect(text).not.toContain(Buffer.from(kek.key).toString('hex'));
      for (const kid of keyring.kids) expect(text).not.toContain(keyring.key(kid).toString('base64'));
    }
  });

  it('lets nobody delete a key or bring a shredded one back, and the app role only the wrapping columns', async () => {
    const store = new PostgresKeyStore(app, contractKeyring());
    const { id } = await store.kekFor('guard-ns', 'guard-tenant');
    const live = await owner.query('SELECT wrapped_key, wrapped_by FROM strata.tenant_keys WHERE key_id = $1', [id]);
    await expect(app.query('DELETE FROM strata.tenant_keys WHERE key_id = $1', [id])).rejects.toThrow(
      /permission denied/,
    );
    await expect(
      app.query(`UPDATE strata.tenant_keys SET tenant = 'someone-else' WHERE key_id = $1`, [id]),
    ).rejects.toThrow(/permission denied/);
    await expect(
      owner.query(`UPDATE strata.tenant_keys SET tenant = 'someone-else' WHERE key_id = $1`, [id]),
    ).rejects.toThrow(/identity/);
    await expect(owner.query('DELETE FROM strata.tenant_keys WHERE key_id = $1', [id])).rejects.toThrow(
      /never deleted/,
    );

    await store.shred('guard-ns', 'guard-tenant');
    await expect(
      owner.query(
        'UPDATE strata.tenant_keys SET wrapped_key = $2, wrapped_by = $3, shredded_at = NULL WHERE key_id = $1',
        [id, live.rows[0].wrapped_key, live.rows[0].wrapped_by],
      ),
    ).rejects.toThrow(/shredded/);
    await expectStrataError(store.resolve(id), 'KEY_SHREDDED');
  });
});
