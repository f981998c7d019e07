import { describe, expect, it } from 'vitest';
import { newEvent, type NewEvent } from './events.js';
import { envelope, ev, manifest, meta } from './testing/event-builders.js';
import { foldNew, recorded } from './testing/given.js';
import {
  currentSecretVersion,
  evolve,
  fold,
  initialState,
  latestSecretVersionNumber,
  stateFromJson,
  stateToJson,
} from './scope-state.js';

const history: NewEvent[] = [
  ev.manifest(),
  ev.set(null, 'rate_limit.requests_per_minute', 200),
  ev.set('tenant_001', 'rate_limit.requests_per_minute', 30),
  ev.set('tenant_001', 'search.provider', 'algolia'),
  ev.unset('tenant_001', 'search.provider'),
  ev.rollout('new_checkout', 25),
  ev.override('tenant_002', 'new_checkout', 'enabled'),
  ev.secret(null, 'stripe_api_key', 1),
  ev.secret('tenant_001', 'db_password', 1),
  ev.secret('tenant_001', 'db_password', 2),
  ev.deleteSecret(null, 'stripe_api_key'),
];

describe('evolve / fold', () => {
  it('folds every kind of event into the namespace+environment state', () => {
    const state = foldNew(history);
    expect(state.position).toBe(11);
    expect(state.lastChangePosition).toBe(11);
    expect(state.manifest).toEqual(manifest);
    expect(state.manifestPosition).toBe(1);
    expect(state.environmentValues.get('rate_limit.requests_per_minute')).toEqual({
      value: 200,
      position: 2,
      changedAt: '2024-01-01T00:01:00.000Z',
    });
    expect([...state.tenantValues.get('tenant_001')!.keys()]).toEqual(['rate_limit.requests_per_minute']);
    expect(state.flags.get('new_checkout')).toMatchObject({ rollout: 25, enabled: true, position: 6 });
    expect(state.overrides.get('tenant_002')?.get('new_checkout')).toMatchObject({ override: 'enabled', position: 7 });
    expect(state.secrets.get(null)?.get('stripe_api_key')).toMatchObject({ deleted: true, position: 11 });
    expect(currentSecretVersion(state, null, 'stripe_api_key')).toBeUndefined();
    expect(currentSecretVersion(state, 'tenant_001', 'db_password')).toMatchObject({
      version: 2,
      envelope: envelope('db_password-2'),
      position: 10,
    });
    expect(latestSecretVersionNumber(state, null, 'stripe_api_key')).toBe(1);
  });

  it('is idempotent: re-delivering any event, or the whole log, changes nothing', () => {
    const events = recorded(history);
    const state = fold(initialState('shop', 'prod'), events);
    for (const event of events) expect(evolve(state, event)).toBe(state);
    expect(stateToJson(fold(state, events))).toEqual(stateToJson(state));
    // A crash mid-batch: the projector re-folds from an earlier checkpoint.
    const partial = fold(initialState('shop', 'prod'), events.slice(0, 6));
    expect(stateToJson(fold(fold(partial, events.slice(0, 8)), events))).toEqual(stateToJson(state));
  });

  it('gives the same state whether folded at once or event by event, without touching earlier states', () => {
    const events = recorded(history);
    const states = [initialState('shop', 'prod')];
    for (const event of events) states.push(evolve(states[states.length - 1]!, event));
    expect(stateToJson(states[states.length - 1]!)).toEqual(stateToJson(fold(initialState('shop', 'prod'), events)));
    // Structural sharing must not leak writes into older states.
    expect(states[2]!.environmentValues.get('rate_limit.requests_per_minute')?.value).toBe(200);
    expect(states[3]!.tenantValues.get('tenant_001')?.has('search.provider')).toBe(false);
    expect(states[4]!.tenantValues.get('tenant_001')?.get('search.provider')?.value).toBe('algolia');
    expect(states[5]!.tenantValues.get('tenant_001')?.has('search.provider')).toBe(false);
    expect(states[9]!.secrets.get('tenant_001')?.get('db_password')?.versions).toHaveLength(1);
  });

  it('ignores other namespaces and environments but applies the namespace manifest', () => {
    const other = { namespace: 'shop', environment: 'staging' };
    const events = recorded([
      ev.set(null, 'rate_limit.requests_per_minute', 1, other),
      ev.set(null, 'rate_limit.requests_per_minute', 1, { namespace: 'blog', environment: 'prod' }),
      ev.manifest(manifest, 'blog'),
      newEvent(
        'TokenIssued',
        { tokenId: 't1', role: 'admin', namespace: null, environment: null, tenant: null, description: null },
        meta,
      ),
    ]);
    const state = fold(initialState('shop', 'prod'), events);
    expect(state.environmentValues.size).toBe(0);
    expect(state.manifest).toBeNull();
    expect(state.position).toBe(4);
    expect(state.lastChangePosition).toBe(0);
    const staging = fold(initialState('shop', 'staging'), recorded([ev.manifest()]));
    expect(staging.manifest).toEqual(manifest);
  });

  it('survives tenant ids and keys that are Object.prototype names, through JSON too', () => {
    const state = foldNew([ev.set('constructor', 'to_string', 1), ev.override('toString', 'new_checkout', 'disabled')]);
    const back = stateFromJson(JSON.parse(JSON.stringify(stateToJson(state))));
    expect(back.tenantValues.get('constructor')?.get('to_string')?.value).toBe(1);
    expect(back.overrides.get('toString')?.get('new_checkout')?.override).toBe('disabled');
    expect(stateToJson(back)).toEqual(stateToJson(state));
  });
});
