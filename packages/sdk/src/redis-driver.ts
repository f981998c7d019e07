import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  definitionRefs,
  envVarLayer,
  evaluateFlagRule,
  initialState,
  jsonEqual,
  resolveKey,
  type EnvVarLayer,
  type FlagEntry,
  type SegmentEntry,
  type ManifestDocument,
  type NamespaceEnvState,
  type OverrideEntry,
  type ValueEntry,
} from '@strata/core';
import {
  defaultPrefix,
  globalKeys,
  viewChannel,
  viewTag,
  type StoredManifest,
  type ViewChange,
} from '@strata/redis-views';
import { StateModel } from './state-model.js';
import type { ChangeEvent, ClientDriver, ClientSink } from './strata-client.js';

export interface RedisDriverOptions {
  namespace: string;
  environment: string;
  /** A URL (the driver owns the connections) or a connected client (the driver duplicates it for pub/sub and leaves it open). */
  redis: string | Redis;
  prefix?: string;
  /** Load a tenant's layers on its first read instead of the whole view at start. */
  lazyTenants?: boolean;
  /** How often the view's position is compared with the local one, in case a notification was lost. */
  safetyCheckIntervalMs?: number;
  /** Process environment variables as a layer between tenant and environment. */
  envVars?: false | { prefix?: string; env?: Readonly<Record<string, string | undefined>> };
  /** The local manifest as JSON: coerces env vars before the store's manifest is known. */
  localManifest?: ManifestDocument | null;
}

/**
 * Reads a view in one script call using the documented key layout (packages/redis-views):
 * KEYS: generation pointer. ARGV: prefix, view tag, namespace tag, what ('head' | 'env' | 'tenants'),
 * tenants ('*' for every tenant of the view, else a list). Returns false without a live generation,
 * else [generation, view pos, namespace pos, view event count, manifest|false, env|false, flags|false,
 * [[tenant, config, overrides], …], segments|false].
 */
const readScript = `
local gen = redis.call('GET', KEYS[1])
if not gen then return false end
local base = ARGV[1] .. 'g' .. gen .. ':'
local view = base .. ARGV[2]
local ns = base .. ARGV[3]
local reply = { gen, redis.call('GET', view .. ':pos') or '0', redis.call('GET', ns .. ':pos') or '0', redis.call('GET', view .. ':n') or '0', false, false, false, {}, false }
if ARGV[4] == 'head' then return reply end
if ARGV[4] == 'env' then
  reply[5] = redis.call('GET', ns .. ':manifest')
  reply[6] = redis.call('HGETALL', view .. ':env')
  reply[7] = redis.call('HGETALL', view .. ':flags')
  reply[9] = redis.call('HGETALL', view .. ':segments')
end
local tenants = {}
if ARGV[5] == '*' then tenants = redis.call('SMEMBERS', view .. ':tenants')
else for i = 6, #ARGV do tenants[#tenants + 1] = ARGV[i] end end
local list = {}
for _, t in ipairs(tenants) do
  list[#list + 1] = { t, redis.call('HGETALL', view .. ':tenant:' .. t), redis.call('HGETALL', view .. ':overrides:' .. t) }
end
reply[8] = list
return reply
`;

interface Reply {
  generation: number;
  viewPos: number;
  nsPos: number;
  count: number;
  manifest: StoredManifest | null;
  env: Map<string, ValueEntry> | null;
  flags: Map<string, FlagEntry> | null;
  tenants: { tenant: string; config: Map<string, ValueEntry>; overrides: Map<string, OverrideEntry> }[];
  segments: Map<string, SegmentEntry> | null;
}

interface Pending {
  change: ViewChange;
  namespaceChannel: boolean;
  receivedAt: number;
}

type Mutable<T> = { -readonly [P in keyof T]: T[P] };
interface LocalState extends Mutable<NamespaceEnvState> {
  environmentValues: Map<string, ValueEntry>;
  tenantValues: Map<string, Map<string, ValueEntry>>;
  flags: Map<string, FlagEntry>;
  overrides: Map<string, Map<string, OverrideEntry>>;
}

const toMap = <T>(flat: unknown): Map<string, T> => {
  const list = (flat ?? []) as string[];
  const map = new Map<string, T>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i]!, JSON.parse(list[i + 1]!) as T);
  return map;
};

const merge = <T>(
  target: Map<string, T>,
  source: ReadonlyMap<string, T> | null | undefined,
  names: readonly string[],
): void => {
  for (const name of names) {
    const value = source?.get(name);
    if (value === undefined) target.delete(name);
    else target.set(name, value);
  }
};

