import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type {
  ChainVerification,
  ChangeFeed,
  Checkpoints,
  EventLog,
  ProjectionControl,
  Secret,
  SecretAccessLog,
  SecretEnvelope,
  SnapshotStore,
  TokenStore,
  ViewReader,
  ViewVersions,
} from '@strata/core';
import type { KeyStore, Keyring, SecretAad } from '@strata/crypto';
import type { LoggerOptions } from '@strata/service-runtime';
import type { Permission, Principal, Target } from './access-policy.js';
import type { ApiTokens } from './api-tokens.js';
import type { CommandRunner } from './command-runner.js';
import type { ApiMetrics } from './metrics.js';
import type { PointInTime } from './point-in-time.js';
import type { PresentReads } from './present-reads.js';
import type { ScopeStateCache } from './scope-state-cache.js';
import type { SecretRotationSchedule } from './secret-rotation-schedule.js';

/**
 * What the API is built on (ApiDeps) and what its route modules share (ApiContext). Its own
 * module so routes depend on it, not on app.ts, which imports the routes.
 */

/** Encrypts secret versions before they reach the log and opens them for secret readers (SecretCipher). */
export interface SecretSealer {
  seal(input: SecretAad & { plaintext: string }): Promise<SecretEnvelope>;
  /** A redacting Secret: only `reveal()` yields plaintext. */
  open(envelope: SecretEnvelope, aad: SecretAad): Promise<Secret>;
}

export interface ChangeStreamLimits {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A resume further behind than this many positions is told to resync instead of replayed. */
  maxReplay: number;
  /** Bytes a slow client may have unread before it is told to resync and dropped. */
  maxBufferedBytes: number;
}

export const defaultChangeStreamLimits: ChangeStreamLimits = {
  heartbeatMs: 15_000,
  maxReplay: 10_000,
  maxBufferedBytes: 1024 * 1024,
};

export interface ApiLimits {
  /** Largest accepted request body in bytes (413 beyond). */
  bodyLimit: number;
  /** Requests per second per credential (token bucket refill), and burst. */
  ratePerSecond: number;
  rateBurst: number;
  /** Longest wait for `minPosition` before 504. */
  readWaitMs: number;
  /** Whole-request timeout of the HTTP server. */
  requestTimeoutMs: number;
  /** Failed authentications a client (remote address) may make before it backs off (429). */
  authFailureAllowance: number;
  /** Longest backoff after repeated failed authentications; it doubles from 1 s up to this. */
  authBackoffMaxSeconds: number;
  /** Change stream heartbeat, replay and buffer bounds. */
  changes: ChangeStreamLimits;
}

export const defaultLimits: ApiLimits = {
  bodyLimit: 64 * 1024,
  ratePerSecond: 1000,
  rateBurst: 2000,
  readWaitMs: 5_000,
  requestTimeoutMs: 30_000,
  authFailureAllowance: 10,
  authBackoffMaxSeconds: 60,
  changes: defaultChangeStreamLimits,
};

export interface ApiDeps {
  /** The event log (PostgresEventLog): every write and every read of the past. */
  log: EventLog;
  /** API bearer tokens by hash (PostgresTokenStore). */
  tokenStore: TokenStore;
  /** Where every plaintext secret read is recorded before it happens (PostgresSecretAccessLog). */
  secretAccessLog: SecretAccessLog;
  /** Snapshots of folded states, so reads of the past fold only a short tail (PostgresSnapshotStore). */
  snapshots: SnapshotStore;
  /** The consumers' saved positions, listed in the projection status (PostgresCheckpoints). */
  checkpoints: Pick<Checkpoints, 'list'>;
  /** Runs the hash-chain verification of the log (postgres-log's verifyChain). */
  verifyChain: () => Promise<ChainVerification>;
  /** Resolved reads of the present (RedisViewReader). */
  views: ViewReader;
  /**
   * Versions of the views (RedisViewVersions). When given, resolved config answers are cached in
   * the process per view version; each read still checks the version, so none is stale.
   */
  viewVersions?: ViewVersions;
  /**
   * False while the views' Redis connection is down (e.g. ioredis `status !== 'ready'`): resolved
   * reads then go to the log at once instead of waiting for Redis retries. Default: always try.
   */
  viewsAvailable?: () => boolean;
  cipher: SecretSealer;
  /**
   * The database's change notifications (ChangeNotifications, started by the caller): token
   * revocations, expiry changes and rotations in any process reach this one's token cache at
   * once. Without it, a change made through another process takes effect after the cache TTL.
   */
  changes?: ChangeFeed;
  /** Bootstrap admin credential; null disables it. */
  adminToken: string | null;
  /** Views rebuild/status; without it the projection endpoints answer 503. */
  projections?: ProjectionControl;
  /** Key management (status, master-key rotation, tenant shredding); absent: those routes answer 503. */
  keys?: { store: KeyStore; keyring: Keyring };
  /** Named readiness probes for /readyz (PostgreSQL, Redis, Kafka, migrations …); each throws when not ready. */
  readiness?: Record<string, () => Promise<unknown>>;
  /**
   * The process's pino logger (createPinoLogger), or its level and destination (default: info on
   * stderr); false logs nothing (benchmarks).
   */
  logger?: FastifyBaseLogger | false | { level?: string; stream?: NonNullable<LoggerOptions['destination']> };
  limits?: Partial<Omit<ApiLimits, 'changes'>> & { changes?: Partial<ChangeStreamLimits> };
  /**
   * Peers allowed to name the client in X-Forwarded-For (Fastify's `trustProxy`): a hop count or
   * the proxies' addresses/CIDR ranges. Default false: the TCP peer is the client.
   */
  trustProxy?: false | number | string[];
  /** Built console files served under /console (default: @strata/console's dist); null serves none. */
  consoleDir?: string | null;
}

/** Per-route access declaration. Routes without one are refused: deny by default. */
export interface RouteAccess {
  /** Anyone may call it (health, metrics, OpenAPI). */
  public?: boolean;
  /** Any valid token, whatever its role (the caller asking about itself). */
  authenticated?: boolean;
  permission?: Permission;
  /** What the request touches; default: `ns`/`env`/`tenant` path parameters. */
  target?: (request: FastifyRequest) => Target;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * The matched route's pattern (null: unmatched), set by the route's first hook for the metrics:
     * Fastify builds `request.routeOptions` anew on every access.
     */
    routeUrl: string | null;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** Services the route modules share; built once per API instance. */
export interface ApiContext {
  deps: ApiDeps;
  limits: ApiLimits;
  tokens: ApiTokens;
  cache: ScopeStateCache;
  commands: CommandRunner;
  pointInTime: PointInTime;
  metrics: ApiMetrics;
  /** Which secret versions are due for rotation (`GET /v1/secrets/due`, the overdue gauge). */
  rotation: SecretRotationSchedule;
  /** Resolved reads of the present: the views, current for `minPosition`, or the log while they are unavailable. */
  reads: PresentReads;
}
