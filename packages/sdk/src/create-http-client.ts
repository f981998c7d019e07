import { StrataApi, type Change, type ChangeFollower, type FlagAnswer, type ResolvedAnswer } from '@strata/contracts';
import { jsonEqual, type DefinedManifest } from '@strata/core';
import type { ModelConfig, ModelFlag, ReadModel } from './read-model.js';
import type { ChangeEvent, ClientDriver, ClientSink } from './client-driver.js';
import { StrataClient, type ClientBaseOptions } from './strata-client.js';

export interface CreateHttpClientOptions<M extends DefinedManifest> extends ClientBaseOptions<M> {
  apiUrl: string;
  /** A token with config:read permission (and secret-read for `getSecret`). */
  token: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/**
 * The same read API for services that cannot reach Redis: reads through the HTTP API with the
 * shared client. Each tenant's config and all its flags are fetched in one call each on first
 * read — answering defaults with `tenant_loading` meanwhile — and refetched only when the change
 * stream names something that touches them (`?minPosition=` of the change, so the answer holds it).
 * A broken stream resumes after the last change it delivered, so nothing is missed; a resync
 * reloads everything.
 */
export const createHttpClient = <const M extends DefinedManifest = DefinedManifest>(
  options: CreateHttpClientOptions<M>,
): StrataClient<M> => new StrataClient<M>(options, new HttpDriver(options));

const envKey = '';
const keyOf = (tenant: string | null) => tenant ?? envKey;

const modelFlag = ({ enabled, reason, position, rollout, variant }: FlagAnswer): ModelFlag => ({
  enabled,
  reason,
  position,
  known: reason !== 'default',
  ...(rollout !== undefined ? { rollout } : {}),
  ...(variant !== undefined ? { variant } : {}),
});

const modelConfig = (answer: ResolvedAnswer): ModelConfig => ({ values: new Map(Object.entries(answer.values)) });

/** What a batch of changes makes stale: tenant configs, tenant flag sets, or everything. */
interface Dirty {
  all: boolean;
  configs: Set<string>;
  flags: Set<string>;
  position: number;
  recordedAt: string | null;
}

class HttpDriver implements ClientDriver, ReadModel {
  readonly model: ReadModel = this;
  readonly manifest = null;
  private readonly api: StrataApi;
  private readonly scope: { namespace: string; env: string };
  private readonly configs = new Map<string, { config: ModelConfig; position: number }>();
  private readonly flags = new Map<string, { flags: Map<string, ModelFlag>; position: number }>();
  private readonly requested = new Set<string>();
  private sink: ClientSink | undefined;
  private follower: ChangeFollower | undefined;
  private dirty: Dirty = { all: false, configs: new Set(), flags: new Set(), position: 0, recordedAt: null };
  private refreshing: Promise<void> | undefined;
  private position = 0;
  private closed = false;

  constructor(private readonly options: CreateHttpClientOptions<DefinedManifest>) {
    this.api = new StrataApi({ url: options.apiUrl, token: options.token, timeoutMs: options.timeoutMs ?? 10_000 });
    this.scope = { namespace: options.namespace, env: options.environment };
  }

  envVarErrors() {
    return [];
  }

  resolveAll(tenant: string | null): ModelConfig | undefined {
    const entry = this.configs.get(keyOf(tenant));
    if (entry) return entry.config;
    this.load(`c${keyOf(tenant)}`, () => this.fetchConfig(tenant, 0, []));
    return undefined;
  }

  evaluate(flag: string, tenant: string | null): ModelFlag | undefined {
    // The API evaluates flags per tenant only.
    if (tenant === null) return { enabled: false, reason: 'default', position: 0, known: false, tenantMissing: true };
    const entry = this.flags.get(tenant);
    if (entry) return entry.flags.get(flag) ?? { enabled: false, reason: 'default', position: 0, known: false };
    this.load(`f${tenant}`, () => this.fetchFlags(tenant, 0, []));
    return undefined;
  }

  async start(sink: ClientSink): Promise<void> {
    this.sink = sink;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fetchConfig(null, 0, []);
        break;
      } catch (error) {
        sink.error(error);
        if (this.closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
      }
    }
    // Follow from the position the first answer reflects: every later change arrives.
    this.follower = this.api.follow(this.scope, {
      after: this.position,
      onChange: (change) => this.onChange(change),
      onResync: async (head) => {
        this.dirty.all = true;
        this.dirty.position = Math.max(this.dirty.position, head);
        await this.refresh();
      },
      onConnection: (state) => {
        if (state.up) this.sink?.setStale(null);
        else {
          this.sink?.error(state.error);
          this.sink?.setStale(new Date());
        }
      },
    });
    sink.confirmed(this.position);
  }

