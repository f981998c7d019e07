import { describe, expect, it } from 'vitest';
import { ev, manifest } from './testing/event-builders.js';
import { foldNew } from './testing/given.js';
import { manifestProblems } from './manifest.js';
import { addIsoDuration, dueSecrets } from './secret-rotation.js';

/** `recorded` in given.ts records event n at epoch + n minutes. */
const withCadence = (cadence: Record<string, string>) => ({
  ...manifest,
  secrets: Object.fromEntries(
    Object.entries(manifest.secrets).map(([name, s]) => [
      name,
      cadence[name] ? { ...s, rotateEvery: cadence[name] } : s,
    ]),
  ),
});

describe('rotation cadence', () => {
  it('given ISO 8601 durations, when added to a time, then calendar-aware ends; anything else is undefined', () => {
    const from = new Date('2026-01-31T00:00:00Z');
    expect(addIsoDuration('P90D', from)?.toISOString()).toBe('2026-05-01T00:00:00.000Z');
    expect(addIsoDuration('PT1H30M', from)?.toISOString()).toBe('2026-01-31T01:30:00.000Z');
    for (const bad of ['90d', 'P', 'PT', 'P0D', 'P90Dx', 'xP90D', '', 'P-1D'])
      expect(addIsoDuration(bad, from)).toBeUndefined();
  });

  it('given a manifest with a bad rotateEvery, when validated, then one problem names the secret', () => {
    expect(manifestProblems(withCadence({ stripe_api_key: 'P90D', db_password: 'PT1H' }))).toEqual([]);
    expect(manifestProblems(withCadence({ stripe_api_key: 'every 90 days' }))).toEqual([
      'secrets.stripe_api_key: rotateEvery must be a positive ISO 8601 duration such as "P90D", got "every 90 days"',
    ]);
    expect(manifestProblems({ ...manifest, secrets: { db_password: { rotateEvery: 90 } } })).toHaveLength(1);
  });

  it('given versions of different ages, when listing due secrets, then overdue and soon-due current versions, oldest due first', () => {
    // Positions 1..6 at epoch + 1..6 minutes.
    const state = foldNew([
      ev.manifest(withCadence({ stripe_api_key: 'PT10M', db_password: 'PT3M' })),
      ev.secret(null, 'stripe_api_key', 1), // added at +2 min, due at +12 min
      ev.secret('acme', 'db_password', 1), // +3, superseded by version 2
      ev.secret('acme', 'db_password', 2), // +4, due at +7
      ev.secret('globex', 'db_password', 1), // +5, deleted below: never due
      ev.deleteSecret('globex', 'db_password'),
    ]);
    const epoch = Date.parse(state.secrets.get(null)!.get('stripe_api_key')!.versions[0]!.addedAt) - 2 * 60_000;
    const at = (minutes: number) => new Date(epoch + minutes * 60_000);

    expect(dueSecrets(state, at(6))).toEqual([]);
    const now = at(8);
    expect(dueSecrets(state, now)).toEqual([
      {
        namespace: 'shop',
        environment: 'prod',
        tenant: 'acme',
        name: 'db_password',
        version: 2,
        rotateEvery: 'PT3M',
        addedAt: at(4).toISOString(),
        ageSeconds: 240,
        dueAt: at(7).toISOString(),
        overdue: true,
      },
    ]);
    expect(dueSecrets(state, now, at(15)).map((d) => [d.name, d.overdue])).toEqual([
      ['db_password', true],
      ['stripe_api_key', false],
    ]);
  });
});
