import pg from 'pg';
import { inject } from 'vitest';
import { adminQuery, waitUntilUnused } from './scratch.js';

export interface TestDatabase extends AsyncDisposable {
  name: string;
  /** As the superuser that owns the schema (migrations, tamper tests). */
  url: string;
  /** As the application role `strata_app`: INSERT and SELECT on the log, nothing more. */
  appUrl: string;
}

const withDatabase = (url: string, database: string, user?: string): string => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user) {
    parsed.username = user;
    parsed.password = '';
  }
  return parsed.toString();
};

let counter = 0;

/** A fresh database for one spec file, cloned from the template the global setup migrated. */
export const createTestDatabase = async (): Promise<TestDatabase> => {
  const { databaseUrl } = inject('services');
  const template = inject('templateDatabase');
  const name = `${template.replace(/_template$/, '')}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(databaseUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    name,
    url: withDatabase(databaseUrl, name),
    appUrl: withDatabase(databaseUrl, name, 'strata_app'),
    async [Symbol.asyncDispose]() {
      await waitUntilUnused(databaseUrl, name, 3_000);
      await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
};

export interface TestPools extends AsyncDisposable {
  db: TestDatabase;
  /** Connected as the superuser that owns the schema. */
  owner: pg.Pool;
  /** Connected as `strata_app`; its connection errors are swallowed (specs drop connections on purpose). */
  app: pg.Pool;
}

/** A fresh database with an owner pool and an application-role pool; both ended and the database dropped on dispose. */
export const createTestPools = async (options: { ownerMax?: number; appMax?: number } = {}): Promise<TestPools> => {
  const db = await createTestDatabase();
  const owner = new pg.Pool({ connectionString: db.url, max: options.ownerMax ?? 2 });
  const app = new pg.Pool({ connectionString: db.appUrl, max: options.appMax ?? 4 });
  app.on('error', () => undefined);
  return {
    db,
    owner,
    app,
    async [Symbol.asyncDispose]() {
      await app.end();
      await owner.end();
      await db[Symbol.asyncDispose]();
    },
  };
};

export { withDatabase };
