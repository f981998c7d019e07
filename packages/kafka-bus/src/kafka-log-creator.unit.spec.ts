import { createLogger } from '@strata/service-runtime';
import {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  logLevel,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransientKafkaError, kafkaConnectionState } from './kafka-client.js';
import { kafkaLogCreator } from './kafka-log-creator.js';

const setup = () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 't', destination: { write: (line) => lines.push(JSON.parse(line)) } });
  const connection = kafkaConnectionState(logger);
  const log = kafkaLogCreator(logger, connection)(logLevel.WARN);
  const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) =>
    log({ namespace: 'Connection', level, label: 'ERROR', log: { timestamp: 'now', message, ...extra } });
  return { lines, connection, entry };
};

describe('kafkaLogCreator', () => {
  it('turns a flood of connection errors into one warning, and keeps quiet until a success', () => {
    const { lines, connection, entry } = setup();
    connection.restored();
    for (let i = 0; i < 40; i++) {
      entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { stack: 'Error: …' });
      entry(logLevel.ERROR, 'Failed to connect to seed broker, trying another broker from the list: Connection error');
      entry(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED');
      entry(logLevel.ERROR, 'Restarting the consumer in 1000ms');
      entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', {
        error: 'This server does not host this topic-partition',
      });
      entry(logLevel.ERROR, 'Response JoinGroup(key: 11, version: 5)', {
        error: "The coordinator is loading and hence can't process requests for this group",
      });
    }
    expect(connection.connected).toBe(false);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'kafka connection lost; retrying',
        error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      }),
    ]);
  });

  it('a fresh broker still settling reads as "not ready yet", not as a lost connection', () => {
    const { lines, connection, entry } = setup();
    connection.restored();
    for (let i = 0; i < 5; i++)
      entry(logLevel.ERROR, 'Response InitProducerId(key: 22, version: 1)', {
        error: "The coordinator is loading and hence can't process requests",
      });
    connection.restored();
    expect(lines.map((l) => l.msg)).toEqual(['kafka answers but is not ready yet; retrying', 'kafka ready']);
  });

  it('writes any other line once per minute at most, without payload fields or stacks', () => {
    const { lines, entry } = setup();
    for (let i = 0; i < 10; i++) {
      entry(logLevel.WARN, 'The group is rebalancing, re-joining', { groupId: 'g', value: 'sealed:…', stack: 's' });
    }
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'The group is rebalancing, re-joining', groupId: 'g' }),
    ]);
    expect(lines[0]).not.toHaveProperty('value');
    expect(lines[0]).not.toHaveProperty('stack');
  });

  it("drops kafkajs's warning about the publisher's deliberately bounded retries", () => {
    const { lines, entry } = setup();
    entry(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees');
    expect(lines).toEqual([]);
  });
});

/** A broker's error answer as kafkajs raises it (its constructor's type wants kafkajs's internal shape). */
const protocolError = (type: string, message: string, retriable: boolean) =>
  new KafkaJSProtocolError({ message, type, retriable } as never);

describe('isTransientKafkaError', () => {
  it('is true for what a broker that is down or still settling answers', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    expect(isTransientKafkaError(refused)).toBe(true);
    expect(isTransientKafkaError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 }))).toBe(
      true,
    );
    const notHosted = protocolError(
      'UNKNOWN_TOPIC_OR_PARTITION',
      'This server does not host this topic-partition',
      true,
    );
    expect(isTransientKafkaError(notHosted)).toBe(true);
    expect(isTransientKafkaError(new KafkaJSAggregateError('create failed', [notHosted, notHosted]))).toBe(true);
  });

  it('is false for errors that waiting does not fix', () => {
    expect(isTransientKafkaError(new KafkaJSNonRetriableError('Invalid topic'))).toBe(false);
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics', false);
    expect(isTransientKafkaError(denied)).toBe(false);
    expect(isTransientKafkaError(new KafkaJSAggregateError('create failed', [denied]))).toBe(false);
    expect(isTransientKafkaError(new TypeError('x is undefined'))).toBe(false);
    expect(isTransientKafkaError('ECONNREFUSED')).toBe(false);
  });
});
