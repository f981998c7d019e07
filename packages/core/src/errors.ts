/**
 * The one error type of Strata. Core code never knows about HTTP: the API maps `code` to a status
 * in a single table, the CLI maps it to an exit code.
 */
export type StrataErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'UNKNOWN_KEY'
  | 'NOT_FOUND'
  | 'VERSION_CONFLICT'
  | 'IMMUTABLE_KEY'
  | 'MANIFEST_CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'DECRYPTION_FAILED'
  | 'KEY_NOT_FOUND'
  | 'KEY_SHREDDED'
  | 'TAMPERED'
  | 'TIMEOUT'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class StrataError extends Error {
  override readonly name = 'StrataError';
  constructor(
    readonly code: StrataErrorCode,
    message: string,
    /** Structured details safe to show to the caller (never secret values). */
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isStrataError = (error: unknown): error is StrataError => error instanceof StrataError;
