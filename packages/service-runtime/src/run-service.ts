import { readEnv, sharedEnv } from './env-schema.js';
import { createLogger, type Logger } from './logger.js';

/** A long-running worker (relay, projector): started once, stopped once on a signal. */
export interface Service {
  start(): Promise<unknown>;
  /** Finishes the work in flight; resolving exits 0, a throw exits 1. */
  stop(): Promise<void>;
}

export interface RunServiceOptions {
  /** Written as `service` on every log line and in the start / stop messages. */
  name: string;
  /**
   * Reads the configuration and builds the service on the process's logger; a throw (a variable
   * that does not parse, see readEnv) exits 1 with the reason on one line, as does a failed start.
   */
  create: (logger: Logger) => Service;
}

/**
 * The lifecycle of a service process: JSON log lines on stderr at LOG_LEVEL (process warnings
 * included), create and start, then on the first SIGTERM / SIGINT stop and exit 0 — any failure
 * logs one line and exits 1.
 */
export const runService = async ({ name, create }: RunServiceOptions): Promise<void> => {
  let level = 'info';
  let badLevel: unknown;
  try {
    level = readEnv({ logLevel: sharedEnv.logLevel }).logLevel;
  } catch (error) {
    badLevel = error;
  }
  const logger = createLogger({ service: name, level });

  // Process warnings become JSON lines too. kafkajs 2.2.4 schedules a timer with a negative delay on
  // Node ≥ 24 (kafkajs #1751, harmless: Node uses 1 ms), which would print on every start.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') logger.log('warn', warning.message, { warning: warning.name });
  });

  const fail = (msg: string, error: unknown): never => {
    logger.log('error', msg, { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  };

  let service: Service;
  try {
    if (badLevel) throw badLevel;
    service = create(logger);
    await service.start();
  } catch (error) {
    fail(`${name} failed to start`, error);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', `${name} stopping`, { signal });
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(`${name} failed to stop cleanly`, error),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};
