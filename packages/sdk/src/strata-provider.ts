import { StrataError } from '@strata/core';
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderFatalError,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ProviderMetadata,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { shorthandDetails, type FlagType } from './flag-details.js';
import type { FlagResult } from './read-memos.js';
import type { StrataClient } from './strata-client.js';

export interface StrataProviderOptions {
  /** Close the client when OpenFeature closes the provider (default true). */
  closeClient?: boolean;
}

/**
 * OpenFeature server provider over a Strata client. The evaluation context (`targetingKey` — the
 * tenant — and attributes) is what flagd definitions are evaluated against, with flagd's reasons
 * (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED) and metadata. Shorthand flags: STATIC
 * (rollout 0 or 100, no variants), TARGETING_MATCH (tenant override), SPLIT (the tenant's bucket),
 * DEFAULT (not set here, manifest default), DISABLED (kill switch). Errors FLAG_NOT_FOUND,
 * TYPE_MISMATCH, TARGETING_KEY_MISSING, PARSE_ERROR, INVALID_CONTEXT, PROVIDER_NOT_READY answer
 * the caller's default. Never throws.
 */
export class StrataProvider implements Provider {
  readonly metadata: ProviderMetadata = { name: 'strata' };
  readonly runsOn = 'server' as const;
  /**
   * Driven by the client: ConfigurationChanged with `flagsChanged` once per applied batch that
   * changed flags, Stale while the client cannot confirm its state (Redis unreachable), Ready when
   * it is current again. A failing `initialize()` is reported by OpenFeature itself: as Error when
   * the client may still load (Redis unreachable, a required key missing: Ready follows once it
   * has), as Fatal when it never can (it is closed, or environment variables it was started with
   * fail the manifest); a fatal provider reports nothing after that, so it stays FATAL and every
   * evaluation answers PROVIDER_FATAL with the caller's default.
   */
  readonly events = new OpenFeatureEventEmitter();
  private readonly unsubscribe: (() => void)[];
  /** Flags changed by the batch being applied; one event per batch, not per flag and tenant. */
  private pendingFlags: Set<string> | null = null;
  /** What OpenFeature was last told, so each transition is reported once. */
  private reported: 'initializing' | 'ready' | 'stale' | 'error' | 'fatal' = 'initializing';

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
        if (this.reported === 'fatal') return;
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
      if (error instanceof StrataError && (error.details as { fatal?: unknown } | undefined)?.fatal === true) {
        this.reported = 'fatal';
        throw new ProviderFatalError(error.message);
      }
      // OpenFeature reports PROVIDER_ERROR; the client keeps loading and Ready follows when it has.
      this.reported = 'error';
      throw error;
    }
  }

  async onClose(): Promise<void> {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    if (this.options.closeClient !== false) await this.client.close();
  }

  readonly resolveBooleanEvaluation = this.resolver<boolean>('boolean');
  readonly resolveStringEvaluation = this.resolver<string>('string');
  readonly resolveNumberEvaluation = this.resolver<number>('number');

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolveSync(flagKey, defaultValue, context, 'object'));
  }

  /** OpenFeature's async resolve method for one type, over `resolveSync`. */
  private resolver<T>(type: FlagType) {
    return (flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> =>
      Promise.resolve(this.resolveSync(flagKey, defaultValue, context, type));
  }

  /**
   * The synchronous core of every resolve method (also what benchmarks measure): the client's
   * typed details, so a flagd definition is evaluated against the whole context.
   */
  resolveSync<T>(flagKey: string, defaultValue: T, context: EvaluationContext, type: FlagType): ResolutionDetails<T> {
    try {
      const { flagKey: _, errorCode, ...details } = this.client.details(flagKey, type, context, defaultValue);
      return errorCode === undefined ? details : { ...details, errorCode: errorCode as ErrorCode };
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

/** Maps a Strata shorthand flag decision to OpenFeature's reasons and error codes. */
export const toDetails = <T>(result: FlagResult, defaultValue: T, type: FlagType): ResolutionDetails<T> => {
  const { flagKey: _, errorCode, ...details } = shorthandDetails(result, defaultValue, type);
  return errorCode === undefined ? details : { ...details, errorCode: errorCode as ErrorCode };
};
