import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@strata/postgres-log';
import { envText, readEnv, sharedEnv } from '@strata/service-runtime';
import { Supervisor } from './supervisor.js';

/**
 * `npm start`: API, relay and projector in the foreground; `npm start -- --demo` also tells the
 * ShelfWise story against them and keeps its sample service running. Ctrl-C stops everything.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const demo = process.argv.includes('--demo');
let env: { databaseUrl: string; port: number; adminToken: string };
try {
  env = readEnv({
    databaseUrl: sharedEnv.databaseUrl,
    port: sharedEnv.port,
    adminToken: ['STRATA_ADMIN_TOKEN', envText('dev-admin-token')],
  });
} catch (error) {
  process.stderr.write(`strata: ${(error as Error).message}\n`);
  process.exit(1);
}
const apiUrl = `http://127.0.0.1:${env.port}`;
const adminToken = env.adminToken;

const supervisor = new Supervisor(root);
let shuttingDown = false;

const shutdown = async (code: number) => {
  if (shuttingDown) return;
  shuttingDown = true;
  process.stdout.write('strata: stopping…\n');
  await supervisor.stop();
  process.stdout.write('strata: stopped\n');
  process.exit(code);
};

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const waitForReady = async (timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${apiUrl}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the API did not become ready at ${apiUrl}/readyz within ${timeoutMs / 1000}s`);
};

const main = async () => {
  // Migrate before any service starts: the relay and projector read tables the migrations create.
  const { applied } = await migrate(env.databaseUrl);
  if (applied.length > 0) process.stdout.write(`strata: applied migrations ${applied.join(', ')}\n`);
  // Per-request access logs would drown the story; warnings and errors still show.
  supervisor.start({
    name: 'api',
    entry: 'services/api/src/main.ts',
    env: demo ? { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } : {},
  });
  supervisor.start({ name: 'relay', entry: 'services/relay/src/main.ts' });
  supervisor.start({ name: 'projector', entry: 'services/projector/src/main.ts' });
  // A crashed worker is restarted with backoff; one that keeps failing ends the stack, non-zero.
  void supervisor.gaveUp.then(({ name, restarts }) => {
    process.stderr.write(`strata: ${name} failed ${restarts + 1} times in a row; stopping the stack\n`);
    void shutdown(1);
  });
  await waitForReady(60_000);
  if (demo) {
    supervisor.start({ name: 'service', entry: 'examples/shelfwise/service.ts', restart: false });
    // The same service in Python (packages/client-python), where python3 is installed.
    if (spawnSync('python3', ['--version']).status === 0) {
      supervisor.start({
        name: 'service-py',
        entry: 'examples/shelfwise/service.py',
        interpreter: 'python3',
        restart: false,
        env: { STRATA_URL: apiUrl, STRATA_TOKEN: adminToken, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
      });
    } else process.stdout.write('strata: python3 not found, so the Python sample service does not run\n');
    const story = supervisor.start({
      name: 'demo',
      entry: 'examples/shelfwise/story.ts',
      restart: false,
      env: { STRATA_URL: apiUrl, STRATA_TOKEN: adminToken },
    });
    const code = await new Promise<number | null>((resolve) => story.once('exit', (exitCode) => resolve(exitCode)));
    if (code !== 0) {
      process.stdout.write('strata: the demo story failed (see above); the stack keeps running\n');
    }
  }
  process.stdout.write(
    `\nstrata: running — API ${apiUrl} (OpenAPI ${apiUrl}/openapi.json, docs ${apiUrl}/docs)\n` +
      `strata: console  ${apiUrl}/console/ (sign in with a token, e.g. the admin token)\n` +
      `strata: admin token: ${adminToken}\n` +
      `strata: try  STRATA_URL=${apiUrl} STRATA_TOKEN=${adminToken} npx strata history --namespace shelfwise\n` +
      'strata: Ctrl-C stops everything\n',
  );
};

main().catch(async (error: unknown) => {
  process.stderr.write(`strata: ${error instanceof Error ? error.message : String(error)}\n`);
  await shutdown(1);
});
