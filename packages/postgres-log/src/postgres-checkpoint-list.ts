import type pg from 'pg';
import type { CheckpointRecord, CheckpointList } from '@strata/core';

/** The consumers' positions in `strata.checkpoints` (migration 0002). */
export class PostgresCheckpointList implements CheckpointList {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<CheckpointRecord[]> {
    const { rows } = await this.pool.query<{ name: string; position: string; updated_at: Date }>(
      'SELECT name, position, updated_at FROM strata.checkpoints ORDER BY name',
    );
    return rows.map((row) => ({
      name: row.name,
      position: Number(row.position),
      updatedAt: row.updated_at.toISOString(),
    }));
  }
}
