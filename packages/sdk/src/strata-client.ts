import type { z } from 'zod';
import { StrataApi } from '@strata/contracts';
import {
  isStrataError,
  Secret,
  StrataError,
  keySchema,
  toManifestDocument,
  validateAgainstSchema,
  type DefinedManifest,
  type EnvVarError,
  type EvaluationContext,
  type FlagDefinition,
  type FlagReason,
  type ManifestDocument,
  type ManifestFlag,
  type ManifestKey,
  type ManifestValues,
  type ValueSource,
} from '@strata/core';
import { notReady, shorthandDetails, typedDetails, type FlagDetails, type FlagType } from './flag-details.js';
import type { ModelFlag, ReadModel } from './read-model.js';

/**
 * The read side every Strata client shares, whatever feeds it (Redis views or the HTTP API).
 * Reads are synchronous map lookups into per-tenant memos that are built on first use and dropped
 * when a change touches them, so the hot path allocates nothing. Reads never throw: anything that
 * cannot be resolved answers the manifest default with a `reason`.
 */

/** Why a read did not come from the store. */
export type ReadReason =
  /** The client has not loaded its view yet. */
  | 'not_ready'
  /** Lazy tenants: this tenant's layers are being loaded; the environment's values answer meanwhile. */
  | 'tenant_loading'
  /** Neither the store's manifest nor the local one declares the key. */
  | 'unknown_key'
  /** The stored value does not parse with the local (zod) manifest. */
  | 'invalid'
  /** Declared, but no layer has a value and there is no default. */
  | 'missing';

export interface Resolution<T = unknown> {
  readonly value: T;
  /** `none`: nothing resolved, `value` is undefined. */
  readonly source: ValueSource | 'none';
  /** Log position of the event that set the value (0 for local defaults and env vars). */
  readonly position: number;
  /** True while the client cannot confirm it is current (Redis unreachable, tenant loading, not ready). */
  readonly stale: boolean;
  readonly reason?: ReadReason;
  /** For `invalid`: what the local manifest rejected (never a secret value). */
  readonly error?: string;
}

export interface FlagResult {
  readonly flag: string;
  readonly tenant: string | null;
  readonly enabled: boolean;
  /** Strata's own reason (core `evaluateFlag`). */
  readonly reason: FlagReason;
  /** The variant value when the flag has variants and the tenant is enabled. */
  readonly variant: unknown;
  readonly position: number;
  readonly stale: boolean;
  /** The store holds a rule or an override for the flag. */
  readonly known: boolean;
  /** The flag's declaration in the store's manifest, else the local one. */
  readonly declared: FlagDefinition | undefined;
  /** The result depends on the tenant's bucket (partial rollout or several weighted variants). */
  readonly split: boolean;
  /** The rule needs a tenant bucket and no tenant was given: `enabled` is false. */
  readonly tenantMissing: boolean;
  readonly notReady: boolean;
}

/**
 * One change, fired after the in-memory state holds it. Keys: `value`/`previous` are the resolved
 * values at that scope. Flags: for a tenant (override changed) the tenant's `enabled`; for the
 * environment (`tenant: null`) the rule `{ enabled, rollout, variants, definition }`, undefined
 * when removed. A changed segment fires one environment event per flag whose targeting references
 * it (directly or through another segment); its `value` and `previous` are then the same rule,
 * because what changed is the segment the rule uses.
 */
/** An evaluation context: `targetingKey` (the tenant unless said otherwise) and attributes. */
export type FlagContext = EvaluationContext | undefined;

export interface ChangeEvent {
  kind: 'key' | 'flag';
  key: string;
  /** null: the environment layer, i.e. every tenant without its own value. */
  tenant: string | null;
  value: unknown;
  previous: unknown;
  position: number;
  /** Time from the log recording the change to this process applying it (clocks of two hosts). */
  latencyMs?: number;
}

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

