-- Replaces 0004's statement-per-event append with a set-based one. A new migration rather than an
-- edit of 0004: databases migrated before keep their applied migrations, and only a new file
-- reaches them.

-- The hash chain as a running aggregate: `strata.chain_hash(seed, text) OVER (ORDER BY position)`
-- gives each row hex sha256(previous row's hash || its text), the first row chained to `seed`.
-- The chain is sequential by nature; as a window aggregate it runs inside the one INSERT instead
-- of a statement per event. PL/pgSQL rather than SQL: a SQL function is parsed and planned again
-- by every statement that calls it, PL/pgSQL once per session.
CREATE FUNCTION strata.chain_hash_step(previous text, seed text, canonical text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN encode(sha256(convert_to(coalesce(previous, seed) || canonical, 'UTF8')), 'hex');
END;
$$;

CREATE AGGREGATE strata.chain_hash(seed text, canonical text) (SFUNC = strata.chain_hash_step, STYPE = text);

-- One append batch in one round trip: the head row stays locked only while this runs and commits,
-- never while the application is between statements. Called in autocommit by PostgresEventLog.
--
-- `appends` is a JSON array of { streamId, expectedVersion: int | "any" | "no_stream",
-- idempotencyKey?: string, events: [{ eventId, type, schemaVersion, data, metadata,
-- before, middle, after }] }. The application sends each event's canonical JSON (sorted keys,
-- see src/hash-chain.ts) in three pieces around the two values only known here:
--   before || position || ',"recordedAt":"' || recorded_at || '",' || middle || stream_version || after
-- and the hash is hex sha256(previous hash || that text). verifyChain recomputes it from the rows.
--
-- Set-based, because per-statement costs (executor start-up, generated columns, plan lookups)
-- outweigh per-row ones when a batch holds many one-event appends: one query reads what decides
-- every append (current stream versions, stored idempotency keys), a loop over plain arrays
-- decides them in order (an append sees the effects of the earlier ones in its batch), then one
-- INSERT writes all accepted events with their chain hashes and one more the idempotency keys.
--
-- Returns one result per append, in order: { ok: true, firstPosition, lastPosition,
-- streamVersion, replayed } or { ok: false, reason: 'version_conflict', currentVersion,
-- expectedVersion }; PostgresEventLog expands the positions.
CREATE OR REPLACE FUNCTION strata.append_batch(appends jsonb, requested_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  head_position bigint;
  head_hash text;
  head_recorded_at timestamptz;
  next_position bigint;
  recorded timestamptz;
  recorded_iso text;
  -- Indexed by the append's ordinal in the batch.
  stream_slots integer[];        -- same number for the same stream
  expected_versions jsonb[];
  event_counts integer[];
  stored_versions integer[];     -- the stream's version before this batch
  stored_replays jsonb[];        -- the result recorded for its idempotency key, if any
  same_key_before integer[];     -- the previous append in the batch with the same key
  keyed boolean[];               -- has an idempotency key
  first_positions bigint[];      -- 0: nothing appended
  first_versions integer[];
  results jsonb[];
  key_results jsonb[];           -- what a later append with the same key replays
  -- Indexed by stream slot: the stream's version as the batch goes.
  versions integer[] := '{}';
  replay jsonb;
  expected jsonb;
  current_version integer;
  slot integer;
  appended bigint;
  keys_to_store boolean := false;
BEGIN
  SELECT position, hash, recorded_at INTO head_position, head_hash, head_recorded_at
    FROM strata.log_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'strata.log_head is missing';
  END IF;
  -- Time never goes backwards along positions, so positionAt(time) is one index probe.
  recorded := greatest(requested_at, coalesce(head_recorded_at, requested_at));
  recorded_iso := to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

  -- Each statement takes a fresh snapshot (volatile function, READ COMMITTED), so after the lock
  -- above it sees every append committed before ours.
  SELECT array_agg(a.slot ORDER BY a.n), array_agg(a.expected ORDER BY a.n), array_agg(a.events ORDER BY a.n),
         array_agg(coalesce(v.version, 0) ORDER BY a.n), array_agg(k.replay ORDER BY a.n),
         array_agg(a.same_key_before ORDER BY a.n), array_agg(a.key IS NOT NULL ORDER BY a.n)
    INTO stream_slots, expected_versions, event_counts, stored_versions, stored_replays, same_key_before, keyed
    FROM (
      SELECT x.n, x.stream_id, x.expected, x.key, jsonb_array_length(x.events) AS events,
             dense_rank() OVER (ORDER BY x.stream_id COLLATE "C") AS slot,
             CASE WHEN x.key IS NOT NULL THEN lag(x.n) OVER (PARTITION BY x.key ORDER BY x.n) END AS same_key_before
        FROM ROWS FROM (jsonb_to_recordset(appends) AS ("streamId" text, "expectedVersion" jsonb, "idempotencyKey" text, events jsonb))
             WITH ORDINALITY AS x(stream_id, expected, key, events, n)
    ) a
    LEFT JOIN LATERAL (
      SELECT e.stream_version AS version FROM strata.events e
       WHERE e.stream_id = a.stream_id ORDER BY e.stream_version DESC LIMIT 1
    ) v ON true
    LEFT JOIN LATERAL (
      SELECT jsonb_build_object('ok', true, 'firstPosition', i.positions[1], 'lastPosition', i.positions[cardinality(i.positions)],
                                'streamVersion', i.stream_version, 'replayed', true) AS replay
        FROM strata.idempotency_keys i WHERE i.key = a.key LIMIT 1
    ) k ON true;

  IF stream_slots IS NULL THEN
    RETURN '[]';
  END IF;
  first_positions := array_fill(0::bigint, ARRAY[cardinality(stream_slots)]);
  first_versions := array_fill(0, ARRAY[cardinality(stream_slots)]);
  next_position := head_position + 1;
  FOR n IN 1 .. cardinality(stream_slots) LOOP
    -- A key stored before, or used by an earlier append of this batch that went through.
    replay := coalesce(key_results[same_key_before[n]], stored_replays[n]);
    IF replay IS NOT NULL THEN
      results[n] := replay;
      key_results[n] := replay;
      CONTINUE;
    END IF;
    slot := stream_slots[n];
    current_version := coalesce(versions[slot], stored_versions[n]);
    expected := expected_versions[n];
    IF (jsonb_typeof(expected) = 'number' AND expected::integer <> current_version)
       OR (expected = '"no_stream"' AND current_version <> 0) THEN
      results[n] := jsonb_build_object(
        'ok', false, 'reason', 'version_conflict', 'currentVersion', current_version, 'expectedVersion', expected);
      CONTINUE;
    END IF;
    first_positions[n] := next_position;
    first_versions[n] := current_version + 1;
    next_position := next_position + event_counts[n];
    versions[slot] := current_version + event_counts[n];
    results[n] := jsonb_build_object('ok', true, 'firstPosition', first_positions[n], 'lastPosition', next_position - 1,
                                     'streamVersion', versions[slot], 'replayed', false);
    IF keyed[n] THEN
      key_results[n] := jsonb_set(results[n], '{replayed}', 'true');
      keys_to_store := true;
    END IF;
  END LOOP;

  appended := next_position - 1 - head_position;
  IF appended > 0 THEN
    INSERT INTO strata.events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash)
    SELECT e.position, e.event_id, e.stream_id, e.stream_version, e.type, e.schema_version, e.data, e.metadata, recorded,
           strata.chain_hash(head_hash, e.before || e.position || ',"recordedAt":"' || recorded_iso || '",' || e.middle
                                        || e.stream_version || e.after) OVER (ORDER BY e.position ROWS UNBOUNDED PRECEDING)
      FROM (
        SELECT first_positions[a.n] + e.n - 1 AS position, first_versions[a.n] + e.n - 1 AS stream_version,
               a.stream_id, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.before, e.middle, e.after
          FROM ROWS FROM (jsonb_to_recordset(appends) AS ("streamId" text, events jsonb))
               WITH ORDINALITY AS a(stream_id, events, n)
         CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(a.events) AS ("eventId" text, type text, "schemaVersion" integer,
                                  data jsonb, metadata jsonb, before text, middle text, after text))
               WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, before, middle, after, n)
         WHERE first_positions[a.n] > 0
      ) e;

    IF keys_to_store THEN
      INSERT INTO strata.idempotency_keys (key, stream_id, positions, stream_version)
      SELECT a.key, a.stream_id,
             ARRAY(SELECT generate_series(first_positions[a.n], first_positions[a.n] + event_counts[a.n] - 1)),
             first_versions[a.n] + event_counts[a.n] - 1
        FROM ROWS FROM (jsonb_to_recordset(appends) AS ("streamId" text, "idempotencyKey" text))
             WITH ORDINALITY AS a(stream_id, key, n)
       WHERE a.key IS NOT NULL AND first_positions[a.n] > 0;
    END IF;

    SELECT hash INTO head_hash FROM strata.events WHERE position = next_position - 1;
    UPDATE strata.log_head SET position = next_position - 1, hash = head_hash, recorded_at = recorded WHERE id = 1;
    -- Delivered to listeners on commit only.
    PERFORM pg_notify('strata_events', (next_position - 1)::text);
  END IF;
  RETURN to_jsonb(results);
END;
$$;
