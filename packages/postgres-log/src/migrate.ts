import { readdir, readFile } from 'node:fs/promises';
import { StrataError } from '@strata/core';
import pg from 'pg';

const migrationsDirectory = new URL('../migrations/', import.meta.url);
const migrationFile = /^\d{4}_[a-z0-9_]+\.sql$/;
/** Any constant works; it only has to be the same in every process migrating this database. */
const migrationLockKey = 7_211_948_013;

/**
 * Applies every migration in `migrations/` not yet recorded in `strata.schema_migrations`, in name
 * order, each in its own transaction. Other packages add their own files to that folder (crypto
 * 0010_*, api 0020_*). Safe when several processes start at once: they queue on an advisory lock
 * (scoped to this database), and the later ones find nothing left to do. Run it as the owner.
 */
export const migrate = async (connectionString: string): Promise<{ applied: string[] }> => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS strata;
      CREATE TABLE IF NOT EXISTS strata.schema_migrations (
        name       text        PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      );`);
    const { rows } = await client.query<{ name: string }>('SELECT name FROM strata.schema_migrations');
    const done = new Set(rows.map((row) => row.name));
    const pending = (await readdir(migrationsDirectory))
      .filter((name) => migrationFile.test(name) && !done.has(name))
      .sort();
    const applied: string[] = [];
    for (const name of pending) {
      const sql = await readFile(new URL(name, migrationsDirectory), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO strata.schema_migrations (name) VALUES ($1)', [name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new StrataError(
          'INTERNAL',
          `migration ${name} failed: ${(error as Error).message}`,
          { migration: name },
          { cause: error },
        );
      }
      applied.push(name);
    }
    return { applied };
  } finally {
    // Ending the session releases the advisory lock even if unlocking is never reached.
    await client.end();
  }
};
