import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import { secretAccessLogContract, snapshotStoreContract, tokenStoreContract } from '@strata/core/testing';
import { createTestDatabase, type TestDatabase } from '@strata/testing';
import { PostgresSecretAccessLog } from './postgres-secret-access-log.js';
import { PostgresSnapshotStore } from './postgres-snapshot-store.js';
import { PostgresTokenStore } from './postgres-token-store.js';

let db: TestDatabase;
/** The application role, as the API runs: the migrations' grants are tested too. */
let app: pg.Pool;
/** The owner: reads back what the adapters wrote. */
let owner: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  app = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  owner = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await app.end();
  await owner.end();
  await db[Symbol.asyncDispose]();
});

tokenStoreContract('PostgreSQL', () => new PostgresTokenStore(app));

secretAccessLogContract('PostgreSQL', () => ({
  log: new PostgresSecretAccessLog(app),
  read: async (prefix) => {
    const { rows } = await owner.query(
      `SELECT actor, token_id AS "tokenId", namespace, environment, tenant, name, version, ip, user_agent AS "userAgent",
              request_id AS "requestId"
         FROM strata.secret_access_log WHERE starts_with(request_id, $1) ORDER BY id`,
      [prefix],
    );
    return rows;
  },
}));

snapshotStoreContract('PostgreSQL', () => new PostgresSnapshotStore(app));
