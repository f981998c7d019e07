import { compilePattern, type CompiledPattern } from './compile-pattern.js';
import { StrataError } from './errors.js';
import { jsonEqual, maxJsonDepth, nestedDeeperThan } from './json-value.js';

/**
 * The JSON Schema subset a manifest declares keys with, and its validator. Hand-written rather
 * than a library so that core stays dependency-light and every error message names the key, the
 * constraint and the value in one sentence an operator can act on.
 */

/** A key's schema: the JSON Schema subset Strata understands plus Strata's own annotations. */
export interface KeySchema {
  type: JsonType;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: KeySchema;
  properties?: Record<string, KeySchema>;
  additionalProperties?: boolean | KeySchema;
  /** On a key: the application cannot start without a value. Inside an object: required properties. */
  required?: boolean | string[];
  description?: string;
  owner?: string;
  /** The value is sensitive: errors never echo it and resolved values carry `secret: true`. */
  secret?: boolean;
  /** `false`: may be set once per scope and never changed or unset afterwards. */
  mutable?: boolean;
  deprecated?: boolean | string;
}

export type JsonType = 'integer' | 'number' | 'boolean' | 'string' | 'object' | 'array';
const jsonTypes: readonly string[] = ['integer', 'number', 'boolean', 'string', 'object', 'array'];

/** Keywords accepted but not enforced: annotations that zod's generator and editors emit. */
const annotationKeywords = new Set(['$schema', 'title', 'examples', 'format', '$comment', 'readOnly', 'writeOnly']);
const knownKeywords = new Set([
  'type',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'items',
  'properties',
  'additionalProperties',
  'required',
  'description',
  'owner',
  'secret',
  'mutable',
  'deprecated',
  ...annotationKeywords,
]);

export type ValidationResult = { ok: true } | { ok: false; error: StrataError };

const ok: ValidationResult = { ok: true };

// Compiled patterns are cached per schema object: validateValue runs on every write and env var.
const patternCache = new WeakMap<object, CompiledPattern>();
const patternOf = (schema: KeySchema): CompiledPattern | undefined => {
  if (schema.pattern === undefined) return undefined;
  let compiled = patternCache.get(schema);
  if (!compiled) {
    compiled = compilePattern(schema.pattern);
    patternCache.set(schema, compiled);
  }
  return compiled;
};

const typeOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'integer' : Number.isFinite(value) ? 'number' : 'non-finite number';
  return typeof value;
};

/** Renders a value for an error message, short, and never a sensitive one. */
export const describeValue = (value: unknown, secret = false): string => {
  if (secret) return `[redacted ${typeOf(value)}]`;
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return `${text} (${typeOf(value)})`;
};

