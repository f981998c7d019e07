import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  EnvParams,
  FlagAnswer,
  MinPositionQuery,
  ReadQuery,
  ResolvedAnswer,
  TenantFlagParams,
  TenantFlagsAnswer,
  TenantParams,
} from '@strata/contracts';
import { evaluateFlag, resolveConfig, type FlagEvaluation } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { minPositionOf } from '../request-context.js';
import type { ReadSource } from '../present-reads.js';
import { answerBody, type ResolvedBody } from '../resolved-config-cache.js';
import { pastPositionOf, presentRead, scopeOf, scopeRead } from './scope.js';

const flagAnswer = (evaluation: FlagEvaluation) => ({
  enabled: evaluation.enabled,
  reason: evaluation.reason,
  position: evaluation.position,
  ...(evaluation.rollout !== undefined ? { rollout: evaluation.rollout } : {}),
  ...(evaluation.variant !== undefined ? { variant: evaluation.variant } : {}),
});

/** Already serialized (ResolvedAnswer's shape): a JSON string skips the response serializer. */
const sendResolved = (reply: FastifyReply, { body, etag }: ResolvedBody): void => {
  void reply.header('etag', etag).header('content-type', 'application/json; charset=utf-8').send(body);
};

/**
 * Resolved reads. The present comes from the Redis views (after waiting, bounded, for
 * `minPosition`), or from the log while they are unavailable (`Strata-Read-Source: log`); the
 * past (`?at=` / `?position=`) is folded from the log.
 */
export const readRoutes = (fastify: FastifyInstance, { pointInTime, reads, cache }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  /** The present (see presentRead), or with `?at=` / `?position=` the past: `past` at that log position. */
  const readAt = async <Answer>(
    request: FastifyRequest,
    reply: FastifyReply,
    query: z.infer<typeof ReadQuery>,
    past: (position: number) => Promise<Answer>,
    present: (minPosition: number | null) => Promise<Answer & { source: ReadSource }>,
  ): Promise<Answer> => {
    // A malformed X-Strata-Min-Position is a 400 whether or not the read is of the past.
    const minPosition = minPositionOf(request, query);
    const position = await pastPositionOf(pointInTime, query);
    return position === null ? presentRead(reply, present(minPosition)) : past(position);
  };

  for (const tenantScoped of [true, false]) {
    app.get(
      tenantScoped ? '/v1/namespaces/:ns/envs/:env/tenants/:tenant/config' : '/v1/namespaces/:ns/envs/:env/config',
      scopeRead(
        tenantScoped
          ? "A tenant's resolved config (now, or ?at= / ?position= from the log)"
          : "The environment's resolved config (no tenant layer)",
        tenantScoped ? TenantParams : EnvParams,
        ReadQuery,
        ResolvedAnswer,
      ),
      (request, reply) => {
        const { namespace, environment, tenant } = scopeOf(request.params);
        const { query } = request;
        // The hot path, synchronous: a read of the present with nothing to wait for, already built
        // for the view's known version, is answered without a promise (each costs a microtask turn).
        if (query.at === undefined && query.position === undefined && minPositionOf(request, query) === null) {
          const cached = reads.cachedConfig(namespace, environment, tenant);
          if (cached) {
            sendResolved(reply, cached);
            return;
          }
        }
        return readAt(
          request,
          reply,
          query,
          async (position) => {
            const resolved = resolveConfig(await pointInTime.stateAt(namespace, environment, position), tenant);
            return answerBody(position, resolved.values);
          },
          (minPosition) => reads.config(namespace, environment, tenant, minPosition),
        ).then((answer: ResolvedBody) => sendResolved(reply, answer));
      },
    );
  }

  app.get(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    scopeRead('Evaluate a flag for a tenant', TenantFlagParams, ReadQuery, FlagAnswer),
    async (request, reply) => {
      const { ns, env, tenant, flag } = request.params;
      const evaluation: FlagEvaluation = await readAt(
        request,
        reply,
        request.query,
        async (position) => evaluateFlag(await pointInTime.stateAt(ns, env, position), flag, tenant),
        (minPosition) => reads.flag(ns, env, flag, tenant, minPosition),
      );
      return flagAnswer(evaluation);
    },
  );

  app.get(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags',
    scopeRead(
      'Every declared flag evaluated for a tenant (what a remote client caches per tenant)',
      TenantParams,
      MinPositionQuery,
      TenantFlagsAnswer,
    ),
    async (request, reply) => {
      const { ns, env, tenant } = request.params;
      const keys = Object.keys((await cache.manifest(ns))?.flags ?? {}).sort();
      const minPosition = minPositionOf(request, request.query);
      const { evaluations } = await presentRead(reply, reads.flags(ns, env, keys, tenant, minPosition));
      return {
        position: Math.max(0, ...evaluations.map((e) => e.position)),
        flags: Object.fromEntries(keys.map((flag, i) => [flag, flagAnswer(evaluations[i]!)])),
      };
    },
  );
};
