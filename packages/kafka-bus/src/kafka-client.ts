import { createJsonLogger, type JsonLogger } from '@strata/service-runtime';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator } from './kafka-log-creator.js';

export interface KafkaClientOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  clientId?: string;
  /** Where kafkajs's WARN and ERROR lines go; default a JSON logger on stderr. */
  logger?: JsonLogger;
}

/** A kafkajs client that logs at WARN through our JSON logger. Every adapter here builds on it. */
export const createKafkaClient = ({ brokers, clientId = 'strata', logger }: KafkaClientOptions): Kafka =>
  new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger ?? createJsonLogger({ service: clientId })),
  });

/** `host:port` from a broker as operators write it, with or without a `kafka://`-style scheme. */
export const brokerAddress = (broker: string): string => broker.replace(/^[a-z]+:\/\//i, '');
