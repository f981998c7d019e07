import type { NewEvent, ProjectedEvent, RecordedEvent } from '@strata/core';

/** A row of `strata.events` as the log's readers select it; it never leaves this package. */
export interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: NewEvent['metadata'];
  /** Already ISO 8601 in UTC with milliseconds, as `Date.prototype.toISOString` writes it. */
  recorded_at: string;
  hash: string;
}

/**
 * `recorded_at` is formatted by PostgreSQL exactly as `strata.append_batch` formats it for the hash
 * chain (UTC, milliseconds, truncated), the same text `Date.prototype.toISOString` gives: letting
 * the driver parse a timestamptz into a Date and printing it again costs ~5 µs per row.
 */
const recordedAt = `to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at`;

export const eventColumns = `position, event_id, stream_id, stream_version, type, schema_version, data, metadata, ${recordedAt}, hash`;

/**
 * The columns a view is built from, in `ViewRow`'s order: a rebuild selects these only, as arrays
 * (`rowMode: 'array'`), so the driver neither decodes the ids, metadata and hash nor builds an
 * object per row.
 */
export const viewColumns = `position, type, schema_version, data, ${recordedAt}`;

/** A row of `viewColumns` in array mode; it never leaves this package. */
export type ViewRow = [position: string, type: string, schemaVersion: number, data: unknown, recordedAt: string];

/** The event a row holds, in its stored schema version (readers upcast it, the hash covers it as stored). */
export const eventOfRow = (row: EventRow): RecordedEvent =>
  ({
    position: Number(row.position),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
    hash: row.hash,
  }) as RecordedEvent;

/** The projected event a `viewColumns` row holds, in its stored schema version. */
export const projectedOfRow = (row: ViewRow): ProjectedEvent =>
  ({
    position: Number(row[0]),
    type: row[1],
    schemaVersion: row[2],
    data: row[3],
    recordedAt: row[4],
  }) as ProjectedEvent;
