/** Socket errors of a lost or refused connection. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** What ioredis rejects commands with while it has no usable connection. */
const connectionMessages = [
  'Connection is closed',
  'Reached the max retries per request limit',
  "Stream isn't writeable",
  'Command timed out',
  // A Redis that just started and is still loading its data set.
  'LOADING',
];

/**
 * True when `error` means Redis is unavailable (connection refused or lost, retries or the command
 * timeout exhausted): readers fall back to the log or answer 503, never 500.
 */
export const isRedisUnavailable = (error: unknown): boolean => {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && socketCodes.has(code)) return true;
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (connectionMessages.some((m) => e.message.startsWith(m))) return true;
  }
  return false;
};
