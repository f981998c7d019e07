import { createTestDatabase } from '@strata/testing';
import pg from 'pg';
import { describe, onTestFinished } from 'vitest';
import { checkpointsContract } from './checkpoints-contract.js';
import { PostgresCheckpoints } from './postgres-checkpoints.js';

describe('PostgresCheckpoints', () => {
  // A database per test, as the application role: the migration's grants on strata.checkpoints are
  // tested too.
  checkpointsContract(async () => {
    const db = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: db.appUrl, max: 8 });
    onTestFinished(async () => {
      await pool.end();
      await db[Symbol.asyncDispose]();
    });
    return new PostgresCheckpoints(pool);
  });
});
