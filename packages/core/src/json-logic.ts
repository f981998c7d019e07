import { sha256FirstWord, utf8 } from './sha256.js';

/**
 * JsonLogic (jsonlogic.com) with flagd's custom operations (`fractional`, `sem_ver`,
 * `starts_with`, `ends_with`), flagd's injected `$flagd.flagKey` / `$flagd.timestamp`, shared
 * evaluators by `$ref`, and Strata's `rollout` (the seed's sha256 bucket).
 *
 * A rule is compiled once into a tree of closures: validation happens at compile time and names
 * the path of every problem, evaluation does no parsing, no operator lookup and no allocation for
 * the common operators. Libraries (json-logic-js, json-logic-engine) interpret or keep a global
 * operator table; neither compiles `$ref`s away or validates with paths, and flagd's operators
 * would still be ours to write. Operators never throw on bad arguments: they answer `null` or
 * `false`, like flagd's, so a bad rule falls back to the default variant.
 */

/** What the evaluation of one flag knows besides the context. Mutable scratch, one per call. */
export interface LogicEnv {
  readonly flagKey: string;
  /** The context's `targetingKey` (the tenant unless the caller said otherwise). */
  readonly targetingKey: string | undefined;
  /** Seconds since the epoch, only read by rules that use `$flagd.timestamp` (core has no clock). */
  readonly now: () => number;
  /** Set when a `fractional` or `rollout` produced the value: the result's reason is SPLIT. */
  split: boolean;
}

export type LogicFn = (data: unknown, env: LogicEnv) => unknown;

export interface LogicProblem {
  /** JSON-path-like location, e.g. `targeting.if[1].fractional[2]`. */
  path: string;
  message: string;
}

export interface CompileLogicOptions {
  /** Path prefix for problems, e.g. `targeting`. */
  path: string;
  /** Shared evaluators (segments) by name, for `$ref`. */
  segments?: ReadonlyMap<string, { readonly logic: unknown }> | undefined;
  /** Variant names: a literal string the rule can return must be one of them. */
  variants?: ReadonlySet<string> | undefined;
}

export interface CompiledLogic {
  run: LogicFn;
  problems: LogicProblem[];
  /** Names of the segments the rule references (transitively). */
  refs: Set<string>;
}

/** JsonLogic truthiness: an empty array is false, everything else as in JavaScript. */
export const truthy = (value: unknown): boolean => (Array.isArray(value) ? value.length > 0 : !!value);

const constant = (value: unknown): LogicFn => {
  const fn: LogicFn = () => value;
  constants.set(fn, value);
  return fn;
};
const constants = new WeakMap<LogicFn, unknown>();
const isConstant = (fn: LogicFn): boolean => constants.has(fn);

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : parseFloat(String(v)));

const lookup = (data: unknown, segments: readonly string[], fallback: unknown): unknown => {
  let current = data;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return fallback;
    current = (current as Record<string, unknown>)[segment];
    if (current === undefined) return fallback;
  }
  return current;
};

const splitPath = (path: unknown): string[] | null =>
  path === null || path === undefined || path === '' ? null : String(path).split('.');

/** Reads a path from the context, with `$flagd.*` and `targetingKey` coming from the env. */
const readVar = (data: unknown, env: LogicEnv, segments: readonly string[] | null, fallback: unknown): unknown => {
  if (segments === null) return data;
  const first = segments[0];
  if (first === '$flagd') {
    const flagd = { flagKey: env.flagKey, timestamp: env.now() };
    return segments.length === 1 ? flagd : lookup(flagd, segments.slice(1), fallback);
  }
  if (first === 'targetingKey' && segments.length === 1) return env.targetingKey ?? fallback;
  return lookup(data, segments, fallback);
};

// --- flagd's custom operations -------------------------------------------------------------

let scratch = new Uint8Array(128);
let asciiLength = -1;

/** The text's bytes in a reused buffer when it is ASCII (the usual keys), else null. */
const asciiBytes = (text: string): Uint8Array | null => {
  if (text.length > scratch.length) scratch = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      asciiLength = -1;
      return null;
    }
    scratch[i] = c;
  }
  asciiLength = text.length;
  return scratch;
};

