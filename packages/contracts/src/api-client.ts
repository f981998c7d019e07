import { createParser } from 'eventsource-parser';
import type { z } from 'zod';
import { StrataError } from '@strata/core';
import { Change, Ready, Resync, type ChangeMessage } from './change-stream.js';
import { ApiError, errorFromResponse, retryAfterOf } from './problem.js';
import type {
  FlagBody,
  FlagdFileBody,
  IssueTokenBody,
  ManifestBody,
  PreviewBody,
  RevertBody,
  RotateTokenBody,
  SecretBody,
  SecretsDueQuery,
  SegmentBody,
} from './requests.js';
import {
  ChainVerification,
  DiffAnswer,
  EventsPage,
  FlagAnswer,
  FlagdFileAnswer,
  FlagdImportAnswer,
  HealthAnswer,
  IssuedToken,
  KeyRotation,
  KeyStatus,
  OfrepBulkAnswer,
  OfrepEvaluation,
  PreviewAnswer,
  ProjectionStatus,
  ReadinessAnswer,
  RebuildStarted,
  ResolvedAnswer,
  RevertAnswer,
  RevokedToken,
  RotatedToken,
  SecretListAnswer,
  SecretValueAnswer,
  SecretsDueAnswer,
  TenantFlagsAnswer,
  TenantShredded,
  TokenListAnswer,
  TokenSelf,
  WriteAnswer,
  type DiffAnswer as DiffAnswerBody,
  type HistoryEvent,
} from './responses.js';

/**
 * The one typed client of the Strata HTTP API, shared by the CLI, the SDK's HTTP mode and the
 * console. Fetch only (Node 20+ and browsers). Every answer is parsed with the contract's schema,
 * every error becomes an `ApiError` (a StrataError with the server's `code`).
 */

export interface StrataApiOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  token?: string | undefined;
  /** Per-request timeout (default 30 s); a timeout is a `TIMEOUT` error. */
  timeoutMs?: number;
  /** Retries of idempotent calls on 503, 429 and network failures, honouring Retry-After (default 2). */
  retries?: number;
  /** Longest single wait between retries, whatever Retry-After says (default 5 s). */
  maxRetryDelayMs?: number;
  /** Every read waits for the highest position this client's writes produced (read your writes). */
  readYourWrites?: boolean;
  /** A fetch of your own (tests, instrumentation); the global one otherwise. */
  fetch?: typeof fetch;
}

/** `{ namespace, env }` with an optional tenant layer. */
export interface Scope {
  namespace: string;
  env: string;
  tenant?: string | null | undefined;
}
export type TenantScope = Scope & { tenant: string };

export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>;

export interface CallOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Safe to send again (GET, or a write with an Idempotency-Key); default: GET/HEAD. */
  idempotent?: boolean;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Reads: the present (optionally at least `minPosition`), or the past at a time or position. */
export interface ReadOptions {
  minPosition?: number | undefined;
  at?: string | undefined;
  position?: number | undefined;
  /** The ETag of an earlier answer: a 304 resolves to null. */
  ifNoneMatch?: string | null | undefined;
  signal?: AbortSignal;
}

/** Writes: optimistic concurrency and idempotent retries. */
export interface WriteOptions {
  /** The stream version an earlier answer's ETag gave (409 when stale). */
  ifMatch?: string | number | undefined;
  /** A retry with the same key returns the original answer (and makes the call retryable). */
  idempotencyKey?: string | undefined;
}

export interface ChangesOptions {
  tenant?: string | undefined;
  /** Resume strictly after this position (Last-Event-ID); default: live from the head. */
  after?: number | undefined;
  signal?: AbortSignal;
  /** Called once the server accepted the stream (before any change). */
  onOpen?: () => void;
}

