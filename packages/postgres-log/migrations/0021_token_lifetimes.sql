-- Short-lived and rotated tokens (services/api TokenStore). A token may get an expiry, or an
-- earlier one, but never a later one or none again; a rotated token names its successor once.

ALTER TABLE strata.api_tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE strata.api_tokens ADD COLUMN IF NOT EXISTS rotated_to text REFERENCES strata.api_tokens (id);

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
  IF OLD.expires_at IS NOT NULL AND (NEW.expires_at IS NULL OR NEW.expires_at > OLD.expires_at) THEN
    RAISE EXCEPTION 'token % cannot live longer than it was issued for', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.rotated_to IS NOT NULL AND NEW.rotated_to IS DISTINCT FROM OLD.rotated_to THEN
    RAISE EXCEPTION 'token % was already rotated', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

-- Every API process caches token lookups; a revocation, expiry change or rotation announces itself
-- so each one forgets the token at once (TokenStore, tokenChangesChannel). Delivered at commit.
CREATE OR REPLACE FUNCTION strata.api_tokens_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('strata_tokens', NEW.id);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS api_tokens_changed ON strata.api_tokens;
CREATE TRIGGER api_tokens_changed AFTER UPDATE ON strata.api_tokens
  FOR EACH ROW EXECUTE FUNCTION strata.api_tokens_notify();

GRANT UPDATE (expires_at, rotated_to) ON strata.api_tokens TO strata_app;
