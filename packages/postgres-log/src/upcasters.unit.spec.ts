import type { RecordedEvent } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { upcast, type Upcasters } from './upcasters.js';

/** A ConfigValueSet as an imagined v0 stored it: `scope` instead of namespace/environment. */
const storedV0 = {
  position: 7,
  eventId: '01J0000000000000000000000A',
  streamId: 'env:shop/prod',
  streamVersion: 3,
  type: 'ConfigValueSet',
  schemaVersion: 0,
  data: { scope: 'shop/prod', key: 'a.b', value: 5 },
  metadata: { actor: 'admin' },
  recordedAt: '2025-01-01T00:00:00.000Z',
  hash: 'f'.repeat(64),
} as unknown as RecordedEvent;

const upcasters: Upcasters = {
  ConfigValueSet: {
    0: (data) => {
      const { scope, ...rest } = data as { scope: string };
      const [namespace, environment] = scope.split('/');
      return { namespace, environment, tenant: null, ...rest };
    },
  },
};

describe('upcast', () => {
  it('brings an old schema version to the latest, keeping what identifies the stored event', () => {
    const event = upcast(storedV0, upcasters);
    expect(event.schemaVersion).toBe(1);
    expect(event.data).toEqual({ namespace: 'shop', environment: 'prod', tenant: null, key: 'a.b', value: 5 });
    expect({ position: event.position, hash: event.hash }).toEqual({ position: 7, hash: storedV0.hash });
  });

  it('returns events already at the latest version untouched', () => {
    const current = { ...storedV0, schemaVersion: 1 } as RecordedEvent;
    expect(upcast(current, upcasters)).toBe(current);
  });

  it('refuses to hand out an old shape when no upcaster covers it', () => {
    expect(() => upcast(storedV0, {})).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
