import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { newEvent, StrataError, streamIds } from '@strata/core';
import { withinScope, type Principal, type Target } from '../access-policy.js';
import type { ApiContext } from '../app.js';
import { metadataOf, principalOf } from '../request-context.js';
import { IssueTokenBody, TokenIdParams } from '../schemas.js';

/** Listing and revoking name no scope in the path: check the caller's own, then keep to the records within it. */
const callerScope = ({ principal }: { principal: Principal | null }): Target => ({
  namespace: principal?.namespace ?? null,
  environment: principal?.environment ?? null,
  tenant: principal?.tenant ?? null,
});

/**
 * Tokens: issuing and revoking are recorded as events (without token material); the token
 * itself is shown once, in the answer to POST.
 */
export const tokenRoutes = (fastify: FastifyInstance, { deps, tokens }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/v1/tokens',
    {
      config: {
        access: {
          permission: 'tokens',
          // A token never grants more scope than its issuer holds.
          target: (request) => {
            // Runs before validation: read the raw body defensively.
            const b = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
              string,
              unknown
            >;
            const str = (v: unknown) => (typeof v === 'string' ? v : null);
            return { namespace: str(b['namespace']), environment: str(b['env']), tenant: str(b['tenant']) };
          },
        },
      },
      schema: { tags: ['tokens'], summary: 'Issue a token (shown once)', body: IssueTokenBody },
    },
    async (request, reply) => {
      const body = request.body;
      const scope = { namespace: body.namespace ?? null, environment: body.env ?? null, tenant: body.tenant ?? null };
      if (scope.tenant !== null && (scope.namespace === null || scope.environment === null)) {
        throw new StrataError('BAD_REQUEST', 'a tenant-scoped token needs a namespace and an env too');
      }
      if (scope.environment !== null && scope.namespace === null)
        throw new StrataError('BAD_REQUEST', 'an env-scoped token needs a namespace too');
      const principal = principalOf(request);
      const { record, token } = await tokens.issue({
        role: body.role,
        ...scope,
        description: body.description ?? null,
        createdBy: principal.subject,
      });
      const event = newEvent(
        'TokenIssued',
        { tokenId: record.id, role: record.role, ...scope, description: record.description },
        metadataOf(request, body.description ?? null),
      );
      let position: number;
      try {
        const result = await deps.log.append(streamIds.tokens(), [event], { expectedVersion: 'any' });
        if (!result.ok) throw new StrataError('INTERNAL', 'token registry append conflicted');
        position = result.positions[0] ?? 0;
      } catch (error) {
        // No token may work without its audit event.
        await tokens.revoke(record.id, 'system').catch(() => undefined);
        throw error;
      }
      return reply.status(201).send({
        position,
        id: record.id,
        token,
        role: record.role,
        namespace: scope.namespace,
        env: scope.environment,
        tenant: scope.tenant,
      });
    },
  );

  app.get(
    '/v1/tokens',
    {
      config: { access: { permission: 'tokens', target: callerScope } },
      schema: { tags: ['tokens'], summary: 'Live tokens (never their values)' },
    },
    async (request) => {
      const principal = principalOf(request);
      const list = await tokens.list();
      return { tokens: list.filter((t) => withinScope(principal, t)) };
    },
  );

  app.delete(
    '/v1/tokens/:id',
    {
      config: { access: { permission: 'tokens', target: callerScope } },
      schema: { tags: ['tokens'], summary: 'Revoke a token', params: TokenIdParams },
    },
    async (request) => {
      const principal = principalOf(request);
      const record = await tokens.get(request.params.id);
      if (!record || record.revokedAt !== null || !withinScope(principal, record)) {
        throw new StrataError('NOT_FOUND', `no live token ${request.params.id}`, { tokenId: request.params.id });
      }
      await tokens.revoke(record.id, principal.subject);
      const result = await deps.log.append(
        streamIds.tokens(),
        [newEvent('TokenRevoked', { tokenId: record.id }, metadataOf(request, null))],
        { expectedVersion: 'any' },
      );
      if (!result.ok) throw new StrataError('INTERNAL', 'token registry append conflicted');
      return { position: result.positions[0] ?? 0, id: record.id, revoked: true };
    },
  );
};
