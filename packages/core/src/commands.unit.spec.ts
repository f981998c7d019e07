import { describe, expect, it } from 'vitest';
import { commandStreamId, type Command } from './commands.js';
import { newEvent } from './events.js';
import { envelope, ev, manifest, meta } from './testing/event-builders.js';
import { foldNew, given } from './testing/given.js';

const scope = { namespace: 'shop', environment: 'prod' } as const;
const set = (tenant: string | null, key: string, value: unknown): Command => ({
  type: 'SetConfigValue',
  ...scope,
  tenant,
  key,
  value,
  metadata: meta,
});
const unset = (tenant: string | null, key: string): Command => ({
  type: 'UnsetConfigValue',
  ...scope,
  tenant,
  key,
  metadata: meta,
});

describe('SetConfigValue', () => {
  it('given a manifest, when setting a valid value, then ConfigValueSet', () => {
    given([ev.manifest()])
      .when(set('tenant_001', 'rate_limit.requests_per_minute', 30))
      .then([ev.set('tenant_001', 'rate_limit.requests_per_minute', 30)]);
    given([ev.manifest()])
      .when(set(null, 'search.provider', 'algolia'))
      .then([ev.set(null, 'search.provider', 'algolia')]);
  });

  it('given no manifest, then UNKNOWN_KEY', () => {
    given([])
      .when(set(null, 'search.provider', 'algolia'))
      .thenThrows('UNKNOWN_KEY', /no manifest/);
  });

  it('when the key is not declared, then UNKNOWN_KEY', () => {
    given([ev.manifest()])
      .when(set(null, 'nope.key', 1))
      .thenThrows('UNKNOWN_KEY', /^nope.key: not declared/);
  });

  it('when the value is ill-typed, then VALIDATION_FAILED naming key, constraint and value', () => {
    given([ev.manifest()])
      .when(set(null, 'rate_limit.requests_per_minute', -5))
      .thenThrows('VALIDATION_FAILED', /^rate_limit.requests_per_minute: expected integer >= 1, received -5/);
  });

  it('when the key is declared secret, then VALIDATION_FAILED without echoing the value: plaintext never reaches the log', () => {
    given([ev.manifest()])
      .when(set('tenant_001', 'api.token_hint', 'PLAINTEXT-MARKER'))
      .thenThrows('VALIDATION_FAILED', /^api.token_hint: declared secret in the manifest; store it as a secret/);
    expect(() =>
      given([ev.manifest()])
        .when(set('tenant_001', 'api.token_hint', 'PLAINTEXT-MARKER'))
        .then([]),
    ).toThrow(expect.not.objectContaining({ message: expect.stringContaining('PLAINTEXT-MARKER') }));
  });

  it('when the scope names are malformed, then BAD_REQUEST', () => {
    given([ev.manifest()])
      .when(set('bad tenant!', 'search.provider', 'elastic'))
      .thenThrows('BAD_REQUEST', /tenant/);
  });

  it('given an immutable key already set, when changing it, then IMMUTABLE_KEY; the same value is accepted', () => {
    const history = [ev.manifest(), ev.set('tenant_001', 'billing.currency', 'EUR')];
    given(history)
      .when(set('tenant_001', 'billing.currency', 'USD'))
      .thenThrows('IMMUTABLE_KEY', /already set in tenant tenant_001 at position 2/);
    given(history)
      .when(set('tenant_001', 'billing.currency', 'EUR'))
      .then([ev.set('tenant_001', 'billing.currency', 'EUR')]);
    // once per scope: another tenant and the environment may still set it
    given(history)
      .when(set('tenant_002', 'billing.currency', 'USD'))
      .then([ev.set('tenant_002', 'billing.currency', 'USD')]);
    given(history)
      .when(unset('tenant_001', 'billing.currency'))
      .thenThrows('IMMUTABLE_KEY', /cannot be unset/);
  });
});

describe('UnsetConfigValue', () => {
  it('given a value, then ConfigValueUnset; given none, then nothing', () => {
    given([ev.manifest(), ev.set('tenant_001', 'search.provider', 'algolia')])
      .when(unset('tenant_001', 'search.provider'))
      .then([ev.unset('tenant_001', 'search.provider')]);
    given([ev.manifest()]).when(unset('tenant_001', 'search.provider')).then([]);
  });
});

