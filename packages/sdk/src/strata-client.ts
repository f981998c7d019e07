import type { z } from 'zod';
import {
  StrataError,
  toManifestDocument,
  type DefinedManifest,
  type EvaluationContext,
  type ManifestFlag,
  type ManifestKey,
  type ManifestDocument,
  type ManifestValues,
  type Secret,
} from '@strata/core';
import type { ChangeEvent, ClientDriver, ClientSink } from './client-driver.js';
import { notReady, shorthandDetails, typedDetails, type FlagDetails, type FlagType } from './flag-details.js';
import { PositionWaiters } from './position-waiters.js';
import type { ReadModel } from './read-model.js';
import { ReadMemos, type FlagResult, type Resolution } from './read-memos.js';
import { ScopeApi } from './scope-api.js';

export type * from './client-driver.js';
export type { FlagResult, ReadReason, Resolution } from './read-memos.js';

/**
 * The read side every Strata client shares, whatever feeds it (Redis views or the HTTP API).
 * Reads are synchronous map lookups into per-tenant memos (`ReadMemos`) that are built on first
 * use and dropped when a change touches them, so the hot path allocates nothing. Reads never
 * throw: anything that cannot be resolved answers the manifest default with a `reason`.
 */

/** An evaluation context: `targetingKey` (the tenant unless said otherwise) and attributes. */
export type FlagContext = EvaluationContext | undefined;

export type ChangeListener = (event: ChangeEvent) => void;

export interface ClientHooks {
  /** Every flag evaluation; keep it cheap, it runs on the hot path. */
  onEvaluation?(flag: string, result: FlagResult): void;
  /** The client lost its connection and serves its last known state from `since`. */
  onStale?(since: Date): void;
  /** A change or reload was applied: the new position and how long it took since it was noticed. */
  onRefresh?(position: number, ms: number): void;
  /** Background errors (reloads, reconnects); reads keep answering regardless. */
  onError?(error: unknown): void;
}

export interface ClientStatus {
  ready: boolean;
  stale: boolean;
  staleSince: Date | null;
  /** max(environment view position, manifest position) held in memory. */
  position: number;
  /** Last time the state was confirmed current (change applied, reload, or safety check). */
  confirmedAt: Date | null;
  error: string | null;
}

export interface ClientStats extends ClientStatus {
  evaluations: number;
  flags: Record<string, { evaluations: number; enabled: number }>;
  /** ms since `confirmedAt`. */
  cacheAgeMs: number | null;
  refreshes: number;
  memoizedTenants: number;
}

export interface ReadOptions {
  tenant?: string;
}

export interface ClientBaseOptions<M extends DefinedManifest> {
  namespace: string;
  environment: string;
  /** Local zod manifest: static types for `get`, defaults, and validation of what the store answers. */
  manifest?: M;
  /**
   * For `getSecret` (and the HTTP client): the API base URL and a token with secret-read
   * permission. With config-read permission too, `waitFor` asks the API whether a position of
   * another scope leaves anything for this client to wait for.
   */
  apiUrl?: string;
  token?: string;
  hooks?: ClientHooks;
  /** `ready()` rejects when the first load takes longer (default 10 s); loading goes on. */
  readyTimeoutMs?: number;
}

/** The arguments of the typed flag reads: flag, evaluation context, the caller's default, the tenant. */
type TypedRead<M extends DefinedManifest, T> = [
  flag: ManifestFlag<M> | (string & {}),
  context: FlagContext,
  defaultValue: T,
  options?: ReadOptions,
];

type Value<M extends DefinedManifest, K extends string> = K extends keyof ManifestValues<M>
  ? ManifestValues<M>[K]
  : unknown;

export class StrataClient<M extends DefinedManifest = DefinedManifest> {
  readonly namespace: string;
  readonly environment: string;
  private readonly model: ReadModel;
  private readonly api: ScopeApi;
  private readonly hooks: ClientHooks;
  private readonly memos: ReadMemos;
  private readonly waiters: PositionWaiters;
  private readonly listeners = new Set<{ prefix: string; listener: ChangeListener }>();
  private readonly statusListeners = new Set<(status: ClientStatus) => void>();
  private loaded = false;
  private staleSince: Date | null = null;
  private position = 0;
  private confirmedAt: Date | null = null;
  private lastError: string | null = null;
  private evaluations = 0;
  private refreshes = 0;
  private closed = false;
  private readonly started: Promise<void>;

