import { partitionKey, StrataError, type RecordedEvent } from '@strata/core';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

/**
 * The wire format on `strata.events`, documented for consumers in any language:
 * key = `partitionKey(event)` (`namespace/environment`, `namespace` or `system`), so one scope's
 * events stay in one partition in log order; value = the RecordedEvent envelope as UTF-8 JSON;
 * headers `type`, `position`, `event-id`, `schema-version` and, when set, `correlation-id`, so
 * routers can filter without parsing the value.
 */
export const toKafkaMessage = (event: RecordedEvent): Message => {
  const headers: IHeaders = {
    type: event.type,
    position: String(event.position),
    'event-id': event.eventId,
    'schema-version': String(event.schemaVersion),
  };
  if (event.metadata.correlationId) headers['correlation-id'] = event.metadata.correlationId;
  return { key: partitionKey(event), value: JSON.stringify(event), headers };
};

/** Reads one message back into the envelope; a message that is not one is a broken contract. */
export const fromKafkaMessage = (message: KafkaMessage): RecordedEvent => {
  let event: Partial<RecordedEvent> | undefined;
  try {
    event = message.value ? (JSON.parse(message.value.toString('utf8')) as Partial<RecordedEvent>) : undefined;
  } catch (cause) {
    throw new StrataError(
      'INTERNAL',
      `message at offset ${message.offset} is not JSON`,
      { offset: message.offset },
      { cause },
    );
  }
  if (
    !event ||
    typeof event.position !== 'number' ||
    typeof event.type !== 'string' ||
    typeof event.eventId !== 'string'
  ) {
    throw new StrataError('INTERNAL', `message at offset ${message.offset} is not a Strata event`, {
      offset: message.offset,
    });
  }
  return event as RecordedEvent;
};

/** A header as a string (kafkajs hands them out as Buffers). */
export const headerValue = (message: KafkaMessage, name: string): string | undefined => {
  const raw = message.headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined ? undefined : value.toString();
};
