-- Every API process caches unwrapped tenant keys; a shred (or re-wrap) announces itself so each
-- one drops its copy at once instead of after its cache TTL (PostgresKeyStore, keyChangesChannel).
-- NOTIFY is delivered at commit, so nobody hears of a change that rolled back.

CREATE OR REPLACE FUNCTION strata.tenant_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('strata_tenant_keys', NEW.key_id);
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS tenant_keys_changed ON strata.tenant_keys;
CREATE TRIGGER tenant_keys_changed AFTER UPDATE ON strata.tenant_keys
  FOR EACH ROW EXECUTE FUNCTION strata.tenant_keys_notify();
