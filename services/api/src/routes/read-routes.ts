import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { evaluateFlag, resolveConfig, StrataError, type FlagEvaluation } from '@strata/core';
import type { ApiContext } from '../app.js';
import { minPositionOf } from '../request-context.js';
import { answerBody, type ResolvedBody } from '../resolved-config-cache.js';
import { EnvParams, ReadQuery, TenantFlagParams, TenantParams } from '../schemas.js';
import { scopeOf, type Scope } from './scope.js';

const ResolvedAnswer = z.object({
  position: z.number(),
  values: z.record(z.string(), z.object({ value: z.unknown(), source: z.string(), position: z.number() })),
});
const FlagAnswer = z.object({
  enabled: z.boolean(),
  reason: z.enum(['override', 'rollout', 'targeting', 'disabled', 'default']),
  /** The value of a non-boolean flag's variant (a pinned override's included), when it has one. */
  variant: z.unknown().optional(),
  position: z.number(),
});

/** Response header naming where a present read came from when it was not the views. */
export const readSourceHeader = 'strata-read-source';

/**
 * Resolved reads. The present comes from the Redis views (after waiting, bounded, for
 * `minPosition`), or from the log while they are unavailable (`Strata-Read-Source: log`); the
 * past (`?at=` / `?position=`) is folded from the log.
 */
export const readRoutes = (fastify: FastifyInstance, { pointInTime, reads }: ApiContext) => {
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
      {
        config: { access: { permission: 'config:read' } },
        schema: {
          tags: ['reads'],
          summary: tenantScoped
            ? "A tenant's resolved config (now, or ?at= / ?position= from the log)"
            : "The environment's resolved config (no tenant layer)",
          params: tenantScoped ? TenantParams : EnvParams,
          querystring: ReadQuery,
          response: { 200: ResolvedAnswer },
        },
      },
      async (request, reply) =>
        answerConfig(reply, scopeOf(request.params), request.query, minPositionOf(request, request.query)),
    );
  }

  app.get(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    {
      config: { access: { permission: 'config:read' } },
      schema: {
        tags: ['reads'],
        summary: 'Evaluate a flag for a tenant',
        params: TenantFlagParams,
        querystring: ReadQuery,
        response: { 200: FlagAnswer },
      },
    },
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
      const { enabled, reason, position, variant } = evaluation;
      return variant === undefined ? { enabled, reason, position } : { enabled, reason, variant, position };
    },
  );
};
