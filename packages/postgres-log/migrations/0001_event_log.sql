-- The event log: append-only, one global position per event, gap-free and in commit order.
CREATE SCHEMA IF NOT EXISTS strata;

CREATE TABLE strata.events (
  position       bigint      PRIMARY KEY,
  event_id       text        COLLATE "C" NOT NULL UNIQUE,
  stream_id      text        COLLATE "C" NOT NULL,
  stream_version integer     NOT NULL CHECK (stream_version > 0),
  type           text        COLLATE "C" NOT NULL,
  schema_version integer     NOT NULL,
  data           jsonb       NOT NULL,
  metadata       jsonb       NOT NULL,
  recorded_at    timestamptz NOT NULL,
  -- hex sha256(previous hash || canonical JSON of this event); see src/hash-chain.ts.
  hash           text        NOT NULL,
  -- Extracted once on insert so the audit filters are plain btree lookups. Identifiers compare
  -- byte-wise (COLLATE "C"): the filters only test equality, and a locale-aware comparison in
  -- every index insert costs about as much as the insert itself.
  namespace      text COLLATE "C" GENERATED ALWAYS AS (data ->> 'namespace') STORED,
  environment    text COLLATE "C" GENERATED ALWAYS AS (data ->> 'environment') STORED,
  tenant         text COLLATE "C" GENERATED ALWAYS AS (data ->> 'tenant') STORED,
  key            text COLLATE "C" GENERATED ALWAYS AS (coalesce(data ->> 'key', data ->> 'flag', data ->> 'name')) STORED,
  actor          text COLLATE "C" GENERATED ALWAYS AS (metadata ->> 'actor') STORED,
  UNIQUE (stream_id, stream_version)
);

-- Audit filters end in position so `ORDER BY position LIMIT n` walks the index.
CREATE INDEX events_scope_ix ON strata.events (namespace, environment, position);
CREATE INDEX events_tenant_ix ON strata.events (tenant, position) WHERE tenant IS NOT NULL;
CREATE INDEX events_key_ix ON strata.events (key, position) WHERE key IS NOT NULL;
CREATE INDEX events_actor_ix ON strata.events (actor, position);
CREATE INDEX events_type_ix ON strata.events (type, position);
-- recorded_at never decreases with position (the appender enforces it), so positionAt is one probe.
CREATE INDEX events_recorded_at_ix ON strata.events (recorded_at, position);

-- The single row every append locks: last position and hash. Serialising appends here is what
-- makes commit order equal position order (no gaps visible to readers) and the hash chain linear.
CREATE TABLE strata.log_head (
  id          integer     PRIMARY KEY CHECK (id = 1),
  position    bigint      NOT NULL,
  hash        text        NOT NULL,
  recorded_at timestamptz
);
INSERT INTO strata.log_head (id, position, hash, recorded_at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', NULL);

-- Also read by services/api (CommandRunner.replay). An append's positions are contiguous.
CREATE TABLE strata.idempotency_keys (
  key            text        COLLATE "C" PRIMARY KEY,
  stream_id      text        COLLATE "C" NOT NULL,
  positions      bigint[]    NOT NULL,
  stream_version integer     NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Append-only for real: even a role with UPDATE/DELETE/TRUNCATE privileges is refused.
CREATE FUNCTION strata.reject_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'strata.events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_no_update_delete
  BEFORE UPDATE OR DELETE ON strata.events
  FOR EACH ROW EXECUTE FUNCTION strata.reject_event_change();

CREATE TRIGGER events_no_truncate
  BEFORE TRUNCATE ON strata.events
  FOR EACH STATEMENT EXECUTE FUNCTION strata.reject_event_change();
