import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { newEvent, StrataError, streamIds, type NewEvent } from '@strata/core';
import { withinScope, type Principal, type Target } from '../access-policy.js';
import type { ApiContext } from '../api-context.js';
import { metadataOf, principalOf } from '../request-context.js';
import {
  IssuedToken,
  IssueTokenBody,
  RevokedToken,
  RotatedToken,
  RotateTokenBody,
  TokenIdParams,
  TokenListAnswer,
} from '@strata/contracts';
import type { TokenRecord } from '../api-tokens.js';
import { tagged } from './route-options.js';

/** A rotated token keeps working this long unless the request says otherwise. */
const defaultGraceSeconds = 3600;

/** An expiry must lie ahead: a token born expired is a mistake, not a credential. */
const futureExpiry = (expiresAt: string | null | undefined, now: number): string | null => {
  if (expiresAt === undefined || expiresAt === null) return null;
  const at = Date.parse(expiresAt);
  if (at <= now) throw new StrataError('BAD_REQUEST', `expiresAt ${expiresAt} is not in the future`, { expiresAt });
  return new Date(at).toISOString();
};

/** Like scope, lifetime never widens: a short-lived issuer's tokens end when it does, at the latest. */
const cappedBy = (issuer: Principal, expiresAt: string | null): string | null =>
  issuer.expiresAt !== null && (expiresAt === null || Date.parse(expiresAt) > Date.parse(issuer.expiresAt))
    ? issuer.expiresAt
    : expiresAt;

const tokenAnswer = (record: TokenRecord, token: string, position: number) => ({
  position,
  id: record.id,
  token,
  role: record.role,
  namespace: record.namespace,
  env: record.environment,
  tenant: record.tenant,
  expiresAt: record.expiresAt,
});

/** Listing and revoking name no scope in the path: check the caller's own, then keep to the records within it. */
const callerScope = ({ principal }: { principal: Principal | null }): Target => ({
  namespace: principal?.namespace ?? null,
  environment: principal?.environment ?? null,
  tenant: principal?.tenant ?? null,
});

/** The scope a token is asked for. Runs before validation: reads the raw body defensively. */
const requestedScope = (request: FastifyRequest): Target => {
  const b = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { namespace: str(b['namespace']), environment: str(b['env']), tenant: str(b['tenant']) };
};

/**
 * Tokens: issuing and revoking are recorded as events (without token material); the token
 * itself is shown once, in the answer to POST.
 */
export const tokenRoutes = (fastify: FastifyInstance, { deps, tokens }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tokenRoute = tagged('tokens');
  // A token never grants more scope than its issuer holds.
  const issuing = { permission: 'tokens', target: requestedScope } as const;
  const ownTokens = { permission: 'tokens', target: callerScope } as const;

  /**
   * Appends a new token's audit event and answers its position. No token may work without its
   * audit event: when the append fails, `issued` is revoked (a rotated predecessor keeps its
   * shortened grace).
   */
  const recordIssued = async (issued: string, event: NewEvent): Promise<number> => {
    try {
      const result = await deps.log.append(streamIds.tokens(), [event], { expectedVersion: 'any' });
      if (!result.ok) throw new StrataError('INTERNAL', 'token registry append conflicted');
      return result.positions[0] ?? 0;
    } catch (error) {
      await tokens.revoke(issued, 'system').catch(() => undefined);
      throw error;
    }
  };

  app.post(
    '/v1/tokens',
    tokenRoute(issuing, 'Issue a token (shown once)', { body: IssueTokenBody, response: { 201: IssuedToken } }),
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
        expiresAt: cappedBy(principal, futureExpiry(body.expiresAt, Date.now())),
      });
      const event = newEvent(
        'TokenIssued',
        {
          tokenId: record.id,
          role: record.role,
          ...scope,
          description: record.description,
          expiresAt: record.expiresAt,
        },
        metadataOf(request, body.description ?? null),
      );
      const position = await recordIssued(record.id, event);
      return reply.status(201).send(tokenAnswer(record, token, position));
    },
  );

  app.post(
    '/v1/tokens/:id/rotate',
    tokenRoute(ownTokens, 'Issue a successor (shown once); the old token keeps working for a grace period', {
      params: TokenIdParams,
      body: RotateTokenBody,
      response: { 201: RotatedToken },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      const record = await tokens.get(request.params.id);
      if (!record || record.revokedAt !== null || !withinScope(principal, record)) {
        throw new StrataError('NOT_FOUND', `no live token ${request.params.id}`, { tokenId: request.params.id });
      }
      const now = Date.now();
      const graceSeconds = request.body?.graceSeconds ?? defaultGraceSeconds;
      // Default: the successor lives as long as its predecessor was issued for.
      const lifetime = record.expiresAt === null ? null : Date.parse(record.expiresAt) - Date.parse(record.createdAt);
      const expiresAt =
        request.body?.expiresAt !== undefined
          ? futureExpiry(request.body.expiresAt, now)
          : lifetime === null
            ? null
            : new Date(now + lifetime).toISOString();
      const rotated = await tokens.rotate(record.id, {
        previousValidUntil: new Date(now + graceSeconds * 1000),
        expiresAt: cappedBy(principal, expiresAt),
        createdBy: principal.subject,
      });
      const previousValidUntil = rotated.previous.expiresAt!;
      const event = newEvent(
        'TokenIssued',
        {
          tokenId: rotated.record.id,
          role: rotated.record.role,
          namespace: rotated.record.namespace,
          environment: rotated.record.environment,
          tenant: rotated.record.tenant,
          description: rotated.record.description,
          expiresAt: rotated.record.expiresAt,
          rotatedFrom: record.id,
          previousValidUntil,
        },
        metadataOf(request, request.body?.reason ?? null),
      );
      const position = await recordIssued(rotated.record.id, event);
      return reply.status(201).send({
        ...tokenAnswer(rotated.record, rotated.token, position),
        previousId: record.id,
        previousValidUntil,
        graceSeconds: Math.max(0, Math.round((Date.parse(previousValidUntil) - now) / 1000)),
      });
    },
  );

  app.get(
    '/v1/tokens',
    tokenRoute(ownTokens, 'Live tokens (never their values)', { response: { 200: TokenListAnswer } }),
    async (request) => {
      const principal = principalOf(request);
      const list = await tokens.list();
      return { tokens: list.filter((t) => withinScope(principal, t)) };
    },
  );

  app.delete(
    '/v1/tokens/:id',
    tokenRoute(ownTokens, 'Revoke a token', { params: TokenIdParams, response: { 200: RevokedToken } }),
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
      return { position: result.positions[0] ?? 0, id: record.id, revoked: true as const };
    },
  );
};
