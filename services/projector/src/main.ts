import { runService } from '@strata/service-runtime';
import { Projector } from './projector.js';
import { projectorConfigFromEnv } from './projector-config.js';

/**
 * The projector process: `npx tsx services/projector/src/main.ts`. Environment: DATABASE_URL,
 * REDIS_URL, KAFKA_BROKERS, STRATA_TOPIC, STRATA_REDIS_PREFIX, PROJECTOR_GROUP,
 * PROJECTOR_METRICS_PORT, LOG_LEVEL (see projector-config.ts). SIGTERM / SIGINT finish and commit
 * the batch in flight, leave the group and exit 0.
 */
await runService({ name: 'projector', create: (logger) => new Projector({ ...projectorConfigFromEnv(), logger }) });
