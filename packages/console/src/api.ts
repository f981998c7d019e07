import type { StateChange } from '@strata/core';

/**
 * Every HTTP call of the console, in one module: the typed client of `@strata/contracts` replaces
 * it once that package lands (same method names), so no view builds a URL or calls fetch itself.
 * The token travels only in the Authorization header — never in a URL, never in a log line.
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
  /** null: the environment layer. */
  tenant: string | null;
}

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
export interface EventsQuery {
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
}
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

export interface ChainVerification {
  ok: boolean;
  checked: number;
  firstBadPosition?: number;
  [extra: string]: unknown;
}
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
const queryString = (query: Record<string, QueryValue>): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
};
const seg = encodeURIComponent;
const envPath = ({ namespace, env }: Pick<Scope, 'namespace' | 'env'>) =>
  `/v1/namespaces/${seg(namespace)}/envs/${seg(env)}`;
const scopePath = (scope: Scope) =>
  scope.tenant === null ? envPath(scope) : `${envPath(scope)}/tenants/${seg(scope.tenant)}`;

export interface ReadAt {
  minPosition?: number;
  position?: number;
  at?: string;
}

export const createClient = (token: string, baseUrl = '') => {
  const request = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw new ApiError(response.status, parsed as Problem | undefined);
    return parsed as T;
  };

  return {
    whoami: () => request<Whoami>('GET', '/v1/tokens/self'),

    /** Paths of the API's OpenAPI document: which optional routes this server has. */
    routes: async (): Promise<Set<string>> => {
      const doc = await request<{ paths?: Record<string, unknown> }>('GET', '/openapi.json');
      return new Set(Object.keys(doc.paths ?? {}));
    },

    resolvedConfig: (scope: Scope, at: ReadAt = {}) =>
      request<ResolvedConfig>('GET', `${scopePath(scope)}/config${queryString({ ...at })}`),
    setConfigValue: (scope: Scope, key: string, value: unknown, reason: string) =>
      request<WriteAnswer>('PUT', `${scopePath(scope)}/config/${seg(key)}`, { value, reason }),
    unsetConfigValue: (scope: Scope, key: string, reason: string) =>
      request<WriteAnswer>('DELETE', `${scopePath(scope)}/config/${seg(key)}`, { reason }),

    evaluateFlag: (scope: Scope & { tenant: string }, flag: string, at: ReadAt = {}) =>
      request<FlagAnswer>('GET', `${scopePath(scope)}/flags/${seg(flag)}${queryString({ ...at })}`),
    setFlagRollout: (
      scope: Pick<Scope, 'namespace' | 'env'>,
      flag: string,
      body: { rollout: number; enabled: boolean; reason: string },
    ) => request<WriteAnswer>('PUT', `${envPath(scope)}/flags/${seg(flag)}`, body),
    setFlagOverride: (
      scope: Scope & { tenant: string },
      flag: string,
      override: 'enabled' | 'disabled' | null,
      reason: string,
    ) => request<WriteAnswer>('PUT', `${scopePath(scope)}/flags/${seg(flag)}`, { override, reason }),

    listSecrets: (scope: Scope) => request<SecretList>('GET', `${scopePath(scope)}/secrets`),
    readSecret: (scope: Scope, name: string) => request<SecretValue>('GET', `${scopePath(scope)}/secrets/${seg(name)}`),
    putSecret: (scope: Scope, name: string, value: string, reason: string) =>
      request<WriteAnswer>('PUT', `${scopePath(scope)}/secrets/${seg(name)}`, { value, reason }),

    events: (query: EventsQuery, signal?: AbortSignal) =>
      request<EventsPage>('GET', `/v1/events${queryString({ ...query })}`, undefined, signal),
    /** The filtered history as NDJSON text (the export route streams it). */
    exportEvents: async (query: EventsQuery): Promise<string> => {
      const response = await fetch(`${baseUrl}/v1/events/export${queryString({ ...query })}`, {
        headers: { authorization: `Bearer ${token}` },
        cache: 'no-store',
        credentials: 'omit',
      });
      const text = await response.text();
      if (!response.ok) throw new ApiError(response.status, text ? (JSON.parse(text) as Problem) : undefined);
      return text;
    },
    diff: (scope: Pick<Scope, 'namespace' | 'env'>, from: number | string, to?: number | string) =>
      request<DiffAnswer>('GET', `${envPath(scope)}/diff${queryString({ from, to })}`),
    revert: (scope: Pick<Scope, 'namespace' | 'env'>, body: RevertRequest) =>
      request<RevertAnswer>('POST', `${envPath(scope)}/revert`, body),
    verifyChain: () => request<ChainVerification>('GET', '/v1/verify'),
    projectionStatus: () => request<ProjectionStatus>('GET', '/v1/projections/status'),
    rebuildProjections: (reason: string) =>
      request<{ started: boolean; running: boolean }>('POST', '/v1/projections/rebuild', { reason }),

    /**
     * The change stream (text/event-stream over fetch, since EventSource cannot send the token in a
     * header). Resolves when the server closes or `signal` aborts; `onResync` means reload everything.
     */
    changes: async (
      scope: Pick<Scope, 'namespace' | 'env'>,
      options: {
        after: number;
        signal: AbortSignal;
        onChange: (change: ChangeNotice) => void;
        onResync: (head: number) => void;
      },
    ): Promise<void> => {
      const response = await fetch(`${baseUrl}${envPath(scope)}/changes`, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'last-event-id': String(options.after),
        },
        signal: options.signal,
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
          const parsed = JSON.parse(data) as ChangeNotice & { position: number };
          if (event === 'change') options.onChange(parsed);
          else if (event === 'resync') options.onResync(parsed.position);
        }
      }
    },
  };
};

export type StrataClient = ReturnType<typeof createClient>;
