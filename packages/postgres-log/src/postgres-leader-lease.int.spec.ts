import { createTestDatabase, type TestDatabase } from '@strata/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { leaderLeaseContract } from './leader-lease-contract.js';
import { PostgresCheckpoints } from './postgres-checkpoints.js';
import { PostgresLeaderLease } from './postgres-leader-lease.js';

describe('PostgresLeaderLease', () => {
  let db: TestDatabase;
  let admin: pg.Pool;
  let app: pg.Pool;
  let candidates = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    admin = new pg.Pool({ connectionString: db.url, max: 2 });
    app = new pg.Pool({ connectionString: db.appUrl, max: 2 });
  });

  afterAll(async () => {
    await Promise.all([admin.end(), app.end()]);
    await db[Symbol.asyncDispose]();
  });

  // Each candidate is its own pool and session (as the application role), told apart by its name in
  // pg_stat_activity; severing one terminates its backend as an operator or a failover would.
  leaderLeaseContract(async () => {
    const made = new Map<PostgresLeaderLease, string>();
    return {
      candidate() {
        const applicationName = `lease-contract-${(candidates += 1)}`;
        const candidate = new PostgresLeaderLease(db.appUrl, {
          applicationName,
          renewEveryMs: 100,
          onError: () => undefined,
        });
        made.set(candidate, applicationName);
        return candidate;
      },
      async sever(candidate) {
        await admin.query(
          `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = $1`,
          [made.get(candidate)],
        );
      },
      checkpoints: new PostgresCheckpoints(app),
      async [Symbol.asyncDispose]() {
        await Promise.all([...made.keys()].map((candidate) => candidate.close()));
      },
    };
  });
});
