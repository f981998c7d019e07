import { StrataError } from './errors.js';
import { FlagdDefinition } from './events.js';
import { compileLogic, type LogicEnv, type LogicFn, type LogicProblem } from './json-logic.js';

/**
 * Flag definitions in flagd's format, checked and compiled. A definition is compiled once per
 * version (per definition object and segment map) into a closure that answers a resolution with
 * no parsing and, for the usual rules, no allocation: every possible answer is built up front.
 */

export type FlagValueType = 'boolean' | 'string' | 'number' | 'object';

/** OpenFeature's resolution reasons that Strata answers. */
export type ResolutionReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

/** OpenFeature's error codes (OFREP uses the same strings). */
export type ResolutionErrorCode =
  'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL';

export type FlagMetadata = Readonly<Record<string, string | number | boolean>>;

/**
 * One answer. `value` undefined means "the caller's default" (disabled flags, no default variant,
 * errors), exactly as OpenFeature and flagd answer it. Results are shared and frozen.
 */
export interface FlagResolution {
  readonly flagKey: string;
  readonly value: unknown;
  readonly variant?: string;
  readonly reason: ResolutionReason;
  readonly errorCode?: ResolutionErrorCode;
  readonly errorMessage?: string;
  readonly flagMetadata: FlagMetadata;
}

export type EvaluationContext = Readonly<Record<string, unknown>>;

/** A segment as the state holds it: a JsonLogic rule. */
export interface SegmentLogic {
  readonly logic: unknown;
}

export type Segments = ReadonlyMap<string, SegmentLogic>;

export const variantType = (value: unknown): FlagValueType | null => {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : null;
  if (typeof value === 'object' && value !== null) return 'object';
  return null;
};

/** The type of a definition's variants (they all agree once parsed), `null` without variants. */
export const definitionType = (definition: FlagdDefinition): FlagValueType | null => {
  for (const value of Object.values(definition.variants)) return variantType(value);
  return null;
};

export interface DefinitionOptions {
  /** Segments the targeting may `$ref`. */
  segments?: Segments;
  /** The type the manifest declares for the flag; the variants must agree with it. */
  declaredType?: FlagValueType | undefined;
  /** The variant names the manifest declares for the flag; the definition must have exactly these. */
  declaredVariants?: readonly string[] | undefined;
  /** Prefix of every problem path, e.g. `flags.new-banner` in an imported file. */
  path?: string;
}

const join = (prefix: string, path: string) => (prefix ? (path ? `${prefix}.${path}` : prefix) : path);

/** Every problem of a raw definition, each with its path; empty when it is valid. */
export const flagDefinitionProblems = (raw: unknown, options: DefinitionOptions = {}): LogicProblem[] => {
  const prefix = options.path ?? '';
  const parsed = FlagdDefinition.safeParse(raw);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      const message =
        issue.path[0] === 'state'
          ? `state must be "ENABLED" or "DISABLED", received ${JSON.stringify((raw as { state?: unknown }).state)}`
          : issue.message;
      return { path: join(prefix, path), message };
    });
  }
  const definition = parsed.data;
  const problems: LogicProblem[] = [];
  const names = Object.keys(definition.variants);
  if (names.length === 0)
    problems.push({ path: join(prefix, 'variants'), message: 'at least one variant is required' });
  let first: { name: string; type: FlagValueType } | undefined;
  for (const name of names) {
    const type = variantType(definition.variants[name]);
    const path = join(prefix, `variants.${name}`);
    if (type === null) {
      problems.push({ path, message: 'a variant is a boolean, string, number or object' });
      continue;
    }
    if (!first) first = { name, type };
    else if (type !== first.type)
      problems.push({
        path,
        message: `variants must share one type: ${first.name} is a ${first.type}, ${name} a ${type}`,
      });
  }
  if (first && options.declaredType && first.type !== options.declaredType)
    problems.push({
      path: join(prefix, 'variants'),
      message: `the manifest declares a ${options.declaredType} flag, the variants are ${first.type}s`,
    });
  const declaredVariants = options.declaredVariants;
  if (declaredVariants) {
    const list = declaredVariants.map((v) => JSON.stringify(v)).join(', ');
    for (const name of names)
      if (!declaredVariants.includes(name))
        problems.push({
          path: join(prefix, `variants.${name}`),
          message: `the manifest declares the variants ${list}, not ${JSON.stringify(name)}`,
        });
    for (const name of declaredVariants)
      if (!names.includes(name))
        problems.push({
          path: join(prefix, 'variants'),
          message: `the manifest declares the variant ${JSON.stringify(name)}, the definition lacks it`,
        });
  }
  const dv = definition.defaultVariant;
  if (typeof dv === 'string' && !Object.hasOwn(definition.variants, dv))
    problems.push({ path: join(prefix, 'defaultVariant'), message: `unknown variant ${JSON.stringify(dv)}` });
  if (definition.targeting !== undefined) {
    const compiled = compileLogic(definition.targeting, {
      path: join(prefix, 'targeting'),
      segments: options.segments,
      variants: new Set(names),
    });
    problems.push(...compiled.problems);
  }
  return problems;
};

