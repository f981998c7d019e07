import { describe, expect, it } from 'vitest';
import { OpenFeature } from '@openfeature/server-sdk';
import { EventFactory } from '@strata/core/testing';
import { createInMemoryClient } from './create-in-memory-client.js';
import { StrataProvider } from './strata-provider.js';

const f = new EventFactory('shop', 'prod');
const manifest = {
  keys: {},
  flags: {
    theme: { type: 'string' as const },
    checkout: { type: 'boolean' as const },
    limits: { type: 'object' as const },
    legacy: { type: 'boolean' as const },
  },
  secrets: {},
};
const setup = () =>
  createInMemoryClient({
    namespace: 'shop',
    environment: 'prod',
    events: [
      f.manifest(manifest),
      f.segment('pro', { '==': [{ var: 'plan' }, 'pro'] }),
      f.definition('theme', {
        state: 'ENABLED',
        variants: { light: 'light', dark: 'dark' },
        defaultVariant: 'light',
        targeting: { if: [{ $ref: 'pro' }, 'dark', null] },
        metadata: { owner: 'design' },
      }),
      f.definition('checkout', {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: {
          fractional: [
            ['on', 50],
            ['off', 50],
          ],
        },
      }),
      f.definition('limits', { state: 'DISABLED', variants: { base: { rpm: 60 } }, defaultVariant: 'base' }),
      f.rollout('legacy', 100),
      f.override('acme', 'theme', 'disabled'),
    ],
  });

describe('typed flags in the SDK (getBoolean | getString | getNumber | getObject)', () => {
  it('given a definition, when evaluated with a context, then value, variant, reason and metadata', async () => {
    const client = setup();
    await client.ready();
    expect(client.getString('theme', { targetingKey: 'u1', plan: 'pro' }, 'x')).toBe('dark');
    expect(client.getStringDetails('theme', { targetingKey: 'u1', plan: 'free' }, 'x')).toEqual({
      flagKey: 'theme',
      value: 'light',
      variant: 'light',
      reason: 'DEFAULT',
      flagMetadata: { owner: 'design' },
    });
    expect(client.getStringDetails('theme', { targetingKey: 'u1', plan: 'pro' }, 'x').reason).toBe('TARGETING_MATCH');
    expect(client.getBooleanDetails('checkout', { targetingKey: 'u1' }, false).reason).toBe('SPLIT');
  });

  it('given a tenant override, then it wins; the tenant is the targeting key unless said otherwise', async () => {
    const client = setup();
    await client.ready();
    expect(client.getStringDetails('theme', { targetingKey: 'acme', plan: 'pro' }, 'x')).toMatchObject({
      value: 'x',
      reason: 'DISABLED',
    });
    expect(client.getString('theme', { targetingKey: 'user-7', plan: 'pro' }, 'x', { tenant: 'acme' })).toBe('x');
    expect(client.getString('theme', { targetingKey: 'user-7', plan: 'pro' }, 'x', { tenant: 'globex' })).toBe('dark');
  });

  it('given errors, then the default with ERROR and a code, never a throw', async () => {
    const client = setup();
    await client.ready();
    expect(client.getNumberDetails('theme', {}, 7)).toMatchObject({
      value: 7,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
    expect(client.getBooleanDetails('nope', {}, true)).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    });
    expect(client.getObjectDetails('limits', {}, { rpm: 1 })).toMatchObject({ value: { rpm: 1 }, reason: 'DISABLED' });
    expect(client.getStringDetails('theme', [] as unknown as Record<string, unknown>, 'x')).toMatchObject({
      value: 'x',
      errorCode: 'INVALID_CONTEXT',
    });
    expect(client.getBoolean('legacy', { targetingKey: 'anyone' }, false)).toBe(true);
  });

  it('the OpenFeature provider evaluates definitions against the whole context', async () => {
    const client = setup();
    await OpenFeature.setProviderAndWait('typed-flags-spec', new StrataProvider(client));
    const of = OpenFeature.getClient('typed-flags-spec');
    const details = await of.getStringDetails('theme', 'x', { targetingKey: 'u9', plan: 'pro' });
    expect(details).toMatchObject({
      value: 'dark',
      variant: 'dark',
      reason: 'TARGETING_MATCH',
      flagMetadata: { owner: 'design' },
    });
    expect(await of.getNumberValue('theme', 3, { targetingKey: 'u9' })).toBe(3);
    await OpenFeature.clearProviders();
  });
});
