import { z } from 'zod';
import type { StateChange as CoreStateChange } from '@strata/core';
import { roles } from './requests.js';

/**
 * Zod schemas of every response body the API answers with. The API registers them on its routes
 * (so `/openapi.json` describes each answer, and Fastify serializes through them), the client
 * parses answers with them, and the contract e2e check validates real answers against them.
 *
 * Objects are loose where the answer embeds domain data the API passes through (event data,
 * diffs), so a new field in core never gets cut off by the serializer; top-level fields are
 * listed so the document tells a client what it can rely on.
 */

const Position = z.number().int().min(0);
const Scope = z.string().nullable();

export const HealthAnswer = z.object({ status: z.literal('ok') });
export const ReadinessAnswer = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string(), z.string()),
});

/** Every write: the log position it produced (read your writes with `?minPosition=`) and the stream version (ETag). */
export const WriteAnswer = z.object({
  position: Position,
  version: z.number().int().min(0),
  appended: z.number().int().min(0),
  replayed: z.boolean(),
  /** Secret writes: the version number the value got. */
  secretVersion: z.number().int().positive().optional(),
});

/** A flagd file import: what it set. */
export const FlagdImportAnswer = WriteAnswer.extend({ flags: z.array(z.string()), segments: z.array(z.string()) });
/** A flagd file (flagd loads it as it is) with where it was read. */
export const FlagdFileAnswer = z.looseObject({
  $schema: z.string().optional(),
  flags: z.record(z.string(), z.unknown()),
  $evaluators: z.record(z.string(), z.unknown()).optional(),
  metadata: z.object({ namespace: z.string(), environment: z.string(), position: Position }),
});
const Evaluated = z.object({ variant: z.string().nullable(), value: z.unknown(), reason: z.string() });
/** Who flips under a proposed definition. */
export const PreviewAnswer = z.object({
  flag: z.string(),
  evaluated: z.number().int(),
  changed: z.number().int(),
  flips: z.array(
    z.object({
      tenant: z.string().nullable(),
      context: z.record(z.string(), z.unknown()),
      from: Evaluated,
      to: Evaluated,
    }),
  ),
});

export const ValueSource = z.enum(['tenant', 'environment', 'default']);
export const ResolvedValue = z.object({ value: z.unknown(), source: ValueSource, position: Position });
export const ResolvedAnswer = z.object({ position: Position, values: z.record(z.string(), ResolvedValue) });

export const FlagReason = z.enum(['override', 'rollout', 'targeting', 'disabled', 'default']);
export const FlagAnswer = z.object({
  enabled: z.boolean(),
  reason: FlagReason,
  position: Position,
  /** The flag's rollout percentage (absent when the store has no rule for it). */
  rollout: z.number().int().min(0).max(100).optional(),
  /** The variant's value when the flag has weighted variants. */
  variant: z.unknown().optional(),
});

/** Every declared flag for one tenant in one answer (what a remote client caches per tenant). */
export const TenantFlagsAnswer = z.object({
  /** The view's position when read. */
  position: Position,
  flags: z.record(z.string(), FlagAnswer),
});

export const SecretValueAnswer = z.object({
  value: z.string(),
  version: z.number().int().positive(),
  source: z.enum(['tenant', 'environment']),
});
export const SecretVersionMeta = z.object({
  version: z.number().int().positive(),
  position: Position,
  addedAt: z.string(),
  kek: z.string(),
  previousReadableUntil: z.string().nullable(),
});
export const SecretListAnswer = z.object({
  position: Position,
  secrets: z.array(
    z.object({ name: z.string(), tenant: Scope, deleted: z.boolean(), versions: z.array(SecretVersionMeta) }),
  ),
});

export const SecretsDueAnswer = z.object({
  asOf: z.string(),
  /** How many of `secrets` are past their due date (the rest are due within `within`). */
  overdue: z.number(),
  secrets: z.array(
    z.object({
      namespace: z.string(),
      env: z.string(),
      tenant: z.string().nullable(),
      name: z.string(),
      version: z.number(),
      rotateEvery: z.string(),
      addedAt: z.string(),
      ageSeconds: z.number(),
      dueAt: z.string(),
      overdue: z.boolean(),
    }),
  ),
});

