import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { envVarLayer, jsonEqual, type EnvVarLayer, type ManifestDocument } from '@strata/core';
import {
  RedisViewReader,
  defaultPrefix,
  parseViewChanges,
  viewChannel,
  viewTag,
  type ViewChange,
  type ViewPart,
  type ViewParts,
} from '@strata/redis-views';
import type { ChangeEvent, ClientDriver, ClientSink } from './client-driver.js';
import { emptyLocalView, mergeNames, mergeNestedNames, setTenant, type LocalView } from './local-view.js';
import { StateModel } from './state-model.js';
import { captureScope, definedFlags, diffCaptures, diffViews, type CaptureContext } from './view-changes.js';

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

interface Pending {
  change: ViewChange;
  namespaceChannel: boolean;
  receivedAt: number;
}

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
  private readonly reader: RedisViewReader;
  private readonly channels: [string, string];
  private readonly lazy: boolean;
  private state: LocalView;
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
  /** A reload found no live generation and said so; reset by the next load that succeeds. */
  private noGenerationReported = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisDriverOptions) {
    const prefix = options.prefix ?? defaultPrefix;
    this.channels = [
      viewChannel(prefix, viewTag(options.namespace, options.environment)),
      viewChannel(prefix, viewTag(options.namespace, null)),
    ];
    this.lazy = options.lazyTenants === true;
    this.ownsCmd = typeof options.redis === 'string';
    this.cmd = typeof options.redis === 'string' ? new Redis(options.redis, { lazyConnect: true }) : options.redis;
    // Resubscription is done by hand on 'ready' so that a reload follows it.
    this.sub = this.cmd.duplicate({ autoResubscribe: false, lazyConnect: true });
    this.reader = new RedisViewReader({ redis: this.cmd, prefix });
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
    let changes: ViewChange[];
    try {
      changes = parseViewChanges(message);
    } catch {
      return;
    }
    const namespaceChannel = channel === this.channels[1];
    const receivedAt = performance.now();
    for (const change of changes) this.pending.push({ change, namespaceChannel, receivedAt });
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
      if (reply && reply.viewPosition === change.position && reply.count !== this.count) gap = true;
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

  private applyScope(change: ViewChange, reply: ViewParts): ChangeEvent[] {
    const tenant = change.tenant;
    // A changed segment changes every flag whose targeting references it (directly or through
    // another segment): every definition is captured with the logic of the segments it uses, and
    // the diff reports those whose segments changed. Segment changes are rare; this is cheap.
    const flags = change.segments?.length ? [...new Set([...change.flags, ...definedFlags(this.state)])] : change.flags;
    const before = captureScope(this.state, tenant, change.keys, flags, this.captureContext());
    // Take only the notified keys and flags from the reply: it may already hold later changes of
    // the same scope, which their own notifications apply (and report) in turn.
    if (tenant === null) {
      mergeNames(this.state.environmentValues, reply.env, change.keys);
      mergeNames(this.state.flags, reply.flags, change.flags);
      if (change.segments?.length) {
        // A new map, never mutated: compiled flags are memoised on the segment map's identity.
        const segments = new Map(this.state.segments);
        mergeNames(segments, reply.segments, change.segments);
        this.state.segments = segments;
      }
      this.sink?.invalidate();
    } else {
      const fetched = reply.tenants[0];
      mergeNestedNames(this.state.tenantValues, tenant, fetched?.config, change.keys);
      mergeNestedNames(this.state.overrides, tenant, fetched?.overrides, change.flags);
      this.sink?.invalidate(tenant);
    }
    const after = captureScope(this.state, tenant, change.keys, flags, this.captureContext());
    return diffCaptures(before, after, tenant, change.position);
  }

  private captureContext(): CaptureContext {
    return { envVars: this.envLayer, bucketOf: (tenant, flag) => this.model.bucketOf(tenant, flag) };
  }

  // ------------------------------------------------------------------------------------------
  // Loading

  /** Replaces the whole state from one consistent snapshot and reports what changed. */
  private async reload(noticedAt = performance.now()): Promise<void> {
    this.reloadPending = true;
    const reply = await this.read('env', this.lazy ? [...this.loadedTenants] : '*');
    if (!reply) {
      // Once until a load succeeds: the safety check tries again every interval meanwhile.
      if (!this.noGenerationReported)
        this.sink?.error(new Error('no live Redis view generation (rebuild in progress?)'));
      this.noGenerationReported = true;
      return;
    }
    this.noGenerationReported = false;
    const previous = this.state;
    const next = this.emptyState();
    next.manifest = reply.manifest?.manifest ?? null;
    next.manifestPosition = reply.manifest?.position ?? 0;
    next.environmentValues = reply.env ?? new Map();
    next.flags = reply.flags ?? new Map();
    next.segments = reply.segments ?? new Map();
    for (const t of reply.tenants) setTenant(next, t);
    next.position = Math.max(reply.viewPosition, reply.namespacePosition);
    const manifestChanged = !jsonEqual(previous.manifest, next.manifest);
    this.state = next;
    if (manifestChanged) this.refreshEnvVars();
    this.generation = reply.generation;
    this.viewPos = reply.viewPosition;
    this.nsPos = reply.namespacePosition;
    this.count = reply.count;
    this.reloadPending = false;
    // A reload can carry namespace-level changes (a new manifest): they happened at the namespace's
    // position, so the changes report the state's position, not the environment view's alone.
    const events = this.loaded ? diffViews(previous, next, next.position, this.captureContext()) : [];
    this.loaded = true;
    this.sink?.invalidate();
    if (this.cmd.status === 'ready' && this.sub.status === 'ready') this.sink?.setStale(null);
    this.sink?.changed(events, next.position, performance.now() - noticedAt);
  }

  private async loadTenant(tenant: string): Promise<void> {
    try {
      const reply = await this.read('tenants', [tenant]);
      if (!reply || reply.generation !== this.generation) return this.reload();
      for (const t of reply.tenants) setTenant(this.state, t);
      this.loadedTenants.add(tenant);
      this.sink?.invalidate(tenant);
    } finally {
      this.loadingTenants.delete(tenant);
    }
  }

  /**
   * Compares the view's position with the local one. When the view is ahead and stays ahead for a
   * moment (notifications in flight get that moment to arrive), a notification was lost: reload.
   * Before the first successful load, it is that load, tried again.
   */
  private async safetyCheck(): Promise<void> {
    if (this.closed || !this.subscribed) return;
    try {
      // Nothing loaded yet: the first load found no live generation (a projector's first rebuild
      // still running). Its switch is announced on the global channel only, which this client does
      // not follow, and nothing may be written for this view for a long time: try again.
      if (!this.loaded) return await this.enqueue(async () => (this.loaded ? undefined : this.reload()));
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

  private behind(head: ViewParts): boolean {
    return (
      head.generation !== this.generation ||
      head.namespacePosition > this.nsPos ||
      head.viewPosition > this.viewPos ||
      (head.viewPosition === this.viewPos && head.count !== this.count)
    );
  }

  /** `env`: manifest, environment layer and flags, plus `tenants` ('*': all of them); `head`: positions only. */
  private read(part: ViewPart, tenants: '*' | string[]): Promise<ViewParts | null> {
    return this.reader.readViewParts(this.options.namespace, this.options.environment, part, tenants);
  }

  private refreshEnvVars(): void {
    const { envVars, localManifest } = this.options;
    if (!envVars) return;
    this.envLayer = envVarLayer(this.state.manifest ?? localManifest ?? null, envVars.env ?? process.env, {
      prefix: envVars.prefix,
    });
  }

  private emptyState(): LocalView {
    return emptyLocalView(this.options.namespace, this.options.environment);
  }
}
