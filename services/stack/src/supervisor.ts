import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { forEachLine } from '@strata/service-runtime';

export interface ServiceSpec {
  name: string;
  /** Entry file relative to the repository root, run with tsx on the same Node. */
  entry: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs each service as its own process, the way production does, so a crash in one is a crash
 * of one. Output is prefixed with the service name; the first service to die takes the stack down
 * (a half-running stack would hide the failure), and stop() drains them all with SIGTERM.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  readonly exited: Promise<{ name: string; code: number | null }>;
  private reportExit: (exit: { name: string; code: number | null }) => void = () => {};

  constructor(
    private readonly root: string,
    private readonly log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {
    this.exited = new Promise((resolve) => (this.reportExit = resolve));
  }

  start(spec: ServiceSpec): ChildProcess {
    // `node --import tsx` rather than the tsx wrapper: the wrapper runs the service in a second
    // process, so a signal to it can leave the real service running.
    const node = path.join(this.root, 'node_modules/.bin/node');
    const child = spawn(node, ['--import', 'tsx', path.join(this.root, spec.entry)], {
      cwd: this.root,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(spec.name, child);
    const prefix = `${spec.name.padEnd(9)}|`;
    for (const stream of [child.stdout, child.stderr]) forEachLine(stream, (line) => this.log(`${prefix} ${line}`));
    child.once('exit', (code) => {
      this.children.delete(spec.name);
      if (!this.stopping) this.log(`${prefix} exited with code ${code}`);
      this.reportExit({ name: spec.name, code });
    });
    return child;
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        const exit = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exit;
        clearTimeout(timer);
      }),
    );
  }
}
