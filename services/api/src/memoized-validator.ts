import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';

type Validated = { value?: unknown; error?: Error | FastifySchemaValidationError[] };

/** Values remembered per parameter; past it the set starts again (a re-validation, never a wrong answer). */
const maxRememberedValues = 10_000;

type ZodSchema = z.ZodType & { _zod: { def: { type: string; checks?: unknown[]; shape?: Record<string, z.ZodType> } } };

/** The fields of a strict object of plain strings (no transform, no object-level check), else null. */
const stringFields = (schema: ZodSchema): string[] | null => {
  const def = schema._zod.def;
  if (def.type !== 'object' || (def.checks?.length ?? 0) > 0 || def.shape === undefined) return null;
  const fields = Object.keys(def.shape);
  return fields.every((f) => (def.shape![f] as ZodSchema)._zod.def.type === 'string') ? fields : null;
};

/**
 * fastify-type-provider-zod's validator, remembering what it accepted where that is exact:
 * - path parameters of a strict object of strings: each field's validation depends on its value
 *   only, so a value that passed once passes again (the router hands the same few namespace,
 *   environment and tenant names over and over);
 * - an empty query string, when the schema accepted it once (every field optional).
 * Anything not remembered goes through zod, which also words every refusal (400 problem+json).
 */
export const memoizedValidatorCompiler: FastifySchemaCompiler<ZodSchema> = (route) => {
  const validate = validatorCompiler(route) as (data: unknown) => Validated;
  const { schema, httpPart } = route;
  if (httpPart === 'params') {
    const fields = stringFields(schema);
    if (fields === null) return validate;
    const accepted = new Map(fields.map((f) => [f, new Set<string>()]));
    return (data) => {
      const params = data as Record<string, unknown>;
      let count = 0;
      let known = true;
      for (const key in params) {
        count++;
        const value = params[key];
        if (typeof value !== 'string' || accepted.get(key)?.has(value) !== true) {
          known = false;
          break;
        }
      }
      if (known && count === fields.length) return { value: params };
      const result = validate(data);
      if (result.error === undefined) {
        const value = result.value as Record<string, unknown>;
        for (const [field, values] of accepted) {
          const given = params[field];
          // Only what zod passed through unchanged is remembered.
          if (typeof given !== 'string' || value[field] !== given) continue;
          if (values.size >= maxRememberedValues) values.clear();
          values.add(given);
        }
      }
      return result;
    };
  }
  if (httpPart === 'querystring') {
    let emptyAccepted = false;
    return (data) => {
      if (emptyAccepted && isEmpty(data)) return { value: {} };
      const result = validate(data);
      if (result.error === undefined && isEmpty(data) && isEmpty(result.value)) emptyAccepted = true;
      return result;
    };
  }
  return validate;
};

const isEmpty = (data: unknown): boolean => {
  if (typeof data !== 'object' || data === null) return false;
  for (const _ in data) return false;
  return true;
};
