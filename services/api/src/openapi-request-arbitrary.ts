import fc from 'fast-check';

/**
 * Requests for one operation of a live OpenAPI document, as fast-check arbitraries: mostly
 * well-formed (so they reach the handlers), mixed with boundary and hostile parts — wrong types,
 * huge and empty strings, control characters, lone surrogates, deep nesting, prototype keys,
 * encoded slashes and dots in path segments, wrong content types, duplicated query parameters.
 * Bodies are generated as JSON text, so what JSON.stringify cannot write (a `__proto__` key, an
 * integer literal beyond 2^53, 5,000 levels of nesting) is sent as well.
 */

/** The subset of JSON Schema that zod's OpenAPI output uses. */
export interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  default?: unknown;
}

export interface Operation {
  /** `PUT /v1/namespaces/{ns}/manifest`: how the counts are reported. */
  id: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  path: string;
  parameters: Array<{ in: 'path' | 'query' | 'header'; name: string; required: boolean; schema: JsonSchema }>;
  body: JsonSchema | null;
}

export interface FuzzRequest {
  method: Operation['method'];
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** Values the fixture knows to exist, so generated requests also reach past the lookups. */
export interface KnownValues {
  /** By parameter name (`ns`, `tenant`, `key`, …). */
  params: Record<string, string[]>;
  /** Valid bearer tokens; the first is used most. */
  tokens: string[];
  /** Well-formed bodies by operation id. */
  bodies?: Record<string, string[]>;
}

/** Every operation of an OpenAPI 3 document. */
export const operationsOf = (spec: { paths: Record<string, Record<string, unknown>> }): Operation[] => {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, raw] of Object.entries(methods)) {
      const op = raw as {
        parameters?: Operation['parameters'];
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
      };
      const upper = method.toUpperCase() as Operation['method'];
      operations.push({
        id: `${upper} ${path}`,
        method: upper,
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  return operations;
};

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is sent as the three bytes a
 * careless encoder writes for it — invalid UTF-8 the server has to cope with.
 */
const encode = (text: string): string =>
  text
    .split(/(\p{Cs})/u)
    .map((part, i) => {
      if (i % 2 === 0) return encodeURIComponent(part);
      const unit = part.charCodeAt(0);
      return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    })
    .join('');

const deep = (depth: number, open: string, close: string, inner = '1') =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/** Strings no schema asks for: empty, huge, control characters, lone surrogates, odd Unicode. */
const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'a'.repeat(10_241),
    'x'.repeat(70_000),
    '\u0000',
    '\n\r\t',
    '\u001b[31m',
    '\ud800',
    'a\udfffb',
    '\ufeff',
    '\u202e',
    '😀',
    '../..',
    '%2e%2e%2f',
    "'; DROP TABLE strata.events;--",
    '${jndi:x}',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), maxLength: 10 }),
);

/** JSON texts of the wrong type, the wrong size or the wrong shape. */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  hostileString.map((s) => JSON.stringify(s)),
  fc.constantFrom(
    'null',
    'true',
    '0',
    '-0',
    '-1',
    '1.5',
    '1e308',
    '1e400',
    '12345678901234567890123',
    '9007199254740993',
    '[]',
    '{}',
    '""',
    '"\\ud800"',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"a":1,"a":2}',
    deep(5_000, '[', ']'),
    deep(65, '[', ']'),
    deep(64, '{"a":', '}'),
    deep(2_000, '{"a":', '}'),
  ),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);

const stringFor = (schema: JsonSchema): fc.Arbitrary<string> => {
  if (schema.format === 'date-time')
    return fc
      .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString());
  const max = schema.maxLength ?? 64;
  const base = schema.pattern
    ? fc.stringMatching(new RegExp(schema.pattern))
    : fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(max, 64) });
  return base.filter((s) => s.length <= max && s.length >= (schema.minLength ?? 0));
};

/**
 * A value the schema accepts (as far as the generator can tell), as JSON text. `hostile` is the
 * weight of hostile parts inside it (0: none).
 */
