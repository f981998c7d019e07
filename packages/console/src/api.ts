import type { StateChange } from '@strata/core';

/**
 * Every HTTP call of the console, in one module: a stand-in for the typed client of
 * `@strata/contracts` (`StrataApi`, same constructor and method names), so swapping is an import
 * and no view builds a URL or calls fetch itself. The token travels only in the Authorization
 * header — never in a URL, never in a log line.
 */

/** RFC 9457 problem details as the API sends them. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errorId?: string;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(
      problem?.detail
        ? `${problem.title ?? `HTTP ${status}`}: ${problem.detail}`
        : (problem?.title ?? `the API answered ${status}`),
    );
  }
}

export interface Whoami {
  subject: string;
  tokenId: string | null;
  role: string;
  namespace: string | null;
  env: string | null;
  tenant: string | null;
  permissions: string[];
}

export interface Scope {
  namespace: string;
  env: string;
  /** null or absent: the environment layer. */
  tenant?: string | null | undefined;
}
export type TenantScope = Scope & { tenant: string };

export interface ResolvedValue {
  value: unknown;
  source: string;
  position: number;
}
export interface ResolvedConfig {
  position: number;
  values: Record<string, ResolvedValue>;
}
export interface FlagAnswer {
  enabled: boolean;
  reason: string;
  position: number;
}
export interface WriteAnswer {
  position: number;
  version: number;
  [extra: string]: unknown;
}

export interface HistoryEvent {
  position: number;
  eventId: string;
  type: string;
  streamId: string;
  streamVersion: number;
  recordedAt: string;
  actor: string;
  data: Record<string, unknown>;
  metadata: { actor: string; reason?: string | null; source?: string | null; revertTo?: number | null };
  before?: { value: unknown } | null;
  after?: { value: unknown } | null;
}
export type EventsQuery = {
  namespace?: string;
  env?: string;
  tenant?: string;
  key?: string;
  actor?: string;
  type?: string;
  from?: string;
  to?: string;
  after?: number;
  limit?: number;
};
export interface EventsPage {
  events: HistoryEvent[];
  next: number | null;
}

export interface SecretVersionMeta {
  version: number;
  position: number;
  addedAt: string;
  kek: string;
  previousReadableUntil: string | null;
}
export interface SecretList {
  position: number;
  secrets: { name: string; tenant: string | null; deleted: boolean; versions: SecretVersionMeta[] }[];
}
export interface SecretValue {
  value: string;
  version: number;
  source: string;
}

export interface DiffAnswer {
  from: number;
  to: number;
  changes: StateChange[];
}
export type Moment = { position: number } | { at: string };
export interface RevertRequest {
  to: Moment;
  tenants?: string[];
  keys?: string[];
  dryRun: boolean;
  reason: string;
}
export interface PlannedStream {
  streamId: string;
  events: { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[];
}
export interface RevertAnswer {
  position: number;
  to: number;
  dryRun?: boolean;
  appended?: number;
  plan?: { streams: PlannedStream[]; skipped: unknown[] };
  applied?: { streams: PlannedStream[]; skipped: unknown[] };
}

export type ChainVerification =
  { ok: true; checked: number; head: number } | { ok: false; checked: number; firstBadPosition: number };
export interface ProjectionStatus {
  generation: number | null;
  needsRebuild: boolean;
  head: number;
  rebuilding: { startedAt: string; actor: string; progress: { position: number; head: number } | null } | null;
  position: number | null;
  lag: number | null;
  progress: number | null;
  last: ({ finishedAt: string } & Record<string, unknown>) | null;
  checkpoints?: { name: string; position: number; lag: number; updatedAt: string }[];
}

/** What `POST …/flags/{flag}/preview` answers: the tenants (contexts) whose value would change. */
export interface FlagPreview {
  flag: string;
  evaluated: number;
  changed: number;
  flips: Array<{
    tenant: string | null;
    context: Record<string, unknown>;
    from: { variant: string | null; value: unknown; reason: string };
    to: { variant: string | null; value: unknown; reason: string };
  }>;
}

/** One notice of the change stream (values are never in it: refetch with ?minPosition). */
export interface ChangeNotice {
  position: number;
  type: string;
  kind: string;
  name: string | null;
  tenant: string | null;
  recordedAt: string;
}

type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;
const queryString = (query: Query): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
};
const enc = encodeURIComponent;
const scopePath = ({ namespace, env, tenant }: Scope): string =>
  `/v1/namespaces/${enc(namespace)}/envs/${enc(env)}${tenant ? `/tenants/${enc(tenant)}` : ''}`;

export interface ReadOptions {
  minPosition?: number | undefined;
  position?: number | undefined;
  at?: string | undefined;
}

export interface FollowOptions {
  after?: number | undefined;
  onChange(change: ChangeNotice): void;
  onResync(position: number): void;
}

export class StrataApi {
  readonly url: string;
  readonly #token: string;

