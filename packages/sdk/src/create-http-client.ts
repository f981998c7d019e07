import { StrataError, jsonEqual, type DefinedManifest, type FlagReason, type ValueSource } from '@strata/core';
import type { ModelConfig, ModelFlag, ReadModel } from './read-model.js';
import {
  StrataClient,
  type ChangeEvent,
  type ClientBaseOptions,
  type ClientDriver,
  type ClientSink,
} from './strata-client.js';

export interface CreateHttpClientOptions<M extends DefinedManifest> extends ClientBaseOptions<M> {
  apiUrl: string;
  /** A token with config:read permission (and secret-read for `getSecret`). */
  token: string;
  /** How often every tenant and flag read so far is revalidated (ETag / If-None-Match); default 1000 ms. */
  pollIntervalMs?: number;
}

/**
 * The same read API for services that cannot reach Redis: reads through the HTTP API. Every tenant
 * (and tenant × flag) is fetched on first read — answering defaults with `tenant_loading` meanwhile —
 * and revalidated every poll interval with its ETag.
 */
export const createHttpClient = <const M extends DefinedManifest = DefinedManifest>(
  options: CreateHttpClientOptions<M>,
): StrataClient<M> => new StrataClient<M>(options, new HttpDriver(options));

interface ConfigAnswer {
  position: number;
  values: Record<string, { value: unknown; source: ValueSource; position: number }>;
}
interface FlagAnswer {
  enabled: boolean;
  reason: FlagReason;
  position: number;
}

const envKey = '';

class HttpDriver implements ClientDriver, ReadModel {
  readonly model: ReadModel = this;
  readonly manifest = null;
  private readonly base: string;
  private readonly configs = new Map<string, { etag: string | null; config: ModelConfig; position: number }>();
  private readonly flags = new Map<string, { tenant: string; flag: string; result: ModelFlag }>();
  private readonly requested = new Set<string>();
  private sink: ClientSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: CreateHttpClientOptions<DefinedManifest>) {
    this.base = `${options.apiUrl.replace(/\/$/, '')}/v1/namespaces/${encodeURIComponent(options.namespace)}/envs/${encodeURIComponent(options.environment)}`;
  }

  envVarErrors() {
    return [];
  }

  resolveAll(tenant: string | null): ModelConfig | undefined {
    const entry = this.configs.get(tenant ?? envKey);
    if (entry) return entry.config;
    this.request(`c\n${tenant ?? envKey}`, () => this.refreshConfig(tenant, []));
    return undefined;
  }

  evaluate(flag: string, tenant: string | null): ModelFlag | undefined {
    // The API evaluates flags per tenant only.
    if (tenant === null) return { enabled: false, reason: 'default', position: 0, known: false, tenantMissing: true };
    const entry = this.flags.get(`${tenant}\n${flag}`);
    if (entry) return entry.result;
    this.request(`f\n${tenant}\n${flag}`, () => this.refreshFlag(tenant, flag, []));
    return undefined;
  }

  async start(sink: ClientSink): Promise<void> {
    this.sink = sink;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.refreshConfig(null, []);
        break;
      } catch (error) {
        sink.error(error);
        if (this.closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
      }
    }
    this.timer = setInterval(() => this.poke(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
  }

  poke(): void {
    this.polling ??= this.poll().finally(() => (this.polling = undefined));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.polling;
  }

  private request(id: string, load: () => Promise<void>): void {
    if (this.requested.has(id) || this.closed) return;
    this.requested.add(id);
    load()
      .catch((error: unknown) => this.sink?.error(error))
      .finally(() => this.requested.delete(id));
  }

  private async poll(): Promise<void> {
    const started = performance.now();
    const events: ChangeEvent[] = [];
    try {
      await Promise.all([
        ...[...this.configs.keys()].map((t) => this.refreshConfig(t === envKey ? null : t, events)),
        ...[...this.flags.values()].map(({ tenant, flag }) => this.refreshFlag(tenant, flag, events)),
      ]);
      this.sink?.setStale(null);
    } catch (error) {
      this.sink?.error(error);
      this.sink?.setStale(new Date());
      return;
    }
    const position = Math.max(0, ...[...this.configs.values()].map((c) => c.position));
    if (events.length > 0) this.sink?.changed(events, position, performance.now() - started);
    else this.sink?.confirmed(position);
  }

  private async get<T>(path: string, etag: string | null): Promise<{ body: T; etag: string | null } | null> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      accept: 'application/json',
    };
    if (etag) headers['if-none-match'] = etag;
    const response = await fetch(`${this.base}${path}`, { headers });
    if (response.status === 304) return null;
    if (!response.ok)
      throw new StrataError('UNAVAILABLE', `strata: GET ${path} answered ${response.status}`, {
        status: response.status,
      });
    const next = response.headers.get('etag');
    if (etag && next === etag) return null;
    return { body: (await response.json()) as T, etag: next };
  }

  private async refreshConfig(tenant: string | null, events: ChangeEvent[]): Promise<void> {
    const id = tenant ?? envKey;
    const current = this.configs.get(id);
    const answer = await this.get<ConfigAnswer>(
      tenant === null ? '/config' : `/tenants/${encodeURIComponent(tenant)}/config`,
      current?.etag ?? null,
    );
    if (!answer) return;
    const values = new Map(Object.entries(answer.body.values));
    if (current) {
      for (const key of new Set([...current.config.values.keys(), ...values.keys()])) {
        const before = current.config.values.get(key)?.value;
        const after = values.get(key)?.value;
        if (!jsonEqual(before, after))
          events.push({ kind: 'key', key, tenant, value: after, previous: before, position: answer.body.position });
      }
    }
    this.configs.set(id, { etag: answer.etag, config: { values }, position: answer.body.position });
    this.sink?.invalidate(tenant ?? undefined);
  }

  private async refreshFlag(tenant: string, flag: string, events: ChangeEvent[]): Promise<void> {
    const answer = await this.get<FlagAnswer>(
      `/tenants/${encodeURIComponent(tenant)}/flags/${encodeURIComponent(flag)}`,
      null,
    );
    if (!answer) return;
    const id = `${tenant}\n${flag}`;
    const previous = this.flags.get(id)?.result;
    const { enabled, reason, position } = answer.body;
    // The API does not say whether a rollout is partial: report every rollout decision as a split.
    const result: ModelFlag = {
      enabled,
      reason,
      position,
      known: reason !== 'default',
      rollout: reason === 'rollout' ? 50 : undefined,
    };
    if (previous && previous.enabled !== enabled)
      events.push({ kind: 'flag', key: flag, tenant, value: enabled, previous: previous.enabled, position });
    if (previous && jsonEqual(previous, result)) return;
    this.flags.set(id, { tenant, flag, result });
    this.sink?.invalidate(tenant);
  }
}