  constructor(
    private readonly options: ClientBaseOptions<M>,
    private readonly driver: ClientDriver,
  ) {
    this.namespace = options.namespace;
    this.environment = options.environment;
    this.model = driver.model;
    this.api = new ScopeApi(options);
    this.hooks = options.hooks ?? {};
    this.memos = new ReadMemos(
      this.model,
      (options.manifest?.keys ?? {}) as Record<string, z.ZodType>,
      localDocument(options.manifest),
      () => ({ loaded: this.loaded, stale: this.staleSince !== null }),
    );
    this.waiters = new PositionWaiters(
      () => this.position,
      () => driver.poke(),
    );
    this.started = driver.start(this.sink).then(() => {
      this.loaded = true;
      this.memos.invalidate();
      this.statusChanged();
    });
    // ready() reports the failure; an unobserved start must not crash the process.
    this.started.catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // Hot path

  /** The resolved value of a key for a tenant (the environment's without one). Never throws. */
  get<K extends ManifestKey<M>>(key: K, options?: ReadOptions): Value<M, K> {
    return this.memos.value(this.memos.memo(options?.tenant), key).value as Value<M, K>;
  }

  /** The value with where it came from, its position and whether it may be stale. Never throws. */
  resolve<K extends ManifestKey<M>>(key: K, options?: ReadOptions): Resolution<Value<M, K>> {
    return this.memos.value(this.memos.memo(options?.tenant), key) as Resolution<Value<M, K>>;
  }

  /** Every resolved value of a tenant, as one frozen object (the same object until a change). */
  getAll(options?: ReadOptions): Readonly<Partial<ManifestValues<M>>> & Readonly<Record<string, unknown>> {
    return this.memos.all(this.memos.memo(options?.tenant)) as Readonly<Partial<ManifestValues<M>>> &
      Readonly<Record<string, unknown>>;
  }

  /** Whether a flag is on for a tenant: override → kill switch → bucket < rollout. Never throws. */
  isEnabled(flag: ManifestFlag<M> | (string & {}), options?: ReadOptions): boolean {
    return this.evaluate(flag, options).enabled;
  }

  /** The variant value a tenant gets, undefined when it has none (or the flag is off). Never throws. */
  variant(flag: ManifestFlag<M> | (string & {}), options?: ReadOptions): unknown {
    return this.evaluate(flag, options).variant;
  }

  /** A boolean flag for a context (`targetingKey` + attributes; the tenant unless `options.tenant`). Never throws. */
  getBoolean(...[flag, context, fallback, options]: TypedRead<M, boolean>): boolean {
    return this.details(flag, 'boolean', context, fallback, options).value;
  }
  getString(...[flag, context, fallback, options]: TypedRead<M, string>): string {
    return this.details(flag, 'string', context, fallback, options).value;
  }
  getNumber(...[flag, context, fallback, options]: TypedRead<M, number>): number {
    return this.details(flag, 'number', context, fallback, options).value;
  }
  getObject<T extends object>(...[flag, context, fallback, options]: TypedRead<M, T>): T {
    return this.details(flag, 'object', context, fallback, options).value;
  }
  getBooleanDetails(...[flag, context, fallback, options]: TypedRead<M, boolean>): FlagDetails<boolean> {
    return this.details(flag, 'boolean', context, fallback, options);
  }
  getStringDetails(...[flag, context, fallback, options]: TypedRead<M, string>): FlagDetails<string> {
    return this.details(flag, 'string', context, fallback, options);
  }
  getNumberDetails(...[flag, context, fallback, options]: TypedRead<M, number>): FlagDetails<number> {
    return this.details(flag, 'number', context, fallback, options);
  }
  getObjectDetails<T extends object>(...[flag, context, fallback, options]: TypedRead<M, T>): FlagDetails<T> {
    return this.details(flag, 'object', context, fallback, options);
  }

  /**
   * Typed evaluation with details (value, variant, reason, error code, metadata). Flags with a
   * flagd definition are evaluated against the context by core; shorthand flags by tenant. The
   * tenant is the context's `targetingKey` unless `options.tenant` says otherwise. Never throws.
   */
  details<T>(
    flag: string,
    type: FlagType,
    context: FlagContext,
    defaultValue: T,
    options?: ReadOptions,
  ): FlagDetails<T> {
    if (!this.loaded) return notReady(flag, defaultValue);
    const key = context?.targetingKey;
    const tenant = options?.tenant ?? (typeof key === 'string' && key !== '' ? key : undefined);
    const typed = this.model.resolveDefinition?.(flag, context, tenant) ?? null;
    if (typed !== null) {
      this.evaluations++;
      return typedDetails(flag, typed, type, defaultValue);
    }
    return shorthandDetails(this.evaluate(flag, tenant === undefined ? undefined : { tenant }), defaultValue, type);
  }

  /** The whole flag decision (what the OpenFeature provider maps to its reasons). Never throws. */
  evaluate(flag: string, options?: ReadOptions): FlagResult {
    const result = this.memos.flag(this.memos.memo(options?.tenant), flag);
    result.counter.evaluations++;
    if (result.enabled) result.counter.enabled++;
    this.evaluations++;
    if (this.hooks.onEvaluation !== undefined) this.hooks.onEvaluation(flag, result);
    return result;
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle and observation

  /**
   * Resolves once the view is loaded and every required key (manifest `required`) has a valid
   * value; otherwise rejects with one VALIDATION_FAILED message listing all of them, so a service
   * fails fast at start with everything to fix.
   */
  async ready(): Promise<void> {
    if (this.closed)
      throw new StrataError('BAD_REQUEST', `strata: ${this.namespace}/${this.environment}: the client is closed`, {
        fatal: true,
      });
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StrataError(
              'UNAVAILABLE',
              `strata: ${this.namespace}/${this.environment} not loaded after ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`,
            ),
          ),
        timeoutMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([this.started, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const problems = this.memos.requiredProblems(this.driver.envVarErrors());
    if (problems.length > 0) {
      // `fatal`: environment variables the manifest rejects are fixed for the process's lifetime,
      // so this client can never start without a restart (OpenFeature's FATAL).
      throw new StrataError(
        'VALIDATION_FAILED',
        `strata: ${this.namespace}/${this.environment} cannot start:\n- ${problems.join('\n- ')}`,
        { problems, fatal: this.driver.envVarErrors().length > 0 },
      );
    }
  }

  /** Listens to changes of a key or flag, or of every key under a dotted prefix (`''`: all). Returns an unsubscribe function. */
  onChange(keyOrPrefix: ManifestKey<M> | ManifestFlag<M> | (string & {}), listener: ChangeListener): () => void {
    const entry = { prefix: keyOrPrefix, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * Listens to the client loading its view (also after `ready()` gave up), going stale (connection
   * lost, serving its last known state) and back to current; the OpenFeature provider turns these
   * into PROVIDER_READY and PROVIDER_STALE. Returns an unsubscribe function.
   */
  onStatusChange(listener: (status: ClientStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Read-your-writes: resolves once the local state reflects every log event up to `position`
   * (one a write returned); rejects with TIMEOUT after `timeoutMs`. A write to another scope (an
   * environment or namespace this client does not read) leaves nothing to wait for: with `apiUrl`
   * and a token that may read config, the API names the newest position of THIS scope at or below
   * `position` (`?minPosition=`), and the client waits only for that one. Without them it waits
   * for `position` itself, so pass only positions of this scope's writes.
   */
  waitFor(position: number, timeoutMs = 5_000): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    return this.waiters.wait(position, timeoutMs, this.api.scopePosition(position, timeoutMs));
  }

  status(): ClientStatus {
    return {
      ready: this.loaded,
      stale: this.staleSince !== null,
      staleSince: this.staleSince,
      position: this.position,
      confirmedAt: this.confirmedAt,
      error: this.lastError,
    };
  }

  stats(): ClientStats {
    const flags: ClientStats['flags'] = {};
    for (const [flag, c] of this.memos.counters) flags[flag] = { evaluations: c.evaluations, enabled: c.enabled };
    return {
      ...this.status(),
      evaluations: this.evaluations,
      flags,
      cacheAgeMs: this.confirmedAt ? Date.now() - this.confirmedAt.getTime() : null,
      refreshes: this.refreshes,
      memoizedTenants: this.memos.tenantCount,
    };
  }

  /**
   * A secret's plaintext through the HTTP API (needs `apiUrl` and a token with secret-read
   * permission; the API records the read). Rejects with a StrataError; never caches plaintext.
   */
  getSecret(name: string, options?: ReadOptions): Promise<Secret> {
    return this.api.getSecret(name, options?.tenant);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.driver.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private readonly sink: ClientSink = {
    invalidate: (tenant) => this.memos.invalidate(tenant),
    changed: (events, position, ms) => {
      this.position = Math.max(this.position, position);
      this.confirmedAt = new Date();
      this.refreshes++;
      for (const event of events) {
        for (const { prefix, listener } of this.listeners) {
          if (prefix === '' || event.key === prefix || event.key.startsWith(`${prefix}.`)) {
            try {
              listener(event);
            } catch (error) {
              this.hooks.onError?.(error);
            }
          }
        }
      }
      this.hooks.onRefresh?.(this.position, ms);
      this.waiters.flush();
    },
    confirmed: (position) => {
      this.position = Math.max(this.position, position);
      this.confirmedAt = new Date();
      this.waiters.flush();
    },
    setStale: (since) => {
      if ((since === null) === (this.staleSince === null)) return;
      this.staleSince = since;
      this.memos.invalidate();
      if (since) this.hooks.onStale?.(since);
      this.statusChanged();
    },
    error: (error) => {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.hooks.onError?.(error);
    },
  };

  private statusChanged(): void {
    const status = this.status();
    for (const listener of this.statusListeners) {
      try {
        listener(status);
      } catch (error) {
        this.hooks.onError?.(error);
      }
    }
  }
}

/** The local manifest as JSON (for `required` and env var coercion); null when it has none or cannot be represented. */
export const localDocument = (manifest: DefinedManifest | undefined): ManifestDocument | null => {
  if (!manifest) return null;
  try {
    return toManifestDocument(manifest);
  } catch {
    return null;
  }
};
