import type pg from 'pg';
import type { SerializedSnapshot, Snapshot, SnapshotStore } from '@strata/core';

/** Snapshots in `strata.snapshots` (migration 0002), keyed by (scope, position). */
export class PostgresSnapshotStore implements SnapshotStore {
  constructor(private readonly pool: pg.Pool) {}

  async positionAtOrBefore(scope: string, position: number): Promise<number | null> {
    // One probe of the primary key that reads no state.
    const { rows } = await this.pool.query<{ position: string }>(
      'SELECT position FROM strata.snapshots WHERE scope = $1 AND position <= $2 ORDER BY position DESC LIMIT 1',
      [scope, position],
    );
    return rows[0] ? Number(rows[0].position) : null;
  }

  async loadAtOrBefore<State = unknown>(scope: string, position: number): Promise<Snapshot<State> | null> {
    const { rows } = await this.pool.query<{ position: string; state: State }>(
      'SELECT position, state FROM strata.snapshots WHERE scope = $1 AND position <= $2 ORDER BY position DESC LIMIT 1',
      [scope, position],
    );
    const row = rows[0];
    return row ? { scope, position: Number(row.position), state: row.state } : null;
  }

  /** One statement for all of them: a fold over a long history produces hundreds. */
  async saveAll(snapshots: readonly SerializedSnapshot[]): Promise<void> {
    // ON CONFLICT DO UPDATE may not touch a row twice in one statement: the last of duplicates wins.
    const unique = new Map<string, SerializedSnapshot>();
    for (const s of snapshots) unique.set(`${s.position}@${s.scope}`, s);
    if (unique.size === 0) return;
    const rows = [...unique.values()];
    await this.pool.query(
      `INSERT INTO strata.snapshots (scope, position, state)
       SELECT scope, position, state::jsonb FROM unnest($1::text[], $2::bigint[], $3::text[]) AS s(scope, position, state)
       ON CONFLICT (scope, position) DO UPDATE SET state = excluded.state, created_at = now()`,
      [rows.map((r) => r.scope), rows.map((r) => r.position), rows.map((r) => r.json)],
    );
  }
}
