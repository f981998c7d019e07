import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { adminQuery, createTestDatabase, withDatabase } from '@strata/testing';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { migrate } from './migrate.js';

const shipped = new URL('../migrations/', import.meta.url);

/** A scratch database, dropped afterwards. */
const scratchDatabase = async (label: string) => {
  const { databaseUrl } = inject('services');
  const name = `strata_t_${inject('runId')}_${label}_${process.pid}`;
  await adminQuery(databaseUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(databaseUrl, name),
    async [Symbol.asyncDispose]() {
      await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
};

const query = async <R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
};

/** A copy of the shipped migrations that a test may edit. */
const editableMigrations = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-migrations-'));
  await cp(shipped, dir, { recursive: true });
  return {
    url: pathToFileURL(`${dir}/`),
    file: (name: string) => path.join(dir, name),
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('migrate', () => {
  it('applies every migration once, even when several processes start at once', async () => {
    await using db = await scratchDatabase('migrate');
    const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(db.url)));
    const files = (await readdir(shipped)).filter((f) => f.endsWith('.sql')).sort();
    expect(runs.flatMap((run) => run.applied).sort()).toEqual(files);
    expect(await migrate(db.url)).toEqual({ applied: [] });
    const rows = await query<{ name: string; checksum: string }>(
      db.url,
      'SELECT name, checksum FROM strata.schema_migrations ORDER BY name',
    );
    expect(rows.map((row) => row.name)).toEqual(files);
    for (const row of rows) expect(row.checksum).toBe(sha256(await readFile(new URL(row.name, shipped), 'utf8')));
  });

  it('finds nothing to do on a database cloned from the migrated template', async () => {
    await using db = await createTestDatabase();
    expect(await migrate(db.url)).toEqual({ applied: [] });
  });

  it('refuses to run when an applied migration was edited, naming the file, and applies nothing', async () => {
    await using db = await scratchDatabase('edited');
    await using dir = await editableMigrations();
    await migrate(db.url, { directory: dir.url });
    await appendFile(dir.file('0002_checkpoints_snapshots.sql'), '\n-- a later edit\n');
    await appendFile(dir.file('9999_later.sql'), 'CREATE TABLE strata.later (id int);\n');
    const refused = await migrate(db.url, { directory: dir.url }).catch((error: unknown) => error as Error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(
      /^migration 0002_checkpoints_snapshots\.sql was edited after it was applied/,
    );
    expect((refused as Error).message).not.toContain('\n');
    // Nothing after the check ran: the new file is still pending.
    expect(await query(db.url, "SELECT 1 FROM strata.schema_migrations WHERE name = '9999_later.sql'")).toEqual([]);
  });

  it('backfills checksums on a database migrated before they were recorded, then guards it', async () => {
    await using db = await scratchDatabase('backfill');
    await using dir = await editableMigrations();
    await migrate(db.url, { directory: dir.url });
    // What a database migrated by the previous runner looks like: no checksum column.
    await query(db.url, 'ALTER TABLE strata.schema_migrations DROP COLUMN checksum');
    expect(await migrate(db.url, { directory: dir.url })).toEqual({ applied: [] });
    const rows = await query<{ name: string; checksum: string | null }>(
      db.url,
      'SELECT name, checksum FROM strata.schema_migrations ORDER BY name',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.checksum).toBe(sha256(await readFile(dir.file(row.name), 'utf8')));
    await appendFile(dir.file('0001_event_log.sql'), '\n-- edited\n');
    await expect(migrate(db.url, { directory: dir.url })).rejects.toThrow(/migration 0001_event_log\.sql was edited/);
  });
});
