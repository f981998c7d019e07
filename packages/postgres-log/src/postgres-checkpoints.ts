import type { CheckpointRecord, Checkpoints } from '@strata/core';
import type pg from 'pg';

/** Named statements: parsed once per connection, one generic plan (see the event log's hot reads). */
const loadQuery = { name: 'strata_checkpoint_load', text: 'SELECT position FROM strata.checkpoints WHERE name = $1' };
const saveQuery = {
  name: 'strata_checkpoint_save',
  text: `INSERT INTO strata.checkpoints (name, position, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
};

/**
 * Checkpoints as rows of `strata.checkpoints`. On a pool for any consumer; on one held session
 * (`pg.PoolClient`) when a lease fences the writes to that session.
 */
export class PostgresCheckpoints implements Checkpoints {
  constructor(private readonly db: pg.Pool | pg.PoolClient) {}

  async load(name: string): Promise<number> {
    const { rows } = await this.db.query<{ position: string }>({ ...loadQuery, values: [name] });
    return Number(rows[0]?.position ?? 0);
  }

  async save(name: string, position: number): Promise<void> {
    await this.db.query({ ...saveQuery, values: [name, position] });
  }

  async list(): Promise<CheckpointRecord[]> {
    const { rows } = await this.db.query<{ name: string; position: string; updated_at: Date }>(
      'SELECT name, position, updated_at FROM strata.checkpoints ORDER BY name COLLATE "C"',
    );
    return rows.map((row) => ({
      name: row.name,
      position: Number(row.position),
      updatedAt: row.updated_at.toISOString(),
    }));
  }
}
