import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  StrataError,
  evaluateFlagRule,
  resolveConfig,
  resolveFlag as resolveFlagIn,
  type EvaluationContext,
  type FlagEvaluation,
  type ResolvedConfig,
  type ViewFlagResolution,
  type ViewPositions,
  type ViewSnapshot,
  type ViewStateReader,
} from '@strata/core';
import { defaultPrefix, globalKeys, secretField, viewTag } from './key-layout.js';
import {
  defineScripts,
  positionScript,
  readConfigScript,
  readFlagScript,
  readSecretScript,
  readViewScript,
} from './lua-scripts.js';
import {
  toScopeState,
  type StoredFlag,
  type StoredSegment,
  type StoredManifest,
  type StoredOverride,
  type StoredSecret,
  type StoredValue,
} from './view-state.js';

export type { ViewPositions, ViewSnapshot } from '@strata/core';

/** A secret's versions without ciphertext: what exists, where it came from, since when. */
export interface SecretMeta {
  source: 'tenant' | 'environment';
  deleted: boolean;
  position: number;
  versions: { version: number; position: number; addedAt: string; kek: string; previousReadableUntil: string | null }[];
}

/**
 * How much of a view `readViewParts` reads: `head` its positions and event count; `tenants` also
 * the named tenants' layers; `env` also the manifest, the environment layer, flags and segments.
 */
export type ViewPart = 'head' | 'tenants' | 'env';

/** Part of one environment view, parsed (what is not read is null, or no tenants). */
export interface ViewParts {
  generation: number;
  /** The environment view's position. */
  viewPosition: number;
  /** The namespace view's position (manifest, shreddings). */
  namespacePosition: number;
  /** Events applied to the environment view: equal positions with another count mean a missed change. */
  count: number;
  manifest: StoredManifest | null;
  env: Map<string, StoredValue> | null;
  flags: Map<string, StoredFlag> | null;
  segments: Map<string, StoredSegment> | null;
  tenants: ViewTenant[];
}

export interface ViewTenant {
  tenant: string;
  config: Map<string, StoredValue>;
  overrides: Map<string, StoredOverride>;
}

export interface RedisViewReaderOptions {
  redis: Redis;
  prefix?: string;
}

interface ReadCommands {
  strataReadConfig(...args: string[]): Promise<unknown>;
  strataReadFlag(...args: string[]): Promise<unknown>;
  strataReadView(...args: string[]): Promise<unknown>;
  strataReadSecret(...args: string[]): Promise<unknown>;
  strataPosition(...args: string[]): Promise<unknown>;
}

/** HGETALL's flat reply as a Map (never a plain object: tenant ids and keys are user input). */
const hash = (flat: unknown): Map<string, string> => {
  const list = flat as string[];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(list[i]!, list[i + 1]!);
  return out;
};
const json = <T>(value: unknown): T | null => (typeof value === 'string' ? (JSON.parse(value) as T) : null);
/** HGETALL's flat reply of JSON values, parsed. */
const parsedHash = <T>(flat: unknown): Map<string, T> => {
  const list = flat as string[];
  const out = new Map<string, T>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(list[i]!, JSON.parse(list[i + 1]!) as T);
  return out;
};
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * Reads the views. Every read is one script call that resolves the generation pointer itself, so
 * it is one round trip and never mixes two generations or half of a write. Resolution and flag
 * evaluation are core's (`resolveConfig`, `evaluateFlagRule`).
 */
export class RedisViewReader implements ViewStateReader {
  readonly prefix: string;
  private readonly redis: Redis & ReadCommands;

  constructor(options: RedisViewReaderOptions) {
    this.prefix = options.prefix ?? defaultPrefix;
    this.redis = defineScripts<ReadCommands>(options.redis, 1, {
      strataReadConfig: readConfigScript,
      strataReadFlag: readFlagScript,
      strataReadView: readViewScript,
      strataReadSecret: readSecretScript,
      strataPosition: positionScript,
    });
  }

