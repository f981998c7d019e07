import type { RecordedEvent } from '@strata/core';
import { CliError, exitCodeForStatus, exitCodes } from './cli-error.js';

/**
 * A small typed client for the Strata HTTP API (BRIEF.md "Public contract"). The CLI talks to the
 * API only, never to the databases, so every command goes through here; every non-2xx answer
 * becomes one `ApiError` whose message is the one line the user sees.
 */

/** RFC 9457 problem details as the API sends them, with its `code` and `errorId` extensions. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errorId?: string;
  [extra: string]: unknown;
}

export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(message, exitCodeForStatus(status));
  }
}

/** `<title>: <detail> (error id …)`, falling back to the status line for non-problem answers. */
export const problemMessage = (
  status: number,
  statusText: string,
  problem: Problem | undefined,
  text: string,
): string => {
  const title = problem?.title ?? (statusText || `HTTP ${status}`);
  const detail =
    problem?.detail ??
    (typeof problem?.['message'] === 'string' ? problem['message'] : text.trim().split('\n')[0]?.slice(0, 200));
  const id = problem?.errorId ? ` (error id ${problem.errorId})` : '';
  return `${title}${detail && detail !== title ? `: ${detail}` : ''}${id}`;
};

export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ApiClientOptions {
  url: string;
  token?: string | undefined;
  /** Injected by unit specs (a fake server); the global fetch otherwise. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface Scope {
  namespace: string;
  env: string;
  tenant?: string | undefined;
}

export interface ResolvedValue {
  value: unknown;
  source: 'tenant' | 'environment' | 'default';
  position: number;
  secret?: boolean;
}

export interface ResolvedConfig {
  position: number;
  values: Record<string, ResolvedValue>;
}

export interface WriteResult {
  position: number;
  [extra: string]: unknown;
}

export interface FlagEvaluation {
  enabled: boolean;
  reason: 'override' | 'rollout' | 'disabled' | 'default';
  position: number;
  variant?: unknown;
}

export interface SecretValue {
  value: string;
  version: number;
}

/** An event as `GET /v1/events` answers it: the recorded event (secret envelopes may be elided). */
export type HistoryEvent = RecordedEvent & { before?: unknown };

export interface EventsPage {
  events: HistoryEvent[];
  next: number | string | null;
}

export interface TokenInfo {
  id: string;
  role: string;
  namespace?: string | null;
  env?: string | null;
  environment?: string | null;
  tenant?: string | null;
  description?: string | null;
  createdAt?: string;
  createdBy?: string;
  revokedAt?: string | null;
}

const enc = encodeURIComponent;

/** `/v1/namespaces/{ns}/envs/{env}[/tenants/{tenant}]` */
export const scopePath = ({ namespace, env, tenant }: Scope): string =>
  `/v1/namespaces/${enc(namespace)}/envs/${enc(env)}${tenant ? `/tenants/${enc(tenant)}` : ''}`;

/** What `POST …/flags/{flag}/preview` answers. */
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

export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Sends one request; resolves with the parsed body of a 2xx answer, throws ApiError otherwise. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const response = await this.#send(method, path, options);
    const text = await response.text();
    if (!response.ok) throw this.#error(response, text);
    let body: unknown = text;
    if (text.length > 0 && /json/.test(response.headers.get('content-type') ?? 'application/json')) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError(`the server answered ${method} ${path} with malformed JSON`);
      }
    }
    return { status: response.status, headers: response.headers, body: (text.length > 0 ? body : undefined) as T };
  }

  /** For streamed answers (NDJSON export): the raw body, after the same error handling. */
  async stream(path: string, options: RequestOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#send('GET', path, options);
    if (!response.ok) throw this.#error(response, await response.text());
    if (!response.body) throw new CliError(`the server answered GET ${path} without a body`);
    return response.body;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query }).then((r) => r.body);
  }

  put<T = WriteResult>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('PUT', path, { body, ...(headers ? { headers } : {}) }).then((r) => r.body);
  }

  post<T = WriteResult>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, { body, ...(headers ? { headers } : {}) }).then((r) => r.body);
  }

  delete<T = WriteResult>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('DELETE', path, { body, ...(headers ? { headers } : {}) }).then((r) => r.body);
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
      else if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...options.headers,
    };
    if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    let body: string | undefined;
    // No content-type without a body: an empty JSON body is an error to most servers.
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await this.#fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new CliError(
          `server unavailable: ${method} ${url.origin}${path} timed out after ${this.#timeoutMs} ms`,
          exitCodes.unavailable,
          { cause: error },
        );
      }
      const code = networkCode(error) ?? (error as Error).message;
      throw new CliError(`server unavailable: cannot reach ${this.url} (${code})`, exitCodes.unavailable, {
        cause: error,
      });
    }
  }

  #error(response: Response, text: string): ApiError {
    let problem: Problem | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as Problem;
    } catch {
      // Not JSON (a proxy's HTML page, say): the status line says enough.
    }
    return new ApiError(problemMessage(response.status, response.statusText, problem, text), response.status, problem);
  }

  // --- endpoints -------------------------------------------------------------------------------

  resolvedConfig(
    scope: Scope,
    at?: { at?: string | undefined; position?: number | undefined },
  ): Promise<ResolvedConfig> {
    return this.get<ResolvedConfig>(`${scopePath(scope)}/config`, { at: at?.at, position: at?.position });
  }

  setValue(scope: Scope, key: string, value: unknown, reason?: string, ifMatch?: string): Promise<WriteResult> {
    return this.put(
      `${scopePath(scope)}/config/${enc(key)}`,
      { value, ...(reason ? { reason } : {}) },
      ifMatchHeader(ifMatch),
    );
  }

  unsetValue(scope: Scope, key: string, reason?: string, ifMatch?: string): Promise<WriteResult> {
    return this.delete(
      `${scopePath(scope)}/config/${enc(key)}`,
      reason ? { reason } : undefined,
      ifMatchHeader(ifMatch),
    );
  }

  setFlag(
    scope: Scope,
    flag: string,
    body: { rollout?: number; enabled?: boolean; reason?: string },
    ifMatch?: string,
  ): Promise<WriteResult> {
    return this.put(`${scopePath({ ...scope, tenant: undefined })}/flags/${enc(flag)}`, body, ifMatchHeader(ifMatch));
  }

  /** A full flagd definition (the API checks it and names the path of every problem). */
  setFlagDefinition(scope: Scope, flag: string, definition: unknown, reason?: string): Promise<WriteResult> {
    return this.put(`${scopePath({ ...scope, tenant: undefined })}/flags/${enc(flag)}`, {
      ...(definition as Record<string, unknown>),
      ...(reason ? { reason } : {}),
    });
  }

  importFlags(
    scope: Scope,
    file: unknown,
    reason?: string,
  ): Promise<WriteResult & { flags: string[]; segments: string[] }> {
    return this.post(`${scopePath({ ...scope, tenant: undefined })}/flags/import`, {
      ...(file as Record<string, unknown>),
      ...(reason ? { reason } : {}),
    });
  }

  exportFlags(scope: Scope): Promise<Record<string, unknown>> {
    return this.get(`${scopePath({ ...scope, tenant: undefined })}/flags/export`);
  }

  previewFlag(
    scope: Scope,
    flag: string,
    body: { definition: unknown; contexts?: Record<string, unknown>[]; tenants?: 'seen' | string[] },
  ): Promise<FlagPreview> {
    return this.post(`${scopePath({ ...scope, tenant: undefined })}/flags/${enc(flag)}/preview`, body);
  }

  setFlagOverride(
    scope: Scope & { tenant: string },
    flag: string,
    override: 'enabled' | 'disabled' | null | { variant: string },
    reason?: string,
    ifMatch?: string,
  ): Promise<WriteResult> {
    const body = override !== null && typeof override === 'object' ? override : { override };
    return this.put(
      `${scopePath(scope)}/flags/${enc(flag)}`,
      { ...body, ...(reason ? { reason } : {}) },
      ifMatchHeader(ifMatch),
    );
  }

  evaluateFlag(scope: Scope & { tenant: string }, flag: string): Promise<FlagEvaluation> {
    return this.get<FlagEvaluation>(`${scopePath(scope)}/flags/${enc(flag)}`);
  }

  setSecret(
    scope: Scope,
    name: string,
    value: string,
    extra: Record<string, unknown> = {},
  ): Promise<WriteResult & { version?: number }> {
    return this.put(`${scopePath(scope)}/secrets/${enc(name)}`, { value, ...extra });
  }

  getSecret(scope: Scope, name: string, version?: number): Promise<SecretValue> {
    return this.get<SecretValue>(`${scopePath(scope)}/secrets/${enc(name)}`, { version });
  }

  manifest(namespace: string): Promise<unknown> {
    return this.get<unknown>(`/v1/namespaces/${enc(namespace)}/manifest`);
  }

  publishManifest(namespace: string, manifest: unknown, reason?: string): Promise<WriteResult> {
    const body = { ...(manifest as object), ...(reason ? { reason } : {}) };
    return this.put(`/v1/namespaces/${enc(namespace)}/manifest`, body);
  }

  events(query: Query): Promise<EventsPage> {
    return this.get<EventsPage>('/v1/events', query);
  }

  /** Every event matching the filter, oldest first, following the `next` cursor. */
  async *allEvents(query: Query, pageSize = 1000): AsyncGenerator<HistoryEvent> {
    let after: number | string | undefined = typeof query['after'] === 'number' ? query['after'] : undefined;
    for (;;) {
      const page = await this.events({ ...query, after, limit: pageSize });
      yield* page.events;
      if (page.next === null || page.next === undefined || page.events.length === 0) return;
      after = page.next;
    }
  }
}

