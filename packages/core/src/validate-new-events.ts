import { StrataError } from './errors.js';
import { eventSchemas, latestSchemaVersion, parseEventData, type EventType, type NewEvent } from './events.js';

/** An event as every event log stores it: data parsed by the latest schema of its type. */
export interface ValidatedEvent {
  type: EventType;
  schemaVersion: number;
  data: unknown;
  metadata: NewEvent['metadata'];
}

/**
 * NUL cannot be stored in PostgreSQL text or jsonb; every log rejects it up front so that one
 * event cannot fail a whole batch and all implementations of the port accept the same input.
 */
const holdsNul = (value: unknown): boolean => JSON.stringify(value).includes('\\u0000');

/**
 * What an event log checks before it appends anything: a stream id, at least one event, known
 * types, an actor, data valid by the type's latest schema. Throws `VALIDATION_FAILED` naming the
 * first bad event, so a command with one bad event appends none.
 */
export const validateNewEvents = (streamId: string, events: readonly NewEvent[]): ValidatedEvent[] => {
  if (streamId.length === 0 || holdsNul(streamId))
    throw new StrataError('VALIDATION_FAILED', 'stream id is empty or holds NUL');
  if (events.length === 0) throw new StrataError('VALIDATION_FAILED', 'an append needs at least one event');
  return events.map((event, index) => {
    if (!(event.type in eventSchemas)) {
      throw new StrataError('VALIDATION_FAILED', `unknown event type ${String(event.type)}`, {
        index,
        type: event.type,
      });
    }
    if (typeof event.metadata?.actor !== 'string' || event.metadata.actor.length === 0) {
      throw new StrataError('VALIDATION_FAILED', 'event metadata needs an actor', { index, type: event.type });
    }
    const schemaVersion = latestSchemaVersion(event.type);
    let data: unknown;
    try {
      data = parseEventData(event.type, schemaVersion, event.data);
    } catch (error) {
      const issues = (error as { issues?: unknown }).issues;
      throw new StrataError(
        'VALIDATION_FAILED',
        `invalid ${event.type} data`,
        { index, type: event.type, ...(issues === undefined ? {} : { issues }) },
        { cause: error },
      );
    }
    if (holdsNul(data) || holdsNul(event.metadata)) {
      throw new StrataError('VALIDATION_FAILED', 'event data and metadata cannot hold the NUL character', {
        index,
        type: event.type,
      });
    }
    return { type: event.type, schemaVersion, data, metadata: event.metadata };
  });
};
