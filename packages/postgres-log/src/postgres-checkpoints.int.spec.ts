import { createTestDatabase, type TestDatabase } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { checkpointsContract } from './checkpoints-contract.js';
import { PostgresCheckpoints } from './postgres-checkpoints.js';

describe('PostgresCheckpoints', () => {
  let db: TestDatabase;
  /** As the application role, so the migration's grants on strata.checkpoints are tested too. */
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 8 });
  });

  afterAll(async () => {
    await pool.end();
    await db[Symbol.asyncDispose]();
  });

  checkpointsContract(() => new PostgresCheckpoints(pool));
});
