import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { StrataError, type ChangeFeed, type EventLog, type Secret, type SecretEnvelope } from '@strata/core';
import type { KeyStore, Keyring, SecretAad } from '@strata/crypto';
import type { ChainVerification } from '@strata/postgres-log';
import type { RedisViewReader, RedisViewStore } from '@strata/redis-views';
import { createPinoLogger, type LoggerOptions } from '@strata/service-runtime';
import { authorize, type Permission, type Principal, type Target } from './access-policy.js';
import { AuthBackoff } from './auth-backoff.js';
import { CommandRunner } from './command-runner.js';
import { useBoundedJsonParser } from './json-body-parser.js';
import { ApiMetrics, type AuthFailureReason } from './metrics.js';
import { PointInTime } from './point-in-time.js';
import { PresentReads } from './present-reads.js';
import { problemHandler } from './problem.js';
import { RateLimiter } from './rate-limiter.js';
import { ResolvedConfigCache } from './resolved-config-cache.js';
import { ScopeStateCache } from './scope-state-cache.js';
import { SecretRotationSchedule } from './secret-rotation-schedule.js';
import { TokenStore, type Authentication } from './token-store.js';
import type { ViewVersions } from './view-versions.js';
import { flagRoutes } from './routes/flag-routes.js';
import { changeRoutes, defaultChangeStreamLimits, type ChangeStreamLimits } from './routes/change-routes.js';
import { LogTail } from './log-tail.js';
import { historyRoutes } from './routes/history-routes.js';
import { importRoutes } from './routes/import-routes.js';
import { keyRoutes } from './routes/key-routes.js';
import { ofrepRoutes } from './routes/ofrep-routes.js';
import { opsRoutes } from './routes/ops-routes.js';
import { readRoutes } from './routes/read-routes.js';
import { secretRoutes } from './routes/secret-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { tokenRoutes } from './routes/token-routes.js';
import { writeRoutes } from './routes/write-routes.js';

/** What the API reads resolved state from (RedisViewReader). */
export type ViewReader = Pick<
  RedisViewReader,
  'resolvedConfig' | 'flag' | 'resolveFlag' | 'viewPositions' | 'waitForPositions'
>;
/** Rebuild and status of the views (RedisViewStore). */
export type ProjectionStore = Pick<RedisViewStore, 'rebuild' | 'generation' | 'needsRebuild' | 'partitionLag'>;

/** Encrypts secret versions before they reach the log and opens them for secret readers (SecretCipher). */
export interface SecretSealer {
  seal(input: SecretAad & { plaintext: string }): Promise<SecretEnvelope>;
  /** A redacting Secret: only `reveal()` yields plaintext. */
  open(envelope: SecretEnvelope, aad: SecretAad): Promise<Secret>;
}

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
  /** Pool of the application role: tokens, the secret access log, snapshots, chain verification. */
  pool: pg.Pool;
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
  projections?: ProjectionStore;
  /** Runs the hash-chain verification (default: postgres-log's verifyChain on `pool`). */
  verifyChain?: () => Promise<ChainVerification>;
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
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** Services the route modules share; built once per API instance. */
export interface ApiContext {
  deps: ApiDeps;
  limits: ApiLimits;
  tokens: TokenStore;
  cache: ScopeStateCache;
  commands: CommandRunner;
  pointInTime: PointInTime;
  metrics: ApiMetrics;
  /** Which secret versions are due for rotation (`GET /v1/secrets/due`, the overdue gauge). */
  rotation: SecretRotationSchedule;
  /** Resolved reads of the present: the views, current for `minPosition`, or the log while they are unavailable. */
  reads: PresentReads;
}

const bearer = (request: FastifyRequest): string | null => {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header.trim());
  return match?.[1] ?? null;
};

const defaultTarget = (request: FastifyRequest): Target => {
  const p = (request.params ?? {}) as Record<string, string | undefined>;
  return { namespace: p['ns'] ?? null, environment: p['env'] ?? null, tenant: p['tenant'] ?? null };
};

/**
 * Builds the HTTP API on its dependencies and returns the Fastify instance (not listening), so
 * tests and the stack runner use it in-process: `await buildApi(deps)` then `.inject()` or
 * `.listen()`.
 */
