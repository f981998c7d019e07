import { z } from 'zod';
import { StrataError } from './errors.js';
import {
  FlagKey,
  FlagVariant,
  Key,
  Name,
  newEvent,
  SecretEnvelope,
  SegmentName,
  streamIds,
  TenantId,
  type EventMetadata,
  type ManifestDocument,
  type NewEvent,
} from './events.js';
import {
  definitionRefs,
  definitionType,
  flagDefinitionProblems,
  parseFlagDefinition,
  parseFlagdFile,
  parseSegment,
  type FlagValueType,
  type Segments,
} from './flag-definition.js';
import { jsonEqual } from './json-value.js';
import { checkManifestChange } from './manifest-change.js';
import { keySchema, parseManifest, validateValue } from './manifest.js';
import { definitionOf } from './flags.js';
import {
  currentSecretVersion,
  initialState,
  latestSecretVersionNumber,
  layerOf,
  type NamespaceEnvState,
} from './scope-state.js';

/**
 * Commands and the decider: pure functions from (command, current state) to the events to append,
 * or a StrataError. The API loads the state (with the stream version it read) and appends the
 * result to `commandStreamId(command)` with that expected version.
 *
 * `decide` returns `[]` only when a removal targets something already absent (unset of an unset
 * key, clearing a missing override, deleting a missing secret); every set is recorded, even when
 * it repeats the current value, because the audit trail records the operator's intent.
 */

interface Scoped {
  namespace: string;
  environment: string;
  metadata: EventMetadata;
}

export interface PublishManifest {
  type: 'PublishManifest';
  namespace: string;
  /** The raw document; validated here. */
  manifest: unknown;
  metadata: EventMetadata;
}
export interface SetConfigValue extends Scoped {
  type: 'SetConfigValue';
  /** null: the environment layer. */
  tenant: string | null;
  key: string;
  value: unknown;
}
export interface UnsetConfigValue extends Scoped {
  type: 'UnsetConfigValue';
  tenant: string | null;
  key: string;
}
export interface SetFlagRollout extends Scoped {
  type: 'SetFlagRollout';
  flag: string;
  /** Omitted: keep the current rollout (0 for a new flag). */
  rollout?: number;
  /** Omitted: keep the current kill switch (on for a new flag). */
  enabled?: boolean;
  /** Omitted: keep the current variants; null: remove them. */
  variants?: FlagVariant[] | null;
}
/** A full flagd definition for the flag (replaces its rollout shorthand). */
export interface SetFlagDefinition extends Scoped {
  type: 'SetFlagDefinition';
  flag: string;
  /** The raw definition; validated here against the manifest's type and the segments. */
  definition: unknown;
}
export interface SetSegment extends Scoped {
  type: 'SetSegment';
  segment: string;
  logic: unknown;
}
export interface DeleteSegment extends Scoped {
  type: 'DeleteSegment';
  segment: string;
}
export interface SetFlagOverride extends Scoped {
  type: 'SetFlagOverride';
  tenant: string;
  flag: string;
  /** null clears the override: the tenant follows the rollout again. */
  override: 'enabled' | 'disabled' | null;
  /**
   * Pins a variant of the flag's current definition (then `override` must be `enabled`); unknown
   * variants are a VALIDATION_FAILED naming `variant`.
   */
  variant?: string | undefined;
}
export interface AddSecretVersion extends Scoped {
  type: 'AddSecretVersion';
  tenant: string | null;
  name: string;
  /** Must be the latest version + 1 (the caller encrypts with this number in the AAD). */
  version: number;
  /** Already encrypted by the crypto package; plaintext never reaches core. */
  envelope: SecretEnvelope;
  previousReadableUntil: string | null;
}
export interface DeleteSecret extends Scoped {
  type: 'DeleteSecret';
  tenant: string | null;
  name: string;
}

export type Command =
  | PublishManifest
  | SetConfigValue
  | UnsetConfigValue
  | SetFlagRollout
  | SetFlagDefinition
  | SetSegment
  | DeleteSegment
  | SetFlagOverride
  | AddSecretVersion
  | DeleteSecret;

