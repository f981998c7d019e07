import { migrate } from '@strata/postgres-log';

// `npm run migrate`: applies pending migrations as the schema owner (DATABASE_URL), for setups
// where the services connect as the restricted strata_app role and must not run DDL themselves.
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/strata';
try {
  const { applied } = await migrate(url);
  process.stdout.write(applied.length > 0 ? `applied ${applied.join(', ')}\n` : 'migrations up to date\n');
} catch (error) {
  // One line (an edited migration, a failed file): the operator acts on the message, not a stack.
  process.stderr.write(`strata migrate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