export interface FollowOptions extends Omit<ChangesOptions, 'signal' | 'onOpen'> {
  onChange(change: Change): void;
  /** The server could not replay: reload everything, then the follower resumes at `position`. */
  onResync(position: number): void | Promise<void>;
  /** Connection state: up after the stream opened, down with the error after it broke. */
  onConnection?(state: { up: true } | { up: false; error: unknown }): void;
  /** Reconnect backoff bounds (default 100 ms … 5 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ChangeFollower {
  /** The last position delivered (what a reconnect resumes after). */
  readonly position: number;
  close(): Promise<void>;
}

const enc = encodeURIComponent;

/** `/v1/namespaces/{ns}/envs/{env}[/tenants/{tenant}]` */
export const scopePath = ({ namespace, env, tenant }: Scope): string =>
  `/v1/namespaces/${enc(namespace)}/envs/${enc(env)}${tenant ? `/tenants/${enc(tenant)}` : ''}`;

/** The environment's own path, whatever tenant the scope names (flags and segments are per environment). */
const envPath = (scope: Scope): string => scopePath({ ...scope, tenant: null });

const idempotentMethods = new Set(['GET', 'HEAD']);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class StrataApi {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxRetryDelayMs: number;
  readonly #readYourWrites: boolean;
  #lastWrite = 0;

  constructor(options: StrataApiOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 2;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
    this.#readYourWrites = options.readYourWrites ?? false;
  }

  /** The highest log position a write through this client produced (0 before any). */
  get lastWritePosition(): number {
    return this.#lastWrite;
  }

  /** The `minPosition` a read should send: the caller's, or this client's last write with readYourWrites. */
  minPositionFor(wanted?: number): number | undefined {
    const own = this.#readYourWrites && this.#lastWrite > 0 ? this.#lastWrite : undefined;
    if (wanted === undefined) return own;
    return own === undefined ? wanted : Math.max(own, wanted);
  }

  /** One call; the parsed 2xx body, a 304 as `body: null`, or a thrown ApiError. */
  async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S | null,
    options: CallOptions = {},
  ): Promise<Answer<z.infer<S> | null>> {
    const response = await this.send(method, path, options);
    if (response.status === 304) return { status: 304, headers: response.headers, body: null };
    const text = await response.text();
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new StrataError('INTERNAL', `${method} ${path} answered malformed JSON`, {
          status: response.status,
        });
      }
    }
    if (schema === null) return { status: response.status, headers: response.headers, body: body as z.infer<S> };
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new StrataError('INTERNAL', `${method} ${path} answered a body outside the contract`, {
        status: response.status,
        issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
      });
    const position = (parsed.data as { position?: unknown } | null)?.position;
    if (!idempotentMethods.has(method) && typeof position === 'number')
      this.#lastWrite = Math.max(this.#lastWrite, position);
    return { status: response.status, headers: response.headers, body: parsed.data };
  }

  /**
   * Sends a request and resolves with a 2xx/304 Response (body unread); an ApiError otherwise.
   * Idempotent calls are retried on 503/429/network failures with Retry-After, bounded.
   */
  async send(method: string, path: string, options: CallOptions = {}): Promise<Response> {
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
    const retryable = options.idempotent ?? (idempotentMethods.has(method) || headers['idempotency-key'] !== undefined);
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, body, signal });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const failure =
          timeout.aborted || (error as Error).name === 'TimeoutError'
            ? new StrataError('TIMEOUT', `${method} ${url.origin}${path} timed out after ${this.#timeoutMs} ms`)
            : new StrataError('UNAVAILABLE', `cannot reach ${this.url} (${networkCode(error)})`, undefined, {
                cause: error,
              });
        if (!retryable || attempt >= this.#retries) throw failure;
        await sleep(Math.min(100 * 2 ** attempt, this.#maxRetryDelayMs), options.signal);
        continue;
      }
      if (response.ok || response.status === 304) return response;
      const retryAfter = response.headers.get('retry-after');
      if (retryable && attempt < this.#retries && (response.status === 503 || response.status === 429)) {
        await response.body?.cancel();
        const seconds = retryAfterOf(retryAfter);
        await sleep(
          Math.min(seconds === undefined ? 100 * 2 ** attempt : seconds * 1000, this.#maxRetryDelayMs),
          options.signal,
        );
        continue;
      }
      throw errorFromResponse(response.status, await response.text(), retryAfter);
    }
  }

  async #get<S extends z.ZodType>(path: string, schema: S, query?: Query, signal?: AbortSignal): Promise<z.infer<S>> {
    return (await this.call('GET', path, schema, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) }))
      .body as z.infer<S>;
  }

  async #write<S extends z.ZodType>(
    method: 'PUT' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<z.infer<S>> {
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = `"${String(options.ifMatch).replaceAll('"', '')}"`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    return (await this.call(method, path, schema, { body, headers })).body as z.infer<S>;
  }

  #readQuery(options: ReadOptions): Query {
    return { minPosition: this.minPositionFor(options.minPosition), at: options.at, position: options.position };
  }

  // --- ops ---------------------------------------------------------------------------------------

  health() {
    return this.#get('/healthz', HealthAnswer);
  }

  /** Readiness; a not-ready server answers 503, which this returns rather than throws. */
  async readiness(): Promise<z.infer<typeof ReadinessAnswer>> {
    const response = await this.#fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(this.#timeoutMs) });
    return ReadinessAnswer.parse(await response.json());
  }

  // --- reads -------------------------------------------------------------------------------------

  /** Resolved config of a scope (with `ifNoneMatch`: null when unchanged). */
  async resolvedConfig(
    scope: Scope,
    options: ReadOptions & { ifNoneMatch: string | null },
  ): Promise<{
    config: z.infer<typeof ResolvedAnswer>;
    etag: string | null;
  } | null>;
  async resolvedConfig(scope: Scope, options?: ReadOptions): Promise<z.infer<typeof ResolvedAnswer>>;
  async resolvedConfig(scope: Scope, options: ReadOptions = {}) {
    const conditional = 'ifNoneMatch' in options;
    const answer = await this.call('GET', `${scopePath(scope)}/config`, ResolvedAnswer, {
      query: this.#readQuery(options),
      ...(options.ifNoneMatch ? { headers: { 'if-none-match': options.ifNoneMatch } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!conditional) return answer.body;
    return answer.body === null ? null : { config: answer.body, etag: answer.headers.get('etag') };
  }

  evaluateFlag(scope: TenantScope, flag: string, options: ReadOptions = {}) {
    return this.#get(`${scopePath(scope)}/flags/${enc(flag)}`, FlagAnswer, this.#readQuery(options), options.signal);
  }

  /** Every declared flag for one tenant, in one call. */
  tenantFlags(scope: TenantScope, options: ReadOptions = {}) {
    return this.#get(`${scopePath(scope)}/flags`, TenantFlagsAnswer, this.#readQuery(options), options.signal);
  }

  // --- writes ------------------------------------------------------------------------------------

  publishManifest(namespace: string, manifest: z.input<typeof ManifestBody>, options?: WriteOptions) {
    return this.#write('PUT', `/v1/namespaces/${enc(namespace)}/manifest`, WriteAnswer, manifest, options);
  }

  setValue(scope: Scope, key: string, value: unknown, reason?: string, options?: WriteOptions) {
    return this.#write(
      'PUT',
      `${scopePath(scope)}/config/${enc(key)}`,
      WriteAnswer,
      { value, ...(reason ? { reason } : {}) },
      options,
    );
  }

  unsetValue(scope: Scope, key: string, reason?: string, options?: WriteOptions) {
    return this.#delete(`${scopePath(scope)}/config/${enc(key)}`, reason, options);
  }

  setFlag(scope: Scope, flag: string, body: z.input<typeof FlagBody>, options?: WriteOptions) {
    return this.#putFlag(scope, flag, body, options);
  }

  /** A full flagd definition (the API checks it and names the path of every problem). */
  setFlagDefinition(scope: Scope, flag: string, definition: unknown, reason?: string, options?: WriteOptions) {
    return this.#putFlag(
      scope,
      flag,
      { ...(definition as Record<string, unknown>), ...(reason ? { reason } : {}) },
      options,
    );
  }

  /** A DELETE write: the reason, when given, is its whole body. */
  #delete(path: string, reason: string | undefined, options: WriteOptions | undefined) {
    return this.#write('DELETE', path, WriteAnswer, reason ? { reason } : undefined, options);
  }

  /** One route takes both shapes of a flag: the rollout shorthand and a flagd definition. */
  #putFlag(scope: Scope, flag: string, body: unknown, options: WriteOptions | undefined) {
    return this.#write('PUT', `${envPath(scope)}/flags/${enc(flag)}`, WriteAnswer, body, options);
  }

  setSegment(scope: Scope, name: string, body: z.input<typeof SegmentBody>, options?: WriteOptions) {
    return this.#write('PUT', `${envPath(scope)}/segments/${enc(name)}`, WriteAnswer, body, options);
  }

  deleteSegment(scope: Scope, name: string, reason?: string, options?: WriteOptions) {
    return this.#delete(`${envPath(scope)}/segments/${enc(name)}`, reason, options);
  }

  /** A flagd file (as read, checked by the API): segments, definitions, missing flags declared — one atomic append. */
  importFlags(scope: Scope, file: unknown, reason?: string, options?: WriteOptions) {
    const body: z.input<typeof FlagdFileBody> = {
      ...(file as z.input<typeof FlagdFileBody>),
      ...(reason ? { reason } : {}),
    };
    return this.#write('POST', `${envPath(scope)}/flags/import`, FlagdImportAnswer, body, options);
  }

  exportFlags(scope: Scope, options: ReadOptions = {}) {
    return this.#get(`${envPath(scope)}/flags/export`, FlagdFileAnswer, this.#readQuery(options));
  }

  /** Who flips under a proposed definition (nothing is written). */
  async previewFlag(scope: Scope, flag: string, body: z.input<typeof PreviewBody>) {
    return (
      await this.call('POST', `${envPath(scope)}/flags/${enc(flag)}/preview`, PreviewAnswer, {
        body,
        idempotent: true,
      })
    ).body as z.infer<typeof PreviewAnswer>;
  }

  setFlagOverride(
    scope: TenantScope,
    flag: string,
    override: 'enabled' | 'disabled' | null | { variant: string },
    reason?: string,
    options?: WriteOptions,
  ) {
    // A pinned variant is sent as `{ variant }`, a state as `{ override }`.
    const body = override !== null && typeof override === 'object' ? override : { override };
    return this.#write(
      'PUT',
      `${scopePath(scope)}/flags/${enc(flag)}`,
      WriteAnswer,
      { ...body, ...(reason ? { reason } : {}) },
      options,
    );
  }

  // --- secrets -----------------------------------------------------------------------------------

  setSecret(scope: Scope, name: string, body: z.input<typeof SecretBody>, options?: WriteOptions) {
    return this.#write('PUT', `${scopePath(scope)}/secrets/${enc(name)}`, WriteAnswer, body, options);
  }

  deleteSecret(scope: Scope, name: string, reason?: string, options?: WriteOptions) {
    return this.#delete(`${scopePath(scope)}/secrets/${enc(name)}`, reason, options);
  }

  getSecret(scope: Scope, name: string, options: { version?: number | undefined; minPosition?: number } = {}) {
    return this.#get(`${scopePath(scope)}/secrets/${enc(name)}`, SecretValueAnswer, {
      version: options.version,
      minPosition: this.minPositionFor(options.minPosition),
    });
  }

  listSecrets(scope: Scope) {
    return this.#get(`${scopePath(scope)}/secrets`, SecretListAnswer);
  }

  // --- audit -------------------------------------------------------------------------------------

  events(query: Query) {
    return this.#get('/v1/events', EventsPage, query);
  }

  /** Every event matching the filter, oldest first, following the `next` cursor. */
  async *allEvents(query: Query, pageSize = 1000): AsyncGenerator<HistoryEvent> {
    let after: number | undefined = typeof query['after'] === 'number' ? query['after'] : undefined;
    for (;;) {
      const page = await this.events({ ...query, after, limit: pageSize });
      yield* page.events;
      if (page.next === null || page.events.length === 0) return;
      after = page.next;
    }
  }

  /** The filtered history as NDJSON (the raw body stream). */
  async exportEvents(query: Query): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', '/v1/events/export', { query });
    if (!response.body) throw new StrataError('INTERNAL', 'the export answered without a body');
    return response.body;
  }

  verify() {
    return this.#get('/v1/verify', ChainVerification);
  }

  diff(scope: Scope, query: { from: string | number; to?: string | number | undefined; tenants?: string | undefined }) {
    return this.#get(`${envPath(scope)}/diff`, DiffAnswer, query) as Promise<DiffAnswerBody>;
  }

  revert(scope: Scope, body: z.input<typeof RevertBody>, options?: WriteOptions) {
    return this.#write('POST', `${envPath(scope)}/revert`, RevertAnswer, body, options);
  }

  // --- tokens, projections, keys -----------------------------------------------------------------

  issueToken(body: z.input<typeof IssueTokenBody>) {
    return this.#write('POST', '/v1/tokens', IssuedToken, body);
  }

  /** The calling token's role, scope and permissions (never its value). */
  self() {
    return this.#get('/v1/tokens/self', TokenSelf);
  }

  listTokens() {
    return this.#get('/v1/tokens', TokenListAnswer);
  }

  /** A successor token (shown once); the old one keeps working for the grace period. */
  rotateToken(id: string, body: z.input<typeof RotateTokenBody> = {}) {
    return this.#write('POST', `/v1/tokens/${enc(id)}/rotate`, RotatedToken, body);
  }

  /** Secrets due for rotation (per their manifest's rotateEvery), within `within` (ISO 8601 duration). */
  secretsDue(query: z.input<typeof SecretsDueQuery> = {}) {
    return this.#get('/v1/secrets/due', SecretsDueAnswer, query);
  }

  revokeToken(id: string) {
    return this.#write('DELETE', `/v1/tokens/${enc(id)}`, RevokedToken, undefined);
  }

  rebuildProjections(reason?: string) {
    return this.#write('POST', '/v1/projections/rebuild', RebuildStarted, reason ? { reason } : undefined);
  }

  projectionStatus() {
    return this.#get('/v1/projections/status', ProjectionStatus);
  }

  keyStatus() {
    return this.#get('/v1/keys', KeyStatus);
  }

  rotateKeys(reason?: string) {
    return this.#write('POST', '/v1/keys/rotate', KeyRotation, reason ? { reason } : undefined);
  }

  shredTenant(namespace: string, tenant: string, reason?: string) {
    return this.#write(
      'DELETE',
      `/v1/namespaces/${enc(namespace)}/tenants/${enc(tenant)}/keys`,
      TenantShredded,
      reason ? { reason } : undefined,
    );
  }

  // --- OFREP -------------------------------------------------------------------------------------

  ofrepEvaluate(key: string, context: Record<string, unknown>) {
    return this.#write('POST', `/ofrep/v1/evaluate/flags/${enc(key)}`, OfrepEvaluation, { context });
  }

  /** Every flag for one context; with `etag`, null when nothing changed (304). */
  async ofrepEvaluateAll(
    context: Record<string, unknown>,
    etag?: string | null,
  ): Promise<{ answer: z.infer<typeof OfrepBulkAnswer>; etag: string | null } | null> {
    const answer = await this.call('POST', '/ofrep/v1/evaluate/flags', OfrepBulkAnswer, {
      body: { context },
      headers: etag ? { 'if-none-match': etag } : {},
      idempotent: true,
    });
    return answer.body === null ? null : { answer: answer.body, etag: answer.headers.get('etag') };
  }

  // --- change stream -----------------------------------------------------------------------------

  /**
   * One connection to the change stream: yields changes (and a final resync) until the server
   * closes it, the signal aborts or the connection breaks (then it throws).
   */
  async *changes(scope: Scope, options: ChangesOptions = {}): AsyncGenerator<ChangeMessage> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.after !== undefined) headers['last-event-id'] = String(options.after);
    if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    const url = new URL(`${this.url}${envPath(scope)}/changes`);
    if (options.tenant) url.searchParams.set('tenant', options.tenant);
    // Only the connect is bounded by the timeout: the stream itself stays open.
    const connect = new AbortController();
    const timer = setTimeout(
      () => connect.abort(new StrataError('TIMEOUT', 'change stream connect timed out')),
      this.#timeoutMs,
    );
    const signal = options.signal ? AbortSignal.any([options.signal, connect.signal]) : connect.signal;
    let response: Response;
    try {
      response = await this.#fetch(url, { headers, signal });
    } catch (error) {
      clearTimeout(timer);
      if (options.signal?.aborted) return;
      throw new StrataError('UNAVAILABLE', `cannot reach ${this.url} (${networkCode(error)})`, undefined, {
        cause: error,
      });
    }
    clearTimeout(timer);
    if (!response.ok)
      throw errorFromResponse(response.status, await response.text(), response.headers.get('retry-after'));
    if (!response.body) throw new StrataError('UNAVAILABLE', 'the change stream answered without a body');
    options.onOpen?.();
    const queue: ChangeMessage[] = [];
    const parser = createParser({
      onEvent: (message) => {
        if (message.event === 'change') queue.push({ event: 'change', change: Change.parse(JSON.parse(message.data)) });
        else if (message.event === 'ready')
          queue.push({ event: 'ready', position: Ready.parse(JSON.parse(message.data)).position });
        else if (message.event === 'resync')
          queue.push({ event: 'resync', position: Resync.parse(JSON.parse(message.data)).position });
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (options.signal?.aborted) return;
          throw new StrataError('UNAVAILABLE', 'the change stream broke', undefined, { cause: error });
        }
        if (chunk.done) return;
        parser.feed(chunk.value);
        while (queue.length > 0) yield queue.shift()!;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /**
   * Follows the change stream for good: reconnects with backoff after a break, resuming after the
   * last delivered position (nothing is lost), and calls `onResync` when the server says the
   * client is too far behind.
   */
  follow(scope: Scope, options: FollowOptions): ChangeFollower {
    const stop = new AbortController();
    let position = options.after;
    const min = options.minBackoffMs ?? 100;
    const max = options.maxBackoffMs ?? 5_000;
    const run = async () => {
      for (let failures = 0; !stop.signal.aborted;) {
        try {
          for await (const message of this.changes(scope, {
            tenant: options.tenant,
            after: position,
            signal: stop.signal,
            onOpen: () => {
              failures = 0;
              options.onConnection?.({ up: true });
            },
          })) {
            if (message.event === 'ready') position ??= message.position;
            else if (message.event === 'change') {
              position = message.change.position;
              options.onChange(message.change);
            } else {
              await options.onResync(message.position);
              position = message.position;
            }
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          options.onConnection?.({ up: false, error });
          failures++;
          if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) {
            await sleep(max, stop.signal);
            continue;
          }
        }
        if (!stop.signal.aborted) await sleep(Math.min(min * 2 ** failures, max), stop.signal);
      }
    };
    const running = run();
    return {
      get position() {
        return position ?? 0;
      },
      async close() {
        stop.abort();
        await running;
      },
    };
  }
}

/** The innermost `code` of a fetch failure (undici wraps the socket error in `cause`). */
const networkCode = (error: unknown): string => {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string') return e.code;
  }
  return (error as Error)?.message ?? String(error);
};
