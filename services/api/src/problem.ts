import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isStrataError, StrataError, type StrataErrorCode } from '@strata/core';
import { isPostgresUnavailable } from '@strata/postgres-log';
import { isRedisUnavailable } from '@strata/redis-views';

/**
 * THE table from error code to HTTP status. Nothing else in the API picks a status for an error:
 * handlers throw StrataError and this file turns it into `application/problem+json` (RFC 9457).
 */
export const statusOf: Record<StrataErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 422,
  UNKNOWN_KEY: 422,
  NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  IMMUTABLE_KEY: 409,
  MANIFEST_CONFLICT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  DECRYPTION_FAILED: 500,
  KEY_NOT_FOUND: 500,
  KEY_SHREDDED: 410,
  TAMPERED: 500,
  TIMEOUT: 504,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

const titles: Record<StrataErrorCode, string> = {
  BAD_REQUEST: 'Bad request',
  VALIDATION_FAILED: 'Validation failed',
  UNKNOWN_KEY: 'Unknown key',
  NOT_FOUND: 'Not found',
  VERSION_CONFLICT: 'Version conflict',
  IMMUTABLE_KEY: 'Immutable key',
  MANIFEST_CONFLICT: 'Manifest conflict',
  UNAUTHENTICATED: 'Unauthenticated',
  FORBIDDEN: 'Forbidden',
  RATE_LIMITED: 'Too many requests',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  DECRYPTION_FAILED: 'Decryption failed',
  KEY_NOT_FOUND: 'Key not found',
  KEY_SHREDDED: 'Key shredded',
  TAMPERED: 'Log tampered',
  TIMEOUT: 'Timeout',
  UNAVAILABLE: 'Unavailable',
  INTERNAL: 'Internal error',
};

export const problemContentType = 'application/problem+json; charset=utf-8';

/** Details that must never reach a caller whatever a thrower put there. */
const unsafeDetailKeys = new Set([
  'value',
  'plaintext',
  'token',
  'secret',
  'stack',
  'cause',
  'type',
  'title',
  'status',
  'code',
  'errorId',
]);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: StrataErrorCode;
  errorId: string;
  [extra: string]: unknown;
}

export const toProblem = (error: StrataError, errorId: string, instance?: string): Problem => {
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(error.details ?? {})) if (!unsafeDetailKeys.has(k)) details[k] = v;
  const status = statusOf[error.code];
  // Internal failures say nothing about their insides; the errorId finds them in the log.
  const detail =
    status >= 500 && error.code === 'INTERNAL' ? 'internal error; quote the errorId to the operators' : error.message;
  return {
    type: `https://strata.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: titles[error.code],
    status,
    detail,
    code: error.code,
    errorId,
    ...(instance ? { instance } : {}),
    ...details,
  };
};

/** Seconds a client is asked to wait before retrying while a dependency is unavailable. */
const unavailableRetryAfterSeconds = 1;

/** UNAVAILABLE when PostgreSQL or Redis cannot serve right now (down, restarting, out of connections, timed out). */
const unavailable = (error: unknown): StrataError | undefined => {
  const which = isPostgresUnavailable(error) ? 'the database' : isRedisUnavailable(error) ? 'Redis' : null;
  if (which === null) return undefined;
  return new StrataError('UNAVAILABLE', `${which} is unavailable; retry shortly`, undefined, { cause: error });
};

/** Translates anything thrown into a StrataError: Fastify's own errors, zod validation, crashes. */
export const asStrataError = (error: unknown): StrataError => {
  if (isStrataError(error)) {
    // An adapter that wrapped a lost connection as INTERNAL still means "retry later".
    return (error.code === 'INTERNAL' ? unavailable(error.cause) : undefined) ?? error;
  }
  const dependency = unavailable(error);
  if (dependency) return dependency;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      in: error.validationContext ?? 'request',
      path: v.instancePath || '/',
      message: v.message ?? 'invalid',
    }));
    return new StrataError(
      'BAD_REQUEST',
      `invalid ${error.validationContext ?? 'request'}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      { issues },
    );
  }
  const fe = error as Partial<FastifyError> & { status?: number };
  const status = fe.statusCode ?? fe.status;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new StrataError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new StrataError(
        'BAD_REQUEST',
        fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type: send application/json'
          : 'malformed JSON body',
      );
    case 'FST_ERR_BAD_URL':
      return new StrataError('BAD_REQUEST', 'malformed URL: a path segment is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new StrataError('BAD_REQUEST', 'a path segment is longer than the limit');
    case 'FST_ERR_VALIDATION':
      return new StrataError('BAD_REQUEST', `invalid request: ${fe.message ?? ''}`);
    default:
      break;
  }
  if (error instanceof SyntaxError) return new StrataError('BAD_REQUEST', 'malformed JSON body');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new StrataError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit');
    if (status === 404) return new StrataError('NOT_FOUND', 'no such resource');
    if (status === 408) return new StrataError('TIMEOUT', 'request timed out');
    return new StrataError('BAD_REQUEST', 'bad request');
  }
  return new StrataError('INTERNAL', 'internal error', undefined, { cause: error });
};

export const newErrorId = (): string => randomUUID();

/** Per unavailable-dependency message, when it was last logged as a warning. */
const lastUnavailableWarning = new Map<string, number>();
const unavailableWarningWindowMs = 10_000;

/**
 * Fastify's error handler: logs one line with the errorId (the stack only for 5xx, never on the
 * wire) and answers problem+json.
 */
export const problemHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
  const strataError = asStrataError(error);
  const errorId = newErrorId();
  const problem = toProblem(strataError, errorId, request.url.split('?')[0]);
  const logged = { errorId, code: strataError.code, status: problem.status, detail: problem.detail };
  if (strataError.code === 'UNAVAILABLE') {
    // Expected while a dependency restarts: no stack, and one warning per outage — the requests
    // after it within the window log at info (still with their errorId), not as a flood of warnings.
    const cause = strataError.cause instanceof Error ? strataError.cause : strataError;
    const now = Date.now();
    const quiet = now - (lastUnavailableWarning.get(strataError.message) ?? 0) < unavailableWarningWindowMs;
    if (!quiet) lastUnavailableWarning.set(strataError.message, now);
    request.log[quiet ? 'info' : 'warn'](
      { ...logged, err: { type: cause.name, message: cause.message } },
      'request failed: unavailable',
    );
  } else if (problem.status >= 500) {
    const cause = strataError.code === 'INTERNAL' ? strataError.cause : strataError;
    request.log.error({ ...logged, err: safeErr(cause) }, 'request failed');
  } else request.log.info(logged, 'request rejected');
  return sendProblem(reply, problem);
};

export const sendProblem = (reply: FastifyReply, problem: Problem) => {
  if (problem.code === 'VERSION_CONFLICT' && typeof problem['currentVersion'] === 'number') {
    reply.header('etag', `"${problem['currentVersion']}"`);
  }
  if (typeof problem['retryAfterSeconds'] === 'number')
    reply.header('retry-after', String(problem['retryAfterSeconds']));
  else if (problem.status === 503) reply.header('retry-after', String(unavailableRetryAfterSeconds));
  return reply.status(problem.status).type(problemContentType).send(JSON.stringify(problem));
};

/** Error fields worth a log line; messages of pg/ioredis errors never carry secret values. */
const safeErr = (error: unknown) =>
  error instanceof Error
    ? { type: error.name, message: error.message, stack: error.stack }
    : { message: String(error) };
