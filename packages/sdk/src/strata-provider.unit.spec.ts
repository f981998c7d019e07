import { describe, expect, it } from 'vitest';
import { ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import { bucket } from '@strata/core';
import { EventFactory, shopManifest } from '@strata/core/testing';
import { createInMemoryClient } from './create-in-memory-client.js';
import { StrataProvider } from './strata-provider.js';

const tenants = Array.from({ length: 50 }, (_, i) => `tenant-${i}`);

const setup = async () => {
  const f = new EventFactory('shop', 'prod');
  const client = createInMemoryClient({
    namespace: 'shop',
    environment: 'prod',
    events: [
      f.manifest(shopManifest),
      f.set('billing.api_url', 'https://billing'),
      f.rollout('new_checkout', 100),
      f.rollout('search_v2', 30),
      f.rollout('theme', 100, true, [
        { value: 'dark', weight: 50 },
        { value: 'light', weight: 50 },
      ]),
      f.rollout('discount', 100, true, [{ value: 15, weight: 100 }]),
      f.rollout('layout', 100, true, [{ value: { columns: 3 }, weight: 100 }]),
      f.override('acme', 'search_v2', 'enabled'),
      f.rollout('undeclared_kill', 100, false),
    ],
  });
  const provider = new StrataProvider(client);
  await provider.initialize();
  return { client, provider, f };
};

describe('StrataProvider', () => {
  it('given a flag at 100% without variants, when resolving a boolean, then STATIC on', async () => {
    const { provider } = await setup();
    const details = await provider.resolveBooleanEvaluation('new_checkout', false, { targetingKey: 'acme' });
    expect(details).toMatchObject({ value: true, reason: StandardResolutionReasons.STATIC, variant: 'on' });
    expect(details.flagMetadata?.['position']).toBe(3);
  });

  it('given a tenant override, when resolving, then TARGETING_MATCH', async () => {
    const { provider } = await setup();
    const details = await provider.resolveBooleanEvaluation('search_v2', false, { targetingKey: 'acme' });
    expect(details).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH });
  });

  it('given a partial rollout, when resolving per tenant, then SPLIT with the seed bucket', async () => {
    const { provider } = await setup();
    for (const tenant of tenants) {
      const details = await provider.resolveBooleanEvaluation('search_v2', false, { targetingKey: tenant });
      expect(details).toMatchObject({
        value: bucket(tenant, 'search_v2') < 30,
        reason: StandardResolutionReasons.SPLIT,
      });
    }
  });

  it('given weighted string variants, when resolving a string, then SPLIT with the bucket variant', async () => {
    const { provider } = await setup();
    for (const tenant of tenants) {
      const details = await provider.resolveStringEvaluation('theme', 'x', { targetingKey: tenant });
      expect(details).toMatchObject({
        value: bucket(tenant, 'theme') < 50 ? 'dark' : 'light',
        reason: StandardResolutionReasons.SPLIT,
      });
    }
  });

  it('given one variant at 100%, when resolving number and object, then STATIC values', async () => {
    const { provider } = await setup();
    expect(await provider.resolveNumberEvaluation('discount', 0, { targetingKey: 't' })).toMatchObject({
      value: 15,
      reason: 'STATIC',
    });
    expect(await provider.resolveObjectEvaluation('layout', {}, { targetingKey: 't' })).toMatchObject({
      value: { columns: 3 },
      reason: 'STATIC',
    });
  });

  it('given a declared flag never set, when resolving, then DEFAULT with the manifest default', async () => {
    const { client, provider, f } = await setup();
    client.apply([
      f.manifest({ ...shopManifest, flags: { ...shopManifest.flags, beta: { type: 'boolean', default: true } } }),
    ]);
    expect(await provider.resolveBooleanEvaluation('beta', false, { targetingKey: 't' })).toMatchObject({
      value: true,
      reason: 'DEFAULT',
    });
  });

  it('given the kill switch off, when resolving, then DISABLED', async () => {
    const { provider } = await setup();
    expect(await provider.resolveBooleanEvaluation('undeclared_kill', true, { targetingKey: 't' })).toMatchObject({
      value: false,
      reason: 'DISABLED',
    });
  });

  it('given errors, when resolving, then the default value with the OpenFeature error code', async () => {
    const { provider } = await setup();
    expect(await provider.resolveBooleanEvaluation('nope', true, { targetingKey: 't' })).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    expect(await provider.resolveStringEvaluation('new_checkout', 'd', { targetingKey: 't' })).toMatchObject({
      value: 'd',
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await provider.resolveNumberEvaluation('theme', 7, { targetingKey: 't' })).toMatchObject({
      value: 7,
      errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await provider.resolveBooleanEvaluation('search_v2', true, {})).toMatchObject({
      value: true,
      errorCode: ErrorCode.TARGETING_KEY_MISSING,
    });
    // A fully rolled out flag needs no tenant.
    expect(await provider.resolveBooleanEvaluation('new_checkout', false, {})).toMatchObject({
      value: true,
      reason: 'STATIC',
    });
  });

  it('given a client not loaded yet, when resolving, then PROVIDER_NOT_READY', async () => {
    const client = createInMemoryClient({ namespace: 'shop', environment: 'prod' });
    const provider = new StrataProvider(client);
    expect(await provider.resolveBooleanEvaluation('x', true, { targetingKey: 't' })).toMatchObject({
      value: true,
      errorCode: ErrorCode.PROVIDER_NOT_READY,
    });
  });
});
