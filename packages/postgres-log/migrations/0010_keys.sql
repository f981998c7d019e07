-- Per-tenant key-encryption keys (owned by @strata/crypto, PostgresKeyStore).
-- Deliberately NOT in the immutable event log: shredding a tenant destroys its wrapped key here,
-- which makes every envelope of that tenant undecryptable wherever the log was copied.
-- tenant = '' is the namespace-level key used for environment-wide secrets (tenant ids are never empty).

DO $$ BEGIN CREATE ROLE strata_app LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS strata.tenant_keys (
  key_id      text PRIMARY KEY,
  namespace   text NOT NULL,
  tenant      text NOT NULL,
  -- base64(iv ‖ AES-256-GCM(master key, KEK) ‖ tag); NULL once shredded.
  wrapped_key text,
  -- id of the master key (STRATA_MASTER_KEYS) that wrapped it.
  wrapped_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  shredded_at timestamptz,
  CONSTRAINT tenant_keys_shredded_iff_no_material CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL)),
  CONSTRAINT tenant_keys_live_has_master CHECK (wrapped_key IS NULL OR wrapped_by IS NOT NULL)
);

-- At most one live key per (namespace, tenant); kekFor's INSERT … ON CONFLICT relies on it.
CREATE UNIQUE INDEX IF NOT EXISTS tenant_keys_live ON strata.tenant_keys (namespace, tenant) WHERE shredded_at IS NULL;
-- "What is still wrapped by master key X" during rotation.
CREATE INDEX IF NOT EXISTS tenant_keys_wrapped_by ON strata.tenant_keys (wrapped_by) WHERE wrapped_key IS NOT NULL;

-- Shredding is final and a key never changes owner, even for the superuser.
CREATE OR REPLACE FUNCTION strata.tenant_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'strata.tenant_keys rows are never deleted (shred instead)' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.shredded_at IS NOT NULL THEN
    RAISE EXCEPTION 'tenant key % is shredded and cannot change', OLD.key_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.key_id <> OLD.key_id OR NEW.namespace <> OLD.namespace OR NEW.tenant <> OLD.tenant OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'tenant key % cannot change identity', OLD.key_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS tenant_keys_guard ON strata.tenant_keys;
CREATE TRIGGER tenant_keys_guard BEFORE UPDATE OR DELETE ON strata.tenant_keys
  FOR EACH ROW EXECUTE FUNCTION strata.tenant_keys_guard();

GRANT USAGE ON SCHEMA strata TO strata_app;
GRANT SELECT, INSERT ON strata.tenant_keys TO strata_app;
GRANT UPDATE (wrapped_key, wrapped_by, shredded_at) ON strata.tenant_keys TO strata_app;