const validJson = (schema: JsonSchema, depth: number, hostile: number): fc.Arbitrary<string> => {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => jsonFor(s, depth, hostile)));
  if (schema.enum) return fc.constantFrom(...schema.enum.map((v) => JSON.stringify(v)));
  if (schema.const !== undefined) return fc.constant(JSON.stringify(schema.const));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringFor(schema).map((s) => JSON.stringify(s));
    case 'integer': {
      const min = Math.max(schema.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER);
      const max = Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max })).map(String);
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n));
    case 'boolean':
      return fc.boolean().map(String);
    case 'null':
      return fc.constant('null');
    case 'array':
      return fc
        .array(schema.items ? jsonFor(schema.items, depth + 1, hostile) : anyJson(hostile), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        })
        .map((items) => `[${items.join(',')}]`);
    case 'object':
      return objectJson(schema, depth, hostile);
    default:
      // `{}`: anything (z.unknown()).
      return fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
  }
};

const anyJson = (hostile: number) =>
  hostile > 0 ? hostileJson : fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v));

const objectJson = (schema: JsonSchema, depth: number, hostile: number): fc.Arbitrary<string> => {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const declared = fc.tuple(
    ...properties.map(([name, sub]) =>
      (required.has(name)
        ? jsonFor(sub, depth + 1, hostile)
        : fc.option(jsonFor(sub, depth + 1, hostile), { nil: undefined })
      ).map((text) => (text === undefined ? undefined : `${JSON.stringify(name)}:${text}`)),
    ),
  );
  const extraValue = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : null;
  const extraName = fc.oneof(
    { weight: 4, arbitrary: schema.propertyNames ? stringFor(schema.propertyNames) : fc.string({ maxLength: 12 }) },
    { weight: hostile, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '') },
  );
  const extras = fc.array(
    fc
      .tuple(extraName, extraValue ? jsonFor(extraValue, depth + 1, hostile) : hostileJson)
      .map(([name, text]) => `${JSON.stringify(name)}:${text}`),
    // Unknown properties where none are allowed: only in hostile requests, and rarely.
    { maxLength: extraValue ? 3 : hostile > 0 ? 1 : 0, size: extraValue ? 'small' : '-2' },
  );
  return fc
    .tuple(declared, extras)
    .map(([members, more]) => `{${[...members.filter((m) => m !== undefined), ...more].join(',')}}`);
};

/** Mostly valid JSON for the schema, sometimes hostile; deeper levels stay valid more often. */
const jsonFor = (schema: JsonSchema, depth: number, hostile: number): fc.Arbitrary<string> =>
  depth > 4
    ? anyJson(hostile)
    : fc.oneof(
        { weight: 5 + depth * 2, arbitrary: validJson(schema, depth, hostile) },
        { weight: hostile, arbitrary: hostileJson },
      );

/** Path segments: known values, schema-valid ones, and ones a router or a decoder may trip over. */
const segmentFor = (schema: JsonSchema, known: string[], hostile: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: known.length > 0 ? 6 : 0, arbitrary: fc.constantFrom(...(known.length > 0 ? known : ['x'])) },
    { weight: 3, arbitrary: stringFor(schema).map(encode) },
    {
      weight: hostile * 2,
      arbitrary: fc.oneof(
        hostileString.map(encode),
        fc.constantFrom(
          '..',
          '.',
          '%2e%2e',
          '..%2F..%2Fetc%2Fpasswd',
          '%2F',
          'a%2Fb',
          '%5C',
          '%00',
          '%0A',
          '%',
          '%zz',
          '%ED%A0%80', // a lone surrogate in UTF-8
          '%C0%AE', // overlong '.'
          '%F0%9F%98%80',
          'a'.repeat(20_000),
          'A',
          ';',
          '%3F',
          '%23',
        ),
      ),
    },
  );

/** A query value as it is written in the URL. */
const queryValueFor = (schema: JsonSchema, hostile: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 5, arbitrary: validJson(schema, 0, hostile).map((text) => encode(plain(text))) },
    {
      weight: hostile * 2,
      arbitrary: fc.oneof(
        hostileString.map(encode),
        fc.constantFrom('', '-1', '1e400', '9007199254740993', 'NaN', 'Infinity', '0x10', '%zz', '%00', '[]', '{}'),
      ),
    },
  );

/** Query parameters are text: `"abc"` → `abc`, `["A","B"]` → its first item, numbers as they are. */
const plain = (text: string): string => {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : JSON.stringify(value[0] ?? '');
    return typeof value === 'object' && value !== null ? text : String(value);
  } catch {
    return text;
  }
};

const contentTypes = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/JSON',
  'application/json, text/plain',
  'application/problem+json',
  'application/octet-stream',
  '',
  '*/*',
);

