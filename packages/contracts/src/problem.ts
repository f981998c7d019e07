import { z } from 'zod';
import { StrataError, type StrataErrorCode } from '@strata/core';

/**
 * RFC 9457 problem details as the API answers every error, with Strata's `code` and `errorId`
 * extensions (every member optional: a proxy or an older server may send less). Extra members (`currentVersion`, `retryAfterSeconds`, `issues`, OFREP's
 * `errorCode`…) pass through.
 */
export const Problem = z.looseObject({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  code: z.string().optional(),
  errorId: z.string().optional(),
  instance: z.string().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** Error codes a client may meet; anything else a server sends maps by status. */
const codes: ReadonlySet<string> = new Set<StrataErrorCode>([
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'UNKNOWN_KEY',
  'NOT_FOUND',
  'VERSION_CONFLICT',
  'IMMUTABLE_KEY',
  'MANIFEST_CONFLICT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'DECRYPTION_FAILED',
  'KEY_NOT_FOUND',
  'KEY_SHREDDED',
  'TAMPERED',
  'TIMEOUT',
  'UNAVAILABLE',
  'INTERNAL',
]);

/** The code a status implies when the body is not a Strata problem (a proxy's page, say). */
const codeOfStatus = (status: number): StrataErrorCode => {
  if (status === 400) return 'BAD_REQUEST';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'VERSION_CONFLICT';
  if (status === 410) return 'KEY_SHREDDED';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 422) return 'VALIDATION_FAILED';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502 || status === 503) return 'UNAVAILABLE';
  if (status === 504 || status === 408) return 'TIMEOUT';
  return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
};

/** A StrataError that came over HTTP: keeps the status and the whole problem body. */
export class ApiError extends StrataError {
  constructor(
    code: StrataErrorCode,
    message: string,
    readonly status: number,
    /** The parsed problem; undefined when the body was not problem+json. */
    readonly problem: Problem | undefined,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }

  /** `Retry-After` in seconds when the server sent one (429, 503). */
  get retryAfterSeconds(): number | undefined {
    const v = this.details?.['retryAfterSeconds'];
    return typeof v === 'number' ? v : undefined;
  }
}

/**
 * Turns an error answer back into the StrataError the server threw: same `code`, the problem's
 * `detail` as message, its extensions as details (plus `status`, `errorId`, `retryAfterSeconds`).
 */
export const errorFromResponse = (status: number, body: string, retryAfter?: string | null): ApiError => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON: the status line says enough.
  }
  const problem = Problem.safeParse(parsed);
  const retryAfterSeconds = retryAfterOf(retryAfter);
  if (!problem.success) {
    const text = body.trim().split('\n')[0]?.slice(0, 200) ?? '';
    return new ApiError(codeOfStatus(status), text || `HTTP ${status}`, status, undefined, {
      status,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }
  const { type: _type, title, detail, code, ...extensions } = problem.data;
  const known = code !== undefined && codes.has(code) ? (code as StrataErrorCode) : codeOfStatus(status);
  const message =
    detail ?? (typeof extensions['message'] === 'string' ? extensions['message'] : title) ?? `HTTP ${status}`;
  return new ApiError(known, message, status, problem.data, {
    ...extensions,
    ...(retryAfterSeconds !== undefined && extensions['retryAfterSeconds'] === undefined ? { retryAfterSeconds } : {}),
  });
};

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export const retryAfterOf = (header: string | null | undefined): number | undefined => {
  if (!header) return undefined;
  if (/^\d{1,6}$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
};
