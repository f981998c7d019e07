import type { ChildProcess } from 'node:child_process';
import { spawnTied } from '@strata/service-runtime';

/** One word for `sh`, whatever it holds. */
export const shellQuote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * The waiting shell; `$1` is the cleanup. SIGTERM (the parent-death signal) runs it at once; where
 * there is no setpriv, the loop notices the parent gone within 2 s and runs it then.
 */
const script = [
  // Each trap reaps its sleep before exiting, so none is left behind, not even as a zombie.
  'trap \'kill $sleeper 2>/dev/null; wait $sleeper; sh -c "$1"; exit 0\' TERM',
  "trap 'kill $sleeper 2>/dev/null; wait $sleeper; exit 0' USR1",
  'while kill -0 "$PPID" 2>/dev/null; do sleep 2 & sleeper=$!; wait $sleeper; done',
  'sh -c "$1"',
].join('\n');

export interface RunnerDeathCleanup {
  readonly pid: number | undefined;
  /** The fixture cleaned up itself: exit without running the cleanup. */
  disarm(): Promise<void>;
}

/**
 * Waits in a tied `sh` (spawnTied): when the runner dies, however it dies, the shell gets
 * SIGTERM and runs `cleanup`; disarmed (SIGUSR1), it exits without running it. For fixtures that
 * start daemons (`pg_ctl start`, `kafka.sh start`), which leave the runner's process tree at once
 * and so cannot be tied themselves.
 *
 * Runs the shell command `cleanup` (with `env`) if this process dies before `disarm`.
 */
export const cleanupIfRunnerDies = (cleanup: string, env: NodeJS.ProcessEnv = process.env): RunnerDeathCleanup => {
  const shell: ChildProcess = spawnTied('sh', ['-c', script, 'cleanup-if-runner-dies', cleanup], {
    env,
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
  return {
    pid: shell.pid,
    async disarm() {
      if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGUSR1');
      await exited;
    },
  };
};