const tokenHeader = (known: KnownValues, hostile: number): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Bearer ${known.tokens[0]}`) },
    { weight: 3, arbitrary: fc.constantFrom(...known.tokens.map((t) => `Bearer ${t}`)) },
    {
      weight: hostile,
      arbitrary: fc.constantFrom(
        undefined,
        'Bearer ',
        'Bearer wrong',
        'Basic Zm9vOmJhcg==',
        `Bearer ${'a'.repeat(600)}`,
      ),
    },
  );

const optionalHeaders = fc.record(
  {
    'if-match': fc.constantFrom('"1"', 'W/"0"', '"999999999999"', 'abc', '"-1"', '*'),
    'idempotency-key': fc.oneof(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.constantFrom('a b', 'x'.repeat(300), '')),
    'x-strata-min-position': fc.constantFrom('0', '1', '999999999999999', '-1', 'abc', '1'.repeat(30)),
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml'),
  },
  { requiredKeys: [] },
);

/**
 * One request for the operation: two in five are clean (every part valid or known, so they reach
 * the handlers and the log), the rest carry hostile parts.
 */
export const requestArbitrary = (operation: Operation, known: KnownValues): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    { weight: 2, arbitrary: requestWith(operation, known, 0) },
    { weight: 3, arbitrary: requestWith(operation, known, 1) },
  );

const requestWith = (operation: Operation, known: KnownValues, hostile: number): fc.Arbitrary<FuzzRequest> => {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const path = fc
    .tuple(...pathParams.map((p) => segmentFor(p.schema, known.params[p.name] ?? [], hostile)))
    .map((segments) => pathParams.reduce((url, p, i) => url.replace(`{${p.name}}`, segments[i]!), operation.path));
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc
          .oneof(
            { weight: p.required ? 0 : 3, arbitrary: fc.constant([] as string[]) },
            { weight: 4, arbitrary: queryValueFor(p.schema, hostile).map((v) => [v]) },
            // Duplicated parameters: an array where a scalar is expected, or the reverse.
            { weight: hostile, arbitrary: fc.array(queryValueFor(p.schema, hostile), { minLength: 2, maxLength: 3 }) },
          )
          .map((values) => values.map((v) => `${encodeURIComponent(p.name)}=${v}`)),
      ),
      hostile > 0
        ? fc.option(fc.constantFrom('debug=1', '__proto__[x]=1', 'constructor=1', '=', '&&', 'a=%zz'), {
            freq: 8,
            nil: undefined,
          })
        : fc.constant(undefined),
    )
    .map(([...parts]) => {
      const unknown = parts.pop() as string | undefined;
      const pairs = (parts as string[][]).flat();
      if (unknown) pairs.push(unknown);
      return pairs.length > 0 ? `?${pairs.join('&')}` : '';
    });
  const knownBodies = known.bodies?.[operation.id] ?? [];
  const body: fc.Arbitrary<{ payload?: string; contentType?: string }> = operation.body
    ? fc.oneof(
        { weight: 8, arbitrary: jsonFor(operation.body, 0, hostile).map((payload) => ({ payload })) },
        {
          weight: knownBodies.length > 0 ? 4 : 0,
          arbitrary: fc
            .constantFrom(...(knownBodies.length > 0 ? knownBodies : ['{}']))
            .map((payload) => ({ payload })),
        },
        {
          weight: hostile * 2,
          arbitrary: fc.oneof(
            hostileJson.map((payload) => ({ payload })),
            fc
              .constantFrom('', '{', '{"a":', '[1,2', 'nul', '\u0000', '{"a":1}garbage')
              .map((payload) => ({ payload })),
            fc
              .tuple(jsonFor(operation.body, 0, hostile), contentTypes)
              .map(([payload, contentType]) => ({ payload, contentType })),
          ),
        },
      )
    : fc.oneof(
        { weight: 8, arbitrary: fc.constant({}) },
        { weight: hostile, arbitrary: hostileJson.map((payload) => ({ payload })) },
      );
  const headers = hostile > 0 ? fc.option(optionalHeaders, { freq: 4, nil: undefined }) : fc.constant(undefined);
  return fc
    .tuple(path, query, body, tokenHeader(known, hostile), headers)
    .map(([url, search, { payload, contentType }, authorization, extra]) => {
      const headers: Record<string, string> = { ...extra };
      if (authorization !== undefined) headers['authorization'] = authorization;
      if (payload !== undefined) headers['content-type'] = contentType ?? 'application/json';
      return {
        method: operation.method,
        url: `${url}${search}`,
        headers,
        ...(payload !== undefined ? { payload } : {}),
      };
    });
};
