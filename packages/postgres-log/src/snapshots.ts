import type pg from 'pg';

/** A folded state of one scope as of a log position. What the state means is the core's business. */
export interface Snapshot<State = unknown> {
  scope: string;
  position: number;
  state: State;
}

/** Stores (or replaces) the state of `scope` as of `position`. Snapshots are derived and may be dropped. */
export const saveSnapshot = async (pool: pg.Pool, scope: string, position: number, state: unknown): Promise<void> => {
  await pool.query(
    `INSERT INTO strata.snapshots (scope, position, state) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (scope, position) DO UPDATE SET state = excluded.state, created_at = now()`,
    [scope, position, JSON.stringify(state)],
  );
};

/** A snapshot already serialized to JSON text (serialize early: a string costs the GC nothing to trace). */
export interface SerializedSnapshot {
  scope: string;
  position: number;
  json: string;
}

/**
 * Stores (or replaces) many snapshots in one statement: a fold over a long history produces
 * hundreds, and one round trip each would keep the pool busy long after the read answered.
 */
export const saveSnapshots = async (pool: pg.Pool, snapshots: readonly SerializedSnapshot[]): Promise<void> => {
  // ON CONFLICT DO UPDATE may not touch a row twice in one statement: the last of duplicates wins.
  const unique = new Map<string, SerializedSnapshot>();
  for (const s of snapshots) unique.set(`${s.position}@${s.scope}`, s);
  if (unique.size === 0) return;
  const rows = [...unique.values()];
  await pool.query(
    `INSERT INTO strata.snapshots (scope, position, state)
     SELECT scope, position, state::jsonb FROM unnest($1::text[], $2::bigint[], $3::text[]) AS s(scope, position, state)
     ON CONFLICT (scope, position) DO UPDATE SET state = excluded.state, created_at = now()`,
    [rows.map((r) => r.scope), rows.map((r) => r.position), rows.map((r) => r.json)],
  );
};

/**
 * The position of the latest snapshot of `scope` at or before `position`, or null. One probe of
 * the primary key (scope, position) that reads no state, so a caller holding that snapshot in
 * memory skips loading it.
 */
export const snapshotPositionAtOrBefore = async (
  pool: pg.Pool,
  scope: string,
  position: number,
): Promise<number | null> => {
  const { rows } = await pool.query<{ position: string }>(
    'SELECT position FROM strata.snapshots WHERE scope = $1 AND position <= $2 ORDER BY position DESC LIMIT 1',
    [scope, position],
  );
  return rows[0] ? Number(rows[0].position) : null;
};

/** The latest snapshot of `scope` taken at or before `position`, or null: fold the log from there. */
export const loadSnapshotAtOrBefore = async <State = unknown>(
  pool: pg.Pool,
  scope: string,
  position: number,
): Promise<Snapshot<State> | null> => {
  const { rows } = await pool.query<{ position: string; state: State }>(
    'SELECT position, state FROM strata.snapshots WHERE scope = $1 AND position <= $2 ORDER BY position DESC LIMIT 1',
    [scope, position],
  );
  const row = rows[0];
  return row ? { scope, position: Number(row.position), state: row.state } : null;
};
