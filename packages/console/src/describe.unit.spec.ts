import { expect, test } from 'vitest';
import type { HistoryEvent } from '@strata/contracts';
import { describeChange, describeEvents, describePlanned } from './describe.js';
import { ageOf, durationText, formatValue, localInputToIso, shortTenant } from './format.js';

const event = (position: number, type: string, data: Record<string, unknown>, extra: Partial<HistoryEvent> = {}) =>
  ({
    position,
    eventId: `e${position}`,
    type,
    streamId: 's',
    streamVersion: position,
    recordedAt: '2026-12-01T10:00:00.000Z',
    actor: 'admin',
    data,
    metadata: { actor: 'admin' },
    ...extra,
  }) as HistoryEvent;

test('the timeline says before → after, carrying flag and override states along the log', () => {
  const scope = { namespace: 'shop', environment: 'prod' };
  const text = describeEvents([
    event(1, 'ConfigValueSet', { ...scope, tenant: 'acme', key: 'rate', value: 1000 }, { before: null }),
    event(2, 'ConfigValueSet', { ...scope, tenant: null, key: 'rate', value: 5 }, { before: { value: 1 } }),
    event(3, 'FlagRolloutChanged', { ...scope, flag: 'ai', rollout: 25, enabled: true }),
    event(4, 'FlagRolloutChanged', { ...scope, flag: 'ai', rollout: 100, enabled: false }),
    event(5, 'FlagOverrideSet', { ...scope, tenant: 'acme', flag: 'ai', override: 'enabled' }),
    event(6, 'FlagOverrideSet', { ...scope, tenant: 'acme', flag: 'ai', override: null }),
    event(7, 'SecretVersionAdded', { ...scope, tenant: null, name: 'erp', version: 2 }),
    event(8, 'ConfigValueUnset', { ...scope, tenant: 'acme', key: 'rate' }, { before: { value: 1000 } }),
  ]);
  expect([...text.values()]).toEqual([
    'rate for acme: unset → 1000',
    'rate (environment): 1 → 5',
    'ai: unset → 25%',
    'ai: 25% → 100% (killed)',
    'ai for acme: none → forced on',
    'ai for acme: forced on → cleared',
    'erp (environment): version 1 → 2',
    'rate for acme: 1000 → unset',
  ]);
});

test('diffs and revert plans read as sentences; values are JSON, long tenant ids are shortened', () => {
  expect(
    describeChange({
      kind: 'config',
      tenant: 'a-very-long-tenant-id',
      key: 'rate',
      before: null,
      after: { value: 'x', position: 3 },
    }),
  ).toBe('rate (a-very-l…): unset → "x"');
  expect(
    describeChange({ kind: 'flag', flag: 'ai', before: null, after: { rollout: 100, enabled: true, position: 9 } }),
  ).toBe('flag ai: unset → 100%');
  expect(
    describePlanned({
      type: 'FlagRolloutChanged',
      data: { flag: 'ai', rollout: 25, enabled: true },
      metadata: { actor: 'admin' },
    }),
  ).toBe('set flag ai to 25%');
  expect(formatValue(undefined)).toBe('—');
  expect(shortTenant(null)).toBe('environment');
});

test('ages and local times', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  expect(ageOf('2026-12-01T11:59:30Z', now)).toBe('30s ago');
  expect(ageOf('2026-12-01T09:00:00Z', now)).toBe('3h ago');
  expect(ageOf(undefined, now)).toBe('—');
  expect([400, 59_400, 125_000, 2 * 86_400_000].map(durationText)).toEqual(['0s', '59s', '2m', '2d']);
  expect(localInputToIso('')).toBeNull();
  expect(localInputToIso('not a time')).toBeNull();
});