/** Feeds a client: loads, keeps the model current and reports through the sink. */
export interface ClientDriver {
  readonly model: ReadModel;
  /** Resolves once the first state is loaded; keeps retrying in the background after a failure. */
  start(sink: ClientSink): Promise<void>;
  /** Check now whether the local state is behind (used by `waitFor`). */
  poke(): void;
  close(): Promise<void>;
  /** Invalid environment variables, reported by `ready()`. */
  envVarErrors(): readonly EnvVarError[];
}

export interface ClientSink {
  /** Drop memos: one tenant's, the environment's and every tenant's for `undefined`. */
  invalidate(tenant?: string): void;
  /** The model moved to `position` (events may be empty); fires listeners, waiters and hooks. */
  changed(events: readonly ChangeEvent[], position: number, ms: number): void;
  /** The state was confirmed current without a change. */
  confirmed(position: number): void;
  setStale(since: Date | null): void;
  error(error: unknown): void;
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

type Value<M extends DefinedManifest, K extends string> = K extends keyof ManifestValues<M>
  ? ManifestValues<M>[K]
  : unknown;

interface FlagCounter {
  evaluations: number;
  enabled: number;
}

class TenantMemo {
  readonly values = new Map<string, Resolution>();
  readonly flags = new Map<string, FlagResult & { readonly counter: FlagCounter }>();
  all: Readonly<Record<string, unknown>> | undefined;
  constructor(readonly tenant: string | null) {}
}

export class StrataClient<M extends DefinedManifest = DefinedManifest> {
  readonly namespace: string;
  readonly environment: string;
  private readonly model: ReadModel;
  /** The HTTP client for `getSecret` and `waitFor`, made on first use. */
  private api: StrataApi | undefined;
  private readonly local: Readonly<Record<string, z.ZodType>>;
  private readonly localDoc: ManifestDocument | null;
  private readonly hooks: ClientHooks;
  private readonly memos = new Map<string, TenantMemo>();
  private envMemo: TenantMemo | undefined;
  private readonly counters = new Map<string, FlagCounter>();
  private readonly listeners = new Set<{ prefix: string; listener: ChangeListener }>();
  private readonly statusListeners = new Set<(status: ClientStatus) => void>();
  private waiters: { position: number; resolve: () => void }[] = [];
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
    this.local = (options.manifest?.keys ?? {}) as Record<string, z.ZodType>;
    this.localDoc = localDocument(options.manifest);
    this.hooks = options.hooks ?? {};
    this.started = driver.start(this.sink).then(() => {
      this.loaded = true;
      this.invalidate();
      this.statusChanged();
    });
    // ready() reports the failure; an unobserved start must not crash the process.
    this.started.catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // Hot path

  /** The resolved value of a key for a tenant (the environment's without one). Never throws. */
  get<K extends ManifestKey<M>>(key: K, options?: ReadOptions): Value<M, K> {
    const tenant = options?.tenant;
    const memo =
      tenant === undefined
        ? (this.envMemo ?? this.buildMemo(null))
        : (this.memos.get(tenant) ?? this.buildMemo(tenant));
    return (memo.values.get(key) ?? this.unknownKey(memo, key)).value as Value<M, K>;
  }

  /** The value with where it came from, its position and whether it may be stale. Never throws. */
  resolve<K extends ManifestKey<M>>(key: K, options?: ReadOptions): Resolution<Value<M, K>> {
    const tenant = options?.tenant;
    const memo =
      tenant === undefined
        ? (this.envMemo ?? this.buildMemo(null))
        : (this.memos.get(tenant) ?? this.buildMemo(tenant));
    return (memo.values.get(key) ?? this.unknownKey(memo, key)) as Resolution<Value<M, K>>;
  }