/** MurmurHash3 x86 32-bit over UTF-8 bytes, seed 0: the hash flagd's `fractional` uses. */
export const murmur3 = (text: string): number => {
  const bytes = asciiBytes(text) ?? utf8(text);
  const length = asciiLength >= 0 && bytes === scratch ? asciiLength : bytes.length;
  let h = 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[blocks + 2]! << 16;
    if (rest >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

/**
 * flagd's bucket for a fractional split, in [0, 100]: the hash read as a signed 32-bit integer,
 * its absolute value over 2^31, times 100.
 */
export const fractionalBucket = (bucketBy: string): number => (Math.abs(murmur3(bucketBy) | 0) / 2147483648) * 100;

interface Bucket {
  variant: string;
  weight: number;
}

/** Picks by relative weights (flagd: weights need not add up to 100; a missing weight is 1). */
const pickBucket = (buckets: readonly Bucket[], total: number, point: number): string | null => {
  if (total <= 0) return null;
  let upper = 0;
  for (const b of buckets) {
    upper += (b.weight * 100) / total;
    if (point < upper) return b.variant;
  }
  return buckets[buckets.length - 1]?.variant ?? null;
};

const toBuckets = (values: readonly unknown[]): { buckets: Bucket[]; total: number } | null => {
  const buckets: Bucket[] = [];
  let total = 0;
  for (const entry of values) {
    if (!Array.isArray(entry) || entry.length < 1 || entry.length > 2 || typeof entry[0] !== 'string') return null;
    const weight = entry.length === 2 ? entry[1] : 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) return null;
    buckets.push({ variant: entry[0], weight });
    total += weight;
  }
  return { buckets, total };
};

interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

const semverPattern =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Parses `1.2.3`, `v1.2.3-rc.1+build`, and (like flagd) `v1` / `1.2` as `1.0.0` / `1.2.0`. */
export const parseSemVer = (text: unknown): SemVer | null => {
  if (typeof text !== 'string') return null;
  const m = semverPattern.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), pre: m[4] ? m[4].split('.') : [] };
};

const comparePre = (a: readonly string[], b: readonly string[]): number => {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
};

/** Semantic-version precedence (build metadata ignored), negative / 0 / positive. */
export const compareSemVer = (a: SemVer, b: SemVer): number =>
  a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.pre, b.pre);

export const semVerOperators = ['=', '!=', '<', '<=', '>', '>=', '^', '~'] as const;

// Versions repeat across calls (an app's few releases): parse each once.
const parsedVersions = new Map<string, SemVer | null>();
const cachedSemVer = (text: unknown): SemVer | null => {
  if (typeof text !== 'string') return null;
  let v = parsedVersions.get(text);
  if (v === undefined) {
    v = parseSemVer(text);
    if (parsedVersions.size >= 1024) parsedVersions.clear();
    parsedVersions.set(text, v);
  }
  return v;
};

const semVerTest = (operator: unknown): ((a: SemVer, b: SemVer) => boolean) => {
  switch (operator) {
    case '=':
      return (a, b) => compareSemVer(a, b) === 0;
    case '!=':
      return (a, b) => compareSemVer(a, b) !== 0;
    case '<':
      return (a, b) => compareSemVer(a, b) < 0;
    case '<=':
      return (a, b) => compareSemVer(a, b) <= 0;
    case '>':
      return (a, b) => compareSemVer(a, b) > 0;
    case '>=':
      return (a, b) => compareSemVer(a, b) >= 0;
    case '^':
      return (a, b) => a.major === b.major;
    case '~':
      return (a, b) => a.major === b.major && a.minor === b.minor;
    default:
      return () => false;
  }
};

const semVer = (left: unknown, operator: unknown, right: unknown): boolean => {
  const a = cachedSemVer(left);
  const b = cachedSemVer(right);
  return a !== null && b !== null && semVerTest(operator)(a, b);
};

// --- the compiler -----------------------------------------------------------------------------

type Compile = (node: unknown, path: string, resultPosition: boolean) => LogicFn;

interface OpContext {
  args: unknown[];
  path: string;
  compile: Compile;
  problem: (path: string, message: string) => void;
  resultPosition: boolean;
  variants: ReadonlySet<string> | undefined;
}

