import pg from 'pg';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '@strata/cli';
import { tenantIds, tenants } from './shelfwise.js';

/**
 * ShelfWise before the move (shared/seeds/000): its `tenant_configs` table — string values under
 * dot-notation keys, rollout percentages on the all-zero tenant, overrides per tenant, and the
 * publisher's ERP key encrypted with the app's Fernet master key — in a database of its own,
 * written the way the seed's admin services write it.
 */

export interface LegacyDatabase {
  url: string;
  fernetKey: string;
  rows: number;
  /** The ERP key's plaintext: the demo proves it is nowhere but in the authorised answer. */
  erpKey: string;
  drop(): Promise<void>;
}

const globalTenant = '00000000-0000-0000-0000-000000000000';

/**
 * Creates the seed's `tenant_configs` table (its SQLAlchemy model, as DDL) in the database at
 * `url` and fills it with `rows` (tenant id, key, string value) in one statement. The demo and the
 * import e2e both build their legacy table through this.
 */
export const writeTenantConfigs = async (url: string, rows: readonly (readonly [string, string, string])[]) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE tenant_configs (
      id serial PRIMARY KEY,
      tenant_id uuid NOT NULL,
      key varchar NOT NULL,
      value varchar NOT NULL,
      CONSTRAINT uq_tenant_config UNIQUE (tenant_id, key))`);
    await client.query('CREATE INDEX ix_tenant_configs_tenant_id ON tenant_configs (tenant_id)');
    await client.query(
      `INSERT INTO tenant_configs (tenant_id, key, value)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
  } finally {
    await client.end();
  }
};

export const createLegacyDatabase = async (strataUrl: string): Promise<LegacyDatabase> => {
  // Next to the Strata database, named after it, so parallel stacks never share one.
  const server = new URL(strataUrl);
  const name = `${server.pathname.slice(1) || 'strata'}_legacy`.replace(/[^a-z0-9_]/gi, '_');
  const admin = new pg.Client({ connectionString: strataUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(strataUrl);
  url.pathname = `/${name}`;

  const fernetKey = generateFernetKey();
  const key = parseFernetKey(fernetKey);
  const erpKey = `erp-${Math.random().toString(36).slice(2)}-LEGACY-MARKER`;
  const rows: Array<[string, string, string]> = [
    [globalTenant, 'feature.ai_recommendations.rollout_pct', '5'],
    [tenants.a, 'rate_limit.requests_per_minute', '1000'],
    [tenants.b, 'rate_limit.requests_per_minute', '10000'],
    [tenants.b, 'rate_limit.burst_size', '500'],
    [tenants.beta, 'feature.ai_recommendations.override', 'enabled'],
    [tenants.restricted, 'feature.ai_recommendations.override', 'disabled'],
    [tenants.publisher, 'secret.erp.api_key', fernetEncrypt(key, erpKey)],
    // A few tenants tuned their AI settings over the years, as strings like everything else.
    ...tenantIds
      .slice(10, 30)
      .map((t, i): [string, string, string] => [t, 'ai.temperature', String(0.2 + (i % 5) / 10)]),
  ];
  await writeTenantConfigs(url.toString(), rows);
  return {
    url: url.toString(),
    fernetKey,
    rows: rows.length,
    erpKey,
    drop: async () => {
      const c = new pg.Client({ connectionString: strataUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
};
