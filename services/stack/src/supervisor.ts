import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { backoffMs, forEachLine, spawnTied } from '@strata/service-runtime';

export interface ServiceSpec {
  name: string;
  /** Entry file relative to the repository root (or absolute), run with tsx on the same Node. */
  entry: string;
  /** Another interpreter for the entry instead (e.g. `python3`), found on PATH. */
  interpreter?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Start it again when it exits on its own (default true). One-shot programs (the demo story)
   * set false: their exit is the end of their work, not a crash.
   */
  restart?: boolean;
}

export interface RestartPolicy {
  /** Consecutive restarts of one worker before the supervisor gives up. Default 5. */
  maxRestarts: number;
  /** Wait before the first restart; doubles per consecutive crash. Default 1 s. */
  initialDelayMs: number;
  /** Longest wait between restarts. Default 15 s. */
  maxDelayMs: number;
  /** A worker that ran this long before it exited starts a fresh count. Default 60 s. */
  stableAfterMs: number;
}

export interface GaveUp {
  name: string;
  /** Exit code of the last run (null when a signal ended it). */
  code: number | null;
  restarts: number;
}

const defaults: RestartPolicy = { maxRestarts: 5, initialDelayMs: 1_000, maxDelayMs: 15_000, stableAfterMs: 60_000 };

/**
 * Runs each service as its own process, the way production does, so a crash in one is a crash of
 * one. Output is prefixed with the service name. A worker that exits on its own is started again
 * after an exponential backoff (1 s, 2 s, 4 s … at most 15 s), each time with a loud line saying
 * so; one that keeps failing (`maxRestarts` in a row, none of them running `stableAfterMs`) is
 * given up on, and `gaveUp` resolves so the stack can exit non-zero rather than limp along half
 * running. A crash in the first seconds after a cold start (a broker still electing leaders) thus
 * costs one restart, not the whole stack. stop() drains everything with SIGTERM.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly policy: RestartPolicy;
  private stopping = false;
  readonly gaveUp: Promise<GaveUp>;
  private reportGaveUp: (gaveUp: GaveUp) => void = () => {};

  constructor(
    private readonly root: string,
    private readonly log: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    policy: Partial<RestartPolicy> = {},
  ) {
    this.policy = { ...defaults, ...policy };
    this.gaveUp = new Promise((resolve) => (this.reportGaveUp = resolve));
  }

  /** Starts the service; returns its first process (a restart spawns a new one). */
  start(spec: ServiceSpec): ChildProcess {
    return this.spawn(spec, 0);
  }

  /** Names of the services that have a live process right now. */
  running(): string[] {
    return [...this.children.keys()];
  }

  private spawn(spec: ServiceSpec, restarts: number): ChildProcess {
    // `node --import tsx` rather than the tsx wrapper: the wrapper runs the service in a second
    // process, so a signal to it can leave the real service running.
    const node = path.join(this.root, 'node_modules/.bin/node');
    const [command, args] = spec.interpreter
      ? [spec.interpreter, [path.resolve(this.root, spec.entry)]]
      : [node, ['--conditions=@strata/source', '--import', 'tsx', path.resolve(this.root, spec.entry)]];
    // Tied: a stack killed outright (SIGKILL, OOM) takes its services with it, so none keeps
    // holding ports, the relay's lock or the projector's partitions without a supervisor.
    const child = spawnTied(command, args, {
      cwd: this.root,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const startedAt = Date.now();
    this.children.set(spec.name, child);
    // A missing interpreter is reported like any exit, not thrown as an unhandled 'error'.
    child.once('error', (error) => this.log(`${spec.name.padEnd(9)}| cannot start: ${error.message}`));
    const prefix = `${spec.name.padEnd(9)}|`;
    for (const stream of [child.stdout, child.stderr]) forEachLine(stream, (line) => this.log(`${prefix} ${line}`));
    child.once('exit', (code, signal) => {
      if (this.children.get(spec.name) === child) this.children.delete(spec.name);
      if (this.stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (spec.restart === false) {
        this.log(`${prefix} exited with ${how}`);
        return;
      }
      // A run that lasted is not part of a crash loop: count from zero again.
      const streak = Date.now() - startedAt >= this.policy.stableAfterMs ? 0 : restarts;
      if (streak >= this.policy.maxRestarts) {
        this.log(
          `${prefix} exited with ${how} and keeps failing: giving up after ${streak} restarts in a row (see its output above)`,
        );
        this.reportGaveUp({ name: spec.name, code, restarts: streak });
        return;
      }
      const delay = backoffMs(streak + 1, this.policy.initialDelayMs, this.policy.maxDelayMs);
      this.log(
        `${prefix} exited with ${how}; restarting in ${(delay / 1000).toFixed(1)} s (restart ${streak + 1} of at most ${this.policy.maxRestarts})`,
      );
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopping) this.spawn(spec, streak + 1);
      }, delay);
      this.timers.add(timer);
    });
    return child;
  }

  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exit = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exit;
        clearTimeout(timer);
      }),
    );
  }
}