const argPath = (path: string, i: number) => `${path}[${i}]`;
const all = (c: OpContext, result = false): LogicFn[] => c.args.map((a, i) => c.compile(a, argPath(c.path, i), result));

const arity = (c: OpContext, min: number, max = min): boolean => {
  if (c.args.length < min || c.args.length > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    c.problem(c.path, `expects ${expected} argument(s), received ${c.args.length}`);
    return false;
  }
  return true;
};

const binary = (c: OpContext, op: (a: unknown, b: unknown) => unknown): LogicFn => {
  arity(c, 2);
  const [a = constant(null), b = constant(null)] = all(c);
  return (d, e) => op(a(d, e), b(d, e));
};

/** `<` and `<=` accept a third argument: `a < b < c` ("between"). */
const between = (c: OpContext, op: (a: unknown, b: unknown) => boolean): LogicFn => {
  arity(c, 2, 3);
  const [a = constant(null), b = constant(null), x] = all(c);
  if (x) return (d, e) => op(a(d, e), b(d, e)) && op(b(d, e), x(d, e));
  return (d, e) => op(a(d, e), b(d, e));
};

/** `map`, `filter`, `all`, `some`, `none`: the second argument runs with each item as the data. */
const overItems = (c: OpContext, apply: (items: unknown[], fn: (item: unknown) => unknown) => unknown): LogicFn => {
  arity(c, 2);
  const items = c.compile(c.args[0], argPath(c.path, 0), false);
  const each = c.compile(c.args[1], argPath(c.path, 1), false);
  return (d, e) => {
    const list = items(d, e);
    return apply(Array.isArray(list) ? list : [], (item) => each(item, e));
  };
};

const lt = (a: unknown, b: unknown) => (a as number) < (b as number);
const le = (a: unknown, b: unknown) => (a as number) <= (b as number);

/** flagd's `starts_with` / `ends_with`: two strings compared, false when either is not a string. */
const stringTest =
  (test: (s: string, p: string) => boolean) =>
  (c: OpContext): LogicFn => {
    arity(c, 2);
    const [a = constant(null), b = constant(null)] = all(c);
    return (d, e) => {
      const s = a(d, e);
      const p = b(d, e);
      return typeof s === 'string' && typeof p === 'string' && test(s, p);
    };
  };

/**
 * `and` stops at the first falsy argument, `or` at the first truthy one (`stopWhen`); either
 * answers the last argument it evaluated, or null without arguments.
 */
const shortCircuit = (c: OpContext, stopWhen: boolean): LogicFn => {
  const fns = all(c);
  return (d, e) => {
    let v: unknown = null;
    for (const f of fns) {
      v = f(d, e);
      if (truthy(v) === stopWhen) return v;
    }
    return v;
  };
};

/** The `keys` whose variable is absent, null or '' (JsonLogic's `missing`). */
const missingOf = (d: unknown, e: LogicEnv, keys: unknown[]): unknown[] =>
  keys.filter((k) => {
    const v = readVar(d, e, splitPath(k), null);
    return v === null || v === '';
  });

