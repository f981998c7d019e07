import { type ChildProcess } from 'node:child_process';
import { spawnTied } from '@strata/service-runtime';

export interface Child extends AsyncDisposable {
  child: ChildProcess;
  /** Parsed JSON lines from stdout so far (non-JSON lines other than `ready` are kept as { raw }). */
  lines: Record<string, unknown>[];
  /** Everything written to stderr, for error messages. */
  stderr(): string;
  /** Resolves when stdout printed `ready` (rejects if the process exits first or after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * Spawns a process and parses its stdout lines. Disposal closes stdin, sends SIGTERM, and SIGKILL
 * after 5 s: only this child (by its pid), never anything found by name.
 */
export const startChild = (command: string, args: string[], env: Record<string, string> = {}): Child => {
  const child = spawnTied(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let out = '';
  let isReady = false;
  const readyWaiters: (() => void)[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-20_000);
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const text = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (text === 'ready') {
        isReady = true;
        readyWaiters.splice(0).forEach((w) => w());
        continue;
      }
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ raw: text });
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    stderr: () => err,
    ready: (timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (isReady) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`${args.join(' ')} not ready after ${timeoutMs} ms: ${err.slice(-2000)}`)),
          timeoutMs,
        );
        readyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${args.join(' ')} exited (${child.exitCode}): ${err.slice(-2000)}`));
        });
      }),
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
};

/** Runs a TypeScript entry point under tsx with this Node (24). */
export const startTsChild = (file: string, args: string[], env: Record<string, string> = {}): Child =>
  startChild(process.execPath, ['--conditions=@strata/source', '--import', 'tsx', file, ...args], env);
