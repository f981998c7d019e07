import { z } from 'zod';
import { FlagKey, Key, Name, TenantId } from '@strata/core';

/** The roles a token can have; what each may do is the API's access policy. */
export const roles = ['reader', 'writer', 'secret-reader', 'secret-writer', 'auditor', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * Zod schemas of the HTTP requests (BRIEF.md "Public contract"). Path parameters use core's name
 * patterns, so a hostile name is a 400 before any handler, SQL or Redis key sees it. Bodies are
 * strict objects: unknown keys are refused, not ignored.
 */

export const NsParams = z.strictObject({ ns: Name });
export const EnvParams = z.strictObject({ ns: Name, env: Name });
export const TenantParams = z.strictObject({ ns: Name, env: Name, tenant: TenantId });
export const EnvKeyParams = z.strictObject({ ns: Name, env: Name, key: Key });
export const TenantKeyParams = z.strictObject({ ns: Name, env: Name, tenant: TenantId, key: Key });
export const EnvFlagParams = z.strictObject({ ns: Name, env: Name, flag: FlagKey });
export const TenantFlagParams = z.strictObject({ ns: Name, env: Name, tenant: TenantId, flag: FlagKey });
export const EnvSecretParams = z.strictObject({ ns: Name, env: Name, name: Key });
export const TenantSecretParams = z.strictObject({ ns: Name, env: Name, tenant: TenantId, name: Key });
export const TokenIdParams = z.strictObject({ id: z.string().regex(/^tok_[0-9a-f]{20}$/, 'a token id') });

const Reason = z.string().max(1000).optional().describe('Why: recorded with the event');

export const ManifestBody = z.strictObject({
  keys: z.record(z.string().max(200), z.record(z.string(), z.unknown())).optional(),
  flags: z.record(z.string().max(200), z.record(z.string(), z.unknown())).optional(),
  secrets: z.record(z.string().max(200), z.record(z.string(), z.unknown())).optional(),
  reason: Reason,
});

export const SetValueBody = z.strictObject({ value: z.unknown(), reason: Reason }).refine((b) => 'value' in b, {
  message: '"value" is required',
  path: ['value'],
});
export const UnsetValueBody = z.strictObject({ reason: Reason }).nullish();

/** Today's shorthand: the seed's percentage rollout and kill switch. */
export const FlagShorthandBody = z.strictObject({
  rollout: z.number().int().min(0).max(100),
  enabled: z.boolean(),
  variants: z
    .array(z.strictObject({ value: z.unknown(), weight: z.number().int().min(0).max(100) }))
    .max(100)
    .nullable()
    .optional()
    .describe('Weighted variants; omitted keeps the current ones, null removes them'),
  reason: Reason,
});
/** A full flagd definition; its meaning is checked by core, which names the path of each problem. */
export const FlagDefinitionBody = z.strictObject({
  state: z.unknown(),
  variants: z.unknown(),
  defaultVariant: z.unknown().optional(),
  targeting: z.unknown().optional(),
  metadata: z.unknown().optional(),
  reason: Reason,
});
export const FlagBody = z.union([FlagShorthandBody, FlagDefinitionBody]);
export const EnvSegmentParams = z.strictObject({
  ns: Name,
  env: Name,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, _ . -, at most 128'),
});
export const SegmentBody = z.strictObject({ logic: z.unknown(), reason: Reason });
/** A flagd file as flagd loads it; `reason` is Strata's, recorded with the events. */
export const FlagdFileBody = z.strictObject({
  $schema: z.string().optional(),
  flags: z.unknown(),
  $evaluators: z.unknown().optional(),
  metadata: z.unknown().optional(),
  reason: Reason,
});
export const PreviewBody = z.strictObject({
  /** The proposed definition, or the shorthand. */
  definition: z.unknown(),
  /** Contexts to evaluate; a context's targetingKey is its tenant. */
  contexts: z.array(z.record(z.string(), z.unknown())).max(10_000).optional(),
  /** `"seen"`: every tenant seen in this environment (its targeting key is the tenant). */
  tenants: z.union([z.literal('seen'), z.array(TenantId).max(10_000)]).optional(),
});
/** `{override}` forces on / off (null clears); `{variant}` pins one variant of the flag's definition. */
export const OverrideBody = z
  .strictObject({
    override: z.enum(['enabled', 'disabled']).nullable().optional(),
    variant: z.string().min(1).max(200).optional(),
    reason: Reason,
  })
  .refine((b) => (b.override === undefined) !== (b.variant === undefined), {
    message: 'give either "override" (enabled, disabled or null) or "variant", not both',
  });

export const SecretBody = z.strictObject({
  value: z.string().min(1).max(32_768),
  /** Until then the previous version stays readable (rotation without downtime). */
  previousReadableUntil: z.iso.datetime({ offset: true }).nullable().optional(),
  reason: Reason,
});

const Position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Time = z.iso.datetime({ offset: true });

export const ReadQuery = z.strictObject({
  minPosition: Position.optional(),
  at: Time.optional(),
  position: Position.optional(),
});
export const MinPositionQuery = z.strictObject({ minPosition: Position.optional() });
export const SecretQuery = z.strictObject({
  version: z.coerce.number().int().positive().optional(),
  minPosition: Position.optional(),
});

/** `GET /v1/secrets/due`: overdue secret versions, and those due within `within` (ISO 8601 duration, default none). */
export const SecretsDueQuery = z.strictObject({
  namespace: Name.optional(),
  env: Name.optional(),
  within: z.string().max(64).optional(),
});

/** `from`/`to` of a diff: a log position or an RFC 3339 time. */
export const PositionOrTime = z.union([
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
  Time,
]);
export const DiffQuery = z.strictObject({
  from: PositionOrTime,
  to: PositionOrTime.optional(),
  tenants: z.string().max(10_000).optional(),
});

export const RevertBody = z.strictObject({
  to: z.union([z.strictObject({ position: z.number().int().min(0) }), z.strictObject({ at: Time })]),
  tenants: z.array(TenantId).max(10_000).optional(),
  keys: z.array(Key).max(10_000).optional(),
  dryRun: z.boolean().default(false),
  reason: z.string().min(1).max(1000),
});

const EventType = z.string().regex(/^[A-Z][A-Za-z]{1,63}$/);
export const EventsQuery = z.strictObject({
  namespace: Name.optional(),
  env: Name.optional(),
  tenant: TenantId.optional(),
  key: Key.optional(),
  actor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_.:@-]+$/)
    .optional(),
  type: z.union([EventType, z.array(EventType).max(20)]).optional(),
  from: Time.optional(),
  to: Time.optional(),
  after: Position.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const ExportQuery = EventsQuery.extend({ limit: z.coerce.number().int().min(1).max(1_000_000).optional() });

export const IssueTokenBody = z.strictObject({
  role: z.enum(roles),
  namespace: Name.nullable().optional(),
  env: Name.nullable().optional(),
  tenant: TenantId.nullable().optional(),
  description: z.string().max(500).nullable().optional(),
  /** Short-lived credentials: refused with 401 "expired" from then on. */
  expiresAt: Time.nullable().optional(),
});

/** Longest grace a rotated token keeps working for, and the default. */
export const maxRotationGraceSeconds = 7 * 24 * 3600;
export const RotateTokenBody = z
  .strictObject({
    /** How long the old token keeps working (default 1 h, at most 7 days). */
    graceSeconds: z.number().int().min(0).max(maxRotationGraceSeconds).optional(),
    /** The successor's expiry; default: the same lifetime the old token was issued with (none if none). */
    expiresAt: Time.nullable().optional(),
    reason: Reason,
  })
  .nullish();

export const RebuildBody = z.strictObject({ reason: Reason }).nullish();

export const OfrepFlagParams = z.strictObject({ key: FlagKey });
export const OfrepBody = z.strictObject({
  context: z
    .object({
      targetingKey: z.string().max(10_000).optional(),
      namespace: z.string().max(200).optional(),
      environment: z.string().max(200).optional(),
    })
    .catchall(z.unknown())
    .optional(),
});

export const KeyReasonBody = z.strictObject({ reason: Reason }).nullish();
export const NsTenantParams = z.strictObject({ ns: Name, tenant: TenantId });

/** `GET …/changes`: `?tenant=` narrows to one tenant (plus environment-wide changes); `?after=` resumes. */
export const ChangesQuery = z.strictObject({
  tenant: TenantId.optional(),
  after: Position.optional(),
  /** `ofrep`: OFREP ADR 0008 `refetchEvaluation` messages instead of Strata's `change` events. */
  format: z.enum(['strata', 'ofrep']).default('strata'),
});