  /** Every resolved value of a tenant, as one frozen object (the same object until a change). */
  getAll(options?: ReadOptions): Readonly<Partial<ManifestValues<M>>> & Readonly<Record<string, unknown>> {
    const tenant = options?.tenant;
    const memo =
      tenant === undefined
        ? (this.envMemo ?? this.buildMemo(null))
        : (this.memos.get(tenant) ?? this.buildMemo(tenant));
    if (memo.all === undefined) {
      const all: Record<string, unknown> = {};
      for (const [key, r] of memo.values) if (r.reason !== 'unknown_key') all[key] = r.value;
      memo.all = Object.freeze(all);
    }
    return memo.all as Readonly<Partial<ManifestValues<M>>> & Readonly<Record<string, unknown>>;
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
  getBoolean(
    flag: ManifestFlag<M> | (string & {}),
    context: FlagContext,
    defaultValue: boolean,
    options?: ReadOptions,
  ): boolean {
    return this.details(flag, 'boolean', context, defaultValue, options).value;
  }
  getString(
    flag: ManifestFlag<M> | (string & {}),
    context: FlagContext,
    defaultValue: string,
    options?: ReadOptions,
  ): string {
    return this.details(flag, 'string', context, defaultValue, options).value;
  }
  getNumber(
    flag: ManifestFlag<M> | (string & {}),
    context: FlagContext,
    defaultValue: number,
    options?: ReadOptions,
  ): number {
    return this.details(flag, 'number', context, defaultValue, options).value;
  }
  getObject<T extends object>(
    flag: ManifestFlag<M> | (string & {}),
    context: FlagContext,
    defaultValue: T,
    options?: ReadOptions,
  ): T {
    return this.details(flag, 'object', context, defaultValue, options).value;
  }
  getBooleanDetails(
    flag: string,
    context: FlagContext,
    defaultValue: boolean,
    options?: ReadOptions,
  ): FlagDetails<boolean> {
    return this.details(flag, 'boolean', context, defaultValue, options);
  }
  getStringDetails(
    flag: string,
    context: FlagContext,
    defaultValue: string,
    options?: ReadOptions,
  ): FlagDetails<string> {
    return this.details(flag, 'string', context, defaultValue, options);
  }
  getNumberDetails(
    flag: string,
    context: FlagContext,
    defaultValue: number,
    options?: ReadOptions,
  ): FlagDetails<number> {
    return this.details(flag, 'number', context, defaultValue, options);
  }
  getObjectDetails<T extends object>(
    flag: string,
    context: FlagContext,
    defaultValue: T,
    options?: ReadOptions,
  ): FlagDetails<T> {
    return this.details(flag, 'object', context, defaultValue, options);
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
    const tenant = options?.tenant;
    const memo =
      tenant === undefined
        ? (this.envMemo ?? this.buildMemo(null))
        : (this.memos.get(tenant) ?? this.buildMemo(tenant));
    const result = memo.flags.get(flag) ?? this.buildFlag(memo, flag);
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
    const problems = this.requiredProblems();
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
    return new Promise<void>((resolve, reject) => {
      const waiter = { position, resolve: () => (clearTimeout(timer), clearTimeout(poke), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(poke);
        reject(
          new StrataError(
            'TIMEOUT',
            `strata: at position ${this.position}, not yet at ${waiter.position} after ${timeoutMs} ms`,
            { position: waiter.position, current: this.position },
          ),
        );
      }, timeoutMs);
      // A notification may have been lost: look at the view's position instead of waiting for the safety check.
      const poke = setTimeout(() => this.driver.poke(), Math.min(50, timeoutMs / 2));
      this.waiters.push(waiter);
      void this.scopePosition(position, timeoutMs).then((target) => {
        if (target >= waiter.position || !this.waiters.includes(waiter)) return;
        waiter.position = target;
        this.flushWaiters();
      });
    });
  }

  /**
   * The position this scope's views must reach to reflect every event up to `position`: the
   * API's view position once it answered `?minPosition=position` (never above `position`), or
   * `position` when no API is configured or it cannot say.
   */
  private async scopePosition(position: number, timeoutMs: number): Promise<number> {
    const { apiUrl, token } = this.options;
    if (!apiUrl || !token) return position;
    this.api ??= new StrataApi({ url: apiUrl, token });
    try {
      const answer = await this.api.resolvedConfig(
        { namespace: this.namespace, env: this.environment },
        { minPosition: position, signal: AbortSignal.timeout(timeoutMs) },
      );
      return Math.min(position, answer.position);
    } catch {
      // The API is optional for reads: without its answer, wait for the position itself.
      return position;
    }
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
    for (const [flag, c] of this.counters) flags[flag] = { evaluations: c.evaluations, enabled: c.enabled };
    return {
      ...this.status(),
      evaluations: this.evaluations,
      flags,
      cacheAgeMs: this.confirmedAt ? Date.now() - this.confirmedAt.getTime() : null,
      refreshes: this.refreshes,
      memoizedTenants: this.memos.size,
    };
  }

  /**
   * A secret's plaintext through the HTTP API (needs `apiUrl` and a token with secret-read
   * permission; the API records the read). Rejects with a StrataError; never caches plaintext.
   */
  async getSecret(name: string, options?: ReadOptions): Promise<Secret> {
    const { apiUrl, token } = this.options;
    if (!apiUrl || !token) throw new StrataError('BAD_REQUEST', 'strata: getSecret needs apiUrl and token');
    this.api ??= new StrataApi({ url: apiUrl, token });
    try {
      const answer = await this.api.getSecret(
        { namespace: this.namespace, env: this.environment, tenant: options?.tenant },
        name,
      );
      return new Secret(answer.value);
    } catch (error) {
      if (!isStrataError(error)) throw error;
      // The server's code (401 stays UNAUTHENTICATED, 403 FORBIDDEN …), with the secret's name.
      throw new StrataError(
        error.code,
        `strata: secret ${name}: ${error.message}`,
        { ...error.details, name },
        {
          cause: error,
        },
      );
    }
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

  // ------------------------------------------------------------------------------------------
  // Memo building (off the hot path)

  private buildMemo(tenant: string | null): TenantMemo {
    const memo = new TenantMemo(tenant);
    const config = this.loaded ? this.model.resolveAll(tenant) : undefined;
    // A lazy tenant that is still loading reads the environment's values meanwhile.
    const fallback = config ?? (this.loaded ? this.model.resolveAll(null) : undefined);
    const stale = this.staleSince !== null || config === undefined;
    const pendingReason: ReadReason | undefined = !this.loaded
      ? 'not_ready'
      : config === undefined
        ? 'tenant_loading'
        : undefined;
    const values = fallback?.values ?? new Map();
    for (const [key, entry] of values) {
      const schema = this.local[key];
      if (schema) {
        const parsed = schema.safeParse(entry.value);
        if (!parsed.success) {
          memo.values.set(
            key,
            this.fallback(key, 'invalid', stale, parsed.error.issues.map((i) => i.message).join('; ')),
          );
          continue;
        }
        memo.values.set(
          key,
          freeze({ value: parsed.data, source: entry.source, position: entry.position, stale, reason: pendingReason }),
        );
      } else
        memo.values.set(
          key,
          freeze({ value: entry.value, source: entry.source, position: entry.position, stale, reason: pendingReason }),
        );
    }
    for (const key of Object.keys(this.local))
      if (!memo.values.has(key)) memo.values.set(key, this.fallback(key, pendingReason ?? 'missing', stale));
    if (tenant === null) this.envMemo = memo;
    else this.memos.set(tenant, memo);
    return memo;
  }

  private fallback(key: string, reason: ReadReason, stale: boolean, error?: string): Resolution {
    const schema = this.local[key];
    const parsed = schema?.safeParse(undefined);
    const resolution: Resolution =
      parsed?.success && parsed.data !== undefined
        ? { value: parsed.data, source: 'default', position: 0, stale, reason }
        : { value: undefined, source: 'none', position: 0, stale, reason };
    return freeze(error === undefined ? resolution : { ...resolution, error });
  }

  private unknownKey(memo: TenantMemo, key: string): Resolution {
    const resolution = this.fallback(
      key,
      this.loaded ? 'unknown_key' : 'not_ready',
      this.staleSince !== null || !this.loaded,
    );
    memo.values.set(key, resolution);
    return resolution;
  }

  private buildFlag(memo: TenantMemo, flag: string): FlagResult & { readonly counter: FlagCounter } {
    let counter = this.counters.get(flag);
    if (!counter) this.counters.set(flag, (counter = { evaluations: 0, enabled: 0 }));
    const declared = declaredFlag(this.model.manifest, flag) ?? declaredFlag(this.localDoc, flag);
    const raw: ModelFlag | undefined = this.loaded ? this.model.evaluate(flag, memo.tenant) : undefined;
    const result = freeze({
      flag,
      tenant: memo.tenant,
      enabled: raw ? raw.enabled : declared?.default === true,
      reason: raw ? raw.reason : 'default',
      variant: raw?.variant,
      position: raw?.position ?? 0,
      stale: this.staleSince !== null || raw === undefined,
      known: raw?.known ?? false,
      declared,
      split:
        raw !== undefined &&
        raw.reason === 'rollout' &&
        ((raw.rollout !== undefined && raw.rollout > 0 && raw.rollout < 100) || raw.splitVariants === true),
      tenantMissing: raw?.tenantMissing ?? false,
      notReady: !this.loaded,
      counter,
    });
    memo.flags.set(flag, result);
    return result;
  }

  private requiredProblems(): string[] {
    const problems = this.driver.envVarErrors().map((e) => e.error.message);
    const stored = this.model.manifest;
    const required = new Set<string>();
    for (const doc of [stored, this.localDoc]) {
      for (const [key, schema] of Object.entries(doc?.keys ?? {})) if (schema['required'] === true) required.add(key);
    }
    const env = this.buildMemo(null);
    for (const key of [...required].sort()) {
      const r = env.values.get(key) ?? this.fallback(key, 'missing', false);
      if (r.reason === 'invalid') problems.push(`${key}: invalid: ${r.error ?? 'rejected by the local manifest'}`);
      else if (r.source === 'none') problems.push(`${key}: missing (no value in any layer and no default)`);
      else {
        const schema = keySchema(stored, key);
        const valid = schema ? validateAgainstSchema(key, schema, r.value) : { ok: true as const };
        if (!valid.ok) problems.push(`${key}: invalid: ${valid.error.message}`);
      }
    }
    return problems;
  }

  private invalidate(tenant?: string): void {
    if (tenant === undefined) {
      this.memos.clear();
      this.envMemo = undefined;
    } else this.memos.delete(tenant);
  }

  private readonly sink: ClientSink = {
    invalidate: (tenant) => this.invalidate(tenant),
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
      this.flushWaiters();
    },
    confirmed: (position) => {
      this.position = Math.max(this.position, position);
      this.confirmedAt = new Date();
      this.flushWaiters();
    },
    setStale: (since) => {
      if ((since === null) === (this.staleSince === null)) return;
      this.staleSince = since;
      this.invalidate();
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

  private flushWaiters(): void {
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.position <= this.position);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.position > this.position);
    for (const w of due) w.resolve();
  }
}

const freeze = <T extends object>(value: T): T => {
  // Leave out `reason: undefined` so results compare and print cleanly.
  for (const k of Object.keys(value) as (keyof T)[])
    if (value[k] === undefined && k !== 'value' && k !== 'variant' && k !== 'declared') delete value[k];
  return Object.freeze(value);
};

const declaredFlag = (manifest: ManifestDocument | null, flag: string): FlagDefinition | undefined =>
  manifest && Object.hasOwn(manifest.flags, flag) ? (manifest.flags[flag] as FlagDefinition) : undefined;

/** The local manifest as JSON (for `required` and env var coercion); null when it has none or cannot be represented. */
export const localDocument = (manifest: DefinedManifest | undefined): ManifestDocument | null => {
  if (!manifest) return null;
  try {
    return toManifestDocument(manifest);
  } catch {
    return null;
  }
};
