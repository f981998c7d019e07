import type { FastifyReply, FastifyRequest } from 'fastify';
import { StrataError, type EventMetadata } from '@strata/core';
import type { Principal } from './access-policy.js';
import type { WriteOptions, WriteResult } from './command-runner.js';

/** Helpers every route uses to read the caller, conditional headers and to answer writes. */

export const principalOf = (request: FastifyRequest): Principal => {
  if (!request.principal) throw new StrataError('UNAUTHENTICATED', 'send Authorization: Bearer <token>');
  return request.principal;
};

export const metadataOf = (request: FastifyRequest, reason: string | undefined | null): EventMetadata => ({
  actor: principalOf(request).subject,
  reason: reason ?? null,
  correlationId: request.id,
  source: 'api',
});

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** `If-Match: "<stream version>"` (quotes and W/ optional); anything else is a 400. */
export const ifMatchOf = (request: FastifyRequest): number | null => {
  const raw = header(request, 'if-match');
  if (raw === undefined) return null;
  const match = /^\s*(?:W\/)?"?(\d{1,12})"?\s*$/.exec(raw);
  if (!match)
    throw new StrataError(
      'BAD_REQUEST',
      'If-Match must be a stream version such as "3" (the ETag of a previous answer)',
    );
  return Number(match[1]);
};

/** The Idempotency-Key, scoped to the caller so two clients can never collide on one key. */
export const idempotencyKeyOf = (request: FastifyRequest): string | null => {
  const raw = header(request, 'idempotency-key');
  if (raw === undefined) return null;
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(raw))
    throw new StrataError('BAD_REQUEST', 'Idempotency-Key must be 1-200 letters, digits, _ . : -');
  return `api:${principalOf(request).subject}:${raw}`;
};

export const writeOptionsOf = (request: FastifyRequest): WriteOptions => ({
  ifMatch: ifMatchOf(request),
  idempotencyKey: idempotencyKeyOf(request),
});

/** Answers a write: `{position, version, …}` with the stream version as ETag for the next If-Match. */
export const answerWrite = (
  reply: FastifyReply,
  result: WriteResult,
  extra: Record<string, unknown> = {},
  status = 200,
) => {
  reply.header('etag', `"${result.version}"`);
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(status).send({
    position: result.position,
    version: result.version,
    appended: result.appended,
    replayed: result.replayed,
    ...extra,
  });
};

/** `?minPosition=` or `X-Strata-Min-Position`, whichever is given (the larger when both). */
export const minPositionOf = (request: FastifyRequest, query: { minPosition?: number | undefined }): number | null => {
  const raw = header(request, 'x-strata-min-position');
  let fromHeader: number | null = null;
  if (raw !== undefined) {
    if (!/^\d{1,15}$/.test(raw)) throw new StrataError('BAD_REQUEST', 'X-Strata-Min-Position must be a log position');
    fromHeader = Number(raw);
  }
  const fromQuery = query.minPosition ?? null;
  if (fromHeader === null) return fromQuery;
  return fromQuery === null ? fromHeader : Math.max(fromHeader, fromQuery);
};

export const clientInfo = (request: FastifyRequest) => ({
  ip: request.ip,
  userAgent: (header(request, 'user-agent') ?? '').slice(0, 500) || null,
});