export const IssuedToken = z.object({
  position: Position,
  id: z.string(),
  /** The token itself: shown once, never again. */
  token: z.string(),
  role: z.enum(roles),
  namespace: Scope,
  env: Scope,
  tenant: Scope,
  /** After this instant the token is refused; null: until revoked. */
  expiresAt: z.string().nullable(),
});
/** A rotation's successor (shown once); the previous token keeps working until `previousValidUntil`. */
export const RotatedToken = IssuedToken.extend({
  previousId: z.string(),
  previousValidUntil: z.string(),
  graceSeconds: z.number().int().min(0),
});
export const TokenInfo = z.object({
  id: z.string(),
  role: z.enum(roles),
  namespace: Scope,
  environment: Scope,
  tenant: Scope,
  description: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  /** The successor a rotation issued. */
  rotatedTo: z.string().nullable(),
});
/** `GET /v1/tokens/self`: the calling token's role, scope and permissions. */
export const TokenSelf = z.object({
  subject: z.string(),
  tokenId: z.string().nullable(),
  role: z.enum(roles),
  namespace: Scope,
  env: Scope,
  tenant: Scope,
  permissions: z.array(z.string()),
});
export const TokenListAnswer = z.object({ tokens: z.array(TokenInfo) });
export const RevokedToken = z.object({ position: Position, id: z.string(), revoked: z.literal(true) });

export const EventMetadata = z.object({
  actor: z.string(),
  reason: z.string().nullish(),
  correlationId: z.string().nullish(),
  causationId: z.string().nullish(),
  idempotencyKey: z.string().nullish(),
  source: z.string().nullish(),
  revertTo: z.number().nullish(),
});
/** An event as history shows it: secret envelopes reduced to `{version, kek}`; config changes with before/after. */
export const HistoryEvent = z.object({
  position: Position,
  eventId: z.string(),
  type: z.string(),
  streamId: z.string(),
  streamVersion: z.number().int(),
  recordedAt: z.string(),
  actor: z.string(),
  /** Every event type's data is an object (its fields per type: core's EventData). */
  data: z.record(z.string(), z.unknown()),
  metadata: EventMetadata,
  before: z.object({ value: z.unknown() }).nullable().optional(),
  after: z.object({ value: z.unknown() }).nullable().optional(),
});
export const EventsPage = z.object({ events: z.array(HistoryEvent), next: Position.nullable() });

export const ChainVerification = z.union([
  z.object({ ok: z.literal(true), checked: z.number().int(), head: Position }),
  z.object({ ok: z.literal(false), firstBadPosition: Position, checked: z.number().int() }),
]);

