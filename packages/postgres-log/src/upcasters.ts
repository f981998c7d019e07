import { StrataError, eventSchemas, latestSchemaVersion, type EventType, type RecordedEvent } from '@strata/core';

/**
 * How old events reach today's shape: per type, a function from each stored schema version to
 * the next one. The log never rewrites history, so a schema change ships an upcaster instead.
 */
export type Upcasters = Record<string, Record<number, (data: unknown) => unknown>>;

/**
 * Brings a stored event to the latest schema version of its type, one step at a time.
 * The returned event carries the latest `schemaVersion`; its `hash` still covers the stored form.
 */
export const upcast = (event: RecordedEvent, upcasters: Upcasters): RecordedEvent => {
  if (!(event.type in eventSchemas)) return event;
  const latest = latestSchemaVersion(event.type as EventType);
  let { data, schemaVersion } = event as { data: unknown; schemaVersion: number };
  while (schemaVersion < latest) {
    const step = upcasters[event.type]?.[schemaVersion];
    if (!step) {
      throw new StrataError('INTERNAL', `no upcaster for ${event.type} v${schemaVersion}`, {
        type: event.type,
        schemaVersion,
        position: event.position,
      });
    }
    data = step(data);
    schemaVersion += 1;
  }
  return data === event.data ? event : ({ ...event, data, schemaVersion } as RecordedEvent);
};