  constructor(options: { url: string; token: string }) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw new ApiError(response.status, parsed as Problem | undefined);
    return parsed as T;
  }

  send(method: string, path: string, body?: unknown, signal?: AbortSignal, accept = 'application/json') {
    return fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        accept,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  }

  // Not in the contracts client (yet): who the token is, and which optional routes the server has.
  whoami() {
    return this.#request<Whoami>('GET', '/v1/tokens/self');
  }
  async routes(): Promise<Set<string>> {
    const doc = await this.#request<{ paths?: Record<string, unknown> }>('GET', '/openapi.json');
    return new Set(Object.keys(doc.paths ?? {}));
  }

  resolvedConfig(scope: Scope, options: ReadOptions = {}) {
    return this.#request<ResolvedConfig>('GET', `${scopePath(scope)}/config${queryString({ ...options })}`);
  }
  evaluateFlag(scope: TenantScope, flag: string, options: ReadOptions = {}) {
    return this.#request<FlagAnswer>('GET', `${scopePath(scope)}/flags/${enc(flag)}${queryString({ ...options })}`);
  }

  setValue(scope: Scope, key: string, value: unknown, reason?: string) {
    return this.#request<WriteAnswer>('PUT', `${scopePath(scope)}/config/${enc(key)}`, { value, reason });
  }
  unsetValue(scope: Scope, key: string, reason?: string) {
    return this.#request<WriteAnswer>('DELETE', `${scopePath(scope)}/config/${enc(key)}`, { reason });
  }
  setFlag(scope: Scope, flag: string, body: { rollout: number; enabled: boolean; reason?: string }) {
    return this.#request<WriteAnswer>('PUT', `${scopePath({ ...scope, tenant: null })}/flags/${enc(flag)}`, body);
  }
  /** A flagd definition (`state`, `variants`, `defaultVariant`, `targeting`) replaces the flag's rule. */
  setFlagDefinition(scope: Scope, flag: string, definition: Record<string, unknown>, reason?: string) {
    return this.#request<WriteAnswer>('PUT', `${scopePath({ ...scope, tenant: null })}/flags/${enc(flag)}`, {
      ...definition,
      reason,
    });
  }
  /** Who flips under a proposed definition (or `{rollout, enabled}`), evaluated by the server. */
  previewFlag(scope: Scope, flag: string, body: { definition: unknown; tenants?: 'seen' | string[] }) {
    return this.#request<FlagPreview>(
      'POST',
      `${scopePath({ ...scope, tenant: null })}/flags/${enc(flag)}/preview`,
      body,
    );
  }
  setFlagOverride(scope: TenantScope, flag: string, override: 'enabled' | 'disabled' | null, reason?: string) {
    return this.#request<WriteAnswer>('PUT', `${scopePath(scope)}/flags/${enc(flag)}`, { override, reason });
  }

  setSecret(scope: Scope, name: string, body: { value: string; reason?: string }) {
    return this.#request<WriteAnswer>('PUT', `${scopePath(scope)}/secrets/${enc(name)}`, body);
  }
  getSecret(scope: Scope, name: string) {
    return this.#request<SecretValue>('GET', `${scopePath(scope)}/secrets/${enc(name)}`);
  }
  listSecrets(scope: Scope) {
    return this.#request<SecretList>('GET', `${scopePath(scope)}/secrets`);
  }

  events(query: Query) {
    return this.#request<EventsPage>('GET', `/v1/events${queryString(query)}`);
  }
  /** The filtered history as NDJSON (the raw body stream). */
  async exportEvents(query: Query): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', `/v1/events/export${queryString(query)}`, undefined, undefined, '*/*');
    if (!response.ok || !response.body) throw new ApiError(response.status, undefined);
    return response.body;
  }
  verify() {
    return this.#request<ChainVerification>('GET', '/v1/verify');
  }
  diff(scope: Scope, query: { from: string | number; to?: string | number | undefined }) {
    return this.#request<DiffAnswer>('GET', `${scopePath({ ...scope, tenant: null })}/diff${queryString(query)}`);
  }
  revert(scope: Scope, body: RevertRequest) {
    return this.#request<RevertAnswer>('POST', `${scopePath({ ...scope, tenant: null })}/revert`, body);
  }
  projectionStatus() {
    return this.#request<ProjectionStatus>('GET', '/v1/projections/status');
  }
  rebuildProjections(reason?: string) {
    return this.#request<{ started: boolean; running: boolean }>('POST', '/v1/projections/rebuild', { reason });
  }

  /**
   * Follows the change stream (text/event-stream over fetch: EventSource cannot send the token in
   * a header), reconnecting after a break and resuming after the last position delivered.
   */
  follow(scope: Scope, options: FollowOptions): { readonly position: number; close(): Promise<void> } {
    const stop = new AbortController();
    let position = options.after ?? 0;
    const once = async () => {
      const response = await fetch(`${this.url}${scopePath({ ...scope, tenant: null })}/changes`, {
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'text/event-stream',
          ...(position > 0 ? { 'last-event-id': String(position) } : {}),
        },
        signal: stop.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
      if (!response.ok || !response.body) throw new ApiError(response.status, undefined);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (!data) continue;
          const parsed = JSON.parse(data) as ChangeNotice;
          if (event === 'ready' && position === 0) position = parsed.position;
          else if (event === 'change') {
            position = parsed.position;
            options.onChange(parsed);
          } else if (event === 'resync') {
            options.onResync(parsed.position);
            position = parsed.position;
          }
        }
      }
    };
    const running = (async () => {
      while (!stop.signal.aborted) {
        await once().catch(() => undefined);
        if (!stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    return {
      get position() {
        return position;
      },
      async close() {
        stop.abort();
        await running;
      },
    };
  }
}