describe('PublishManifest', () => {
  const publish = (m: unknown): Command => ({
    type: 'PublishManifest',
    namespace: 'shop',
    manifest: m,
    metadata: meta,
  });

  it('given compatible values, then ManifestPublished with the parsed manifest', () => {
    given([ev.manifest(), ev.set(null, 'rate_limit.requests_per_minute', 200)])
      .when(publish(manifest))
      .then([ev.manifest()]);
  });

  it('given the same manifest in force, then nothing (publishing it again changes nothing)', () => {
    const { when } = given([ev.manifest()]);
    when(publish(manifest), { manifest: foldNew([ev.manifest()]).manifest }).then([]);
  });

  it('when the manifest is invalid, then VALIDATION_FAILED listing the problems', () => {
    given([])
      .when(publish({ keys: { 'a.b': { type: 'strin' } } }))
      .thenThrows('VALIDATION_FAILED', /keys.a.b: "type" must be one of/);
  });

  it('when it would reject current values in any environment, then MANIFEST_CONFLICT listing them', () => {
    const staging = foldNew(
      [ev.manifest(), ev.set('t9', 'search.provider', 'algolia', { namespace: 'shop', environment: 'staging' })],
      'shop',
      'staging',
    );
    const narrower = {
      ...manifest,
      keys: { ...manifest.keys, 'search.provider': { type: 'string', enum: ['elastic'] } },
    };
    const error = given([ev.manifest()])
      .when(publish(narrower), { otherStates: [staging] })
      .thenThrows('MANIFEST_CONFLICT', /staging\/t9: search.provider/);
    expect(error.details?.['conflicts']).toHaveLength(1);
  });
});

describe('SetFlagRollout', () => {
  const rollout = (
    flag: string,
    fields: { rollout?: number; enabled?: boolean; variants?: Array<{ value: unknown; weight: number }> | null },
  ): Command => ({
    type: 'SetFlagRollout',
    ...scope,
    flag,
    ...fields,
    metadata: meta,
  });

  it('given a declared flag, then FlagRolloutChanged, keeping fields not given', () => {
    given([ev.manifest()])
      .when(rollout('new_checkout', { rollout: 5 }))
      .then([ev.rollout('new_checkout', 5, true)]);
    given([ev.manifest(), ev.rollout('new_checkout', 25)])
      .when(rollout('new_checkout', { enabled: false }))
      .then([ev.rollout('new_checkout', 25, false)]);
  });

  it('when the flag is not in the manifest, then UNKNOWN_KEY', () => {
    given([ev.manifest()])
      .when(rollout('nope', { rollout: 5 }))
      .thenThrows('UNKNOWN_KEY', /flag nope/);
  });

  it('when the rollout is out of range, then VALIDATION_FAILED', () => {
    given([ev.manifest()])
      .when(rollout('new_checkout', { rollout: 101 }))
      .thenThrows('VALIDATION_FAILED', /0-100, received 101/);
  });

  it('validates variant types and weights; null removes variants', () => {
    const variants = [
      { value: 'a', weight: 60 },
      { value: 'b', weight: 40 },
    ];
    given([ev.manifest()])
      .when(rollout('pricing_page', { rollout: 100, variants }))
      .then([ev.rollout('pricing_page', 100, true, variants)]);
    given([ev.manifest()])
      .when(
        rollout('pricing_page', {
          variants: [
            { value: 1, weight: 60 },
            { value: 'b', weight: 50 },
          ],
        }),
      )
      .thenThrows('VALIDATION_FAILED', /variant 0: expected a string value, received 1; variant weights add up to 110/);
    given([ev.manifest(), ev.rollout('pricing_page', 100, true, variants)])
      .when(rollout('pricing_page', { variants: null }))
      .then([ev.rollout('pricing_page', 100, true)]);
  });
});

