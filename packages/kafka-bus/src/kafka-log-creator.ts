import type { ConnectionState, Logger, LogLevel } from '@strata/service-runtime';
import { logLevel, type logCreator } from 'kafkajs';

/** kafkajs entry fields that may carry payloads (message values, whole requests): never logged. */
const payloadFields = new Set(['messages', 'message', 'value', 'values', 'data', 'payload', 'request', 'response']);

const toLevel = (level: logLevel): LogLevel =>
  level === logLevel.ERROR || level === logLevel.NOTHING
    ? 'error'
    : level === logLevel.WARN
      ? 'warn'
      : level === logLevel.INFO
        ? 'info'
        : 'debug';

/**
 * What kafkajs logs while a broker is down, restarting, or still settling after topic creation:
 * refused or dropped connections, timeouts, no coordinator / leader yet, retries exhausted, and
 * the consumer "crash" + "restarting" pair those cause. All of it means "not reachable right now".
 */
const unavailable =
  /connect|ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|closed|timed? ?out|broker|coordinator|leader|does not host this topic-partition|not available|loading|NumberOfRetriesExceeded|Restarting the consumer|^Crash: /i;

/** The broker answered, but is not ready to serve this request yet (a fresh broker settling). */
const settling =
  /coordinator is loading|coordinator is not available|leader not available|LEADER_NOT_AVAILABLE|does not host this topic-partition|without a leader yet/i;

/** For ConnectionState: a Kafka failure that means "settling", not "connection lost". */
export const isKafkaSettling = (reason: string): boolean => settling.test(reason);

/**
 * Lines kafkajs writes that say nothing actionable here. The publisher bounds its idempotent
 * producer's retries on purpose and replaces the producer after any failed send, so no sequence
 * number is reused: kafkajs's warning about exactly-once would print on every reconnect.
 */
const noise = /^Limiting retries for the idempotent producer/;

/** The same other kafkajs line is written at most once per this window. */
const repeatWindowMs = 60_000;

/**
 * Bridges kafkajs's own logs (its `logCreator`) into the service's pino logger. kafkajs is chatty
 * at INFO (every join, every commit), so the client is created at WARN; payload-carrying fields are dropped so a message value
 * (which may hold a secret envelope) can never reach a log line. Unavailability lines go to
 * `connection` (one warning per outage, see ConnectionState) instead of one line per retry; any
 * other line is written once per minute at most.
 */
export const kafkaLogCreator =
  (logger: Logger, connection?: ConnectionState): logCreator =>
  () => {
    const lastWritten = new Map<string, number>();
    return ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const text = String(message);
      if (noise.test(text)) return;
      const fields: Record<string, unknown> = { kafkajs: namespace };
      for (const [key, value] of Object.entries(extra)) {
        if (!payloadFields.has(key) && key !== 'stack') fields[key] = value instanceof Error ? value.message : value;
      }
      const lineLevel = toLevel(level);
      if (connection && lineLevel !== 'debug' && lineLevel !== 'info') {
        const detail = typeof fields.error === 'string' ? `${text}: ${fields.error}` : text;
        if (unavailable.test(detail)) {
          connection.lost(detail, { kafkajs: namespace });
          return;
        }
      }
      const now = Date.now();
      const key = `${namespace}|${text}`;
      if (now - (lastWritten.get(key) ?? -Infinity) < repeatWindowMs) return;
      if (lastWritten.size > 1000) lastWritten.clear();
      lastWritten.set(key, now);
      logger.log(lineLevel, text, fields);
    };
  };

export { logLevel as kafkaLogLevel };
