import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => existsSync(file)) ?? null;

/**
 * `spawn`, with the child sent `signal` when the process that spawned it dies, however it dies —
 * SIGKILL and crashes included, which no exit handler sees. Linux's parent-death signal, set by
 * util-linux's `setpriv`, which then execs the command: the child keeps its PID, its signals and
 * its exit code (127 with setpriv's one-line message when the command does not exist, instead of
 * an 'error' event). A stack or a test runner killed outright so leaves no service, and no
 * redis-server, running on its own. Without setpriv (macOS) it is a plain spawn.
 *
 * The signal follows the spawning thread: call it from the main thread of the owning process.
 */
export const spawnTied = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  signal: NodeJS.Signals = 'SIGTERM',
): ChildProcess =>
  setpriv
    ? spawn(setpriv, ['--pdeathsig', signal.replace(/^SIG/, ''), '--', command, ...args], options)
    : spawn(command, args, options);
