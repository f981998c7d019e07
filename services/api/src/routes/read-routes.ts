import type { FastifyInstance, FastifyReply } from 'fastify';
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
import { evaluateFlag, resolveConfig, StrataError, type FlagEvaluation } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { minPositionOf } from '../request-context.js';
import { answerBody, type ResolvedBody } from '../resolved-config-cache.js';
import { scopeOf, type Scope } from './scope.js';
import { route } from './route-options.js';

const flagAnswer = (evaluation: FlagEvaluation) => ({
  enabled: evaluation.enabled,
  reason: evaluation.reason,
  position: evaluation.position,
  ...(evaluation.rollout !== undefined ? { rollout: evaluation.rollout } : {}),
  ...(evaluation.variant !== undefined ? { variant: evaluation.variant } : {}),
});

/** Response header naming where a present read came from when it was not the views. */
export const readSourceHeader = 'strata-read-source';

/**
 * Resolved reads. The present comes from the Redis views (after waiting, bounded, for
 * `minPosition`), or from the log while they are unavailable (`Strata-Read-Source: log`); the
 * past (`?at=` / `?position=`) is folded from the log.
 */
export const readRoutes = (fastify: FastifyInstance, { pointInTime, reads, cache }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  /** `?at=`/`?position=` → the log position to read at, or null for the present. */
  const pastPosition = async (query: z.infer<typeof ReadQuery>): Promise<number | null> => {
    if (query.at !== undefined && query.position !== undefined)
      throw new StrataError('BAD_REQUEST', 'give either ?at= or ?position=, not both');
    if (query.position !== undefined) return pointInTime.resolve(query.position);
    if (query.at !== undefined) return pointInTime.resolve(query.at);
    return null;
  };

  const answerConfig = async (
    reply: FastifyReply,
    { namespace: ns, environment: env, tenant }: Scope,
    query: z.infer<typeof ReadQuery>,
    minPosition: number | null,
  ) => {
    const past = await pastPosition(query);
    let answer: ResolvedBody;
    if (past !== null) {
      const resolved = resolveConfig(await pointInTime.stateAt(ns, env, past), tenant);
      answer = { position: past, body: answerBody(past, resolved.values) };
    } else {
      const present = await reads.config(ns, env, tenant, minPosition);
      if (present.source === 'log') reply.header(readSourceHeader, 'log');
      answer = present;
    }
    // Already serialized (ResolvedAnswer's shape): a JSON string skips the response serializer.
    return reply
      .header('etag', `"p${answer.position}"`)
      .header('content-type', 'application/json; charset=utf-8')
      .send(answer.body);
  };

  for (const tenantScoped of [true, false]) {
    app.get(
      tenantScoped ? '/v1/namespaces/:ns/envs/:env/tenants/:tenant/config' : '/v1/namespaces/:ns/envs/:env/config',
      route('config:read', {
        tags: ['reads'],
        summary: tenantScoped
          ? "A tenant's resolved config (now, or ?at= / ?position= from the log)"
          : "The environment's resolved config (no tenant layer)",
        params: tenantScoped ? TenantParams : EnvParams,
        querystring: ReadQuery,
        response: { 200: ResolvedAnswer },
      }),
      async (request, reply) =>
        answerConfig(reply, scopeOf(request.params), request.query, minPositionOf(request, request.query)),
    );
  }

  app.get(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    route('config:read', {
      tags: ['reads'],
      summary: 'Evaluate a flag for a tenant',
      params: TenantFlagParams,
      querystring: ReadQuery,
      response: { 200: FlagAnswer },
    }),
    async (request, reply) => {
      const { ns, env, tenant, flag } = request.params;
      const past = await pastPosition(request.query);
      let evaluation: FlagEvaluation;
      if (past !== null) {
        evaluation = evaluateFlag(await pointInTime.stateAt(ns, env, past), flag, tenant);
      } else {
        const present = await reads.flag(ns, env, flag, tenant, minPositionOf(request, request.query));
        if (present.source === 'log') reply.header(readSourceHeader, 'log');
        evaluation = present;
      }
      return flagAnswer(evaluation);
    },
  );

  app.get(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags',
    route('config:read', {
      tags: ['reads'],
      summary: 'Every declared flag evaluated for a tenant (what a remote client caches per tenant)',
      params: TenantParams,
      querystring: MinPositionQuery,
      response: { 200: TenantFlagsAnswer },
    }),
    async (request, reply) => {
      const { ns, env, tenant } = request.params;
      const keys = Object.keys((await cache.manifest(ns))?.flags ?? {}).sort();
      const { evaluations, source } = await reads.flags(ns, env, keys, tenant, minPositionOf(request, request.query));
      if (source === 'log') reply.header(readSourceHeader, 'log');
      return {
        position: Math.max(0, ...evaluations.map((e) => e.position)),
        flags: Object.fromEntries(keys.map((flag, i) => [flag, flagAnswer(evaluations[i]!)])),
      };
    },
  );
};