const operators: Record<string, (c: OpContext) => LogicFn> = {
  var: (c) => {
    arity(c, 0, 2);
    const fallback = c.args.length > 1 ? c.compile(c.args[1], argPath(c.path, 1), false) : constant(null);
    const path = c.args.length > 0 ? c.compile(c.args[0], argPath(c.path, 0), false) : constant(null);
    if (isConstant(path) && isConstant(fallback)) {
      const segments = splitPath(path(undefined, undefined as never));
      const value = fallback(undefined, undefined as never);
      // The hot case, `{"var": "plan"}`: one own-property read.
      if (segments?.length === 1 && segments[0] !== '$flagd' && segments[0] !== 'targetingKey') {
        const key = segments[0]!;
        return (d) => {
          if (d === null || typeof d !== 'object' || !Object.hasOwn(d, key)) return value;
          const v = (d as Record<string, unknown>)[key];
          return v === undefined ? value : v;
        };
      }
      return (d, e) => readVar(d, e, segments, value);
    }
    return (d, e) => readVar(d, e, splitPath(path(d, e)), fallback(d, e));
  },
  missing: (c) => {
    const keys = all(c);
    return (d, e) => {
      const wanted = keys.flatMap((k) => {
        const v = k(d, e);
        return Array.isArray(v) ? v : [v];
      });
      return missingOf(d, e, wanted);
    };
  },
  missing_some: (c) => {
    arity(c, 2);
    const [need = constant(0), keys = constant([])] = all(c);
    return (d, e) => {
      const list = keys(d, e);
      const wanted = Array.isArray(list) ? list : [];
      const missing = missingOf(d, e, wanted);
      return wanted.length - missing.length >= toNumber(need(d, e)) ? [] : missing;
    };
  },
  if: (c) => {
    // Conditions are not results; the branches are.
    const fns = c.args.map((a, i) =>
      c.compile(a, argPath(c.path, i), c.resultPosition && (i % 2 === 1 || i === c.args.length - 1)),
    );
    if (fns.length === 0) return constant(null);
    if (fns.length === 3) {
      const [cond, then, otherwise] = fns as [LogicFn, LogicFn, LogicFn];
      return (d, e) => (truthy(cond(d, e)) ? then(d, e) : otherwise(d, e));
    }
    return (d, e) => {
      let i = 0;
      for (; i < fns.length - 1; i += 2) if (truthy(fns[i]!(d, e))) return fns[i + 1]!(d, e);
      return i === fns.length - 1 ? fns[i]!(d, e) : null;
    };
  },
  and: (c) => shortCircuit(c, false),
  or: (c) => shortCircuit(c, true),
  '!': (c) => {
    arity(c, 1);
    const [a = constant(null)] = all(c);
    return (d, e) => !truthy(a(d, e));
  },
  '!!': (c) => {
    arity(c, 1);
    const [a = constant(null)] = all(c);
    return (d, e) => truthy(a(d, e));
  },
  // JsonLogic's == and != are JavaScript's loose comparisons, on purpose.
  '==': (c) => binary(c, (a, b) => a == b),
  '!=': (c) => binary(c, (a, b) => a != b),
  '===': (c) => binary(c, (a, b) => a === b),
  '!==': (c) => binary(c, (a, b) => a !== b),
  '<': (c) => between(c, lt),
  '<=': (c) => between(c, le),
  '>': (c) => binary(c, (a, b) => (a as number) > (b as number)),
  '>=': (c) => binary(c, (a, b) => (a as number) >= (b as number)),
  in: (c) =>
    binary(c, (a, b) => (typeof b === 'string' ? b.includes(String(a)) : Array.isArray(b) ? b.includes(a) : false)),
  cat: (c) => {
    const fns = all(c);
    return (d, e) => fns.map((f) => String(f(d, e) ?? '')).join('');
  },
  substr: (c) => {
    arity(c, 2, 3);
    const [s = constant(''), start = constant(0), len] = all(c);
    return (d, e) => {
      const text = String(s(d, e) ?? '');
      const from = toNumber(start(d, e));
      const begin = from < 0 ? Math.max(0, text.length + from) : from;
      if (!len) return text.slice(begin);
      const n = toNumber(len(d, e));
      return n < 0 ? text.slice(begin, text.length + n) : text.slice(begin, begin + n);
    };
  },
  '+': (c) => {
    const fns = all(c);
    return (d, e) => fns.reduce((sum, f) => sum + toNumber(f(d, e)), 0);
  },
  '*': (c) => {
    const fns = all(c);
    return (d, e) => fns.reduce((product, f) => product * toNumber(f(d, e)), 1);
  },
  '-': (c) => {
    arity(c, 1, 2);
    const [a = constant(0), b] = all(c);
    return b ? (d, e) => toNumber(a(d, e)) - toNumber(b(d, e)) : (d, e) => -toNumber(a(d, e));
  },
  '/': (c) => binary(c, (a, b) => toNumber(a) / toNumber(b)),
  '%': (c) => binary(c, (a, b) => toNumber(a) % toNumber(b)),
  min: (c) => {
    const fns = all(c);
    return (d, e) => (fns.length ? Math.min(...fns.map((f) => toNumber(f(d, e)))) : null);
  },
  max: (c) => {
    const fns = all(c);
    return (d, e) => (fns.length ? Math.max(...fns.map((f) => toNumber(f(d, e)))) : null);
  },
  merge: (c) => {
    const fns = all(c);
    return (d, e) => fns.flatMap((f) => f(d, e));
  },
  map: (c) => overItems(c, (items, f) => items.map(f)),
  filter: (c) => overItems(c, (items, f) => items.filter((i) => truthy(f(i)))),
  all: (c) => overItems(c, (items, f) => items.length > 0 && items.every((i) => truthy(f(i)))),
  some: (c) => overItems(c, (items, f) => items.some((i) => truthy(f(i)))),
  none: (c) => overItems(c, (items, f) => !items.some((i) => truthy(f(i)))),
  reduce: (c) => {
    arity(c, 3);
    const items = c.compile(c.args[0], argPath(c.path, 0), false);
    const step = c.compile(c.args[1], argPath(c.path, 1), false);
    const initial = c.compile(c.args[2], argPath(c.path, 2), false);
    return (d, e) => {
      const list = items(d, e);
      let accumulator = initial(d, e);
      for (const current of Array.isArray(list) ? list : []) accumulator = step({ current, accumulator }, e);
      return accumulator;
    };
  },

  starts_with: stringTest((s, p) => s.startsWith(p)),
  ends_with: stringTest((s, p) => s.endsWith(p)),
  sem_ver: (c) => {
    arity(c, 3);
    const [a = constant(null), op = constant(null), b = constant(null)] = all(c);
    if (isConstant(op)) {
      const literal = op(undefined, undefined as never);
      if (!(semVerOperators as readonly unknown[]).includes(literal))
        c.problem(
          argPath(c.path, 1),
          `unknown sem_ver operator ${JSON.stringify(literal)}, expected one of ${semVerOperators.join(' ')}`,
        );
    }
    for (const i of [0, 2]) {
      const fn = i === 0 ? a : b;
      if (isConstant(fn) && !parseSemVer(fn(undefined, undefined as never)))
        c.problem(argPath(c.path, i), `${JSON.stringify(fn(undefined, undefined as never))} is not a semantic version`);
    }
    if (isConstant(op) && isConstant(b)) {
      // The usual rule compares with a literal: parse it and pick the comparison once.
      const test = semVerTest(op(undefined, undefined as never));
      const right = parseSemVer(b(undefined, undefined as never));
      return (d, e) => {
        const left = cachedSemVer(a(d, e));
        return left !== null && right !== null && test(left, right);
      };
    }
    return (d, e) => semVer(a(d, e), op(d, e), b(d, e));
  },
  fractional: (c) => {
    // flagd: an optional first argument (a string, or a rule yielding one) to bucket by, then
    // [variant, weight] pairs. Without it the bucket key is the flag key + the targeting key.
    const first = c.args[0];
    const explicit = !Array.isArray(first);
    const bucketArgs = explicit ? c.args.slice(1) : c.args;
    const offset = explicit ? 1 : 0;
    if (bucketArgs.length < 1) c.problem(c.path, 'expects at least one [variant, weight] bucket');
    const bucketBy = explicit ? c.compile(first, argPath(c.path, 0), false) : null;
    const entries = bucketArgs.map((b, i) => c.compile(b, argPath(c.path, i + offset), false));
    let fixed: { buckets: Bucket[]; total: number } | null = null;
    if (entries.every(isConstant)) {
      const values = entries.map((f) => f(undefined, undefined as never));
      values.forEach((v, i) => {
        const at = argPath(c.path, i + offset);
        if (!toBuckets([v])) c.problem(at, 'a bucket is [variant name, non-negative weight] or [variant name]');
        else if (c.resultPosition && c.variants && !c.variants.has((v as [string])[0]))
          c.problem(`${at}[0]`, `unknown variant ${JSON.stringify((v as [string])[0])}`);
      });
      fixed = toBuckets(values);
      if (fixed && fixed.total <= 0) c.problem(c.path, 'bucket weights add up to 0');
    }
    // A targeting key's point is stable for a flag: memoise the last few thousand (hashing dominates).
    const points = new Map<string, number>();
    return (d, e) => {
      let point: number;
      if (bucketBy) {
        const v = bucketBy(d, e);
        if (typeof v !== 'string') return null;
        point = fractionalBucket(v);
      } else {
        const key = e.targetingKey;
        if (key === undefined) return null;
        const known = points.get(key);
        if (known === undefined) {
          point = fractionalBucket(`${e.flagKey}${key}`);
          if (points.size >= 4096) points.clear();
          points.set(key, point);
        } else point = known;
      }
      const table = fixed ?? toBuckets(entries.map((f) => f(d, e)));
      if (!table) return null;
      const variant = pickBucket(table.buckets, table.total, point);
      if (variant !== null) e.split = true;
      return variant;
    };
  },
  rollout: (c) => {
    // Strata: the seed's bucket, int(sha256("<key>:<flag>")[:8], 16) % 100 < percentage, on the
    // targeting key (or the first argument's value) — bit for bit the Python system's.
    arity(c, 1, 2);
    const fns = all(c);
    const percentage = fns[fns.length - 1] ?? constant(0);
    const by = fns.length === 2 ? fns[0]! : null;
    if (isConstant(percentage)) {
      const p = percentage(undefined, undefined as never);
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100)
        c.problem(
          argPath(c.path, fns.length - 1),
          `rollout percentage must be an integer 0-100, received ${JSON.stringify(p)}`,
        );
    }
    // Buckets are stable per key: memoise the last few thousand (sha256 dominates otherwise).
    const memo = new Map<string, number>();
    return (d, e) => {
      const key = by ? by(d, e) : e.targetingKey;
      if (typeof key !== 'string') return null;
      let b = memo.get(key);
      if (b === undefined) {
        b = sha256FirstWord(`${key}:${e.flagKey}`) % 100;
        if (memo.size >= 4096) memo.clear();
        memo.set(key, b);
      }
      e.split = true;
      return b < toNumber(percentage(d, e));
    };
  },
};
operators['?:'] = operators.if!;