/** The stream a command's events are appended to (its unit of optimistic concurrency). */
export const commandStreamId = (command: Command): string => {
  switch (command.type) {
    case 'PublishManifest':
      return streamIds.manifest(command.namespace);
    case 'SetFlagRollout':
    case 'SetFlagDefinition':
    case 'SetSegment':
    case 'DeleteSegment':
      return streamIds.environment(command.namespace, command.environment);
    case 'SetFlagOverride':
      return streamIds.tenant(command.namespace, command.environment, command.tenant);
    default:
      return streamIds.scope(command.namespace, command.environment, command.tenant);
  }
};

const check = (
  schema: { safeParse(v: unknown): { success: boolean } },
  value: unknown,
  what: string,
  rule: string,
): void => {
  if (!schema.safeParse(value).success)
    throw new StrataError('BAD_REQUEST', `${what} ${JSON.stringify(value)} is invalid: ${rule}`, { [what]: value });
};

const checkScope = (c: Scoped & { tenant?: string | null }): void => {
  check(Name, c.namespace, 'namespace', 'lowercase letters, digits, - and _, at most 64');
  check(Name, c.environment, 'environment', 'lowercase letters, digits, - and _, at most 64');
  if (c.tenant !== undefined && c.tenant !== null)
    check(TenantId, c.tenant, 'tenant', 'letters, digits, _ . : -, at most 128');
};

const pickState = (states: NamespaceEnvState | readonly NamespaceEnvState[], c: Scoped): NamespaceEnvState => {
  if (!Array.isArray(states)) {
    const s = states as NamespaceEnvState;
    if (s.namespace !== c.namespace || s.environment !== c.environment) {
      throw new StrataError(
        'INTERNAL',
        `state of ${s.namespace}/${s.environment} given for a command on ${c.namespace}/${c.environment}`,
      );
    }
    return s;
  }
  return (
    (states as readonly NamespaceEnvState[]).find(
      (s) => s.namespace === c.namespace && s.environment === c.environment,
    ) ?? initialState(c.namespace, c.environment)
  );
};

const requireManifest = (manifest: ManifestDocument | null, what: string): ManifestDocument => {
  if (!manifest) throw new StrataError('UNKNOWN_KEY', `${what}: the namespace has no manifest yet`);
  return manifest;
};

const decideFlagRollout = (
  c: SetFlagRollout,
  state: NamespaceEnvState,
  manifest: ManifestDocument | null,
): NewEvent[] => {
  const m = requireManifest(manifest, `flag ${c.flag}`);
  const declared = Object.hasOwn(m.flags, c.flag) ? m.flags[c.flag] : undefined;
  if (!declared) throw new StrataError('UNKNOWN_KEY', `flag ${c.flag}: not declared in the manifest`, { flag: c.flag });
  const current = state.flags.get(c.flag);
  const rollout = c.rollout ?? current?.rollout ?? 0;
  if (!Number.isInteger(rollout) || rollout < 0 || rollout > 100) {
    throw new StrataError(
      'VALIDATION_FAILED',
      `flag ${c.flag}: rollout must be an integer 0-100, received ${JSON.stringify(rollout)}`,
      { flag: c.flag },
    );
  }
  const enabled = c.enabled ?? current?.enabled ?? true;
  const variants = c.variants === null ? undefined : (c.variants ?? current?.variants?.slice());
  if (variants) {
    const problems: string[] = [];
    let total = 0;
    variants.forEach((v, i) => {
      if (!FlagVariant.safeParse(v).success) problems.push(`variant ${i}: weight must be an integer 0-100`);
      total += v.weight;
      const type = declared.type;
      const fits =
        type === 'boolean'
          ? typeof v.value === 'boolean'
          : type === 'string'
            ? typeof v.value === 'string'
            : type === 'number'
              ? typeof v.value === 'number' && Number.isFinite(v.value)
              : typeof v.value === 'object' && v.value !== null;
      if (!fits) problems.push(`variant ${i}: expected a ${type} value, received ${JSON.stringify(v.value)}`);
    });
    if (total > 100) problems.push(`variant weights add up to ${total}, more than 100`);
    if (problems.length)
      throw new StrataError('VALIDATION_FAILED', `flag ${c.flag}: ${problems.join('; ')}`, { flag: c.flag, problems });
  }
  const data = { namespace: c.namespace, environment: c.environment, flag: c.flag, rollout, enabled };
  return [newEvent('FlagRolloutChanged', variants ? { ...data, variants } : data, c.metadata)];
};

