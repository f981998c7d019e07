import type { FlagdDefinition, FlagVariant, ManifestDocument, NewEvent, RecordedEvent } from '../events.js';

/**
 * Builds recorded events of one scope with increasing positions, as a projector would receive them:
 * for specs and benchmarks of readers (the SDK, views) that need no log.
 */
export class EventFactory {
  constructor(
    readonly namespace: string,
    readonly environment: string,
    public position = 0,
  ) {}

  private record(event: Omit<NewEvent, 'metadata'>): RecordedEvent {
    this.position++;
    return {
      ...event,
      metadata: { actor: 'test' },
      position: this.position,
      eventId: `e${this.position}`,
      streamId: 'test',
      streamVersion: this.position,
      schemaVersion: 1,
      recordedAt: new Date().toISOString(),
      hash: '',
    } as RecordedEvent;
  }

  manifest(manifest: ManifestDocument): RecordedEvent {
    return this.record({ type: 'ManifestPublished', data: { namespace: this.namespace, manifest } });
  }

  set(key: string, value: unknown, tenant: string | null = null): RecordedEvent {
    return this.record({
      type: 'ConfigValueSet',
      data: { namespace: this.namespace, environment: this.environment, tenant, key, value },
    });
  }

  unset(key: string, tenant: string | null = null): RecordedEvent {
    return this.record({
      type: 'ConfigValueUnset',
      data: { namespace: this.namespace, environment: this.environment, tenant, key },
    });
  }

  rollout(flag: string, rollout: number, enabled = true, variants?: FlagVariant[]): RecordedEvent {
    return this.record({
      type: 'FlagRolloutChanged',
      data: {
        namespace: this.namespace,
        environment: this.environment,
        flag,
        rollout,
        enabled,
        ...(variants ? { variants } : {}),
      },
    });
  }

  definition(flag: string, definition: FlagdDefinition): RecordedEvent {
    return this.record({
      type: 'FlagDefinitionSet',
      data: { namespace: this.namespace, environment: this.environment, flag, definition },
    });
  }

  segment(segment: string, logic: unknown): RecordedEvent {
    return this.record({
      type: 'SegmentSet',
      data: { namespace: this.namespace, environment: this.environment, segment, logic },
    });
  }

  override(tenant: string, flag: string, override: 'enabled' | 'disabled' | null, variant?: string): RecordedEvent {
    return this.record({
      type: 'FlagOverrideSet',
      data: {
        namespace: this.namespace,
        environment: this.environment,
        tenant,
        flag,
        override,
        ...(variant === undefined ? {} : { variant }),
      },
    });
  }
}

/** The ShelfWise-like manifest the reader specs use (every flag type, a required key). */
export const shopManifest: ManifestDocument = {
  keys: {
    'rate_limit.requests_per_minute': { type: 'integer', default: 60, minimum: 1 },
    'checkout.currency': { type: 'string', default: 'EUR' },
    'search.page_size': { type: 'integer', default: 20 },
    'billing.api_url': { type: 'string', required: true },
  },
  flags: {
    new_checkout: { type: 'boolean', default: false },
    search_v2: { type: 'boolean' },
    theme: { type: 'string', default: 'classic' },
    discount: { type: 'number', default: 0 },
    layout: { type: 'object', default: { columns: 1 } },
  },
  secrets: {},
};
