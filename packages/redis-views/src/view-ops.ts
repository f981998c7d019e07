import type { ProjectedEvent } from '@strata/core';
import { secretField, viewTag } from './key-layout.js';

/**
 * A change notification. Every message on `<prefix>changes:{ns/env}` (or `{ns}` for manifests) and
 * on `<prefix>changes` is a JSON array of them: the events one apply call wrote to one view, in
 * position order, or the one `kind: 'generation'` notice that a rebuilt generation went live
 * (every cached view should be reloaded).
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

/** The notifications one message on a change channel carries, in position order. */
export const parseViewChanges = (message: string): ViewChange[] => {
  const parsed = JSON.parse(message) as ViewChange[] | ViewChange;
  return Array.isArray(parsed) ? parsed : [parsed];
};

/**
 * One event encoded for the apply script: `[position, op, a, b, c, message]`, all strings, so the
 * script does no JSON work on the hot path. Stored values are JSON built here. `message` is the
 * event's notification without its closing `,"generation":N}`, which the script appends once it
 * knows the generation it wrote to ('' when nothing is published).
 */
export type OpTuple = [string, string, string, string, string, string];

export interface ViewOp {
  tag: string;
  tuple: OpTuple;
}

/** What an event changed, for its notification: at most one name of one kind. */
type Touched = 'keys' | 'flags' | 'secrets' | 'segments' | null;

const quoted = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/**
 * A ViewChange as `JSON.stringify` would write it (same members, same order) minus the generation,
 * built as one string: this runs for every event the projector applies.
 */
const changeMessage = (
  position: string,
  namespace: string,
  environment: string | null,
  tenant: string | null,
  touched: Touched,
  name: string,
): string => {
  const names = (kind: Touched) => (touched === kind ? `[${JSON.stringify(name)}]` : '[]');
  return (
    `{"kind":"change","namespace":${quoted(namespace)},"environment":${quoted(environment)},` +
    `"tenant":${quoted(tenant)},"keys":${names('keys')},"flags":${names('flags')},"secrets":${names('secrets')},` +
    `${touched === 'segments' ? `"segments":${names('segments')},` : ''}"position":${position}`
  );
};

/**
 * The op at position `p` on view (namespace, environment), notifying (when `notify`) that `tenant`
 * changed `name` (a `touched`). Module-level rather than a closure in `viewOpOf`: that runs for
 * every event a rebuild reads, and a closure per event is garbage.
 */
const viewOp = (
  p: string,
  notify: boolean,
  namespace: string,
  environment: string | null,
  code: string,
  a: string,
  b: string,
  c: string,
  tenant: string | null,
  touched: Touched,
  name = b,
): ViewOp => ({
  tag: viewTag(namespace, environment),
  tuple: [p, code, a, b, c, notify ? changeMessage(p, namespace, environment, tenant, touched, name) : ''],
});

/**
 * The view operation an event implies, or null for events no view holds (tokens, key rotation).
 * `notify: false` leaves the message out (rebuilds publish nothing per event).
 */
export const viewOpOf = (event: ProjectedEvent, notify = true): ViewOp | null => {
  const p = String(event.position);
  switch (event.type) {
    case 'ConfigValueSet': {
      const { namespace, environment, tenant, key, value } = event.data;
      const stored = JSON.stringify({ value, position: event.position, changedAt: event.recordedAt });
      return viewOp(p, notify, namespace, environment, 'cs', tenant ?? '', key, stored, tenant, 'keys');
    }
    case 'ConfigValueUnset': {
      const { namespace, environment, tenant, key } = event.data;
      return viewOp(p, notify, namespace, environment, 'cu', tenant ?? '', key, '', tenant, 'keys');
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
      return viewOp(p, notify, namespace, environment, 'fr', '', flag, stored, null, 'flags');
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
      return viewOp(p, notify, namespace, environment, 'fr', '', flag, stored, null, 'flags');
    }
    case 'SegmentSet': {
      const { namespace, environment, segment, logic } = event.data;
      const stored = JSON.stringify({ logic, position: event.position, changedAt: event.recordedAt });
      return viewOp(p, notify, namespace, environment, 'gs', '', segment, stored, null, 'segments');
    }
    case 'SegmentDeleted': {
      const { namespace, environment, segment } = event.data;
      return viewOp(p, notify, namespace, environment, 'gd', '', segment, '', null, 'segments');
    }
    case 'FlagOverrideSet': {
      const { namespace, environment, tenant, flag, override, variant } = event.data;
      const stored =
        override === null
          ? ''
          : JSON.stringify({ override, variant, position: event.position, changedAt: event.recordedAt });
      return viewOp(p, notify, namespace, environment, 'fo', tenant, flag, stored, tenant, 'flags');
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
      return viewOp(
        p,
        notify,
        namespace,
        environment,
        'sa',
        tenant ?? '',
        secretField(tenant, name),
        entry,
        tenant,
        'secrets',
        name,
      );
    }
    case 'SecretDeleted': {
      const { namespace, environment, tenant, name } = event.data;
      return viewOp(
        p,
        notify,
        namespace,
        environment,
        'sd',
        tenant ?? '',
        secretField(tenant, name),
        '',
        tenant,
        'secrets',
        name,
      );
    }
    case 'ManifestPublished': {
      const { namespace, manifest } = event.data;
      const stored = JSON.stringify({ manifest, position: event.position, publishedAt: event.recordedAt });
      return viewOp(p, notify, namespace, null, 'mp', '', '', stored, null, null);
    }
    case 'TenantKeyShredded': {
      const { namespace, tenant, keyId } = event.data;
      const stored = JSON.stringify({ keyId, position: event.position, shreddedAt: event.recordedAt });
      return viewOp(p, notify, namespace, null, 'ks', tenant, '', stored, tenant, null);
    }
    default:
      return null;
  }
};