const declaredFlag = (m: ManifestDocument | null | undefined, flag: string) => {
  const mm = requireManifest(m ?? null, `flag ${flag}`);
  const declared = Object.hasOwn(mm.flags, flag) ? mm.flags[flag] : undefined;
  if (!declared) throw new StrataError('UNKNOWN_KEY', `flag ${flag}: not declared in the manifest`, { flag });
  return declared;
};

const declaredTypeOf = (m: ManifestDocument | null, flag: string): FlagValueType | undefined =>
  m && Object.hasOwn(m.flags, flag) ? m.flags[flag]?.type : undefined;

const declaredVariantsOf = (m: ManifestDocument | null, flag: string): readonly string[] | undefined =>
  m && Object.hasOwn(m.flags, flag) ? m.flags[flag]?.variants : undefined;

/** Problems the flags' current definitions would have with `segments` in place of the state's. */
const flagsBrokenBy = (state: NamespaceEnvState, segments: Segments) =>
  [...state.flags].flatMap(([flag, entry]) =>
    entry.definition
      ? flagDefinitionProblems(entry.definition, { segments, path: `flags.${flag}` }).filter(
          (p) => p.path.startsWith(`flags.${flag}.targeting`) || p.path.startsWith('$evaluators'),
        )
      : [],
  );

/** A variant override names a variant of the flag's definition in this environment, as it is now. */
const checkOverrideVariant = (
  state: NamespaceEnvState,
  flag: string,
  override: 'enabled' | 'disabled' | null,
  variant: string,
): void => {
  const fail = (message: string) =>
    new StrataError('VALIDATION_FAILED', `flag ${flag}: variant: ${message}`, {
      problems: [{ path: 'variant', message }],
    });
  if (override !== 'enabled') throw fail('a variant override forces the flag on; override must be "enabled"');
  const entry = state.flags.get(flag);
  if (!entry) throw fail(`flag ${flag} has no definition in this environment yet, so it has no variants`);
  const variants = definitionOf(entry).variants;
  if (!Object.hasOwn(variants, variant))
    throw fail(
      `unknown variant ${JSON.stringify(variant)}; the definition has ${Object.keys(variants)
        .map((v) => JSON.stringify(v))
        .join(', ')}`,
    );
};

export interface FlagdImport {
  /** ManifestPublished first when flags were missing from the manifest, then segments, then flags. */
  events: NewEvent[];
  /** True when the manifest changes too: the events then go to the manifest stream, atomically. */
  declaresFlags: boolean;
  flags: string[];
  segments: string[];
}

/**
 * Plans the import of a flagd file (`{"$evaluators": …, "flags": …}`) into one environment: every
 * segment and every definition, and a manifest declaring the flags it lacks (type from the
 * variants). All or nothing: any problem throws VALIDATION_FAILED naming its path in the file.
 */
export const planFlagdImport = (
  file: unknown,
  state: NamespaceEnvState,
  metadata: EventMetadata,
  manifest: ManifestDocument | null = state.manifest,
): FlagdImport => {
  const parsed = parseFlagdFile(file, {
    existingSegments: state.segments,
    declaredTypes: (flag) => declaredTypeOf(manifest, flag),
    declaredVariants: (flag) => declaredVariantsOf(manifest, flag),
  });
  const scope = { namespace: state.namespace, environment: state.environment };
  const events: NewEvent[] = [];
  const missing = [...parsed.flags].filter(([flag]) => !manifest || !Object.hasOwn(manifest.flags, flag));
  for (const [flag] of missing)
    if (!FlagKey.safeParse(flag).success)
      throw new StrataError('VALIDATION_FAILED', `flagd file: flags.${flag}: flag keys are letters, digits, _ . -`, {
        problems: [{ path: `flags.${flag}`, message: 'flag keys are letters, digits, _ . -, at most 200' }],
      });
  for (const [name] of parsed.segments) check(SegmentName, name, 'segment', 'letters, digits, _ . -, at most 128');
  if (missing.length) {
    const base = manifest ?? { keys: {}, flags: {}, secrets: {} };
    const flags = { ...base.flags };
    for (const [flag, definition] of missing) flags[flag] = { type: definitionType(definition) ?? 'boolean' };
    events.push(newEvent('ManifestPublished', { namespace: state.namespace, manifest: { ...base, flags } }, metadata));
  }
  for (const [segment, logic] of parsed.segments)
    events.push(newEvent('SegmentSet', { ...scope, segment, logic }, metadata));
  for (const [flag, definition] of parsed.flags)
    events.push(newEvent('FlagDefinitionSet', { ...scope, flag, definition }, metadata));
  return {
    events,
    declaresFlags: missing.length > 0,
    flags: [...parsed.flags.keys()],
    segments: [...parsed.segments.keys()],
  };
};

