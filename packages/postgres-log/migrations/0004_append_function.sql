-- One append batch in one round trip: the head row stays locked only while this runs and commits,
-- never while the application is between statements. Called in autocommit by PostgresEventLog.
--
-- `appends` is a JSON array of { streamId, expectedVersion: int | "any" | "no_stream",
-- idempotencyKey?: string, events: [{ eventId, type, schemaVersion, data, metadata,
-- before, middle, after }] }. The application sends each event's canonical JSON (sorted keys,
-- see src/hash-chain.ts) in three pieces around the two values only known here:
--   before || position || ',"recordedAt":"' || recorded_at || '",' || middle || stream_version || after
-- and the hash is hex sha256(previous hash || that text). verifyChain recomputes it from the rows.
-- Returns one result per append, in order, as PostgresEventLog's AppendResult.
CREATE FUNCTION strata.append_batch(appends jsonb, requested_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  head_position bigint;
  head_hash text;
  head_recorded_at timestamptz;
  start_position bigint;
  recorded timestamptz;
  recorded_iso text;
  results jsonb := '[]';
  item jsonb;
  event jsonb;
  expected jsonb;
  current_version integer;
  version integer;
  replay record;
  positions bigint[];
  versions integer[];
  hashes text[];
BEGIN
  SELECT position, hash, recorded_at INTO head_position, head_hash, head_recorded_at
    FROM strata.log_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'strata.log_head is missing';
  END IF;
  start_position := head_position;
  -- Time never goes backwards along positions, so positionAt(time) is one index probe.
  recorded := greatest(requested_at, coalesce(head_recorded_at, requested_at));
  recorded_iso := to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

  FOR item IN SELECT value FROM jsonb_array_elements(appends) LOOP
    -- Each statement below takes a fresh snapshot (volatile function, READ COMMITTED), so after
    -- the lock above it sees every append committed before ours, and the earlier items of this batch.
    IF item ->> 'idempotencyKey' IS NOT NULL THEN
      SELECT k.positions, k.stream_version INTO replay FROM strata.idempotency_keys k WHERE k.key = item ->> 'idempotencyKey';
      IF FOUND THEN
        results := results || jsonb_build_array(jsonb_build_object(
          'ok', true, 'positions', to_jsonb(replay.positions), 'streamVersion', replay.stream_version, 'replayed', true));
        CONTINUE;
      END IF;
    END IF;

    SELECT coalesce((SELECT e.stream_version FROM strata.events e WHERE e.stream_id = item ->> 'streamId'
                      ORDER BY e.stream_version DESC LIMIT 1), 0) INTO current_version;
    expected := item -> 'expectedVersion';
    IF (jsonb_typeof(expected) = 'number' AND expected::integer <> current_version)
       OR (expected = '"no_stream"' AND current_version <> 0) THEN
      results := results || jsonb_build_array(jsonb_build_object(
        'ok', false, 'reason', 'version_conflict', 'currentVersion', current_version, 'expectedVersion', expected));
      CONTINUE;
    END IF;

    positions := '{}';
    versions := '{}';
    hashes := '{}';
    version := current_version;
    FOR event IN SELECT value FROM jsonb_array_elements(item -> 'events') LOOP
      head_position := head_position + 1;
      version := version + 1;
      head_hash := encode(sha256(convert_to(
        head_hash || (event ->> 'before') || head_position || ',"recordedAt":"' || recorded_iso || '",'
          || (event ->> 'middle') || version || (event ->> 'after'), 'UTF8')), 'hex');
      positions := positions || head_position;
      versions := versions || version;
      hashes := hashes || head_hash;
    END LOOP;

    INSERT INTO strata.events (position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash)
    SELECT p.position, e.value ->> 'eventId', item ->> 'streamId', p.version, e.value ->> 'type',
           (e.value ->> 'schemaVersion')::integer, e.value -> 'data', e.value -> 'metadata', recorded, p.hash
      FROM jsonb_array_elements(item -> 'events') WITH ORDINALITY AS e(value, n)
      JOIN unnest(positions, versions, hashes) WITH ORDINALITY AS p(position, version, hash, n) USING (n);

    IF item ->> 'idempotencyKey' IS NOT NULL THEN
      INSERT INTO strata.idempotency_keys (key, stream_id, positions, stream_version)
      VALUES (item ->> 'idempotencyKey', item ->> 'streamId', positions, version);
    END IF;

    results := results || jsonb_build_array(jsonb_build_object(
      'ok', true, 'positions', to_jsonb(positions), 'streamVersion', version, 'replayed', false));
  END LOOP;

  IF head_position > start_position THEN
    UPDATE strata.log_head SET position = head_position, hash = head_hash, recorded_at = recorded WHERE id = 1;
    -- Delivered to listeners on commit only.
    PERFORM pg_notify('strata_events', head_position::text);
  END IF;
  RETURN results;
END;
$$;
