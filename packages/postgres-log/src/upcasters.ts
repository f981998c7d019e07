import { StrataError, eventSchemas, latestSchemaVersion, type EventType, type ProjectedEvent } from '@strata/core';

/**
 * How old events reach today's shape: per type, a function from each stored schema version to
 * the next one. The log never rewrites history, so a schema change ships an upcaster instead.
 */
export type Upcasters = Record<string, Record<number, (data: unknown) => unknown>>;

/** Latest schema version by type, computed once: `latestSchemaVersion` scans the schemas per call, per event read. */
const latestVersions = new Map<string, number>(
  Object.keys(eventSchemas).map((type) => [type, latestSchemaVersion(type as EventType)]),
);

/**
 * Brings a stored event to the latest schema version of its type, one step at a time.
 * The returned event carries the latest `schemaVersion`; its `hash` (if any) still covers the stored form.
 */
export const upcast = <E extends ProjectedEvent>(event: E, upcasters: Upcasters): E => {
  const latest = latestVersions.get(event.type);
  if (latest === undefined) return event;
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
  return data === event.data ? event : ({ ...event, data, schemaVersion } as E);
};
