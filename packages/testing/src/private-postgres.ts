import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '@strata/postgres-log';
import { withDatabase } from './postgres.js';
import { cleanupIfRunnerDies, shellQuote } from './runner-death-cleanup.js';
import { adminQuery } from './scratch.js';
import { freePort } from './wait.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of its own, for fault tests that stop and restart the database: the shared
 * server must never be restarted (every other spec uses it). Disposing stops it and deletes its
 * folder.
 */
export interface PrivatePostgres extends AsyncDisposable {
  port: number;
  /** Superuser URL of its `strata` database, migrated. */
  url: string;
  /** `pg_ctl stop -m fast`: sessions are told "the database system is shutting down", then refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The newest PostgreSQL server binaries on this machine (`PG_BIN` overrides). */
const binDirectory = async (): Promise<string> => {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root).catch(() => [] as string[])).filter((v) => /^\d+$/.test(v));
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server binaries found (install postgresql, or set PG_BIN)');
  return path.join(root, newest, 'bin');
};

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` system user. */
const asOwner = async (): Promise<{ wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number }> => {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  const { stdout } = await run('id', ['-u', 'postgres']);
  return { wrap: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]], uid: Number(stdout.trim()) };
};

/** A fresh cluster on a free loopback port, with a migrated `strata` database. */
export const privatePostgres = async (): Promise<PrivatePostgres> => {
  const bin = await binDirectory();
  const owner = await asOwner();
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-pg-'));
  if (owner.uid !== undefined) await chown(dir, owner.uid, -1);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const pgCtl = (...args: string[]) => {
    const [cmd, argv] = owner.wrap(path.join(bin, 'pg_ctl'), ['-D', data, ...args]);
    return run(cmd, argv, { timeout: 60_000 });
  };
  // The server is a daemon, outside the runner's process tree: a runner killed midway still stops it.
  const [stopCmd, stopArgs] = owner.wrap(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  const orphaned = cleanupIfRunnerDies(
    `${[stopCmd, ...stopArgs].map(shellQuote).join(' ')} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`,
  );
  const start = async () => {
    await pgCtl(
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      'start',
    );
  };
  const [initCmd, initArgs] = owner.wrap(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  await run(initCmd, initArgs, { timeout: 60_000 });
  await start();
  const maintenance = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await adminQuery(maintenance, 'CREATE DATABASE strata');
  const url = withDatabase(maintenance, 'strata');
  await migrate(url);
  return {
    port,
    url,
    stop: async () => {
      await pgCtl('-m', 'fast', '-w', '-t', '30', 'stop');
    },
    start,
    async [Symbol.asyncDispose]() {
      await pgCtl('-m', 'immediate', '-w', '-t', '30', 'stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      await orphaned.disarm();
    },
  };
};
