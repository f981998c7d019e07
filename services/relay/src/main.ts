import { createJsonLogger } from '@strata/kafka-bus';
import { Relay } from './relay.js';
import { relayConfigFromEnv } from './relay-config.js';

/**
 * The relay process: `npx tsx services/relay/src/main.ts`. Environment: DATABASE_URL,
 * KAFKA_BROKERS, STRATA_TOPIC, STRATA_TOPIC_PARTITIONS, RELAY_METRICS_PORT (see relay-config.ts).
 * SIGTERM / SIGINT finish the batch in flight, save its checkpoint and exit 0.
 */
const logger = createJsonLogger({ service: 'relay' });

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

let relay: Relay;
try {
  relay = new Relay({ ...relayConfigFromEnv(), logger });
  await relay.start();
} catch (error) {
  fail('relay failed to start', error);
}

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.log('info', 'relay stopping', { signal });
  relay.stop().then(
    () => process.exit(0),
    (error: unknown) => fail('relay failed to stop cleanly', error),
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
