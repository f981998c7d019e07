import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import { StrataError } from '@strata/core';
import { createPinoLogger } from '@strata/service-runtime';
import { authorize, type Principal, type Target } from './access-policy.js';
import { defaultLimits, type ApiContext, type ApiDeps, type RouteAccess } from './api-context.js';
import { ApiTokens, type Authentication } from './api-tokens.js';
import { AuthBackoff } from './auth-backoff.js';
import { CommandRunner } from './command-runner.js';
import { useBoundedJsonParser } from './json-body-parser.js';
import { memoizedValidatorCompiler } from './memoized-validator.js';
import { ApiMetrics, type AuthFailureReason } from './metrics.js';
import { PointInTime } from './point-in-time.js';
import { PresentReads } from './present-reads.js';
import { problemHandler } from './problem.js';
import { RateLimiter } from './rate-limiter.js';
import { ResolvedConfigCache } from './resolved-config-cache.js';
import { ScopeStateCache } from './scope-state-cache.js';
import { SecretRotationSchedule } from './secret-rotation-schedule.js';
import { LogTail } from './log-tail.js';
import { changeRoutes } from './routes/change-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { flagRoutes } from './routes/flag-routes.js';
import { historyRoutes } from './routes/history-routes.js';
import { importRoutes } from './routes/import-routes.js';
import { keyRoutes } from './routes/key-routes.js';
import { ofrepRoutes } from './routes/ofrep-routes.js';
import { opsRoutes } from './routes/ops-routes.js';
import { readRoutes } from './routes/read-routes.js';
import { secretRoutes } from './routes/secret-routes.js';
import { tokenRoutes } from './routes/token-routes.js';
import { writeRoutes } from './routes/write-routes.js';

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
 * Fastify's two lines per request ("incoming request", "request completed") at debug, not info: a
 * config store answers tens of thousands of reads a second, and at the default LOG_LEVEL=info those
 * lines were the whole log. Failures stay where they were: a 5xx at error, a rejected request at
 * info with the errorId its problem+json names (problem.ts), a reply that failed mid-way at error.
 */
class RequestLinesAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** A hop count as the function proxy-addr makes of one (Fastify's types take no number). */
const trustedProxies = (trust: false | number | string[]) =>
  typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;

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
          logController: new RequestLinesAtDebug(),
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
    // Behind a load balancer every client shares its address: the operator names the proxies
    // (STRATA_TRUST_PROXY) so backoff and the secret-access log see the real client.
    trustProxy: trustedProxies(deps.trustProxy ?? false),
    // Errors the router raises before any hook (a malformed percent-encoding) answer problem+json too.
    frameworkErrors: (error, request, reply) => {
      void problemHandler(error, request, reply);
    },
  });
  useBoundedJsonParser(app);
  app.setValidatorCompiler(memoizedValidatorCompiler);
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
  // Snapshots are derived: a failed save costs only speed, but is never silent.
  const pointInTime = new PointInTime(deps.log, deps.snapshots, (error, what) =>
    app.log.warn({ err: { message: (error as Error).message } }, `point-in-time: ${what}`),
  );
  const context: ApiContext = {
    deps,
    limits,
    tokens: new ApiTokens(deps.tokenStore, deps.adminToken, deps.changes ?? null),
    cache,
    commands: new CommandRunner(deps.log, cache, (ns, env) => pointInTime.keepUp(ns, env)),
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
  app.decorateRequest('routeUrl', null);
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

  type Done = (error?: Error) => void;

  /**
   * Authenticates the caller, deny by default: the token, then the rate bucket, then
   * `authorizeAfter` (the route's check, when it needs nothing parsed yet). A token this
   * instance verified moments ago passes even from a client that is backing off: an address shared
   * by many clients (NAT, a proxy) must not lock out the ones that hold a valid token.
   */
  const authenticate = (
    request: FastifyRequest,
    done: Done,
    authorizeAfter: (request: FastifyRequest) => StrataError | undefined,
  ) => {
    const token = bearer(request);
    const known = token ? context.tokens.known(token) : undefined;
    if (known && 'principal' in known) return done(admit(request, known.principal) ?? authorizeAfter(request));
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
    const conclude = (authentication: Authentication) =>
      done(answer(request, authentication) ?? authorizeAfter(request));
    if (known) return conclude(known);
    context.tokens.authenticate(token).then(conclude, done);
  };

  /** Whether the authenticated caller may do what the route's access declares to what the request targets. */
  const authorized = (request: FastifyRequest, access: RouteAccess | undefined): StrataError | undefined => {
    if (access?.authenticated === true) return undefined;
    if (!access?.permission) return new StrataError('FORBIDDEN', 'this route grants no permission');
    try {
      authorize(request.principal!, access.permission, (access.target ?? defaultTarget)(request));
    } catch (error) {
      return error as StrataError;
    }
    return undefined;
  };

  // Each route's hooks are bound when the route is added, to what it declares: no per-request look
  // at `request.routeOptions` (Fastify builds it anew on every access), no hook where none is due.
  // Hot-path hooks are callback style: a known token is checked without a promise.
  app.addHook('onRoute', (route) => {
    const { url } = route;
    const access = route.config?.access;
    const hooks = (existing: unknown) =>
      existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    // The docs UI and public routes need no token.
    if (url.startsWith('/docs') || access?.public === true) {
      route.onRequest = [
        ...hooks(route.onRequest),
        (request: FastifyRequest, _reply: unknown, done: Done) => {
          request.routeUrl = url;
          done();
        },
      ];
      return;
    }
    // A target read from the path is known at onRequest; one read from the body (tokens, OFREP) or
    // the query waits for parsing. Either way authorization runs before validation: a caller learns
    // nothing about a scope it may not touch, and targets only compare strings, so unvalidated
    // parameters are harmless here.
    const fromPath = access?.target === undefined;
    const authorizeAfter = fromPath ? (request: FastifyRequest) => authorized(request, access) : () => undefined;
    route.onRequest = [
      ...hooks(route.onRequest),
      (request: FastifyRequest, _reply: unknown, done: Done) => {
        request.routeUrl = url;
        authenticate(request, done, authorizeAfter);
      },
    ];
    if (!fromPath)
      route.preValidation = [
        ...hooks(route.preValidation),
        (request: FastifyRequest, _reply: unknown, done: Done) => done(authorized(request, access)),
      ];
  });

  app.addHook('onResponse', (request, reply, done) => {
    // routeUrl is null when the onRequest hook did not run (an error the router raised) or matched nothing.
    const route = request.routeUrl ?? request.routeOptions.url ?? 'unmatched';
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