/**
 * The newest `limit` events matching a filter, oldest first, without reading the whole log: the
 * API pages oldest first and has no descending order, so find the newest matching position by
 * binary search on `after` (about 2·log2(head) one-event requests), then read back from it in
 * doubling windows. `complete` says whether the window reached the start of the log.
 */
export const newestEvents = async (
  client: ApiClient,
  query: Query,
  limit: number,
): Promise<{ events: HistoryEvent[]; complete: boolean }> => {
  const hasAfter = async (after: number) => (await client.events({ ...query, after, limit: 1 })).events.length > 0;
  if (!(await hasAfter(0))) return { events: [], complete: true };
  let lo = 0;
  let hi = 1024;
  while (await hasAfter(hi)) {
    lo = hi;
    hi *= 4;
    if (hi > 2 ** 52) throw new CliError('the server ignores ?after= on /v1/events');
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await hasAfter(mid)) lo = mid;
    else hi = mid;
  }
  const newest = hi;
  for (let window = Math.max(limit * 2, 256); ; window *= 4) {
    const after = Math.max(0, newest - window);
    const events: HistoryEvent[] = [];
    for await (const event of client.allEvents({ ...query, after })) events.push(event);
    if (events.length >= limit || after === 0) return { events, complete: after === 0 };
  }
};

const ifMatchHeader = (ifMatch: string | undefined): Record<string, string> | undefined =>
  ifMatch === undefined ? undefined : { 'if-match': ifMatch };

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
]);

/** The innermost `code` of a fetch failure (undici wraps the socket error in `cause`). */
const networkCode = (error: unknown): string | undefined => {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && networkCodes.has(e.code)) return e.code;
  }
  return undefined;
};
