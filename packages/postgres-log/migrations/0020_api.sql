-- HTTP API (owned by services/api): bearer tokens and the secret access log.

DO $$ BEGIN CREATE ROLE strata_app LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;

CREATE SCHEMA IF NOT EXISTS strata;

-- Only the sha256 of a token is kept: the token itself is shown once, at issue, and never stored.
CREATE TABLE IF NOT EXISTS strata.api_tokens (
  id          text PRIMARY KEY,
  token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  role        text NOT NULL,
  namespace   text,
  environment text,
  tenant      text,
  description text,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  revoked_by  text
);

-- A revoked token stays revoked and a token never changes what it grants.
CREATE OR REPLACE FUNCTION strata.api_tokens_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'strata.api_tokens rows are never deleted (revoke instead)' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.revoked_at IS NOT NULL THEN
    RAISE EXCEPTION 'token % is revoked and cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.id <> OLD.id OR NEW.token_hash <> OLD.token_hash OR NEW.role <> OLD.role
     OR NEW.namespace IS DISTINCT FROM OLD.namespace OR NEW.environment IS DISTINCT FROM OLD.environment
     OR NEW.tenant IS DISTINCT FROM OLD.tenant THEN
    RAISE EXCEPTION 'token % cannot change what it grants', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS api_tokens_guard ON strata.api_tokens;
CREATE TRIGGER api_tokens_guard BEFORE UPDATE OR DELETE ON strata.api_tokens
  FOR EACH ROW EXECUTE FUNCTION strata.api_tokens_guard();

-- Who read which secret plaintext, when, from where. Written BEFORE the plaintext is returned:
-- if this insert fails, the read fails. Append-only, for the superuser too.
CREATE TABLE IF NOT EXISTS strata.secret_access_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  accessed_at timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  token_id    text,
  namespace   text NOT NULL,
  environment text NOT NULL,
  tenant      text,
  name        text NOT NULL,
  version     integer NOT NULL,
  ip          text,
  user_agent  text,
  request_id  text
);

CREATE INDEX IF NOT EXISTS secret_access_log_scope ON strata.secret_access_log (namespace, environment, tenant, name, accessed_at);
CREATE INDEX IF NOT EXISTS secret_access_log_actor ON strata.secret_access_log (actor, accessed_at);

CREATE OR REPLACE FUNCTION strata.secret_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'strata.secret_access_log is append-only (% rejected)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS secret_access_log_no_change ON strata.secret_access_log;
CREATE TRIGGER secret_access_log_no_change BEFORE UPDATE OR DELETE ON strata.secret_access_log
  FOR EACH ROW EXECUTE FUNCTION strata.secret_access_log_append_only();
DROP TRIGGER IF EXISTS secret_access_log_no_truncate ON strata.secret_access_log;
CREATE TRIGGER secret_access_log_no_truncate BEFORE TRUNCATE ON strata.secret_access_log
  FOR EACH STATEMENT EXECUTE FUNCTION strata.secret_access_log_append_only();

GRANT USAGE ON SCHEMA strata TO strata_app;
GRANT SELECT, INSERT ON strata.api_tokens TO strata_app;
GRANT UPDATE (revoked_at, revoked_by) ON strata.api_tokens TO strata_app;
GRANT SELECT, INSERT ON strata.secret_access_log TO strata_app;
