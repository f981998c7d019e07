import { streamIds, type ManifestDocument, type NewEvent, type RecordedEvent } from '../events.js';
import { fold, initialState, stateToJson, type NamespaceEnvState } from '../scope-state.js';
import { onOffFlag, segmentThenFraction } from './flagd-definitions.js';

/**
 * Deterministic mixes of valid events over a few namespaces, environments and tenants, for specs
 * and benchmarks of projections and views.
 */

export const sampleScopes = [
  { namespace: 'shelfwise', environment: 'prod' },
  { namespace: 'shelfwise', environment: 'staging' },
  { namespace: 'billing', environment: 'prod' },
] as const;
export const sampleTenants = ['acme', 'globex', 'initech', 'umbrella', 'constructor'] as const;
export const sampleKeys = ['checkout.timeout_ms', 'search.page_size', 'theme.color', 'limits.rpm'] as const;
export const sampleFlags = ['new_checkout', 'dark_mode', 'ai_search'] as const;

export const sampleManifest = (revision: number): ManifestDocument => ({
  keys: {
    'checkout.timeout_ms': { type: 'integer', default: 3000 + revision },
    'search.page_size': { type: 'integer', default: 20 },
    'theme.color': { type: 'string', default: 'blue' },
    // `limits.rpm` has no default: resolution must leave it out when no layer sets it.
    'limits.rpm': { type: 'integer' },
  },
  flags: {
    new_checkout: { type: 'boolean', default: true },
    dark_mode: { type: 'boolean' },
    ai_search: { type: 'boolean' },
  },
  secrets: { api_key: { description: 'partner API key' } },
});

/** A small seeded PRNG (mulberry32): the same seed gives the same events everywhere. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const b64 = (random: () => number) => btoa(String(random()));

/** One random valid event; `i` makes values distinct. */
export const sampleEvent = (random: () => number, i: number): NewEvent => {
  const { namespace, environment } = pick(random, sampleScopes);
  const tenant = random() < 0.6 ? pick(random, sampleTenants) : null;
  const metadata = { actor: 'test', reason: `sample ${i}` };
  const roll = random();
  if (roll < 0.02) return { type: 'ManifestPublished', data: { namespace, manifest: sampleManifest(i) }, metadata };
  if (roll < 0.5)
    return {
      type: 'ConfigValueSet',
      data: { namespace, environment, tenant, key: pick(random, sampleKeys), value: i },
      metadata,
    };
  if (roll < 0.6)
    return {
      type: 'ConfigValueUnset',
      data: { namespace, environment, tenant, key: pick(random, sampleKeys) },
      metadata,
    };
  if (roll < 0.72) {
    const kind = random();
    if (kind < 0.15)
      return {
        type: 'FlagDefinitionSet',
        data: {
          namespace,
          environment,
          flag: pick(random, sampleFlags),
          definition: {
            ...onOffFlag(segmentThenFraction('beta', 10), random() < 0.8 ? 'ENABLED' : 'DISABLED'),
            metadata: { revision: i },
          },
        },
        metadata,
      };
    if (kind < 0.25)
      return random() < 0.8
        ? {
            type: 'SegmentSet',
            data: { namespace, environment, segment: 'beta', logic: { in: [{ var: 'targetingKey' }, [`t${i}`]] } },
            metadata,
          }
        : { type: 'SegmentDeleted', data: { namespace, environment, segment: 'beta' }, metadata };
    return {
      type: 'FlagRolloutChanged',
      data: {
        namespace,
        environment,
        flag: pick(random, sampleFlags),
        rollout: Math.floor(random() * 101),
        enabled: random() < 0.8,
        ...(random() < 0.3
          ? {
              variants: [
                { value: 'a', weight: 50 },
                { value: 'b', weight: 50 },
              ],
            }
          : {}),
      },
      metadata,
    };
  }
  if (roll < 0.85) {
    const override = random() < 0.3 ? null : random() < 0.5 ? 'enabled' : 'disabled';
    return {
      type: 'FlagOverrideSet',
      data: { namespace, environment, tenant: pick(random, sampleTenants), flag: pick(random, sampleFlags), override },
      metadata,
    };
  }
  if (roll < 0.95) {
    return {
      type: 'SecretVersionAdded',
      data: {
        namespace,
        environment,
        tenant,
        name: 'api_key',
        version: i + 1,
        envelope: {
          alg: 'AES-256-GCM',
          kek: 'master-1',
          wrappedKey: b64(random),
          iv: b64(random),
          ciphertext: b64(random),
          tag: b64(random),
        },
        previousReadableUntil: random() < 0.5 ? '2030-01-01T00:00:00.000Z' : null,
      },
      metadata,
    };
  }
  if (roll < 0.98)
    return { type: 'SecretDeleted', data: { namespace, environment, tenant, name: 'api_key' }, metadata };
  return {
    type: 'TokenIssued',
    data: { tokenId: `t${i}`, role: 'reader', namespace, environment, tenant, description: null },
    metadata,
  };
};

export const sampleEvents = (count: number, seed = 1, from = 0): NewEvent[] => {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => sampleEvent(random, from + i));
};

/** The stream a command would append the event to. */
export const sampleStreamId = (event: NewEvent): string => {
  const data = event.data as { namespace?: string; environment?: string; tenant?: string | null };
  if (event.type === 'ManifestPublished') return streamIds.manifest(data.namespace!);
  if (event.type === 'TokenIssued' || event.type === 'TokenRevoked') return streamIds.tokens();
  return streamIds.scope(data.namespace!, data.environment!, data.tenant ?? null);
};

/** Events as if recorded at positions 1, 2, … (for specs that do not need a real log). */
export const recordEvents = (events: readonly NewEvent[], firstPosition = 1): RecordedEvent[] =>
  events.map((event, i) => {
    const position = firstPosition + i;
    return {
      ...event,
      position,
      eventId: `e${position}`,
      streamId: sampleStreamId(event),
      streamVersion: position,
      schemaVersion: 1,
      recordedAt: new Date(Date.UTC(2026, 0, 1) + position * 1000).toISOString(),
      hash: 'x',
    } as RecordedEvent;
  });

/** A state in a form `toEqual` compares exactly (secrets in a stable order). */
export const comparableState = (state: NamespaceEnvState) => {
  const json = stateToJson(state);
  json.secrets.sort((a, b) => `${a.tenant}/${a.name}`.localeCompare(`${b.tenant}/${b.name}`));
  return json;
};

/** Core's fold of the log (up to `upTo`) for one scope, with positions as a view reports them. */
export const expectedViewState = (
  events: readonly RecordedEvent[],
  namespace: string,
  environment: string,
  upTo = Infinity,
) => {
  const state = fold(
    initialState(namespace, environment),
    events.filter((e) => e.position <= upTo),
  );
  return comparableState({ ...state, position: state.lastChangePosition });
};

/** Seeds a log fast: one append per stream and chunk (positions then follow the chunks' commit order). */
export const appendSampleEvents = async (
  log: { append(streamId: string, events: NewEvent[]): Promise<unknown> },
  events: readonly NewEvent[],
): Promise<void> => {
  for (let i = 0; i < events.length; i += 2_000) {
    const byStream = new Map<string, NewEvent[]>();
    for (const event of events.slice(i, i + 2_000)) {
      const stream = sampleStreamId(event);
      byStream.set(stream, [...(byStream.get(stream) ?? []), event]);
    }
    await Promise.all([...byStream].map(([stream, chunk]) => log.append(stream, chunk)));
  }
};
