-- The application role: what services connect as. It may read and append events, never change
-- them. Roles are cluster-wide and several databases may be migrated at once (test templates,
-- parallel spec files), so creation tolerates a concurrent twin.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'strata_app') THEN
    CREATE ROLE strata_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END;
$$;

GRANT USAGE ON SCHEMA strata TO strata_app;
GRANT SELECT, INSERT ON strata.events TO strata_app;
GRANT SELECT, UPDATE ON strata.log_head TO strata_app;
GRANT SELECT, INSERT ON strata.idempotency_keys TO strata_app;
GRANT SELECT, INSERT, UPDATE ON strata.checkpoints TO strata_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON strata.snapshots TO strata_app;
GRANT SELECT ON strata.schema_migrations TO strata_app;
