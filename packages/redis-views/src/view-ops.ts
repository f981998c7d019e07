import type { RecordedEvent } from '@strata/core';
import { secretField, viewTag } from './key-layout.js';

/**
 * A change notification, published on `<prefix>changes:{ns/env}` (or `{ns}` for manifests) and on
 * `<prefix>changes`. `kind: 'generation'` announces that a rebuilt generation went live: every
 * cached view should be reloaded.
 */
export interface ViewChange {
  kind: 'change' | 'generation';
  namespace: string | null;
  environment: string | null;
  tenant: string | null;
  keys: string[];
  flags: string[];
  secrets: string[];
  /** Segments changed (absent before segments existed): every flag may use them. */
  segments?: string[];
  position: number;
  generation: number;
}

/**
 * One event encoded for the apply script: `[position, op, a, b, c, d, message]`, all strings, so
 * the script does no JSON work on the hot path. Stored values are JSON built here.
 */
export type OpTuple = [string, string, string, string, string, string, string];

export interface ViewOp {
  tag: string;
  tuple: OpTuple;
}

const noMessage = (..._args: unknown[]): string => '';

const changeMessage = (
  event: RecordedEvent,
  namespace: string,
  environment: string | null,
  tenant: string | null,
  touched: { keys?: string[]; flags?: string[]; secrets?: string[]; segments?: string[] },
): string => {
  const body: Omit<ViewChange, 'generation'> = {
    kind: 'change',
    namespace,
    environment,
    tenant,
    keys: touched.keys ?? [],
    flags: touched.flags ?? [],
    secrets: touched.secrets ?? [],
    ...(touched.segments ? { segments: touched.segments } : {}),
    position: event.position,
  };
  // The script appends `,"generation":N}` once it knows which generation it wrote to.
  return JSON.stringify(body).slice(0, -1);
};

/**
 * The view operation an event implies, or null for events no view holds (tokens, key rotation).
 * `notify: false` leaves the message out (rebuilds publish nothing per event).
 */
export const viewOpOf = (event: RecordedEvent, notify = true): ViewOp | null => {
  const p = String(event.position);
  const change = notify ? changeMessage : noMessage;
  switch (event.type) {
    case 'ConfigValueSet': {
      const { namespace, environment, tenant, key, value } = event.data;
      const stored = JSON.stringify({ value, position: event.position, changedAt: event.recordedAt });
      return {
        tag: viewTag(namespace, environment),
        tuple: [p, 'cs', tenant ?? '', key, stored, '', change(event, namespace, environment, tenant, { keys: [key] })],
      };
    }
    case 'ConfigValueUnset': {
      const { namespace, environment, tenant, key } = event.data;
      return {
        tag: viewTag(namespace, environment),
        tuple: [p, 'cu', tenant ?? '', key, '', '', change(event, namespace, environment, tenant, { keys: [key] })],
      };
    }
    case 'FlagRolloutChanged': {
      const { namespace, environment, flag, rollout, enabled, variants } = event.data;
      const stored = JSON.stringify({
        rollout,
        enabled,
        variants,
        position: event.position,
        changedAt: event.recordedAt,
      });
      return {
        tag: viewTag(namespace, environment),
        tuple: [p, 'fr', '', flag, stored, '', change(event, namespace, environment, null, { flags: [flag] })],
      };
    }
    case 'FlagDefinitionSet': {
      const { namespace, environment, flag, definition } = event.data;
      // Stored as core's FlagEntry, like the shorthand's, so readers fold nothing.
      const stored = JSON.stringify({
        definition,
        rollout: 0,
        enabled: definition.state === 'ENABLED',
        position: event.position,
        changedAt: event.recordedAt,
      });
      return {
        tag: viewTag(namespace, environment),
        tuple: [p, 'fr', '', flag, stored, '', change(event, namespace, environment, null, { flags: [flag] })],
      };
    }
    case 'SegmentSet':
    case 'SegmentDeleted': {
      const { namespace, environment, segment } = event.data;
      const stored =
        event.type === 'SegmentSet'
          ? JSON.stringify({ logic: event.data.logic, position: event.position, changedAt: event.recordedAt })
          : '';
      return {
        tag: viewTag(namespace, environment),
        tuple: [
          p,
          event.type === 'SegmentSet' ? 'gs' : 'gd',
          '',
          segment,
          stored,
          '',
          change(event, namespace, environment, null, { segments: [segment] }),
        ],
      };
    }
    case 'FlagOverrideSet': {
      const { namespace, environment, tenant, flag, override, variant } = event.data;
      const stored =
        override === null
          ? ''
          : JSON.stringify({ override, variant, position: event.position, changedAt: event.recordedAt });
      return {
        tag: viewTag(namespace, environment),
        tuple: [p, 'fo', tenant, flag, stored, '', change(event, namespace, environment, tenant, { flags: [flag] })],
      };
    }
    case 'SecretVersionAdded': {
      const { namespace, environment, tenant, name, version, envelope, previousReadableUntil } = event.data;
      // Ciphertext envelope only: plaintext never reaches an event, so it cannot reach Redis.
      const entry = JSON.stringify({
        version,
        envelope,
        position: event.position,
        addedAt: event.recordedAt,
        previousReadableUntil,
      });
      return {
        tag: viewTag(namespace, environment),
        tuple: [
          p,
          'sa',
          tenant ?? '',
          secretField(tenant, name),
          entry,
          '',
          change(event, namespace, environment, tenant, { secrets: [name] }),
        ],
      };
    }
    case 'SecretDeleted': {
      const { namespace, environment, tenant, name } = event.data;
      return {
        tag: viewTag(namespace, environment),
        tuple: [
          p,
          'sd',
          tenant ?? '',
          secretField(tenant, name),
          '',
          '',
          change(event, namespace, environment, tenant, { secrets: [name] }),
        ],
      };
    }
    case 'ManifestPublished': {
      const { namespace, manifest } = event.data;
      const stored = JSON.stringify({ manifest, position: event.position, publishedAt: event.recordedAt });
      return {
        tag: viewTag(namespace, null),
        tuple: [p, 'mp', '', '', stored, '', change(event, namespace, null, null, {})],
      };
    }
    case 'TenantKeyShredded': {
      const { namespace, tenant, keyId } = event.data;
      const stored = JSON.stringify({ keyId, position: event.position, shreddedAt: event.recordedAt });
      return {
        tag: viewTag(namespace, null),
        tuple: [p, 'ks', tenant, '', stored, '', change(event, namespace, null, tenant, {})],
      };
    }
    default:
      return null;
  }
};
