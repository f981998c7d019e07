import { ConnectionState, createLogger, type Logger } from '@strata/service-runtime';
import { Kafka, logLevel } from 'kafkajs';
import { isKafkaSettling, kafkaLogCreator } from './kafka-log-creator.js';

export interface KafkaClientOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  clientId?: string;
  /** Where kafkajs's WARN and ERROR lines go; default a pino logger on stderr. */
  logger?: Logger;
  /**
   * Whether Kafka answers, shared by every client of one service so an outage is one warning and
   * one info line per service, and one `connected` gauge. Default: one of this client's own.
   */
  connection?: ConnectionState;
}

/**
 * Waits between kafkajs's own retries: short and capped at 1 s. kafkajs's default grows to 30 s,
 * so a client that failed through a 15 s outage slept up to half a minute after the broker was
 * back; the number of retries per operation stays kafkajs's (5, ~3 s with these waits).
 */
export const kafkaRetry = { initialRetryTime: 100, maxRetryTime: 1_000, multiplier: 2, retries: 5 } as const;

/** A kafkajs client that logs at WARN through the service's logger. Every adapter here builds on it. */
export const createKafkaClient = ({ brokers, clientId = 'strata', logger, connection }: KafkaClientOptions): Kafka =>
  new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: kafkaRetry,
    logCreator: kafkaLogCreator(logger ?? createLogger({ service: clientId }), connection),
  });

/** Kafka's connection state: one line per outage, and "not ready yet" while a fresh broker settles. */
export const kafkaConnectionState = (logger: Logger): ConnectionState =>
  new ConnectionState(logger, 'kafka', isKafkaSettling);

/** The client's connection state, or a fresh one logging to the client's logger. */
export const connectionFor = ({ connection, logger, clientId = 'strata' }: KafkaClientOptions): ConnectionState =>
  connection ?? kafkaConnectionState(logger ?? createLogger({ service: clientId }));

/** kafkajs error names that mean "the cluster is not reachable or not ready yet", whatever the cause field. */
const transientNames = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);

/**
 * True for errors worth waiting out: the broker is down or restarting, or a new topic's leaders
 * and the group coordinator are still being elected ("This server does not host this
 * topic-partition", "coordinator not available"). kafkajs marks protocol errors with `retriable`;
 * aggregate errors (createTopics) are transient when every inner error is.
 */
export const isTransientKafkaError = (error: unknown, depth = 0): boolean => {
  if (!(error instanceof Error) || depth > 5) return false;
  const e = error as Error & { retriable?: boolean; cause?: unknown; errors?: unknown[] };
  if (transientNames.has(e.name) || e.retriable === true) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0)
    return e.errors.every((inner) => isTransientKafkaError(inner, depth + 1));
  return e.cause !== undefined && isTransientKafkaError(e.cause, depth + 1);
};
