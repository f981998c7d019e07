import type { SetFlagDefinition, SetFlagOverride } from '../commands.js';
import { newEvent, type EventMetadata, type ManifestDocument, type NewEvent, type SecretEnvelope } from '../events.js';

/** Event builders for specs and benchmarks of every package: a shop manifest and one maker per event. */

export const meta: EventMetadata = { actor: 'admin', reason: 'test' };

export const manifest: ManifestDocument = {
  keys: {
    'rate_limit.requests_per_minute': {
      type: 'integer',
      default: 100,
      minimum: 1,
      maximum: 10000,
      description: 'per tenant',
    },
    'search.provider': { type: 'string', enum: ['elastic', 'algolia'], default: 'elastic' },
    'ui.theme_color': { type: 'string', pattern: '^#[0-9a-f]{6}$' },
    'billing.currency': { type: 'string', mutable: false, minLength: 3, maxLength: 3 },
    'features.ratio': { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
    'emails.enabled': { type: 'boolean', default: true },
    'api.token_hint': { type: 'string', secret: true, minLength: 8 },
  },
  flags: {
    new_checkout: { type: 'boolean', description: 'new checkout flow' },
    search_v2: { type: 'boolean', default: true },
    pricing_page: { type: 'string' },
  },
  secrets: { stripe_api_key: { description: 'Stripe' }, db_password: {} },
};

export const envelope = (tag: string): SecretEnvelope => ({
  alg: 'AES-256-GCM',
  kek: 'master-1',
  wrappedKey: `wk-${tag}`,
  iv: `iv-${tag}`,
  ciphertext: `ct-${tag}`,
  tag: `tag-${tag}`,
});

const scope = { namespace: 'shop', environment: 'prod' };

/** A `ConfigValueSet` in shop/prod by `admin` unless the scope says otherwise. */
export const configValueSet = (
  key: string,
  value: unknown,
  at: { namespace?: string; environment?: string; tenant?: string | null; actor?: string } = {},
): NewEvent =>
  newEvent(
    'ConfigValueSet',
    {
      namespace: at.namespace ?? scope.namespace,
      environment: at.environment ?? scope.environment,
      tenant: at.tenant ?? null,
      key,
      value,
    },
    at.actor === undefined ? meta : { ...meta, actor: at.actor },
  );

export const ev = {
  manifest: (m: ManifestDocument = manifest, namespace = 'shop'): NewEvent =>
    newEvent('ManifestPublished', { namespace, manifest: m }, meta),
  set: (tenant: string | null, key: string, value: unknown, s = scope): NewEvent =>
    configValueSet(key, value, { ...s, tenant }),
  unset: (tenant: string | null, key: string, s = scope): NewEvent =>
    newEvent('ConfigValueUnset', { ...s, tenant, key }, meta),
  rollout: (
    flag: string,
    rollout: number,
    enabled = true,
    variants?: Array<{ value: unknown; weight: number }>,
  ): NewEvent =>
    newEvent(
      'FlagRolloutChanged',
      variants ? { ...scope, flag, rollout, enabled, variants } : { ...scope, flag, rollout, enabled },
      meta,
    ),
  override: (tenant: string, flag: string, override: 'enabled' | 'disabled' | null): NewEvent =>
    newEvent('FlagOverrideSet', { ...scope, tenant, flag, override }, meta),
  secret: (tenant: string | null, name: string, version: number, tag = `${name}-${version}`): NewEvent =>
    newEvent(
      'SecretVersionAdded',
      { ...scope, tenant, name, version, envelope: envelope(tag), previousReadableUntil: null },
      meta,
    ),
  deleteSecret: (tenant: string | null, name: string): NewEvent =>
    newEvent('SecretDeleted', { ...scope, tenant, name }, meta),
};

/** Command makers for decider specs, in shop/prod by `admin`. */
export const cmd = {
  setFlagDefinition: (flag: string, definition: unknown): SetFlagDefinition => ({
    type: 'SetFlagDefinition',
    ...scope,
    flag,
    definition,
    metadata: meta,
  }),
  setFlagOverride: (
    tenant: string,
    flag: string,
    override: SetFlagOverride['override'],
    variant?: string,
  ): SetFlagOverride => ({
    type: 'SetFlagOverride',
    ...scope,
    tenant,
    flag,
    override,
    ...(variant === undefined ? {} : { variant }),
    metadata: meta,
  }),
};
