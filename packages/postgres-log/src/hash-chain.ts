import { createHash } from 'node:crypto';
import type pg from 'pg';
import { eventColumns, eventOfRow, type EventRow } from './event-row.js';
import type { ChainVerification } from '@strata/core';

/** The hash before the first event: the chain starts from 64 zeros. */
export const genesisHash = '0'.repeat(64);

/**
 * JSON with object keys sorted (by UTF-16 code unit, like `Array.prototype.sort`) and no
 * whitespace. Values go through the same rules as `JSON.stringify` (undefined members dropped),
 * so data round-tripped through jsonb canonicalises to the same text it had before the insert.
 */
export const canonicalJson = (value: unknown): string => canonicalMember(value) ?? 'null';

/** Written for speed (verifyChain runs it on every event): string concatenation, no intermediate arrays. */
const canonicalMember = (value: unknown): string | undefined => {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) out += (i === 0 ? '' : ',') + (canonicalMember(value[i]) ?? 'null');
        return `${out}]`;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
        return canonicalMember(JSON.parse(JSON.stringify(value)));
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      if (keys.length > 1) keys.sort();
      let out = '{';
      for (const key of keys) {
        const member = canonicalMember(record[key]);
        if (member === undefined) continue;
        out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + member;
      }
      return `${out}}`;
    }
    case 'bigint':
      // Same as JSON.stringify: a bigint has no JSON form.
      throw new TypeError('canonicalJson cannot serialise a BigInt');
    default:
      return undefined;
  }
};

/** What the hash covers: everything that makes an event, in the form the log stores it. */
export interface ChainedEvent {
  position: number;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  /** ISO 8601 with milliseconds, as `Date.prototype.toISOString` writes it. */
  recordedAt: string;
}

/**
 * hex sha256(previous hash || canonical JSON of the event). `strata.append_batch` computes the same
 * when it appends (migrations/0007 assembles the canonical JSON around the values it assigns).
 */
export const chainHash = (previousHash: string, event: ChainedEvent): string =>
  createHash('sha256')
    .update(previousHash)
    .update(
      canonicalJson({
        position: event.position,
        eventId: event.eventId,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
        recordedAt: event.recordedAt,
      }),
    )
    .digest('hex');

export type { ChainVerification } from '@strata/core';

const pageSize = 5_000;

/**
 * Recomputes the hash chain over positions `from`..`to` (default: the whole log) and compares
 * it with the stored hashes. A changed event breaks its own hash; a removed one breaks the
 * position sequence; a removed tail no longer matches `strata.log_head`. The first bad position
 * is named so an auditor knows where to look.
 */
export const verifyChain = async (
  pool: pg.Pool,
  range: { from?: number; to?: number } = {},
): Promise<ChainVerification> => {
  const head = await pool.query<{ position: string; hash: string }>(
    'SELECT position, hash FROM strata.log_head WHERE id = 1',
  );
  const headPosition = Number(head.rows[0]?.position ?? 0);
  const from = Math.max(1, range.from ?? 1);
  const to = Math.min(range.to ?? headPosition, headPosition);
  let previousHash = genesisHash;
  if (from > 1) {
    const previous = await pool.query<{ hash: string }>('SELECT hash FROM strata.events WHERE position = $1', [
      from - 1,
    ]);
    const stored = previous.rows[0];
    if (!stored) return { ok: false, firstBadPosition: from - 1, checked: 0 };
    previousHash = stored.hash;
  }
  const page = (start: number) =>
    start > to
      ? Promise.resolve([])
      : pool
          .query<EventRow>(
            `SELECT ${eventColumns} FROM strata.events WHERE position >= $1 AND position <= $2 ORDER BY position`,
            [start, Math.min(to, start + pageSize - 1)],
          )
          .then((result) => result.rows);
  let expected = from;
  let checked = 0;
  let next = page(expected);
  while (expected <= to) {
    const rows = await next;
    // Fetch the following page while this one is hashed: the database and Node work in parallel.
    next = page(expected + pageSize);
    if (rows.length === 0) {
      await next.catch(() => undefined);
      return { ok: false, firstBadPosition: expected, checked };
    }
    for (const row of rows) {
      const position = Number(row.position);
      const hash = position === expected ? chainHash(previousHash, eventOfRow(row)) : undefined;
      if (hash === undefined || hash !== row.hash) {
        await next.catch(() => undefined);
        return { ok: false, firstBadPosition: expected, checked };
      }
      previousHash = hash;
      expected += 1;
      checked += 1;
    }
    if (expected <= to && rows.length < pageSize) {
      await next.catch(() => undefined);
      return { ok: false, firstBadPosition: expected, checked };
    }
  }
  await next.catch(() => undefined);
  if (to === headPosition && headPosition > 0 && previousHash !== head.rows[0]?.hash) {
    return { ok: false, firstBadPosition: headPosition, checked };
  }
  return { ok: true, checked, head: headPosition };
};