  /** A tenant's resolved config (tenant → environment → manifest default); `tenant: null` for the environment's. */
  async resolvedConfig(
    namespace: string,
    environment: string,
    tenant: string | null,
  ): Promise<ResolvedConfig & { generation: number }> {
    const [generation, viewPos, nsPos, manifest, env, tenantLayer] = await this.#read(
      'strataReadConfig',
      namespace,
      environment,
      tenant ?? '',
    );
    const tenants = new Map<string, { config: Map<string, string>; overrides: Map<string, string> }>();
    if (tenant !== null) tenants.set(tenant, { config: hash(tenantLayer), overrides: new Map() });
    const position = Math.max(Number(viewPos), Number(nsPos));
    const state = toScopeState({ namespace, environment, position, manifest: str(manifest), env: hash(env), tenants });
    return { ...resolveConfig(state, tenant), generation: Number(generation) };
  }

  /** Evaluates a flag for a tenant: override wins, then the kill switch, then `bucket < rollout`. */
  async flag(namespace: string, environment: string, flag: string, tenant: string): Promise<FlagEvaluation> {
    const [, , stored, override, rawManifest, segments] = await this.#read(
      'strataReadFlag',
      namespace,
      environment,
      flag,
      tenant,
    );
    const manifest = json<StoredManifest>(rawManifest);
    const declared =
      manifest && Object.hasOwn(manifest.manifest.flags, flag) ? manifest.manifest.flags[flag] : undefined;
    return evaluateFlagRule(
      flag,
      tenant,
      json<StoredFlag>(stored) ?? undefined,
      json<StoredOverride>(override) ?? undefined,
      {
        enabled: declared?.default === true,
        position: manifest?.position ?? 0,
      },
      undefined,
      parsedHash<StoredSegment>(segments),
    );
  }

  /**
   * Typed evaluation of a flag against a context (core's `resolveFlag`: definition, segments, the
   * tenant's override). `definition: false` when the flag is the shorthand or unset; `declared`
   * when the manifest declares it.
   */
  async resolveFlag(
    namespace: string,
    environment: string,
    flag: string,
    context: EvaluationContext,
    tenant: string | undefined,
  ): Promise<ViewFlagResolution> {
    const [, , stored, override, rawManifest, segments] = await this.#read(
      'strataReadFlag',
      namespace,
      environment,
      flag,
      tenant ?? '',
    );
    const entry = json<StoredFlag>(stored);
    const manifest = json<StoredManifest>(rawManifest);
    const own = json<StoredOverride>(override);
    const scope = {
      flags: new Map(entry ? [[flag, entry]] : []),
      segments: parsedHash<StoredSegment>(segments),
      overrides: new Map(own && tenant !== undefined ? [[tenant, new Map([[flag, own]])]] : []),
    };
    return {
      resolution: resolveFlagIn(scope, flag, context, { tenant, now: () => Math.floor(Date.now() / 1000) }),
      definition: entry?.definition !== undefined,
      declared: manifest !== null && Object.hasOwn(manifest.manifest.flags, flag),
      position: own?.position ?? entry?.position ?? 0,
    };
  }

  /** The view's position: every event of this view up to it is applied (max with its manifest's). 0 before any. */
  async viewPosition(namespace: string, environment: string): Promise<number> {
    const positions = await this.viewPositions(namespace, environment);
    return Math.max(positions.environment, positions.namespace);
  }

  /**
   * The positions of the environment view and of its namespace's view (manifests, shreddings),
   * each 0 before any event. Apart, because the two are fed from different Kafka keys: one may be
   * ahead of the other.
   */
  async viewPositions(namespace: string, environment: string): Promise<ViewPositions> {
    const [, viewPos, nsPos] = await this.#read('strataPosition', namespace, environment);
    return { environment: Number(viewPos), namespace: Number(nsPos) };
  }

  /**
   * Read-your-writes: resolves with the view's position once it reaches `position`, or throws
   * `TIMEOUT` after `timeoutMs`. `position` must be one a write to this view (or its namespace's
   * manifest) returned: a view's position only moves when an event of that view arrives.
   */
  async waitForPosition(namespace: string, environment: string, position: number, timeoutMs: number): Promise<number> {
    const reached = await this.#waitUntil(
      namespace,
      environment,
      (p) => Math.max(p.environment, p.namespace) >= position,
      position,
      timeoutMs,
    );
    return Math.max(reached.environment, reached.namespace);
  }

  /**
   * Read-your-writes with each view's own target: resolves once the environment view reached
   * `targets.environment` and the namespace view `targets.namespace`, or throws `TIMEOUT`.
   */
  waitForPositions(
    namespace: string,
    environment: string,
    targets: ViewPositions,
    timeoutMs: number,
  ): Promise<ViewPositions> {
    return this.#waitUntil(
      namespace,
      environment,
      (p) => p.environment >= targets.environment && p.namespace >= targets.namespace,
      Math.max(targets.environment, targets.namespace),
      timeoutMs,
    );
  }

  async #waitUntil(
    namespace: string,
    environment: string,
    done: (positions: ViewPositions) => boolean,
    position: number,
    timeoutMs: number,
  ): Promise<ViewPositions> {
    const deadline = performance.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const positions = await this.viewPositions(namespace, environment).catch((error: unknown) => {
        // Views being rebuilt after data loss are unavailable, not behind: keep waiting.
        if (error instanceof StrataError && error.code === 'UNAVAILABLE') return { environment: 0, namespace: 0 };
        throw error;
      });
      if (done(positions)) return positions;
      const left = deadline - performance.now();
      if (left <= 0) {
        const current = Math.max(positions.environment, positions.namespace);
        throw new StrataError(
          'TIMEOUT',
          `view ${namespace}/${environment} is at position ${current}, not yet ${position}`,
          { namespace, environment, position, current },
        );
      }
      await sleep(Math.min(delay, left));
    }
  }

  /** The whole environment view (every tenant's config and overrides, flags, secret envelopes, manifest). */
  async loadView(namespace: string, environment: string): Promise<ViewSnapshot> {
    const [generation, viewPos, nsPos, , manifest, env, flags, tenantList, segments, secrets, shredded] =
      await this.#read('strataReadView', namespace, environment, 'all', '*');
    const tenants = new Map<string, { config: Map<string, string>; overrides: Map<string, string> }>();
    for (const [tenant, config, overrides] of tenantList as [string, string[], string[]][]) {
      tenants.set(tenant, { config: hash(config), overrides: hash(overrides) });
    }
    const position = Math.max(Number(viewPos), Number(nsPos));
    return {
      generation: Number(generation),
      position,
      state: toScopeState({
        namespace,
        environment,
        position,
        manifest: str(manifest),
        env: hash(env),
        flags: hash(flags),
        secrets: hash(secrets),
        shredded: hash(shredded),
        segments: hash(segments),
        tenants,
      }),
    };
  }

  /**
   * Part of an environment view (see `ViewPart`) with the event count, for a client that keeps
   * the view in memory and refetches only the scope a change names; never secrets. Null while
   * no generation is live (a rebuild is switching): the caller retries, it is not an error.
   */
  async readViewParts(
    namespace: string,
    environment: string,
    part: ViewPart,
    tenants: '*' | readonly string[],
  ): Promise<ViewParts | null> {
    const reply = await this.#readView(namespace, environment, part, tenants);
    if (!Array.isArray(reply)) return null;
    const [generation, viewPos, nsPos, count, manifest, env, flags, tenantList, segments] = reply as [
      string,
      string,
      string,
      string,
      unknown,
      unknown,
      unknown,
      [string, unknown, unknown][],
      unknown,
    ];
    const withEnv = part === 'env';
    return {
      generation: Number(generation),
      viewPosition: Number(viewPos),
      namespacePosition: Number(nsPos),
      count: Number(count),
      manifest: json<StoredManifest>(manifest),
      env: withEnv ? parsedHash<StoredValue>(env) : null,
      flags: withEnv ? parsedHash<StoredFlag>(flags) : null,
      segments: withEnv ? parsedHash<StoredSegment>(segments) : null,
      tenants: tenantList.map(([tenant, config, overrides]) => ({
        tenant,
        config: parsedHash<StoredValue>(config),
        overrides: parsedHash<StoredOverride>(overrides),
      })),
    };
  }

  #readView(
    namespace: string,
    environment: string,
    part: ViewPart | 'all',
    tenants: '*' | readonly string[],
  ): Promise<unknown> {
    return this.#call('strataReadView', namespace, environment, part, ...(tenants === '*' ? ['*'] : ['-', ...tenants]));
  }

  /** A secret's record (ciphertext envelopes only), the tenant's own or else the environment's; null if none. */
  async secret(
    namespace: string,
    environment: string,
    tenant: string | null,
    name: string,
  ): Promise<(StoredSecret & { source: SecretMeta['source'] }) | null> {
    const [, , own, inherited] = await this.#read(
      'strataReadSecret',
      namespace,
      environment,
      tenant === null ? '' : secretField(tenant, name),
      secretField(null, name),
    );
    const fromTenant = json<StoredSecret>(own);
    if (fromTenant && !fromTenant.deleted) return { ...fromTenant, source: 'tenant' };
    const fromEnv = json<StoredSecret>(inherited);
    return fromEnv && !fromEnv.deleted ? { ...fromEnv, source: 'environment' } : null;
  }

  /** Versions of a secret without ciphertext, for listings and rotation status; null if none. */
  async secretMeta(
    namespace: string,
    environment: string,
    tenant: string | null,
    name: string,
  ): Promise<SecretMeta | null> {
    const record = await this.secret(namespace, environment, tenant, name);
    if (!record) return null;
    return {
      source: record.source,
      deleted: record.deleted,
      position: record.position,
      versions: record.versions.map(({ version, position, addedAt, envelope, previousReadableUntil }) => ({
        version,
        position,
        addedAt,
        kek: envelope.kek,
        previousReadableUntil,
      })),
    };
  }

  /** A read script on the view of (namespace, environment) and its namespace's (the `liveViews` arguments first). */
  #call(script: keyof ReadCommands, namespace: string, environment: string, ...args: string[]): Promise<unknown> {
    return this.redis[script](
      globalKeys(this.prefix).generation,
      this.prefix,
      viewTag(namespace, environment),
      viewTag(namespace, null),
      ...args,
    );
  }

  /** As #call, for scripts whose reply is a list; throws UNAVAILABLE while no generation is live. */
  async #read(
    script: keyof ReadCommands,
    namespace: string,
    environment: string,
    ...args: string[]
  ): Promise<unknown[]> {
    const reply = await this.#call(script, namespace, environment, ...args);
    if (!Array.isArray(reply))
      throw new StrataError('UNAVAILABLE', 'no view generation is live (views are being rebuilt)');
    return reply;
  }
}