  /** `waitFor` asks: refetch what is loaded at the stream's position (a change may be on its way). */
  poke(): void {
    this.dirty.all = true;
    this.dirty.position = Math.max(this.dirty.position, this.follower?.position ?? 0);
    void this.refresh();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.follower?.close();
    await this.refreshing;
  }

  private load(id: string, fetch: () => Promise<void>): void {
    if (this.requested.has(id) || this.closed) return;
    this.requested.add(id);
    fetch()
      .catch((error: unknown) => this.sink?.error(error))
      .finally(() => this.requested.delete(id));
  }

  private onChange(change: Change): void {
    const d = this.dirty;
    d.position = Math.max(d.position, change.position);
    d.recordedAt = change.recordedAt;
    if (change.kind === 'manifest' || change.kind === 'segment') d.all = true;
    else if (change.kind === 'config') {
      if (change.tenant === null) for (const t of this.configs.keys()) d.configs.add(t);
      else d.configs.add(change.tenant);
    } else if (change.kind === 'flag') {
      if (change.tenant === null) for (const t of this.flags.keys()) d.flags.add(t);
      else d.flags.add(change.tenant);
    } else {
      // Secrets and tenant keys: nothing cached here, but the state moved on.
      this.position = Math.max(this.position, change.position);
    }
    void this.refresh();
  }

  /** Refetches what the changes so far made stale (one at a time; later changes queue up). */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      while (!this.closed && (this.dirty.all || this.dirty.configs.size > 0 || this.dirty.flags.size > 0)) {
        const d = this.dirty;
        this.dirty = { all: false, configs: new Set(), flags: new Set(), position: d.position, recordedAt: null };
        const started = performance.now();
        const configs = d.all ? new Set(this.configs.keys()) : d.configs;
        const flags = d.all ? new Set(this.flags.keys()) : d.flags;
        const events: ChangeEvent[] = [];
        try {
          await Promise.all([
            ...[...configs]
              .filter((t) => this.configs.has(t))
              .map((t) => this.fetchConfig(t === envKey ? null : t, d.position, events)),
            ...[...flags].filter((t) => this.flags.has(t)).map((t) => this.fetchFlags(t, d.position, events)),
          ]);
        } catch (error) {
          // Retried with the next change or `waitFor`; meanwhile the old answers stay.
          this.sink?.error(error);
          for (const t of configs) this.dirty.configs.add(t);
          for (const t of flags) this.dirty.flags.add(t);
          return;
        }
        this.position = Math.max(this.position, d.position);
        const latency = d.recordedAt ? Date.now() - Date.parse(d.recordedAt) : undefined;
        for (const event of events) if (latency !== undefined) event.latencyMs = latency;
        if (events.length > 0) this.sink?.changed(events, this.position, performance.now() - started);
        else this.sink?.confirmed(this.position);
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async fetchConfig(tenant: string | null, minPosition: number, events: ChangeEvent[]): Promise<void> {
    const answer = await this.api.resolvedConfig({ ...this.scope, tenant }, minPosition > 0 ? { minPosition } : {});
    const id = keyOf(tenant);
    const current = this.configs.get(id);
    const config = modelConfig(answer);
    if (current) {
      for (const key of new Set([...current.config.values.keys(), ...config.values.keys()])) {
        const before = current.config.values.get(key)?.value;
        const after = config.values.get(key)?.value;
        if (!jsonEqual(before, after))
          events.push({ kind: 'key', key, tenant, value: after, previous: before, position: answer.position });
      }
    }
    this.configs.set(id, { config, position: answer.position });
    this.position = Math.max(this.position, answer.position);
    this.sink?.invalidate(tenant ?? undefined);
  }

  private async fetchFlags(tenant: string, minPosition: number, events: ChangeEvent[]): Promise<void> {
    const answer = await this.api.tenantFlags({ ...this.scope, tenant }, minPosition > 0 ? { minPosition } : {});
    const flags = new Map(Object.entries(answer.flags).map(([key, flag]) => [key, modelFlag(flag)]));
    const previous = this.flags.get(tenant)?.flags;
    if (previous) {
      for (const [key, flag] of flags) {
        const before = previous.get(key);
        if (before && before.enabled !== flag.enabled)
          events.push({
            kind: 'flag',
            key,
            tenant,
            value: flag.enabled,
            previous: before.enabled,
            position: flag.position,
          });
      }
    }
    this.flags.set(tenant, { flags, position: answer.position });
    this.sink?.invalidate(tenant);
  }
}