describe('SetFlagOverride', () => {
  const override = (tenant: string, flag: string, value: 'enabled' | 'disabled' | null): Command => ({
    type: 'SetFlagOverride',
    ...scope,
    tenant,
    flag,
    override: value,
    metadata: meta,
  });

  it('then FlagOverrideSet; clearing a missing override is a no-op', () => {
    given([ev.manifest()])
      .when(override('t1', 'new_checkout', 'enabled'))
      .then([ev.override('t1', 'new_checkout', 'enabled')]);
    given([ev.manifest(), ev.override('t1', 'new_checkout', 'enabled')])
      .when(override('t1', 'new_checkout', null))
      .then([ev.override('t1', 'new_checkout', null)]);
    given([ev.manifest()])
      .when(override('t1', 'new_checkout', null))
      .then([]);
    given([ev.manifest()])
      .when(override('t1', 'nope', 'enabled'))
      .thenThrows('UNKNOWN_KEY');
  });
});

describe('AddSecretVersion / DeleteSecret', () => {
  const add = (name: string, version: number, tenant: string | null = 'tenant_001'): Command => ({
    type: 'AddSecretVersion',
    ...scope,
    tenant,
    name,
    version,
    envelope: envelope(`${name}-${version}`),
    previousReadableUntil: null,
    metadata: meta,
  });

  it('given a declared secret, then SecretVersionAdded with the next version', () => {
    given([ev.manifest()])
      .when(add('db_password', 1))
      .then([ev.secret('tenant_001', 'db_password', 1)]);
    given([ev.manifest(), ev.secret('tenant_001', 'db_password', 1), ev.deleteSecret('tenant_001', 'db_password')])
      .when(add('db_password', 2))
      .then([ev.secret('tenant_001', 'db_password', 2)]);
  });

  it('when the version is not the next one, then VERSION_CONFLICT', () => {
    given([ev.manifest(), ev.secret('tenant_001', 'db_password', 1)])
      .when(add('db_password', 1))
      .thenThrows('VERSION_CONFLICT', /next version is 2/);
  });

  it('when the secret is not declared, then UNKNOWN_KEY', () => {
    given([ev.manifest()])
      .when(add('github_token', 1))
      .thenThrows('UNKNOWN_KEY', /secret github_token/);
  });

  it('keeps grace periods in the event and rejects malformed envelopes', () => {
    const command = {
      ...(add('db_password', 2) as Extract<Command, { type: 'AddSecretVersion' }>),
      previousReadableUntil: '2024-02-01T00:00:00Z',
    };
    given([ev.manifest(), ev.secret('tenant_001', 'db_password', 1)])
      .when(command)
      .then([
        newEvent(
          'SecretVersionAdded',
          {
            ...scope,
            tenant: 'tenant_001',
            name: 'db_password',
            version: 2,
            envelope: envelope('db_password-2'),
            previousReadableUntil: '2024-02-01T00:00:00Z',
          },
          meta,
        ),
      ]);
    given([ev.manifest()])
      .when({ ...command, version: 1, envelope: { alg: 'none' } as never })
      .thenThrows('BAD_REQUEST', /envelope/);
  });

  it('deletes a live secret; deleting a missing one is a no-op', () => {
    const del: Command = { type: 'DeleteSecret', ...scope, tenant: null, name: 'stripe_api_key', metadata: meta };
    given([ev.manifest(), ev.secret(null, 'stripe_api_key', 1)])
      .when(del)
      .then([ev.deleteSecret(null, 'stripe_api_key')]);
    given([ev.manifest()]).when(del).then([]);
  });
});

describe('commandStreamId', () => {
  it('routes each command to its concurrency stream', () => {
    expect(commandStreamId(set(null, 'a', 1))).toBe('env:shop/prod');
    expect(commandStreamId(set('t1', 'a', 1))).toBe('tenant:shop/prod/t1');
    expect(commandStreamId({ type: 'PublishManifest', namespace: 'shop', manifest, metadata: meta })).toBe(
      'manifest:shop',
    );
    expect(commandStreamId({ type: 'SetFlagRollout', ...scope, flag: 'f', metadata: meta })).toBe('env:shop/prod');
    expect(
      commandStreamId({ type: 'SetFlagOverride', ...scope, tenant: 't1', flag: 'f', override: null, metadata: meta }),
    ).toBe('tenant:shop/prod/t1');
  });
});
