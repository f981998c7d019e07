import type { Command } from 'commander';
import type { Scope, StrataApi } from '@strata/contracts';
import { usageError } from './cli-error.js';
import { colorsFor, type Colors, type Io } from './output.js';
import { resolveSettings, type GlobalOptions, type Settings } from './settings.js';

/**
 * What every command action needs: the resolved settings, an API client, the scope, and the
 * output streams. Built lazily so `--help` and offline commands never read profiles or connect.
 */
export class CommandContext {
  #settings: Settings | undefined;
  #client: StrataApi | undefined;

  constructor(
    readonly io: Io,
    readonly program: Command,
  ) {}

  get settings(): Settings {
    this.#settings ??= resolveSettings(this.program.opts<GlobalOptions>(), this.io.env);
    return this.#settings;
  }

  get json(): boolean {
    return this.settings.json;
  }

  /** The API client, loaded on first use: `--help`, `--version` and offline commands never load it. */
  async api(): Promise<StrataApi> {
    if (!this.#client) {
      const { StrataApi } = await import('@strata/contracts');
      this.#client ??= new StrataApi({
        url: this.settings.url,
        token: this.settings.token,
        ...(this.io.fetch ? { fetch: this.io.fetch } : {}),
      });
    }
    return this.#client;
  }

  get colors(): Colors {
    return colorsFor(this.io.stdout, this.io.env);
  }

  get errColors(): Colors {
    return colorsFor(this.io.stderr, this.io.env);
  }

  /** True when a human can answer a question: stdin and stderr are terminals. */
  get interactive(): boolean {
    return this.io.stdin.isTTY === true && this.io.stderr.isTTY === true;
  }

  get namespace(): string {
    const ns = this.settings.namespace;
    if (!ns) throw usageError('no namespace: pass --namespace/-n, set STRATA_NAMESPACE, or put it in the profile');
    return ns;
  }

  get env(): string {
    const env = this.settings.env;
    if (!env) throw usageError('no environment: pass --env/-e, set STRATA_ENV, or put it in the profile');
    return env;
  }

  scope(tenant?: string): Scope {
    return { namespace: this.namespace, env: this.env, tenant };
  }

  tenantScope(tenant: string): Scope & { tenant: string } {
    return { namespace: this.namespace, env: this.env, tenant };
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Progress and notes for humans go to stderr so stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  sleep(ms: number): Promise<void> {
    return this.io.sleep ? this.io.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms));
  }

  now(): number {
    return this.io.now ? this.io.now() : Date.now();
  }
}
