import { causeChain, isConnectionLost } from '@strata/core';

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
  for (const e of causeChain(error)) {
    if (isConnectionLost(e)) return true;
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (connectionMessages.some((m) => e.message.startsWith(m))) return true;
  }
  return false;
};
