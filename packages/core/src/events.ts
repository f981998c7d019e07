import { z } from 'zod';

/**
 * The event catalog: every change Strata records. Events are facts in the past tense; their data
 * is validated by these schemas on append, and `schemas/` holds the JSON Schema generated from
 * them for consumers in other languages. Secret values never appear in any event: only envelopes.
 */

export const namePattern = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;
export const keyPattern = /^[a-z0-9_]+(?:\.[a-z0-9_]+)*$/;
/**
 * Flag keys are wider than config keys: flagd files name flags `new-welcome-banner` or
 * `headerColor`, and an import must take them as they are.
 */
export const flagKeyPattern = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,198}[A-Za-z0-9_])?$/;
/** Tenant ids come from customers' systems, so they allow a wider alphabet than names. */
export const tenantPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export const Name = z.string().regex(namePattern, 'lowercase letters, digits, - and _, at most 64');
export const Key = z.string().max(200).regex(keyPattern, 'dot-separated lowercase words');
export const FlagKey = z.string().regex(flagKeyPattern, 'letters, digits, _ . -, at most 200');
export const TenantId = z.string().regex(tenantPattern, 'letters, digits, _ . : -, at most 128');
export const JsonValue: z.ZodType<unknown> = z.unknown();

const scope = { namespace: Name, environment: Name };
const tenantScope = { ...scope, tenant: TenantId.nullable() };
/** A flag in an environment: what its rule events (rollout, definition) apply to. */
const flagScope = { ...scope, flag: FlagKey };

/** A manifest as published to the store: JSON Schema per key, like BRIEF.md's PUT body. */
export const ManifestDocument = z.object({
  keys: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  flags: z
    .record(
      z.string(),
      z.object({
        type: z.enum(['boolean', 'string', 'number', 'object']).default('boolean'),
        description: z.string().optional(),
        default: z.unknown().optional(),
        owner: z.string().optional(),
        /** The variant names a definition of this flag must have, exactly (flagd `variants` keys). */
        variants: z.array(z.string().min(1)).min(1).optional(),
      }),
    )
    .default({}),
  secrets: z
    .record(
      z.string(),
      z.object({
        description: z.string().optional(),
        owner: z.string().optional(),
        required: z.boolean().optional(),
        /** Rotation cadence, an ISO 8601 duration (`P90D`): `GET /v1/secrets/due` lists versions older than it. */
        rotateEvery: z.string().optional(),
      }),
    )
    .default({}),
});
export type ManifestDocument = z.infer<typeof ManifestDocument>;

export const FlagVariant = z.object({ value: z.unknown(), weight: z.number().int().min(0).max(100) });
export type FlagVariant = z.infer<typeof FlagVariant>;

/**
 * A flag definition in flagd's flag-definition format (flagd `docs/reference/flag-definitions.md`):
 * typed variants, an optional default variant, JsonLogic targeting (segments by `$ref`), metadata.
 * The structure is checked here; `parseFlagDefinition` checks the meaning (variant types, names,
 * rules) with the path of every problem.
 */
