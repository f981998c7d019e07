import { createJsonLogger } from '@strata/kafka-bus';
import { Projector } from './projector.js';
import { projectorConfigFromEnv } from './projector-config.js';

/**
 * The projector process: `npx tsx services/projector/src/main.ts`. Environment: DATABASE_URL,
 * REDIS_URL, KAFKA_BROKERS, STRATA_TOPIC, STRATA_REDIS_PREFIX, PROJECTOR_GROUP,
 * PROJECTOR_METRICS_PORT (see projector-config.ts). SIGTERM / SIGINT finish and commit the batch in
 * flight, leave the group and exit 0.
 */
const logger = createJsonLogger({ service: 'projector' });

// kafkajs 2.2.4 schedules a timer with a negative delay on Node ≥ 24 (kafkajs #1751, harmless).
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') logger.log('warn', warning.message, { warning: warning.name });
});

const fail = (msg: string, error: unknown): never => {
  logger.log('error', msg, { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
};

let projector: Projector;
try {
  projector = new Projector({ ...projectorConfigFromEnv(), logger });
  await projector.start();
} catch (error) {
  fail('projector failed to start', error);
}

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.log('info', 'projector stopping', { signal });
  projector.stop().then(
    () => process.exit(0),
    (error: unknown) => fail('projector failed to stop cleanly', error),
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