const matchesType = (type: JsonType, value: unknown): boolean => {
  switch (type) {
    case 'integer':
      // Beyond 2^53 a double no longer holds every integer: such a value was rounded on its way in.
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
};

const safeIntegerRange = `integer between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;

/**
 * Checks one value against a schema; returns the first violated constraint as
 * `expected <constraint>` text, or undefined. `path` names nested properties/items.
 */
const violation = (
  schema: KeySchema,
  value: unknown,
  path: string,
): { path: string; expected: string; value: unknown } | undefined => {
  const fail = (expected: string) => ({ path, expected, value });
  if (!matchesType(schema.type, value))
    return fail(schema.type === 'integer' && Number.isInteger(value) ? safeIntegerRange : schema.type);
  if (schema.enum && !schema.enum.some((e) => jsonEqual(e, value))) {
    return fail(`one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return fail(`${schema.type} >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) return fail(`${schema.type} <= ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      return fail(`${schema.type} > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
      return fail(`${schema.type} < ${schema.exclusiveMaximum}`);
  } else if (typeof value === 'string') {
    // Length in code points, as JSON Schema defines it.
    const length = schema.minLength !== undefined || schema.maxLength !== undefined ? [...value].length : 0;
    if (schema.minLength !== undefined && length < schema.minLength)
      return fail(`string of at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength)
      return fail(`string of at most ${schema.maxLength} characters`);
    const compiled = patternOf(schema);
    // A manifest published before patterns had to run in linear time may hold one that cannot:
    // refusing the value is safe, running it on a backtracking engine is not.
    if (compiled && !(compiled.ok && compiled.pattern.test(value)))
      return fail(`string matching /${schema.pattern}/${compiled.ok ? '' : ` (the pattern ${compiled.problem})`}`);
  } else if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      return fail(`array of at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      return fail(`array of at most ${schema.maxItems} items`);
    if (schema.items) {
      for (let i = 0; i < value.length; i++) {
        const v = violation(schema.items, value[i], `${path}[${i}]`);
        if (v) return v;
      }
    }
  } else if (schema.type === 'object') {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) if (!Object.hasOwn(obj, name)) return fail(`object with property "${name}"`);
    }
    for (const [name, v] of Object.entries(obj)) {
      const sub = schema.properties && Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
      if (sub) {
        const inner = violation(sub, v, `${path}.${name}`);
        if (inner) return inner;
      } else if (schema.additionalProperties === false) {
        return fail(`object without property "${name}"`);
      } else if (typeof schema.additionalProperties === 'object') {
        const inner = violation(schema.additionalProperties, v, `${path}.${name}`);
        if (inner) return inner;
      }
    }
  }
  return undefined;
};

/** Validates a value against one key schema; `key` only names it in the error. */
export const validateAgainstSchema = (key: string, schema: KeySchema, value: unknown): ValidationResult => {
  // The walkers below (and the log's canonical JSON) recurse: bound the depth before any of them runs.
  if (nestedDeeperThan(value, maxJsonDepth))
    return {
      ok: false,
      error: new StrataError('VALIDATION_FAILED', `${key}: value nested deeper than ${maxJsonDepth} levels`, {
        key,
        path: key,
        expected: `at most ${maxJsonDepth} levels of nesting`,
      }),
    };
  const v = violation(schema, value, key);
  if (!v) return ok;
  // A string where no string belongs is most often something pasted into the wrong field — a
  // token, a password. Say what it was without repeating it; values of the right type are echoed.
  const misplacedString = typeof v.value === 'string' && !/^(string|one of)\b/.test(v.expected);
  const hidden = schema.secret === true || misplacedString;
  const received = misplacedString
    ? `a string of ${(v.value as string).length} characters (not repeated)`
    : describeValue(v.value, schema.secret === true);
  return {
    ok: false,
    error: new StrataError('VALIDATION_FAILED', `${v.path}: expected ${v.expected}, received ${received}`, {
      key,
      path: v.path,
      expected: v.expected,
      ...(hidden ? {} : { received: v.value }),
    }),
  };
};

/** Everything wrong with a key's schema itself (unknown keywords, bad bounds, an invalid default). */
export const schemaProblems = (schema: unknown, path: string, topLevel: boolean): string[] => {
  const problems: string[] = [];
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return [`${path}: schema must be an object`];
  const s = schema as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!knownKeywords.has(k)) problems.push(`${path}: unknown keyword "${k}"`);
  const type = s['type'];
  if (typeof type !== 'string' || !jsonTypes.includes(type)) {
    problems.push(`${path}: "type" must be one of ${jsonTypes.join(', ')}, got ${describeValue(type)}`);
    return problems;
  }
  const isNum = type === 'integer' || type === 'number';
  const num = (name: string, only: boolean, nonNegInt = false) => {
    const v = s[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (nonNegInt && (!Number.isInteger(v) || v < 0))) {
      problems.push(
        `${path}: "${name}" must be a ${nonNegInt ? 'non-negative integer' : 'number'}, got ${describeValue(v)}`,
      );
    } else if (!only) problems.push(`${path}: "${name}" does not apply to type ${type}`);
    else if (type === 'integer' && Math.abs(v) > Number.MAX_SAFE_INTEGER)
      problems.push(
        `${path}: "${name}" must lie between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER} on type integer, got ${describeValue(v)}`,
      );
  };
  for (const n of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) num(n, isNum);
  for (const n of ['minLength', 'maxLength']) num(n, type === 'string', true);
  for (const n of ['minItems', 'maxItems']) num(n, type === 'array', true);
  const pairs: Array<[string, string]> = [
    ['minimum', 'maximum'],
    ['minLength', 'maxLength'],
    ['minItems', 'maxItems'],
  ];
  for (const [lo, hi] of pairs) {
    const a = s[lo];
    const b = s[hi];
    if (typeof a === 'number' && typeof b === 'number' && a > b)
      problems.push(`${path}: "${lo}" ${a} is greater than "${hi}" ${b}`);
  }
  if (s['pattern'] !== undefined) {
    if (type !== 'string') problems.push(`${path}: "pattern" does not apply to type ${type}`);
    else if (typeof s['pattern'] !== 'string') problems.push(`${path}: "pattern" must be a string`);
    else {
      const compiled = compilePattern(s['pattern']);
      if (!compiled.ok) problems.push(`${path}: "pattern" ${compiled.problem}`);
    }
  }
  for (const n of ['description', 'owner']) {
    if (s[n] !== undefined && typeof s[n] !== 'string') problems.push(`${path}: "${n}" must be a string`);
  }
  for (const n of ['secret', 'mutable']) {
    if (s[n] !== undefined && typeof s[n] !== 'boolean') problems.push(`${path}: "${n}" must be a boolean`);
  }
  if (s['deprecated'] !== undefined && typeof s['deprecated'] !== 'boolean' && typeof s['deprecated'] !== 'string') {
    problems.push(`${path}: "deprecated" must be a boolean or a string saying what replaces it`);
  }
  const required = s['required'];
  if (required !== undefined) {
    const asKeyFlag = typeof required === 'boolean' && topLevel;
    const asProps = Array.isArray(required) && type === 'object' && required.every((r) => typeof r === 'string');
    if (!asKeyFlag && !asProps) {
      problems.push(
        `${path}: "required" must be ${topLevel ? 'a boolean, or ' : ''}a list of property names on an object`,
      );
    }
  }
  if (s['items'] !== undefined) {
    if (type !== 'array') problems.push(`${path}: "items" does not apply to type ${type}`);
    else problems.push(...schemaProblems(s['items'], `${path}.items`, false));
  }
  if (s['properties'] !== undefined) {
    const props = s['properties'];
    if (type !== 'object') problems.push(`${path}: "properties" does not apply to type ${type}`);
    else if (typeof props !== 'object' || props === null || Array.isArray(props))
      problems.push(`${path}: "properties" must be an object`);
    else
      for (const [name, sub] of Object.entries(props))
        problems.push(...schemaProblems(sub, `${path}.properties.${name}`, false));
  }
  const additional = s['additionalProperties'];
  if (additional !== undefined && typeof additional !== 'boolean') {
    if (type !== 'object') problems.push(`${path}: "additionalProperties" does not apply to type ${type}`);
    else problems.push(...schemaProblems(additional, `${path}.additionalProperties`, false));
  }
  const enumValues = s['enum'];
  if (enumValues !== undefined && (!Array.isArray(enumValues) || enumValues.length === 0)) {
    problems.push(`${path}: "enum" must be a non-empty list`);
  }
  // Only check values against the schema once the schema itself is sound.
  if (problems.length === 0) {
    const typed = s as unknown as KeySchema;
    if (Array.isArray(enumValues)) {
      for (const e of enumValues) {
        const v = violation({ ...typed, enum: undefined }, e, path);
        if (v) problems.push(`${path}: enum value ${describeValue(e)} is not valid: expected ${v.expected}`);
      }
    }
    if (Object.hasOwn(s, 'default')) {
      const v = violation(typed, s['default'], path);
      if (v)
        problems.push(
          `${path}: default ${describeValue(s['default'], typed.secret === true)} is not valid: expected ${v.expected}`,
        );
    }
  }
  return problems;
};
