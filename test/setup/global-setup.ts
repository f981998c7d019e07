import type { TestProject } from 'vitest/node';
import { adminQuery, resolveServices, withDatabase } from '@strata/testing';
import { migrate } from '@strata/postgres-log';

/**
 * Runs once per `vitest run`: finds the real servers, migrates one template database, and hands
 * every spec file what it needs to make its own isolated database, topic and key prefix.
 */
export default async function setup(project: TestProject) {
  const services = await resolveServices();
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const templateDatabase = `strata_t_${runId}_template`;
  await dropLeftovers(services.databaseUrl);
  await adminQuery(services.databaseUrl, `CREATE DATABASE "${templateDatabase}"`);
  await migrate(withDatabase(services.databaseUrl, templateDatabase));
  project.provide('services', services);
  project.provide('templateDatabase', templateDatabase);
  project.provide('runId', runId);

  return async () => {
    await dropRunDatabases(services.databaseUrl, runId);
  };
}

const listDatabases = async (maintenanceUrl: string, pattern: string): Promise<string[]> => {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      pattern,
    ]);
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
};

const dropRunDatabases = async (maintenanceUrl: string, runId: string) => {
  for (const name of await listDatabases(maintenanceUrl, `strata_t_${runId}_%`)) {
    await adminQuery(maintenanceUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
};

/** A run killed half-way leaves databases behind; drop those older than an hour (ids start with a time). */
const dropLeftovers = async (maintenanceUrl: string) => {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of await listDatabases(maintenanceUrl, 'strata_t_%')) {
    const stamp = parseInt(name.slice('strata_t_'.length, 'strata_t_'.length + 8), 36);
    if (Number.isFinite(stamp) && stamp < hourAgo) {
      await adminQuery(maintenanceUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }
};