/**
 * Decides the events for a command. `state` is the namespace+environment state the command acts
 * on; for PublishManifest pass the states of every environment of the namespace (their values are
 * checked against the new manifest). Given an array for a scoped command, the matching state is
 * picked (a fresh one when absent). `manifest` defaults to the one folded into the state; for
 * PublishManifest it is the manifest in force, and publishing an equal one decides nothing.
 * Throws StrataError: BAD_REQUEST, UNKNOWN_KEY, VALIDATION_FAILED, IMMUTABLE_KEY,
 * MANIFEST_CONFLICT, VERSION_CONFLICT.
 */
export const decide = (
  command: Command,
  states: NamespaceEnvState | readonly NamespaceEnvState[],
  manifest?: ManifestDocument | null,
): NewEvent[] => {
  if (command.type === 'PublishManifest') {
    check(Name, command.namespace, 'namespace', 'lowercase letters, digits, - and _, at most 64');
    const parsed = parseManifest(command.manifest);
    // Publishing the manifest in force again (config as code re-applies it on every run) changes nothing.
    if (manifest && jsonEqual(manifest, parsed)) return [];
    const all = (Array.isArray(states) ? states : [states]) as readonly NamespaceEnvState[];
    const conflicts = checkManifestChange(
      parsed,
      all.filter((s) => s.namespace === command.namespace),
    );
    if (conflicts.length > 0) {
      throw new StrataError(
        'MANIFEST_CONFLICT',
        `the new manifest rejects ${conflicts.length} current value(s):\n- ${conflicts
          .map((c) => `${c.environment}${c.tenant === null ? '' : `/${c.tenant}`}: ${c.problem}`)
          .join('\n- ')}`,
        { conflicts },
      );
    }
    return [newEvent('ManifestPublished', { namespace: command.namespace, manifest: parsed }, command.metadata)];
  }

  checkScope(command);
  const state = pickState(states, command);
  const m = manifest === undefined ? state.manifest : manifest;
  const scope = { namespace: command.namespace, environment: command.environment };

  switch (command.type) {
    case 'SetConfigValue': {
      check(Key, command.key, 'key', 'dot-separated lowercase words');
      const result = validateValue(m, command.key, command.value);
      if (!result.ok) throw result.error;
      // A plain config value lands in the log, Kafka and Redis as it is: a key declared secret
      // must go through the secrets API, which encrypts before anything is appended.
      if (keySchema(m, command.key)?.secret === true) {
        throw new StrataError(
          'VALIDATION_FAILED',
          `${command.key}: declared secret in the manifest; store it as a secret (PUT …/secrets/{name}) so it is encrypted before it reaches the log`,
          { key: command.key },
        );
      }
      const current = layerOf(state, command.tenant).get(command.key);
      if (keySchema(m, command.key)?.mutable === false && current && !jsonEqual(current.value, command.value)) {
        throw new StrataError(
          'IMMUTABLE_KEY',
          `${command.key}: immutable, already set in ${command.tenant === null ? 'this environment' : `tenant ${command.tenant}`} at position ${current.position}`,
          { key: command.key, tenant: command.tenant, position: current.position },
        );
      }
      return [
        newEvent(
          'ConfigValueSet',
          { ...scope, tenant: command.tenant, key: command.key, value: command.value },
          command.metadata,
        ),
      ];
    }
    case 'UnsetConfigValue': {
      const current = layerOf(state, command.tenant).get(command.key);
      if (!current) return [];
      if (keySchema(m, command.key)?.mutable === false) {
        throw new StrataError('IMMUTABLE_KEY', `${command.key}: immutable, cannot be unset once set`, {
          key: command.key,
          tenant: command.tenant,
        });
      }
      return [newEvent('ConfigValueUnset', { ...scope, tenant: command.tenant, key: command.key }, command.metadata)];
    }
    case 'SetFlagRollout':
      return decideFlagRollout(command, state, m);
    case 'SetFlagDefinition': {
      const declared = declaredFlag(m, command.flag);
      const definition = parseFlagDefinition(command.flag, command.definition, {
        segments: state.segments,
        declaredType: declared.type,
        declaredVariants: declared.variants,
      });
      return [newEvent('FlagDefinitionSet', { ...scope, flag: command.flag, definition }, command.metadata)];
    }
    case 'SetSegment': {
      check(SegmentName, command.segment, 'segment', 'letters, digits, _ . -, at most 128');
      const logic = parseSegment(command.segment, command.logic, state.segments);
      // A changed segment must not break a flag that uses it (a cycle through it, a result that
      // names no variant of that flag).
      const next = new Map(state.segments);
      next.set(command.segment, { logic, position: 0, changedAt: '' });
      const broken = flagsBrokenBy(state, next);
      if (broken.length)
        throw new StrataError(
          'VALIDATION_FAILED',
          `segment ${command.segment}: ${broken.map((b) => `${b.path}: ${b.message}`).join('; ')}`,
          { problems: broken },
        );
      return [newEvent('SegmentSet', { ...scope, segment: command.segment, logic }, command.metadata)];
    }
    case 'DeleteSegment': {
      if (!state.segments.has(command.segment)) return [];
      const users = [...state.flags]
        .filter(([, e]) => e.definition && definitionRefs(e.definition, state.segments).has(command.segment))
        .map(([flag]) => flag);
      if (users.length)
        throw new StrataError(
          'VALIDATION_FAILED',
          `segment ${command.segment}: still referenced by ${users.map((f) => `flags.${f}.targeting`).join(', ')}`,
          { problems: users.map((f) => ({ path: `flags.${f}.targeting`, message: `references ${command.segment}` })) },
        );
      return [newEvent('SegmentDeleted', { ...scope, segment: command.segment }, command.metadata)];
    }
    case 'SetFlagOverride': {
      const declared = m !== null && m !== undefined && Object.hasOwn(m.flags, command.flag);
      if (!declared)
        throw new StrataError('UNKNOWN_KEY', `flag ${command.flag}: not declared in the manifest`, {
          flag: command.flag,
        });
      const variant = command.variant;
      if (variant !== undefined) checkOverrideVariant(state, command.flag, command.override, variant);
      if (command.override === null && !state.overrides.get(command.tenant)?.has(command.flag)) return [];
      const data = { ...scope, tenant: command.tenant, flag: command.flag, override: command.override };
      return [newEvent('FlagOverrideSet', variant === undefined ? data : { ...data, variant }, command.metadata)];
    }
    case 'AddSecretVersion': {
      const mm = requireManifest(m, `secret ${command.name}`);
      if (!Object.hasOwn(mm.secrets, command.name)) {
        throw new StrataError('UNKNOWN_KEY', `secret ${command.name}: not declared in the manifest`, {
          name: command.name,
        });
      }
      check(SecretEnvelope, command.envelope, 'envelope', 'an AES-256-GCM envelope');
      if (command.previousReadableUntil !== null) {
        check(z.string().datetime(), command.previousReadableUntil, 'previousReadableUntil', 'an ISO 8601 UTC time');
      }
      const expected = latestSecretVersionNumber(state, command.tenant, command.name) + 1;
      if (command.version !== expected) {
        throw new StrataError(
          'VERSION_CONFLICT',
          `secret ${command.name}: next version is ${expected}, not ${command.version}`,
          {
            name: command.name,
            expectedVersion: expected,
          },
        );
      }
      return [
        newEvent(
          'SecretVersionAdded',
          {
            ...scope,
            tenant: command.tenant,
            name: command.name,
            version: command.version,
            envelope: command.envelope,
            previousReadableUntil: command.previousReadableUntil,
          },
          command.metadata,
        ),
      ];
    }
    case 'DeleteSecret': {
      if (!currentSecretVersion(state, command.tenant, command.name)) return [];
      return [newEvent('SecretDeleted', { ...scope, tenant: command.tenant, name: command.name }, command.metadata)];
    }
  }
};
