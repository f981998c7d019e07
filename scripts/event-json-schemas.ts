import { z } from 'zod';
import { eventSchemas } from '@strata/core';

/**
 * The JSON Schema of every event type and version, for consumers of `strata.events` (Kafka or
 * SQL) written in other languages. File name → pretty-printed schema text.
 */
export const eventJsonSchemas = (): Map<string, string> => {
  const files = new Map<string, string>();
  for (const [type, versions] of Object.entries(eventSchemas)) {
    for (const [version, schema] of Object.entries(versions as Record<string, z.ZodType>)) {
      const json = {
        ...(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>),
        $id: `https://strata.dev/schemas/${type}.v${version}.json`,
        title: `${type} v${version} — event data`,
      };
      files.set(`${type}.v${version}.json`, `${JSON.stringify(json, null, 2)}\n`);
    }
  }
  return files;
};