export const buildApi = async (deps: ApiDeps): Promise<FastifyInstance> => {
  const limits = {
    ...defaultLimits,
    ...deps.limits,
    changes: { ...defaultLimits.changes, ...deps.limits?.changes },
  };
  const given = deps.logger;
  const app = Fastify({
    ...(given === false
      ? { logger: false }
      : {
          loggerInstance: (given && 'child' in given
            ? given
            : createPinoLogger({
                service: 'api',
                ...(given?.level ? { level: given.level } : {}),
                ...(given?.stream ? { destination: given.stream } : {}),
              })) as FastifyBaseLogger,
        }),
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.requestTimeoutMs,
    // Long tenant ids must reach validation (400), not be cut off by the router (404).
    routerOptions: { maxParamLength: 16_384, ignoreTrailingSlash: true },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
    // Errors the router raises before any hook (a malformed percent-encoding) answer problem+json too.
    frameworkErrors: (error, request, reply) => {
      void problemHandler(error, request, reply);
    },
  });
  useBoundedJsonParser(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemHandler);
  app.setNotFoundHandler((request, reply) =>
    problemHandler(
      new StrataError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  const cache = new ScopeStateCache(deps.log);
  const pointInTime = new PointInTime(deps.log, deps.pool);
  const context: ApiContext = {
    deps,
    limits,
    tokens: new TokenStore(deps.pool, deps.adminToken, deps.changes ?? null),
    cache,
    commands: new CommandRunner(deps.log, cache, deps.pool, (ns, env) => pointInTime.keepUp(ns, env)),
    pointInTime,
    metrics: new ApiMetrics(),
    rotation: new SecretRotationSchedule(deps.log),
    reads: new PresentReads({
      views: deps.views,
      resolvedReads: deps.viewVersions ? new ResolvedConfigCache(deps.views, deps.viewVersions) : null,
      log: deps.log,
      pointInTime,
      viewsAvailable: deps.viewsAvailable ?? (() => true),
      readWaitMs: limits.readWaitMs,
    }),
  };
  const limiter = new RateLimiter(limits.ratePerSecond, limits.rateBurst);
  const backoff = new AuthBackoff(limits.authFailureAllowance, limits.authBackoffMaxSeconds);

  app.decorateRequest('principal', null);
  app.addHook('onClose', () => pointInTime.close());
  let tailErrorLoggedAt = 0;
  const tail = new LogTail({
    log: deps.log,
    notifications: deps.changes,
    // At most one line per 10 s while the database is away: the tail retries every second.
    onError: (error) => {
      if (Date.now() - tailErrorLoggedAt < 10_000) return;
      tailErrorLoggedAt = Date.now();
      app.log.warn({ err: { message: (error as Error).message } }, 'change stream: log read failed');
    },
  });
  // Open streams never go idle: end them before the server waits for its connections.
  app.addHook('preClose', () => tail.close());

  /** Sets the caller and takes from its rate bucket; the error to answer with, if any. */
  const admit = (request: FastifyRequest, principal: Principal): StrataError | undefined => {
    request.principal = principal;
    const wait = limiter.take(principal.subject);
    if (wait > 0)
      return new StrataError('RATE_LIMITED', `too many requests; retry in ${wait}s`, { retryAfterSeconds: wait });
    return undefined;
  };

  /** Counts a failed authentication against the client (and in the metrics): the 401 to answer. */
  const refuse = (request: FastifyRequest, reason: AuthFailureReason, detail: string): StrataError => {
    context.metrics.authFailed(reason);
    backoff.failed(request.ip);
    return new StrataError('UNAUTHENTICATED', detail);
  };

  const answer = (request: FastifyRequest, authentication: Authentication): StrataError | undefined =>
    'refused' in authentication
      ? refuse(request, authentication.reason, authentication.refused)
      : admit(request, authentication.principal);

  // Hot-path hooks are callback style: a known token is checked without a promise.
  // Authentication, deny by default: every route needs a valid token unless it declares itself public.
  app.addHook('onRequest', (request, _reply, done) => {
    const url = request.routeOptions.url;
    // Unmatched requests go to the 404 handler; the docs UI and public routes need no token.
    if (url === undefined || url.startsWith('/docs') || request.routeOptions.config.access?.public === true)
      return done();
    const token = bearer(request);
    const known = token ? context.tokens.known(token) : undefined;
    // A token this instance verified moments ago passes even from a client that is backing off: an
    // address shared by many clients (NAT, a proxy) must not lock out the ones that hold a valid token.
    if (known && 'principal' in known) return done(admit(request, known.principal));
    const wait = backoff.waitSeconds(request.ip);
    if (wait > 0) {
      context.metrics.authBackedOff();
      return done(
        new StrataError('RATE_LIMITED', `too many failed authentications from this address; retry in ${wait}s`, {
          retryAfterSeconds: wait,
        }),
      );
    }
    if (!token)
      return done(
        refuse(
          request,
          request.headers.authorization === undefined ? 'missing' : 'malformed',
          'send Authorization: Bearer <token>',
        ),
      );
    if (known) return done(answer(request, known));
    context.tokens.authenticate(token).then((authentication) => done(answer(request, authentication)), done);
  });

  // Authorization runs before validation: a caller learns nothing about a scope it may not touch.
  // Targets only compare strings, so unvalidated parameters are harmless here.
  app.addHook('preValidation', (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (access?.public) return done();
    if (request.routeOptions.url === undefined || request.routeOptions.url.startsWith('/docs')) return done();
    const principal = request.principal;
    if (!principal) return done(new StrataError('UNAUTHENTICATED', 'send Authorization: Bearer <token>'));
    if (access?.authenticated === true) return done();
    if (!access?.permission) return done(new StrataError('FORBIDDEN', 'this route grants no permission'));
    try {
      authorize(principal, access.permission, (access.target ?? defaultTarget)(request));
    } catch (error) {
      return done(error as Error);
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    context.metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strata API',
        version: '1.0.0',
        description:
          'Event-sourced configuration, feature flags and secrets. Errors are application/problem+json (RFC 9457) with an errorId that also appears in the server log.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(async (scope) => {
    opsRoutes(scope, context);
    tokenRoutes(scope, context);
    writeRoutes(scope, context);
    flagRoutes(scope, context);
    importRoutes(scope, context);
    readRoutes(scope, context);
    secretRoutes(scope, context);
    historyRoutes(scope, context);
    ofrepRoutes(scope, context);
    keyRoutes(scope, context);
    await consoleRoutes(scope, context);
    changeRoutes(scope, context, tail, limits.changes);
  });

  app.get('/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, async () => app.swagger());
  return app;
};
