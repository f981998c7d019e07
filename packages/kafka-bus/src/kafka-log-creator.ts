import type { JsonLogger, LogLevel } from '@strata/service-runtime';
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
 * Routes kafkajs's own logs into a JsonLogger. kafkajs is chatty at INFO (every join, every
 * commit), so the client is created at WARN; payload-carrying fields are dropped so a message value
 * (which may hold a secret envelope) can never reach a log line.
 */
export const kafkaLogCreator =
  (logger: JsonLogger): logCreator =>
  () =>
  ({ namespace, level, log }) => {
    const { message, timestamp: _timestamp, ...extra } = log;
    const fields: Record<string, unknown> = { kafkajs: namespace };
    for (const [key, value] of Object.entries(extra)) {
      if (!payloadFields.has(key)) fields[key] = value instanceof Error ? value.message : value;
    }
    logger.log(toLevel(level), String(message), fields);
  };

export { logLevel as kafkaLogLevel };