const problemsError = (what: string, problems: readonly LogicProblem[]): StrataError =>
  new StrataError(
    'VALIDATION_FAILED',
    `${what}: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`,
    { problems },
  );

/** Validates a raw definition; throws VALIDATION_FAILED listing every problem with its path. */
export const parseFlagDefinition = (flag: string, raw: unknown, options: DefinitionOptions = {}): FlagdDefinition => {
  const problems = flagDefinitionProblems(raw, options);
  if (problems.length) throw problemsError(`flag ${flag}`, problems);
  return FlagdDefinition.parse(raw);
};

/** Problems of a segment's rule, and of segments referencing each other in a cycle. */
export const segmentProblems = (name: string, logic: unknown, segments: Segments): LogicProblem[] => {
  const withIt = new Map(segments);
  withIt.set(name, { logic });
  return compileLogic({ $ref: name }, { path: '', segments: withIt }).problems.map((p) =>
    p.path === '.$ref' ? { ...p, path: `$evaluators.${name}` } : p,
  );
};

export const parseSegment = (name: string, logic: unknown, segments: Segments): unknown => {
  if (logic === undefined)
    throw problemsError(`segment ${name}`, [{ path: 'logic', message: 'a JsonLogic rule is required' }]);
  const problems = segmentProblems(name, logic, segments);
  if (problems.length) throw problemsError(`segment ${name}`, problems);
  return logic;
};

/** The segments a definition references (transitively); the ones a segment deletion would break. */
export const definitionRefs = (definition: FlagdDefinition, segments: Segments): Set<string> =>
  definition.targeting === undefined
    ? new Set()
    : compileLogic(definition.targeting, { path: 'targeting', segments }).refs;

/**
 * The `{rollout, enabled}` shorthand as a definition: `on` exactly when the seed's bucket of the
 * targeting key is below the rollout, `DISABLED` when the kill switch is off.
 */
export const shorthandDefinition = (rollout: number, enabled: boolean): FlagdDefinition => ({
  state: enabled ? 'ENABLED' : 'DISABLED',
  variants: { on: true, off: false },
  defaultVariant: 'off',
  targeting: { if: [{ rollout: [rollout] }, 'on', 'off'] },
});

/**
 * A compiled definition. Positional arguments, not an options object: this runs millions of times
 * a second and every allocation shows.
 */
export type CompiledFlag = (
  context: EvaluationContext | undefined,
  tenant?: string | undefined,
  override?: 'enabled' | 'disabled' | undefined,
  now?: () => number,
  /** The variant an `enabled` override pins (it answers that variant, the rule is not run). */
  overrideVariant?: string | undefined,
) => FlagResolution;

const noClock = () => 0;

const freeze = (r: FlagResolution): FlagResolution => Object.freeze(r);

/**
 * Compiles a definition. Pure; `compileFlag` memoises it per definition object and segment map.
 * An invalid definition (only possible if it was stored unchecked, or a segment changed under it)
 * compiles to a closure answering PARSE_ERROR.
 */
