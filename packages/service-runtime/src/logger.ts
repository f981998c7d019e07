import type { Logger } from '@strata/core';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

// The port lives in core (adapters take it without pino); this module is its pino adapter.
export type { Logger, LogLevel } from '@strata/core';

export interface LoggerOptions {
  /** Written as `service` on every line. */
  service: string;
  /** pino level name (`info`, `warn`, … `silent`); lines below it are dropped. Default `info`. */
  level?: string;
  /** Where lines go; default stderr, written synchronously so the line before an exit is not lost. */
  destination?: DestinationStream;
}

export const redactedCensor = '[redacted]';

/**
 * Field names that hold credentials or secret material, at any depth of a plain object: their
 * values never reach a log line, whatever a caller passes by mistake (BRIEF: secrets never in logs).
 */
const secretShaped =
  /authorization|cookie|plaintext|secret|token$|pass(word|phrase)$|(master|private|fernet|api|data)[-_]?keys?$/i;

/** Copies `value` with secret-shaped fields censored; values that are not plain objects or arrays pass as they are. */
const censor = (value: unknown, depth: number): unknown => {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = censor(item, depth + 1);
      if (next !== item) (copy ??= [...value])[i] = next;
    });
    return copy ?? value;
  }
  // Errors, requests, buffers …: pino's serializers and the redact paths below deal with those.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, inner] of Object.entries(value)) {
    const next = secretShaped.test(key) ? redactedCensor : censor(inner, depth + 1);
    if (next !== inner) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
  }
  return copy ?? value;
};

/**
 * The pino logger every Strata process logs through: string levels and ISO times (greppable,
 * and what the fault tests parse), `service` on every line, secret-shaped fields censored. The API
 * hands it to Fastify; workers use it through `loggerOn`.
 */
export const createPinoLogger = ({ service, level = 'info', destination }: LoggerOptions): PinoLogger =>
  pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => censor(fields, 0) as Record<string, unknown>,
      },
      // Fastify's request serializer leaves headers out; these guard a request logged raw.
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
        censor: redactedCensor,
      },
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );

/** The Logger port on a pino logger. */
export const loggerOn = (target: PinoLogger): Logger => ({
  log: (level, msg, fields) => (fields === undefined ? target[level](msg) : target[level](fields, msg)),
  // pino runs the bindings formatter for the root's bindings only.
  child: (fields) => loggerOn(target.child(censor(fields, 0) as Record<string, unknown>)),
});

/** A Logger on a fresh pino logger (see createPinoLogger). */
export const createLogger = (options: LoggerOptions): Logger => loggerOn(createPinoLogger(options));
