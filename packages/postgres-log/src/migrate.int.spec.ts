import { readdir } from 'node:fs/promises';
import { adminQuery, createTestDatabase, withDatabase } from '@strata/testing';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { migrate } from './migrate.js';

describe('migrate', () => {
  it('applies every migration once, even when several processes start at once', async () => {
    const { databaseUrl } = inject('services');
    const name = `strata_t_${inject('runId')}_migrate_${process.pid}`;
    await adminQuery(databaseUrl, `CREATE DATABASE "${name}"`);
    try {
      const url = withDatabase(databaseUrl, name);
      const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(url)));
      const files = (await readdir(new URL('../migrations/', import.meta.url)))
        .filter((f) => f.endsWith('.sql'))
        .sort();
      expect(runs.flatMap((run) => run.applied).sort()).toEqual(files);
      expect(await migrate(url)).toEqual({ applied: [] });

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(
          'SELECT name FROM strata.schema_migrations ORDER BY name',
        );
        expect(rows.map((row) => row.name)).toEqual(files);
      } finally {
        await client.end();
      }
    } finally {
      await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });

  it('finds nothing to do on a database cloned from the migrated template', async () => {
    await using db = await createTestDatabase();
    expect(await migrate(db.url)).toEqual({ applied: [] });
  });
});