export const compileDefinition = (flag: string, definition: FlagdDefinition, segments: Segments): CompiledFlag => {
  const flagMetadata: FlagMetadata = Object.freeze({ ...(definition.metadata ?? {}) });
  const names = Object.keys(definition.variants);
  const variants = new Set(names);
  const compiled =
    definition.targeting === undefined || isEmptyRule(definition.targeting)
      ? null
      : compileLogic(definition.targeting, { path: 'targeting', segments, variants });
  const problems = [...(compiled?.problems ?? [])];
  const dv = definition.defaultVariant;
  if (typeof dv === 'string' && !variants.has(dv))
    problems.push({ path: 'defaultVariant', message: 'unknown variant' });
  if (problems.length) {
    const error = freeze({
      flagKey: flag,
      value: undefined,
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: `flag ${flag}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      flagMetadata,
    });
    return () => error;
  }
  const answer = (variant: string, reason: ResolutionReason) =>
    freeze({ flagKey: flag, value: definition.variants[variant], variant, reason, flagMetadata });
  const byVariant = new Map(names.map((n) => [n, { match: answer(n, 'TARGETING_MATCH'), split: answer(n, 'SPLIT') }]));
  const hasDefault = typeof dv === 'string';
  const fallback: FlagResolution = hasDefault
    ? answer(dv, 'DEFAULT')
    : freeze({ flagKey: flag, value: undefined, reason: 'DEFAULT', flagMetadata });
  const staticResult: FlagResolution = hasDefault ? answer(dv, 'STATIC') : fallback;
  const disabled = freeze({ flagKey: flag, value: undefined, reason: 'DISABLED', flagMetadata });
  const invalidContext = freeze({
    flagKey: flag,
    value: undefined,
    reason: 'ERROR',
    errorCode: 'INVALID_CONTEXT',
    errorMessage: 'the evaluation context must be an object',
    flagMetadata,
  });
  const general = (error: unknown) =>
    freeze({
      flagKey: flag,
      value: undefined,
      reason: 'ERROR',
      errorCode: 'GENERAL',
      errorMessage: String(error),
      flagMetadata,
    });
  // Overrides of a boolean flag pick its true / false variant; of other types, `enabled` forces
  // the flag on (its rule decides, whatever the state) and `disabled` off (DISABLED: the caller's
  // default). A variant override answers that variant; one the definition no longer has (it changed
  // after the override) answers ERROR, so the caller sees its default rather than a silent guess.
  const boolVariant = (v: boolean) => names.find((n) => definition.variants[n] === v);
  const forcedOn = boolVariant(true);
  const forcedOff = boolVariant(false);
  const overrideOn = forcedOn === undefined ? undefined : answer(forcedOn, 'TARGETING_MATCH');
  const overrideOff = forcedOff === undefined ? disabled : answer(forcedOff, 'TARGETING_MATCH');
  const staleVariant = (variant: string) =>
    freeze({
      flagKey: flag,
      value: undefined,
      reason: 'ERROR',
      errorCode: 'GENERAL',
      errorMessage: `flag ${flag}: the tenant's override names the variant ${JSON.stringify(variant)}, which the definition no longer has`,
      flagMetadata,
    });
  const run: LogicFn | null = compiled?.run ?? null;
  const env: { -readonly [K in keyof LogicEnv]: LogicEnv[K] } = {
    flagKey: flag,
    targetingKey: undefined,
    now: noClock,
    split: false,
  };
  const ignoreState = definition.state === 'DISABLED';

  return (context, tenant, override, now, overrideVariant) => {
    if (context !== undefined && (context === null || typeof context !== 'object' || Array.isArray(context)))
      return invalidContext;
    if (override === 'disabled') return overrideOff;
    if (override === 'enabled') {
      if (overrideVariant !== undefined) return byVariant.get(overrideVariant)?.match ?? staleVariant(overrideVariant);
      if (overrideOn) return overrideOn;
    } else if (ignoreState) return disabled;
    if (run === null) return staticResult;
    const key = context?.targetingKey;
    env.targetingKey = typeof key === 'string' ? key : tenant;
    env.now = now ?? noClock;
    env.split = false;
    let out: unknown;
    try {
      out = run(context ?? {}, env);
    } catch (error) {
      return general(error);
    }
    // flagd maps a boolean result to the variant named "true" / "false".
    const name = typeof out === 'boolean' ? (out ? 'true' : 'false') : out;
    if (typeof name !== 'string') return fallback;
    const hit = byVariant.get(name);
    if (!hit) return fallback;
    return env.split ? hit.split : hit.match;
  };
};

const isEmptyRule = (rule: unknown) =>
  rule === null || (typeof rule === 'object' && !Array.isArray(rule) && Object.keys(rule).length === 0);

const compiledCache = new WeakMap<FlagdDefinition, { segments: Segments; flag: string; fn: CompiledFlag }>();

/** `compileDefinition`, memoised per definition object and segment map (states share both). */
export const compileFlag = (flag: string, definition: FlagdDefinition, segments: Segments): CompiledFlag => {
  const hit = compiledCache.get(definition);
  if (hit && hit.segments === segments && hit.flag === flag) return hit.fn;
  const fn = compileDefinition(flag, definition, segments);
  compiledCache.set(definition, { segments, flag, fn });
  return fn;
};

export const flagNotFound = (flag: string): FlagResolution =>
  freeze({
    flagKey: flag,
    value: undefined,
    reason: 'ERROR',
    errorCode: 'FLAG_NOT_FOUND',
    errorMessage: `flag ${flag} not found`,
    flagMetadata: emptyMetadata,
  });

const emptyMetadata: FlagMetadata = Object.freeze({});

/** A flagd file: `flags` by key, shared `$evaluators` by name. */
export interface FlagdFile {
  $schema?: string;
  flags: Record<string, FlagdDefinition>;
  $evaluators?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export const flagdSchemaUrl = 'https://flagd.dev/schema/v0/flags.json';

/**
 * Checks a flagd file: its shape, every segment, every flag (against the segments of the file
 * plus `existingSegments`, and the manifest's declared types). Problems name their path in the file.
 */
export const parseFlagdFile = (
  raw: unknown,
  options: {
    existingSegments?: Segments;
    declaredTypes?: (flag: string) => FlagValueType | undefined;
    declaredVariants?: (flag: string) => readonly string[] | undefined;
  } = {},
): { flags: Map<string, FlagdDefinition>; segments: Map<string, unknown> } => {
  const problems: LogicProblem[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw problemsError('flagd file', [{ path: '', message: 'expected an object with "flags"' }]);
  const file = raw as Record<string, unknown>;
  const flagsRaw = file.flags;
  if (flagsRaw === null || typeof flagsRaw !== 'object' || Array.isArray(flagsRaw))
    problems.push({ path: 'flags', message: 'expected an object of flag definitions' });
  const evaluatorsRaw = file.$evaluators ?? {};
  if (evaluatorsRaw === null || typeof evaluatorsRaw !== 'object' || Array.isArray(evaluatorsRaw))
    problems.push({ path: '$evaluators', message: 'expected an object of JsonLogic rules' });
  if (problems.length) throw problemsError('flagd file', problems);
  const segments = new Map<string, SegmentLogic>(options.existingSegments ?? []);
  const imported = new Map<string, unknown>();
  for (const [name, logic] of Object.entries(evaluatorsRaw as Record<string, unknown>)) {
    segments.set(name, { logic });
    imported.set(name, logic);
  }
  for (const [name, logic] of imported)
    for (const p of segmentProblems(name, logic, segments))
      problems.push(p.path.startsWith('$evaluators') ? p : { ...p, path: `$evaluators.${name}` });
  const flags = new Map<string, FlagdDefinition>();
  for (const [flag, definition] of Object.entries(flagsRaw as Record<string, unknown>)) {
    const found = flagDefinitionProblems(definition, {
      segments,
      declaredType: options.declaredTypes?.(flag),
      declaredVariants: options.declaredVariants?.(flag),
      path: `flags.${flag}`,
    });
    if (found.length) problems.push(...found);
    else flags.set(flag, FlagdDefinition.parse(definition));
  }
  if (problems.length) throw problemsError('flagd file', dedupe(problems));
  return { flags, segments: imported };
};

const dedupe = (problems: LogicProblem[]): LogicProblem[] => {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.path}\u0000${p.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
};
