import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ProviderMetadata,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { FlagResult, StrataClient } from './strata-client.js';

type FlagType = 'boolean' | 'string' | 'number' | 'object';

export interface StrataProviderOptions {
  /** Close the client when OpenFeature closes the provider (default true). */
  closeClient?: boolean;
}

/**
 * OpenFeature server provider over a Strata client. The evaluation context's `targetingKey` is
 * the tenant. Reasons: STATIC (rollout 0 or 100, no variants: the same for everyone),
 * TARGETING_MATCH (tenant override), SPLIT (decided by the tenant's bucket), DEFAULT (not set in
 * this environment, manifest default), DISABLED (kill switch); errors FLAG_NOT_FOUND,
 * TYPE_MISMATCH, TARGETING_KEY_MISSING, PROVIDER_NOT_READY answer the caller's default. Never throws.
 */
export class StrataProvider implements Provider {
  readonly metadata: ProviderMetadata = { name: 'strata' };
  readonly runsOn = 'server' as const;
  /**
   * Driven by the client: ConfigurationChanged with `flagsChanged` once per applied batch that
   * changed flags, Stale while the client cannot confirm its state (Redis unreachable), Ready when
   * it is current again. A failing `initialize()` is reported by OpenFeature itself as Error.
   */
  readonly events = new OpenFeatureEventEmitter();
  private readonly unsubscribe: (() => void)[];
  /** Flags changed by the batch being applied; one event per batch, not per flag and tenant. */
  private pendingFlags: Set<string> | null = null;
  /** What OpenFeature was last told, so each transition is reported once. */
  private reported: 'initializing' | 'ready' | 'stale' | 'error' = 'initializing';

  constructor(
    readonly client: StrataClient,
    private readonly options: StrataProviderOptions = {},
  ) {
    this.unsubscribe = [
      client.onChange('', (event) => {
        if (event.kind !== 'flag') return;
        if (this.pendingFlags === null) {
          this.pendingFlags = new Set();
          // The client fires a batch's listeners synchronously: collect them, then emit once.
          queueMicrotask(() => {
            const flagsChanged = [...(this.pendingFlags ?? [])].sort();
            this.pendingFlags = null;
            this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
          });
        }
        this.pendingFlags.add(event.key);
      }),
      client.onStatusChange((status) => {
        if (status.stale)
          this.events.emit(ProviderEvents.Stale, { message: status.error ?? 'strata: connection lost' });
        else if (status.ready) this.events.emit(ProviderEvents.Ready);
      }),
    ];
  }

  /** Resolves when the client loaded its view; OpenFeature then reports the provider ready. */
  async initialize(): Promise<void> {
    try {
      await this.client.ready();
      this.reported = 'ready';
    } catch (error) {
      // OpenFeature reports PROVIDER_ERROR; the client keeps loading and Ready follows when it has.
      this.reported = 'error';
      throw error;
    }
  }

  async onClose(): Promise<void> {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    if (this.options.closeClient !== false) await this.client.close();
  }

  resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolveSync(flagKey, defaultValue, context, 'boolean'));
  }

  resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolveSync(flagKey, defaultValue, context, 'string'));
  }

  resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolveSync(flagKey, defaultValue, context, 'number'));
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolveSync(flagKey, defaultValue, context, 'object'));
  }

  /** The synchronous core of every resolve method (also what benchmarks measure). */
  resolveSync<T>(flagKey: string, defaultValue: T, context: EvaluationContext, type: FlagType): ResolutionDetails<T> {
    try {
      const tenant =
        typeof context.targetingKey === 'string' && context.targetingKey !== '' ? context.targetingKey : undefined;
      const result = this.client.evaluate(flagKey, tenant === undefined ? undefined : { tenant });
      return toDetails(result, defaultValue, type);
    } catch (error) {
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.GENERAL,
        errorMessage: String(error),
      };
    }
  }
}

const error = <T>(value: T, errorCode: ErrorCode, errorMessage: string, result?: FlagResult): ResolutionDetails<T> => ({
  value,
  reason: StandardResolutionReasons.ERROR,
  errorCode,
  errorMessage,
  ...(result ? { flagMetadata: { position: result.position } } : {}),
});

const matchesType = (value: unknown, type: FlagType): boolean =>
  type === 'object' ? typeof value === 'object' && value !== null : typeof value === type;

/** Maps a Strata flag decision to OpenFeature's reasons and error codes. */
export const toDetails = <T>(result: FlagResult, defaultValue: T, type: FlagType): ResolutionDetails<T> => {
  const { flag } = result;
  if (result.notReady)
    return error(defaultValue, ErrorCode.PROVIDER_NOT_READY, `strata: ${flag}: the client has not loaded its view yet`);
  if (!result.known && !result.declared)
    return error(defaultValue, ErrorCode.FLAG_NOT_FOUND, `strata: flag ${flag} is neither set nor declared`, result);
  if (result.tenantMissing)
    return error(
      defaultValue,
      ErrorCode.TARGETING_KEY_MISSING,
      `strata: ${flag} is rolled out by tenant; give targetingKey`,
      result,
    );
  const declaredType = result.declared?.type;
  if (declaredType !== undefined && declaredType !== type) {
    return error(
      defaultValue,
      ErrorCode.TYPE_MISMATCH,
      `strata: ${flag} is a ${declaredType} flag, not ${type}`,
      result,
    );
  }
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
    return error(
      defaultValue,
      ErrorCode.TYPE_MISMATCH,
      `strata: ${flag} resolved to a ${typeof value}, not ${type}`,
      result,
    );
  const reason =
    result.reason === 'override'
      ? StandardResolutionReasons.TARGETING_MATCH
      : result.reason === 'disabled'
        ? StandardResolutionReasons.DISABLED
        : result.reason === 'default'
          ? StandardResolutionReasons.DEFAULT
          : result.split
            ? StandardResolutionReasons.SPLIT
            : StandardResolutionReasons.STATIC;
  return { value: value as T, variant, reason, flagMetadata: { position: result.position, stale: result.stale } };
};
