import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { namePattern, tenantPattern } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { newErrorId, problemContentType, statusOf } from '../problem.js';
import { OfrepBody, OfrepBulkAnswer, OfrepEvaluation, OfrepFlagParams } from '@strata/contracts';
import { minPositionOf } from '../request-context.js';
import { presentRead } from './scope.js';
import { tagged } from './route-options.js';

/**
 * OpenFeature Remote Evaluation Protocol (OFREP v1): any OpenFeature SDK's OFREP provider can
 * evaluate Strata flags. Context: `targetingKey` = tenant id; `namespace`/`environment` from the
 * context or, when omitted, from the token's scope. Evaluation errors answer OFREP's
 * `{key, errorCode, errorDetails}` — inside a problem+json body, so both kinds of client read them.
 */
type OfrepErrorCode = 'FLAG_NOT_FOUND' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'PARSE_ERROR' | 'GENERAL';
const reasonMap = {
  override: 'TARGETING_MATCH',
  rollout: 'SPLIT',
  targeting: 'TARGETING_MATCH',
  disabled: 'DISABLED',
  default: 'DEFAULT',
} as const;

class OfrepError extends Error {
  constructor(
    readonly errorCode: OfrepErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Context = NonNullable<z.infer<typeof OfrepBody>['context']>;

const scopeOf = (request: FastifyRequest, context: Context | undefined) => {
  const namespace = context?.namespace ?? request.principal?.namespace ?? undefined;
  const environment = context?.environment ?? request.principal?.environment ?? undefined;
  return { namespace, environment };
};

const ofrepTarget = (request: FastifyRequest) => {
  // Runs before validation: read the raw body defensively.
  const body = request.body as { context?: unknown } | null | undefined;
  const raw =
    typeof body === 'object' && body !== null && typeof body.context === 'object' && body.context !== null
      ? (body.context as Record<string, unknown>)
      : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const { namespace, environment } = scopeOf(request, {
    namespace: str(raw['namespace']),
    environment: str(raw['environment']),
  });
  return { namespace: namespace ?? null, environment: environment ?? null, tenant: str(raw['targetingKey']) ?? null };
};

/** An OFREP route: it reads the flags of the scope its context names, and takes OFREP's body. */
const ofrepRoute = <const Schema extends Omit<FastifySchema, 'tags' | 'summary' | 'body'>>(
  summary: string,
  schema: Schema,
) => tagged('ofrep')({ permission: 'config:read', target: ofrepTarget }, summary, { body: OfrepBody, ...schema });

const sendOfrepError = (request: FastifyRequest, reply: FastifyReply, key: string | undefined, error: OfrepError) => {
  const status = error.errorCode === 'FLAG_NOT_FOUND' ? 404 : error.errorCode === 'GENERAL' ? 500 : 400;
  const code = status === 404 ? 'NOT_FOUND' : status === 400 ? 'BAD_REQUEST' : 'INTERNAL';
  const errorId = newErrorId();
  request.log.info({ errorId, errorCode: error.errorCode, status }, 'ofrep evaluation error');
  return reply
    .status(status)
    .type(problemContentType)
    .send(
      JSON.stringify({
        ...(key ? { key } : {}),
        errorCode: error.errorCode,
        errorDetails: error.message,
        type: `https://strata.dev/problems/ofrep-${error.errorCode.toLowerCase().replaceAll('_', '-')}`,
        title: error.errorCode,
        status: statusOf[code],
        detail: error.message,
        code,
        errorId,
      }),
    );
};

/** If-None-Match: a list of (possibly weak) ETags, or `*`. */
const matchesEtag = (header: string | undefined, etag: string): boolean =>
  header !== undefined &&
  header.split(',').some((candidate) => {
    const t = candidate.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });

export const ofrepRoutes = (fastify: FastifyInstance, { cache, reads }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  const checkContext = (request: FastifyRequest, context: Context | undefined) => {
    const { namespace, environment } = scopeOf(request, context);
    if (context?.targetingKey === undefined || context.targetingKey === '')
      throw new OfrepError('TARGETING_KEY_MISSING', 'context.targetingKey (the tenant id) is required');
    if (!tenantPattern.test(context.targetingKey))
      throw new OfrepError(
        'INVALID_CONTEXT',
        'targetingKey must be a tenant id: letters, digits, _ . : -, at most 128',
      );
    if (!namespace || !environment)
      throw new OfrepError(
        'INVALID_CONTEXT',
        'context.namespace and context.environment are required (or a token scoped to them)',
      );
    if (!namePattern.test(namespace) || !namePattern.test(environment))
      throw new OfrepError('INVALID_CONTEXT', 'namespace and environment must be names');
    return { namespace, environment, tenant: context.targetingKey };
  };

  /**
   * `X-Strata-Min-Position` makes OFREP reads read-your-writes too (the OFREP body has no room for
   * it). Flags with a flagd definition answer core's typed resolution against the whole context
   * (value, variant, reason, metadata); shorthand flags their boolean decision.
   */
  const evaluate = async (
    request: FastifyRequest,
    reply: FastifyReply,
    scope: { namespace: string; environment: string; tenant: string },
    keys: readonly string[],
    context: Context,
  ) => {
    const { namespace, environment, tenant } = scope;
    const minPosition = minPositionOf(request, {});
    const { answers } = await presentRead(
      reply,
      reads.flagAnswers(namespace, environment, keys, tenant, context, minPosition),
    );
    return answers.map((answer, i) => {
      const key = keys[i]!;
      if (answer.kind === 'shorthand') {
        const { evaluation } = answer;
        return {
          key,
          reason: reasonMap[evaluation.reason],
          variant: evaluation.enabled ? 'on' : 'off',
          value: evaluation.enabled,
          metadata: {
            position: evaluation.position,
            ...(evaluation.rollout !== undefined ? { rollout: evaluation.rollout } : {}),
          },
        };
      }
      const r = answer.resolution;
      if (r.errorCode && r.errorCode !== 'TYPE_MISMATCH')
        throw new OfrepError(r.errorCode, r.errorMessage ?? r.errorCode);
      // No value (DISABLED, no default variant): OFREP clients then use the caller's default.
      return {
        key,
        reason: r.reason,
        ...(r.value === undefined ? {} : { value: r.value }),
        ...(r.variant === undefined ? {} : { variant: r.variant }),
        metadata: { ...r.flagMetadata, position: answer.position },
      };
    });
  };

  app.post(
    '/ofrep/v1/evaluate/flags/:key',
    ofrepRoute('OFREP: evaluate one flag', { params: OfrepFlagParams, response: { 200: OfrepEvaluation } }),
    async (request, reply) => {
      const { key } = request.params;
      try {
        const { namespace, environment, tenant } = checkContext(request, request.body.context);
        const manifest = await cache.manifest(namespace);
        if (!manifest || !Object.hasOwn(manifest.flags, key))
          throw new OfrepError('FLAG_NOT_FOUND', `flag ${key} is not declared in ${namespace}`);
        return (
          await evaluate(request, reply, { namespace, environment, tenant }, [key], request.body.context ?? {})
        )[0];
      } catch (error) {
        if (error instanceof OfrepError) return sendOfrepError(request, reply, key, error);
        throw error;
      }
    },
  );

  app.post(
    '/ofrep/v1/evaluate/flags',
    ofrepRoute('OFREP: evaluate every flag (ETag / If-None-Match; eventStreams: the change stream)', {
      response: { 200: OfrepBulkAnswer },
    }),
    async (request, reply) => {
      try {
        const { namespace, environment, tenant } = checkContext(request, request.body.context);
        const manifest = await cache.manifest(namespace);
        const keys = Object.keys(manifest?.flags ?? {}).sort();
        const flags = await evaluate(
          request,
          reply,
          { namespace, environment, tenant },
          keys,
          request.body.context ?? {},
        );
        // OFREP ADR 0008: the tenant's change stream, OFREP-shaped, on this server's origin.
        const eventStreams = [
          {
            type: 'sse' as const,
            endpoint: {
              requestUri: `/v1/namespaces/${encodeURIComponent(namespace)}/envs/${encodeURIComponent(environment)}/changes?tenant=${encodeURIComponent(tenant)}&format=ofrep`,
            },
            inactivityDelaySec: 120,
          },
        ];
        const body = JSON.stringify({ flags, eventStreams });
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
        // Serialized once for the ETag: sent as that text, not through the schema's serializer.
        const raw = reply as FastifyReply;
        raw.header('etag', etag);
        if (matchesEtag(request.headers['if-none-match'], etag)) return raw.status(304).send();
        return raw.type('application/json; charset=utf-8').send(body);
      } catch (error) {
        if (error instanceof OfrepError) return sendOfrepError(request, reply, undefined, error);
        throw error;
      }
    },
  );
};