export const FlagdDefinition = z.object({
  state: z.enum(['ENABLED', 'DISABLED']),
  variants: z.record(z.string(), JsonValue),
  defaultVariant: z.string().nullable().optional(),
  targeting: JsonValue.optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type FlagdDefinition = z.infer<typeof FlagdDefinition>;

/** A segment's name: flagd's `$evaluators` keys, also usable in a URL path. */
export const SegmentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, _ . -, at most 128');

/** AES-256-GCM ciphertext with its data key wrapped by a key-encryption key. All fields base64. */
export const SecretEnvelope = z.object({
  alg: z.literal('AES-256-GCM'),
  /** Id of the key-encryption key that wrapped the data key (a tenant key or a master key id). */
  kek: z.string(),
  wrappedKey: z.string(),
  iv: z.string(),
  ciphertext: z.string(),
  tag: z.string(),
});
export type SecretEnvelope = z.infer<typeof SecretEnvelope>;

export const eventSchemas = {
  ManifestPublished: { 1: z.object({ namespace: Name, manifest: ManifestDocument }) },
  ConfigValueSet: { 1: z.object({ ...tenantScope, key: Key, value: JsonValue }) },
  ConfigValueUnset: { 1: z.object({ ...tenantScope, key: Key }) },
  FlagRolloutChanged: {
    1: z.object({
      ...flagScope,
      rollout: z.number().int().min(0).max(100),
      enabled: z.boolean(),
      variants: z.array(FlagVariant).optional(),
    }),
  },
  /** A full definition; it replaces the flag's rollout shorthand (and vice versa). */
  FlagDefinitionSet: { 1: z.object({ ...flagScope, definition: FlagdDefinition }) },
  /** A shared targeting rule (flagd's `$evaluators` entry), referenced by `{"$ref": name}`. */
  SegmentSet: { 1: z.object({ ...scope, segment: SegmentName, logic: JsonValue }) },
  SegmentDeleted: { 1: z.object({ ...scope, segment: SegmentName }) },
  /**
   * `variant` (optional, so v1 readers keep working): the override pins that variant of the
   * flag's definition; `override` is then `enabled`, which is what a reader unaware of variants
   * sees — "forced on" is the nearest older meaning.
   */
  FlagOverrideSet: {
    1: z.object({
      ...scope,
      tenant: TenantId,
      flag: FlagKey,
      override: z.enum(['enabled', 'disabled']).nullable(),
      variant: z.string().min(1).max(200).optional(),
    }),
  },
  SecretVersionAdded: {
    1: z.object({
      ...tenantScope,
      name: Key,
      version: z.number().int().positive(),
      envelope: SecretEnvelope,
      /** The previous version stays readable until then (rotation without downtime). */
      previousReadableUntil: z.string().datetime().nullable(),
    }),
  },
  SecretDeleted: { 1: z.object({ ...tenantScope, name: Key }) },
  TenantKeyShredded: { 1: z.object({ namespace: Name, tenant: TenantId, keyId: z.string() }) },
  MasterKeyRotated: {
    1: z.object({ fromKeyId: z.string(), toKeyId: z.string(), rewrappedKeyIds: z.array(z.string()) }),
  },
  TokenIssued: {
    1: z.object({
      tokenId: z.string(),
      role: z.string(),
      namespace: Name.nullable(),
      environment: Name.nullable(),
      tenant: TenantId.nullable(),
      description: z.string().max(500).nullable(),
      /** Short-lived credentials: the instant it stops working. */
      expiresAt: z.string().datetime().nullable().optional(),
      /** Issued by rotating this token, which keeps working until `previousValidUntil`. */
      rotatedFrom: z.string().optional(),
      previousValidUntil: z.string().datetime().optional(),
    }),
  },
  TokenRevoked: { 1: z.object({ tokenId: z.string() }) },
} as const;

export type EventType = keyof typeof eventSchemas;
export const eventTypes = Object.keys(eventSchemas) as EventType[];
type Latest<T extends EventType> = (typeof eventSchemas)[T][1];
export type EventData<T extends EventType> = z.infer<Latest<T>>;

export interface EventMetadata {
  /** Who: the token's subject, e.g. `token:01J…` or `admin`. */
  actor: string;
  reason?: string | null;
  correlationId?: string | null;
  causationId?: string | null;
  idempotencyKey?: string | null;
  /** Where the command came from: `api`, `cli`, `revert`, `system`. */
  source?: string | null;
  /** Set on compensating events: the log position the revert restored. */
  revertTo?: number | null;
}

/** An event before it is appended. */
export type NewEvent = { [T in EventType]: { type: T; data: EventData<T>; metadata: EventMetadata } }[EventType];

/** An event as the log holds it. */
export type RecordedEvent = NewEvent & {
  /** Global, gap-free-in-delivery position: strictly increasing in commit order. */
  position: number;
  eventId: string;
  streamId: string;
  streamVersion: number;
  schemaVersion: number;
  /** ISO 8601 time the log recorded it. */
  recordedAt: string;
  hash: string;
};

/**
 * What views are built from: a recorded event without its ids, stream, metadata and hash. A
 * rebuild reads the whole log in this shape (`EventLog.readForViews`), since those columns cost
 * PostgreSQL and the driver a third of the read and no view holds them.
 */
export type ProjectedEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType] &
  Pick<RecordedEvent, 'position' | 'schemaVersion' | 'recordedAt'>;

export const newEvent = <T extends EventType>(type: T, data: EventData<T>, metadata: EventMetadata): NewEvent =>
  ({ type, data, metadata }) as NewEvent;

/** Validates event data against the schema of its type and version; throws a zod error. */
export const parseEventData = (type: string, version: number, data: unknown): unknown => {
  const versions = (eventSchemas as Record<string, Record<number, z.ZodType>>)[type];
  const schema = versions?.[version];
  if (!schema) throw new Error(`unknown event type ${type} v${version}`);
  return schema.parse(data);
};

export const latestSchemaVersion = (type: EventType): number =>
  Math.max(...Object.keys(eventSchemas[type]).map(Number));

/**
 * Streams are the unit of optimistic concurrency. One stream per namespace (manifest), per
 * environment (environment layer and flags), per tenant within an environment (overrides,
 * tenant flags, tenant secrets), and one for the token registry.
 */
export const streamIds = {
  manifest: (namespace: string) => `manifest:${namespace}`,
  environment: (namespace: string, environment: string) => `env:${namespace}/${environment}`,
  tenant: (namespace: string, environment: string, tenant: string) => `tenant:${namespace}/${environment}/${tenant}`,
  scope: (namespace: string, environment: string, tenant: string | null) =>
    tenant === null ? streamIds.environment(namespace, environment) : streamIds.tenant(namespace, environment, tenant),
  tokens: () => 'tokens',
  keys: () => 'keys',
} as const;

/**
 * What changes the state of one namespace/environment (`fold`): events of that environment, and
 * events of its namespace that carry no environment. Readers asking "does this scope have an
 * event in (a, b]?" filter the log on these (tokens and keys also carry a namespace, but no view
 * holds them).
 */
export const environmentEventTypes: readonly EventType[] = [
  'ConfigValueSet',
  'ConfigValueUnset',
  'FlagRolloutChanged',
  'FlagDefinitionSet',
  'SegmentSet',
  'SegmentDeleted',
  'FlagOverrideSet',
  'SecretVersionAdded',
  'SecretDeleted',
];
export const namespaceWideEventTypes: readonly EventType[] = ['ManifestPublished', 'TenantKeyShredded'];

/** The scope an event belongs to, used as the Kafka message key and the Redis view id. */
export const eventScope = (
  event: NewEvent,
): { namespace: string | null; environment: string | null; tenant: string | null } => {
  const data = event.data as { namespace?: string; environment?: string; tenant?: string | null };
  return { namespace: data.namespace ?? null, environment: data.environment ?? null, tenant: data.tenant ?? null };
};

/** Kafka key: `namespace/environment`, or `namespace` for namespace-wide events, `system` otherwise. */
export const partitionKey = (event: NewEvent): string => {
  const { namespace, environment } = eventScope(event);
  if (namespace && environment) return `${namespace}/${environment}`;
  return namespace ?? 'system';
};