export const supportedOperators = Object.keys(operators).sort();

/**
 * Compiles a JsonLogic rule. Problems (unknown operators, bad arity, bad literal arguments,
 * missing or cyclic `$ref`, literal results that name no variant) are collected with their path;
 * `run` is usable either way (a broken part evaluates to null).
 */
export const compileLogic = (logic: unknown, options: CompileLogicOptions): CompiledLogic => {
  const problems: LogicProblem[] = [];
  const refs = new Set<string>();
  const problem = (path: string, message: string) => problems.push({ path, message });
  const stack: string[] = [];

  const compile: Compile = (node, path, resultPosition) => {
    if (Array.isArray(node)) {
      const fns = node.map((n, i) => compile(n, argPath(path, i), false));
      if (fns.every(isConstant)) return constant(node);
      return (d, e) => fns.map((f) => f(d, e));
    }
    if (node === null || typeof node !== 'object') {
      if (resultPosition && typeof node === 'string' && options.variants && !options.variants.has(node))
        problem(path, `unknown variant ${JSON.stringify(node)}`);
      return constant(node);
    }
    const keys = Object.keys(node);
    if (keys.length === 0) return constant(node);
    if (keys.length > 1) {
      problem(path, `a rule has exactly one operator, found ${keys.length}: ${keys.join(', ')}`);
      return constant(null);
    }
    const op = keys[0]!;
    const raw = (node as Record<string, unknown>)[op];
    if (op === '$ref') {
      const at = `${path}.$ref`;
      if (typeof raw !== 'string') {
        problem(at, '$ref names a segment (a string)');
        return constant(null);
      }
      if (stack.includes(raw)) {
        problem(at, `cyclic $ref: ${[...stack, raw].join(' → ')}`);
        return constant(null);
      }
      const segments = options.segments;
      if (!segments?.has(raw)) {
        problem(at, `unknown segment ${JSON.stringify(raw)}`);
        return constant(null);
      }
      refs.add(raw);
      stack.push(raw);
      try {
        return compile(segments.get(raw)?.logic, `$evaluators.${raw}`, resultPosition);
      } finally {
        stack.pop();
      }
    }
    const make = Object.hasOwn(operators, op) ? operators[op] : undefined;
    if (!make) {
      problem(`${path}.${op}`, `unknown operator ${JSON.stringify(op)}`);
      return constant(null);
    }
    const args = Array.isArray(raw) ? raw : [raw];
    return make({
      args,
      path: `${path}.${op}`,
      compile,
      problem,
      resultPosition,
      variants: options.variants,
    });
  };

  const run = compile(logic, options.path, true);
  return { run, problems, refs };
};
