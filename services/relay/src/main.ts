import { runService } from '@strata/service-runtime';
import { Relay } from './relay.js';
import { relayConfigFromEnv } from './relay-config.js';

/**
 * The relay process: `npx tsx services/relay/src/main.ts`. Environment: DATABASE_URL,
 * KAFKA_BROKERS, STRATA_TOPIC, STRATA_TOPIC_PARTITIONS, RELAY_METRICS_PORT, RELAY_KAFKA_PROBE_MS,
 * LOG_LEVEL (see relay-config.ts). SIGTERM / SIGINT finish the batch in flight, save its checkpoint
 * and exit 0.
 */
await runService({ name: 'relay', create: (logger) => new Relay({ ...relayConfigFromEnv(), logger }) });