export const StateChange = z.looseObject({
  /** manifest, config, flag, override, secret, segment, … (core's StateChange). */
  kind: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export const DiffAnswer = z.object({ from: Position, to: Position, changes: z.array(StateChange) });

export const PlannedStream = z.object({
  streamId: z.string(),
  events: z.array(z.object({ type: z.string(), data: z.record(z.string(), z.unknown()), metadata: EventMetadata })),
});
/** What a revert appends (dry run: would append), per stream, and what it had to skip. */
export const RevertPlan = z.object({
  streams: z.array(PlannedStream),
  skipped: z.array(
    z.object({
      kind: z.string(),
      tenant: Scope,
      key: z.string(),
      reason: z.string(),
    }),
  ),
});
export const RevertAnswer = z.union([
  z.object({ position: Position, dryRun: z.literal(true), to: Position, plan: RevertPlan }),
  z.object({ position: Position, to: Position, appended: z.number().int(), applied: RevertPlan }),
]);

const RebuildProgress = z.object({
  generation: z.number().int(),
  position: Position,
  head: Position,
  events: z.number().int(),
  eventsPerSecond: z.number(),
});
export const RebuildStarted = z.union([
  z.object({ started: z.literal(true), running: z.literal(true), generation: z.number().int() }),
  z.object({ started: z.literal(false), running: z.literal(true), progress: RebuildProgress.nullable() }),
]);
export const ProjectionStatus = z.object({
  generation: z.number().int().nullable(),
  needsRebuild: z.boolean(),
  head: Position,
  rebuilding: z.object({ startedAt: z.string(), actor: z.string(), progress: RebuildProgress.nullable() }).nullable(),
  position: Position.nullable(),
  lag: z.number().nullable(),
  progress: z.number().nullable(),
  last: z
    .union([
      z.object({
        generation: z.number().int(),
        previous: z.number().int().nullable(),
        position: Position,
        events: z.number().int(),
        eventsPerSecond: z.number(),
        rebuilt: z.boolean(),
        finishedAt: z.string(),
      }),
      z.object({ error: z.string(), finishedAt: z.string() }),
    ])
    .nullable(),
  /** Saved consumer positions (the relay's `relay:<topic>`, …) and how far each is behind the head. */
  checkpoints: z.array(
    z.object({ name: z.string(), position: Position, lag: z.number().int(), updatedAt: z.string() }),
  ),
  /**
   * The projectors' lag per Kafka partition, as last reported by the member owning it (empty until
   * one reported). `stale`: that member has not reported for a while (stopped, hung or cut off from
   * Kafka), so `lag` is only the last known value.
   */
  partitions: z.array(
    z.object({
      partition: z.number().int(),
      /** Next offset the projector group will read. */
      committed: z.number().int(),
      /** End offset: the next one the broker will write. */
      highWatermark: z.number().int(),
      lag: z.number().int(),
      /** The reporting member (`host:pid` by default). */
      instance: z.string(),
      updatedAt: z.string(),
      ageMs: z.number().int(),
      stale: z.boolean(),
    }),
  ),
});

export const KeyStatus = z.object({
  activeKid: z.string(),
  masterKeys: z.array(z.object({ kid: z.string(), active: z.boolean(), wraps: z.number().int() })),
});
export const KeyRotation = z.object({
  position: Position,
  activeKid: z.string(),
  rotations: z.array(z.object({ fromKeyId: z.string(), toKeyId: z.string(), rewrapped: z.number().int() })),
});
export const TenantShredded = z.object({ position: Position, keyId: z.string() });

/** OFREP v1 (open-feature/protocol): one evaluation. */
export const OfrepEvaluation = z.object({
  key: z.string(),
  /** TARGETING_MATCH, SPLIT, DISABLED, DEFAULT, STATIC, … (OpenFeature's reasons; open for new ones). */
  reason: z.string(),
  /** Absent when no variant was chosen (DISABLED without a default variant): use the caller's default. */
  variant: z.string().optional(),
  value: z.unknown().optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
/** OFREP ADR 0008: where a static-context provider hears about changes. */
export const OfrepEventStream = z.object({
  type: z.literal('sse'),
  url: z.string().optional(),
  endpoint: z.object({ origin: z.string().optional(), requestUri: z.string() }).optional(),
  inactivityDelaySec: z.number().int().min(1).optional(),
});
export const OfrepBulkAnswer = z.object({
  flags: z.array(OfrepEvaluation),
  eventStreams: z.array(OfrepEventStream).optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/** A non-JSON answer (metrics text, NDJSON export, event stream): described by content type. */
export const textBody = (contentType: string) => ({
  description: contentType,
  content: { [contentType]: { schema: z.string() } },
});

export type WriteAnswer = z.infer<typeof WriteAnswer>;
export type ResolvedAnswer = z.infer<typeof ResolvedAnswer>;
export type FlagAnswer = z.infer<typeof FlagAnswer>;
export type TenantFlagsAnswer = z.infer<typeof TenantFlagsAnswer>;
export type SecretValueAnswer = z.infer<typeof SecretValueAnswer>;
export type SecretListAnswer = z.infer<typeof SecretListAnswer>;
export type IssuedToken = z.infer<typeof IssuedToken>;
export type RotatedToken = z.infer<typeof RotatedToken>;
export type SecretsDueAnswer = z.infer<typeof SecretsDueAnswer>;
export type TokenInfo = z.infer<typeof TokenInfo>;
export type TokenSelf = z.infer<typeof TokenSelf>;
export type PreviewAnswer = z.infer<typeof PreviewAnswer>;
export type ChainVerification = z.infer<typeof ChainVerification>;
export type HistoryEvent = z.infer<typeof HistoryEvent>;
export type EventsPage = z.infer<typeof EventsPage>;
/** The diff's changes are core's StateChange (the schema checks their common fields). */
export type DiffAnswer = Omit<z.infer<typeof DiffAnswer>, 'changes'> & { changes: CoreStateChange[] };
export type RevertAnswer = z.infer<typeof RevertAnswer>;
export type RevertPlan = z.infer<typeof RevertPlan>;
/** One compensating event of a revert plan. */
export type PlannedEvent = RevertPlan['streams'][number]['events'][number];
export type ProjectionStatus = z.infer<typeof ProjectionStatus>;
export type KeyStatus = z.infer<typeof KeyStatus>;
export type KeyRotation = z.infer<typeof KeyRotation>;
export type OfrepEvaluation = z.infer<typeof OfrepEvaluation>;
export type OfrepBulkAnswer = z.infer<typeof OfrepBulkAnswer>;
