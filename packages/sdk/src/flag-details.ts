import type { FlagMetadata, FlagResolution, ResolutionErrorCode, ResolutionReason } from '@strata/core';
import type { FlagResult } from './read-memos.js';

/**
 * Typed flag answers in OpenFeature's vocabulary (reasons, error codes, metadata), shared by the
 * client's `getBoolean|getString|getNumber|getObject` and the OpenFeature provider. The values of
 * definitions come from core's one evaluator (`resolveFlag`); this only checks types and fills in
 * the caller's default. Never throws.
 */

export type FlagType = 'boolean' | 'string' | 'number' | 'object';

export type DetailsErrorCode = ResolutionErrorCode | 'PROVIDER_NOT_READY';

export interface FlagDetails<T> {
  readonly flagKey: string;
  /** The flag's value, or the caller's default on DISABLED, DEFAULT without a default variant, and errors. */
  readonly value: T;
  readonly variant?: string;
  readonly reason: ResolutionReason;
  readonly errorCode?: DetailsErrorCode;
  readonly errorMessage?: string;
  readonly flagMetadata: FlagMetadata;
}

export const matchesType = (value: unknown, type: FlagType): boolean =>
  type === 'object' ? typeof value === 'object' && value !== null : typeof value === type;

const failed = <T>(
  flagKey: string,
  value: T,
  errorCode: DetailsErrorCode,
  errorMessage: string,
  flagMetadata: FlagMetadata = {},
): FlagDetails<T> => ({ flagKey, value, reason: 'ERROR', errorCode, errorMessage, flagMetadata });

export const notReady = <T>(flagKey: string, defaultValue: T): FlagDetails<T> =>
  failed(flagKey, defaultValue, 'PROVIDER_NOT_READY', `strata: ${flagKey}: the client has not loaded its view yet`);

/** A definition's resolution as typed details: TYPE_MISMATCH when the value is not a `type`. */
export const typedDetails = <T>(
  flagKey: string,
  r: FlagResolution,
  type: FlagType,
  defaultValue: T,
): FlagDetails<T> => {
  // The hot path: core's answers are frozen and shared, and already carry everything.
  if (r.value !== undefined && r.errorCode === undefined && matchesType(r.value, type)) return r as FlagDetails<T>;
  if (r.errorCode) return failed(flagKey, defaultValue, r.errorCode, r.errorMessage ?? r.errorCode, r.flagMetadata);
  if (r.value === undefined) return { flagKey, value: defaultValue, reason: r.reason, flagMetadata: r.flagMetadata };
  return failed(
    flagKey,
    defaultValue,
    'TYPE_MISMATCH',
    `strata: ${flagKey} is a ${Array.isArray(r.value) ? 'array' : typeof r.value} flag, not ${type}`,
    r.flagMetadata,
  );
};

/**
 * A `{rollout, enabled}` shorthand decision (core `evaluateFlag`) as typed details. Reasons:
 * STATIC (rollout 0 or 100, no variants: the same for everyone), TARGETING_MATCH (tenant
 * override), SPLIT (decided by the tenant's bucket), DEFAULT (not set in this environment,
 * manifest default), DISABLED (kill switch).
 */
export const shorthandDetails = <T>(result: FlagResult, defaultValue: T, type: FlagType): FlagDetails<T> => {
  const { flag } = result;
  if (result.notReady) return notReady(flag, defaultValue);
  const metadata = { position: result.position };
  if (!result.known && !result.declared)
    return failed(flag, defaultValue, 'FLAG_NOT_FOUND', `flag ${flag} not found (neither set nor declared)`, metadata);
  if (result.tenantMissing)
    return failed(
      flag,
      defaultValue,
      'TARGETING_KEY_MISSING',
      `strata: ${flag} is rolled out by tenant; give targetingKey`,
      metadata,
    );
  const declaredType = result.declared?.type;
  if (declaredType !== undefined && declaredType !== type)
    return failed(
      flag,
      defaultValue,
      'TYPE_MISMATCH',
      `strata: ${flag} is a ${declaredType} flag, not ${type}`,
      metadata,
    );
  let value: unknown;
  let variant: string;
  if (type === 'boolean') {
    value = result.enabled;
    variant = result.enabled ? 'on' : 'off';
  } else {
    // Non-boolean flags: the tenant's variant while enabled, else the manifest default, else the caller's.
    value =
      result.enabled && result.variant !== undefined ? result.variant : (result.declared?.default ?? defaultValue);
    variant = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (!matchesType(value, type))
    return failed(
      flag,
      defaultValue,
      'TYPE_MISMATCH',
      `strata: ${flag} resolved to a ${typeof value}, not ${type}`,
      metadata,
    );
  const reason: ResolutionReason =
    result.reason === 'override' || result.reason === 'targeting'
      ? 'TARGETING_MATCH'
      : result.reason === 'disabled'
        ? 'DISABLED'
        : result.reason === 'default'
          ? 'DEFAULT'
          : result.split
            ? 'SPLIT'
            : 'STATIC';
  return {
    flagKey: flag,
    value: value as T,
    variant,
    reason,
    flagMetadata: { position: result.position, stale: result.stale },
  };
};
