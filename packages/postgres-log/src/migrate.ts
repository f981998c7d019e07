import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { StrataError } from '@strata/core';
import pg from 'pg';

const migrationsDirectory = new URL('../migrations/', import.meta.url);
const migrationFile = /^\d{4}_[a-z0-9_]+\.sql$/;
/** Any constant works; it only has to be the same in every process migrating this database. */
const migrationLockKey = 7_211_948_013;

export interface MigrateOptions {
  /** Folder of the migration files (default: this package's `migrations/`); tests point it at a copy. */
  directory?: URL;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Applies every migration in `migrations/` not yet recorded in `strata.schema_migrations`, in name
 * order, each in its own transaction. Other packages add their own files to that folder (crypto
 * 0010_*, api 0020_*). Safe when several processes start at once: they queue on an advisory lock
 * (scoped to this database), and the later ones find nothing left to do. Run it as the owner.
 *
 * Each applied file's sha256 is recorded with it, and a file edited after it was applied stops
 * the run before anything is applied: the database holds what the old text did, so the edit would
 * silently never run here while running on every new database. Databases migrated before
 * checksums existed get the current files' checksums recorded on their first run.
 */
export const migrate = async (
  connectionString: string,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> => {
  const directory = options.directory ?? migrationsDirectory;
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`
      CREATE SCHEMA IF NOT EXISTS strata;
      CREATE TABLE IF NOT EXISTS strata.schema_migrations (
        name       text        PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE strata.schema_migrations ADD COLUMN IF NOT EXISTS checksum text;`);
    const files = new Map<string, string>();
    for (const name of (await readdir(directory)).filter((n) => migrationFile.test(n)).sort())
      files.set(name, await readFile(new URL(name, directory), 'utf8'));

    const { rows } = await client.query<{ name: string; checksum: string | null }>(
      'SELECT name, checksum FROM strata.schema_migrations',
    );
    const done = new Set(rows.map((row) => row.name));
    for (const { name, checksum } of rows) {
      const text = files.get(name);
      // A file this code base no longer ships (a newer release migrated) is not ours to judge.
      if (text === undefined) continue;
      if (checksum === null) {
        await client.query('UPDATE strata.schema_migrations SET checksum = $2 WHERE name = $1', [name, sha256(text)]);
      } else if (checksum !== sha256(text)) {
        throw new StrataError(
          'INTERNAL',
          `migration ${name} was edited after it was applied (sha256 ${checksum.slice(0, 12)}… recorded, ${sha256(text).slice(0, 12)}… on disk): restore it and put the change in a new migration`,
          { migration: name },
        );
      }
    }

    const applied: string[] = [];
    for (const [name, sql] of files) {
      if (done.has(name)) continue;
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO strata.schema_migrations (name, checksum) VALUES ($1, $2)', [
          name,
          sha256(sql),
        ]);
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

/** A readiness probe: throws unless PostgreSQL answers and migration `name` is recorded as applied. */
export const assertMigrated = async (pool: pg.Pool, name: string): Promise<void> => {
  const { rows } = await pool.query('SELECT 1 FROM strata.schema_migrations WHERE name = $1', [name]);
  if (rows.length === 0) throw new Error('migrations not applied');
};
