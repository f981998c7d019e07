import { createJsonLogger, type JsonLogger } from './json-logger.js';

export interface RunServiceOptions<Service> {
  /** Written as `service` on every log line and in the start / stop messages. */
  name: string;
  /** Reads the configuration and starts; a throw exits 1 with the reason logged. */
  start: (logger: JsonLogger) => Promise<Service>;
  /** Finishes the work in flight; resolving exits 0, a throw exits 1. */
  stop: (service: Service) => Promise<void>;
}

/**
 * The lifecycle of a service process: JSON log lines on stderr (process warnings included), start,
 * then on the first SIGTERM / SIGINT stop and exit 0 — any failure logs one line and exits 1.
 */
export const runService = async <Service>({ name, start, stop }: RunServiceOptions<Service>): Promise<void> => {
  const logger = createJsonLogger({ service: name });

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
    service = await start(logger);
  } catch (error) {
    fail(`${name} failed to start`, error);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', `${name} stopping`, { signal });
    stop(service).then(
      () => process.exit(0),
      (error: unknown) => fail(`${name} failed to stop cleanly`, error),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};