const mergeNested = <T>(
  outer: Map<string, Map<string, T>>,
  id: string,
  source: ReadonlyMap<string, T> | undefined,
  names: readonly string[],
): void => {
  if (names.length === 0) return;
  const inner = outer.get(id) ?? new Map<string, T>();
  merge(inner, source, names);
  if (inner.size > 0) outer.set(id, inner);
  else outer.delete(id);
};

/** A burst bigger than this reloads the whole view instead of refetching scope by scope. */
const maxBatch = 256;

/**
 * Keeps one namespace/environment view in memory: loads it, follows its change notifications in
 * position order (refetching the changed scope), and reloads the whole view when positions show a
 * missed notification, a generation switch, a reconnect, or the periodic safety check finds the
 * view ahead. Every Redis read goes through one serial queue, so changes apply strictly in order.
 */
export class RedisDriver implements ClientDriver {
  readonly model = new StateModel(
    () => this.state,
    () => this.envLayer,
    (tenant) => this.tenantLoaded(tenant),
  );
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly ownsCmd: boolean;
  private readonly prefix: string;
  private readonly viewTag: string;
  private readonly nsTag: string;
  private readonly channels: [string, string];
  private readonly lazy: boolean;
  private state: LocalState;
  private readonly loadedTenants = new Set<string>();
  private readonly loadingTenants = new Set<string>();
  private envLayer: EnvVarLayer | undefined;
  private generation = -1;
  private viewPos = 0;
  private nsPos = 0;
  private count = 0;
  private pending: Pending[] = [];
  private drainScheduled = false;
  private queue: Promise<void> = Promise.resolve();
  private sink: ClientSink | undefined;
  private loaded = false;
  private subscribed = false;
  /**
   * Set by a lost connection and by every reload until one succeeds: the state is unconfirmed, so the
   * safety check reloads even when the view's head looks the same (Redis restarted empty and rebuilt
   * to the same generation number and positions) — only a reload reports the client fresh again.
   */
  private reloadPending = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisDriverOptions) {
    this.prefix = options.prefix ?? defaultPrefix;
    this.viewTag = viewTag(options.namespace, options.environment);
    this.nsTag = viewTag(options.namespace, null);
    this.channels = [viewChannel(this.prefix, this.viewTag), viewChannel(this.prefix, this.nsTag)];
    this.lazy = options.lazyTenants === true;
    this.ownsCmd = typeof options.redis === 'string';
    this.cmd = typeof options.redis === 'string' ? new Redis(options.redis, { lazyConnect: true }) : options.redis;
    // Resubscription is done by hand on 'ready' so that a reload follows it.
    this.sub = this.cmd.duplicate({ autoResubscribe: false, lazyConnect: true });
    if (!('strataSdkRead' in this.cmd)) this.cmd.defineCommand('strataSdkRead', { numberOfKeys: 1, lua: readScript });
    this.state = this.emptyState();
    this.refreshEnvVars();
  }

  envVarErrors() {
    return this.envLayer?.errors ?? [];
  }

  private tenantLoaded(tenant: string): boolean {
    if (!this.lazy || this.loadedTenants.has(tenant)) return true;
    if (!this.loadingTenants.has(tenant) && this.loaded) {
      this.loadingTenants.add(tenant);
      void this.enqueue(() => this.loadTenant(tenant));
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  async start(sink: ClientSink): Promise<void> {
    this.sink = sink;
    for (const connection of [this.cmd, this.sub]) {
      connection.on('error', (error: unknown) => sink.error(error));
      connection.on('close', () => {
        if (this.closed || !this.loaded) return;
        this.reloadPending = true;
        sink.setStale(new Date());
      });
    }
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // After a reconnect: subscribe again, then reload everything that may have been missed.
    this.sub.on('ready', () => {
      if (this.subscribed && !this.closed) void this.resubscribe();
    });
    this.cmd.on('ready', () => {
      if (this.loaded && !this.closed) void this.enqueue(() => this.reload());
    });
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        if (this.ownsCmd && this.cmd.status === 'wait') await this.cmd.connect();
        if (this.sub.status === 'wait') await this.sub.connect();
        await this.sub.subscribe(...this.channels);
        this.subscribed = true;
        await this.enqueue(() => this.reload(), true);
        break;
      } catch (error) {
        sink.error(error);
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
    const interval = this.options.safetyCheckIntervalMs ?? 2_000;
    this.timer = setInterval(() => void this.safetyCheck(), interval);
    this.timer.unref();
  }

  poke(): void {
    void this.safetyCheck();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.sub.disconnect();
    if (this.ownsCmd) this.cmd.disconnect();
    await this.queue;
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub.subscribe(...this.channels);
      await this.enqueue(() => this.reload());
    } catch (error) {
      this.sink?.error(error);
    }
  }

  /** Runs `task` after every task queued before it; errors go to the sink unless `rethrow`. */
  private enqueue(task: () => Promise<void>, rethrow = false): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : task()));
    this.queue = run.catch((error: unknown) => this.sink?.error(error));
    return rethrow ? run : this.queue;
  }

  // ------------------------------------------------------------------------------------------
  // Following changes

  private onMessage(channel: string, message: string): void {
    let change: ViewChange;
    try {
      change = JSON.parse(message) as ViewChange;
    } catch {
      return;
    }
    this.pending.push({ change, namespaceChannel: channel === this.channels[1], receivedAt: performance.now() });
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      void this.enqueue(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    this.drainScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const first = batch[0];
    if (!first) return;
    if (
      batch.length > maxBatch ||
      batch.some(
        (p) =>
          p.change.kind !== 'change' ||
          p.change.generation !== this.generation ||
          (p.namespaceChannel && p.change.position > this.nsPos),
      )
    ) {
      return this.reload(first.receivedAt);
    }
    // Issue every scope read at once (one pipeline), then apply the replies in position order.
    const fetches = batch.map((p) => this.needsFetch(p));
    const replies = await Promise.all(
      batch.map(({ change }, i) =>
        !fetches[i]
          ? Promise.resolve(null)
          : change.tenant === null
            ? this.read('env', [])
            : this.read('tenants', [change.tenant]),
      ),
    );
    const events: ChangeEvent[] = [];
    let gap = false;
    for (let i = 0; i < batch.length; i++) {
      const { change, namespaceChannel } = batch[i]!;
      const reply = replies[i] ?? null;
      if (change.position <= this.viewPos || namespaceChannel) continue;
      if (reply === null) {
        if (fetches[i]) {
          gap = true; // no live generation: a rebuild is switching
          break;
        }
      } else if (reply.generation !== this.generation) {
        gap = true;
        break;
      } else events.push(...this.applyScope(change, reply));
      this.viewPos = change.position;
      this.count++;
      // Only when nothing newer was applied does the event count prove no notification went missing.
      if (reply && reply.viewPos === change.position && reply.count !== this.count) gap = true;
    }
    this.state.position = Math.max(this.viewPos, this.nsPos);
    this.sink?.changed(events, this.state.position, performance.now() - first.receivedAt);
    if (gap) await this.reload(first.receivedAt);
  }

  private needsFetch({ change, namespaceChannel }: Pending): boolean {
    if (namespaceChannel || change.position <= this.viewPos) return false;
    if (change.keys.length === 0 && change.flags.length === 0 && !change.segments?.length) return false; // secrets: not held here
    return change.tenant === null || !this.lazy || this.loadedTenants.has(change.tenant);
  }

  private applyScope(change: ViewChange, reply: Reply): ChangeEvent[] {
    const tenant = change.tenant;
    // A changed segment changes every flag whose targeting references it (directly or through
    // another segment): every definition is captured with the logic of the segments it uses, and
    // the diff reports those whose segments changed. Segment changes are rare; this is cheap.
    const flags = change.segments?.length ? [...new Set([...change.flags, ...this.definedFlags()])] : change.flags;
    const before = this.capture(tenant, change.keys, flags);
    // Take only the notified keys and flags from the reply: it may already hold later changes of
    // the same scope, which their own notifications apply (and report) in turn.
    if (tenant === null) {
      merge(this.state.environmentValues, reply.env, change.keys);
      merge(this.state.flags, reply.flags, change.flags);
      if (change.segments?.length) {
        // A new map, never mutated: compiled flags are memoised on the segment map's identity.
        const segments = new Map(this.state.segments);
        merge(segments, reply.segments, change.segments);
        this.state.segments = segments;
      }
      this.sink?.invalidate();
    } else {
      const fetched = reply.tenants[0];
      mergeNested(this.state.tenantValues, tenant, fetched?.config, change.keys);
      mergeNested(this.state.overrides, tenant, fetched?.overrides, change.flags);
      this.sink?.invalidate(tenant);
    }
    const after = this.capture(tenant, change.keys, flags);
    return this.diff(before, after, tenant, change.position);
  }

  private definedFlags(): string[] {
    return [...this.state.flags].filter(([, entry]) => entry.definition !== undefined).map(([flag]) => flag);
  }

  /** The logic of the segments a definition references: part of what the flag answers. */
  private static segmentsOf(entry: FlagEntry | undefined, state: LocalState): Record<string, unknown> | undefined {
    if (!entry?.definition) return undefined;
    const refs = [...definitionRefs(entry.definition, state.segments)].sort();
    return refs.length ? Object.fromEntries(refs.map((r) => [r, state.segments.get(r)?.logic ?? null])) : undefined;
  }

  private setTenant(state: LocalState, t: Reply['tenants'][number]): void {
    if (t.config.size > 0) state.tenantValues.set(t.tenant, t.config);
    else state.tenantValues.delete(t.tenant);
    if (t.overrides.size > 0) state.overrides.set(t.tenant, t.overrides);
    else state.overrides.delete(t.tenant);
  }

  private capture(
    tenant: string | null,
    keys: readonly string[],
    flags: readonly string[],
    state: LocalState = this.state,
  ) {
    const values = new Map<string, { value: unknown; changedAt?: string; basis?: unknown }>();
    for (const key of keys) {
      const r = resolveKey(state, tenant, key, { envVars: this.envLayer });
      const layer = tenant === null ? state.environmentValues.get(key) : state.tenantValues.get(tenant)?.get(key);
      values.set(`k:${key}`, { value: r?.value, changedAt: layer?.changedAt });
    }
    for (const flag of flags) {
      if (tenant === null) {
        const entry = state.flags.get(flag);
        values.set(`f:${flag}`, {
          value: entry
            ? { enabled: entry.enabled, rollout: entry.rollout, variants: entry.variants, definition: entry.definition }
            : undefined,
          changedAt: entry?.changedAt,
          basis: RedisDriver.segmentsOf(entry, state),
        });
      } else {
        const override = state.overrides.get(tenant)?.get(flag);
        const entry = state.flags.get(flag);
        const evaluation = evaluateFlagRule(
          flag,
          tenant,
          entry,
          override,
          { enabled: state.manifest?.flags[flag]?.default === true },
          this.model.bucketOf(tenant, flag),
          state.segments,
        );
        // A pinned variant changing (red → blue) keeps `enabled`, but is a change of the flag.
        values.set(`f:${flag}`, {
          value: evaluation.enabled,
          changedAt: override?.changedAt,
          basis: override?.variant,
        });
      }
    }
    return values;
  }

  private diff(
    before: Map<string, { value: unknown; basis?: unknown }>,
    after: Map<string, { value: unknown; changedAt?: string; basis?: unknown }>,
    tenant: string | null,
    position: number,
  ): ChangeEvent[] {
    const events: ChangeEvent[] = [];
    const now = Date.now();
    for (const [id, next] of after) {
      const previous = before.get(id)?.value;
      if (jsonEqual(previous, next.value) && jsonEqual(before.get(id)?.basis, next.basis)) continue;
      const event: ChangeEvent = {
        kind: id[0] === 'k' ? 'key' : 'flag',
        key: id.slice(2),
        tenant,
        value: next.value,
        previous,
        position,
      };
      if (next.changedAt) event.latencyMs = now - Date.parse(next.changedAt);
      events.push(event);
    }
    return events;
  }

  // ------------------------------------------------------------------------------------------
  // Loading

  /** Replaces the whole state from one consistent snapshot and reports what changed. */
  private async reload(noticedAt = performance.now()): Promise<void> {
    this.reloadPending = true;
    const reply = await this.read('env', this.lazy ? [...this.loadedTenants] : '*');
    if (!reply) {
      this.sink?.error(new Error('no live Redis view generation (rebuild in progress?)'));
      return;
    }
    const previous = this.state;
    const next = this.emptyState();
    next.manifest = reply.manifest?.manifest ?? null;
    next.manifestPosition = reply.manifest?.position ?? 0;
    next.environmentValues = reply.env ?? new Map();
    next.flags = reply.flags ?? new Map();
    next.segments = reply.segments ?? new Map();
    for (const t of reply.tenants) this.setTenant(next, t);
    next.position = Math.max(reply.viewPos, reply.nsPos);
    const manifestChanged = !jsonEqual(previous.manifest, next.manifest);
    this.state = next;
    if (manifestChanged) this.refreshEnvVars();
    this.generation = reply.generation;
    this.viewPos = reply.viewPos;
    this.nsPos = reply.nsPos;
    this.count = reply.count;
    this.reloadPending = false;
    const events = this.loaded ? this.diffStates(previous, next, reply.viewPos) : [];
    this.loaded = true;
    this.sink?.invalidate();
    if (this.cmd.status === 'ready' && this.sub.status === 'ready') this.sink?.setStale(null);
    this.sink?.changed(events, next.position, performance.now() - noticedAt);
  }

  private diffStates(previous: LocalState, next: LocalState, position: number): ChangeEvent[] {
    const union = (...maps: (ReadonlyMap<string, unknown> | undefined)[]) => [
      ...new Set(maps.flatMap((m) => (m ? [...m.keys()] : []))),
    ];
    const keys = union(
      previous.environmentValues,
      next.environmentValues,
      new Map(Object.entries(previous.manifest?.keys ?? {})),
      new Map(Object.entries(next.manifest?.keys ?? {})),
    );
    const flags = union(previous.flags, next.flags);
    const events = this.diff(
      this.capture(null, keys, flags, previous),
      this.capture(null, keys, flags, next),
      null,
      position,
    );
    for (const tenant of union(previous.tenantValues, next.tenantValues, previous.overrides, next.overrides)) {
      const tKeys = union(previous.tenantValues.get(tenant), next.tenantValues.get(tenant));
      const tFlags = union(previous.overrides.get(tenant), next.overrides.get(tenant));
      events.push(
        ...this.diff(
          this.capture(tenant, tKeys, tFlags, previous),
          this.capture(tenant, tKeys, tFlags, next),
          tenant,
          position,
        ),
      );
    }
    return events;
  }

  private async loadTenant(tenant: string): Promise<void> {
    try {
      const reply = await this.read('tenants', [tenant]);
      if (!reply || reply.generation !== this.generation) return this.reload();
      for (const t of reply.tenants) this.setTenant(this.state, t);
      this.loadedTenants.add(tenant);
      this.sink?.invalidate(tenant);
    } finally {
      this.loadingTenants.delete(tenant);
    }
  }

  /**
   * Compares the view's position with the local one. When the view is ahead and stays ahead for a
   * moment (notifications in flight get that moment to arrive), a notification was lost: reload.
   */
  private async safetyCheck(): Promise<void> {
    if (this.closed || !this.loaded) return;
    try {
      const head = await this.read('head', []);
      if (!head) return;
      const due = () => this.reloadPending || this.behind(head);
      if (!due()) {
        this.sink?.confirmed(Math.max(this.viewPos, this.nsPos));
        return;
      }
      await sleep(50);
      if (due()) await this.enqueue(async () => (due() ? this.reload() : undefined));
    } catch (error) {
      this.sink?.error(error);
    }
  }

  private behind(head: Reply): boolean {
    return (
      head.generation !== this.generation ||
      head.nsPos > this.nsPos ||
      head.viewPos > this.viewPos ||
      (head.viewPos === this.viewPos && head.count !== this.count)
    );
  }

  /** `env`: manifest, environment layer and flags, plus `tenants` ('*': all of them); `head`: positions only. */
  private async read(mode: 'head' | 'env' | 'tenants', tenants: '*' | string[]): Promise<Reply | null> {
    const args = [
      globalKeys(this.prefix).generation,
      this.prefix,
      this.viewTag,
      this.nsTag,
      mode,
      ...(tenants === '*' ? ['*'] : ['-', ...tenants]),
    ];
    const raw = (await (this.cmd as Redis & { strataSdkRead(...args: string[]): Promise<unknown> }).strataSdkRead(
      ...args,
    )) as unknown[] | null;
    if (!Array.isArray(raw)) return null;
    const [gen, viewPos, nsPos, count, manifest, env, flags, tenantList, segments] = raw as [
      string,
      string,
      string,
      string,
      string | null,
      unknown,
      unknown,
      [string, unknown, unknown][],
      unknown,
    ];
    return {
      generation: Number(gen),
      viewPos: Number(viewPos),
      nsPos: Number(nsPos),
      count: Number(count),
      manifest: typeof manifest === 'string' ? (JSON.parse(manifest) as StoredManifest) : null,
      env: mode === 'env' ? toMap<ValueEntry>(env) : null,
      flags: mode === 'env' ? toMap<FlagEntry>(flags) : null,
      segments: mode === 'env' ? toMap<SegmentEntry>(segments) : null,
      tenants: tenantList.map(([tenant, config, overrides]) => ({
        tenant,
        config: toMap<ValueEntry>(config),
        overrides: toMap<OverrideEntry>(overrides),
      })),
    };
  }

  private refreshEnvVars(): void {
    const { envVars, localManifest } = this.options;
    if (!envVars) return;
    this.envLayer = envVarLayer(this.state.manifest ?? localManifest ?? null, envVars.env ?? process.env, {
      prefix: envVars.prefix,
    });
  }

  private emptyState(): LocalState {
    // core builds its state from fresh Maps, so the copy is ours to mutate.
    return initialState(this.options.namespace, this.options.environment) as LocalState;
  }
}
