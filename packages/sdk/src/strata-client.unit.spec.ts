import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineManifest, key } from '@strata/core';
import { EventFactory } from '@strata/core/testing';
import { expectShopConfigReads, shopConfig } from '../test/shop-config.js';
import { createInMemoryClient } from './create-in-memory-client.js';

const manifest = defineManifest({
  keys: {
    'rate_limit.requests_per_minute': z.number().int().min(1).default(60),
    'checkout.currency': z.enum(['EUR', 'USD']).default('EUR'),
    'billing.api_url': key(z.string().url(), { required: true }),
  },
  flags: { new_checkout: { type: 'boolean' } },
});

const f = new EventFactory('shop', 'prod');
const base = shopConfig(f);

describe('StrataClient reads', () => {
  it('given layered values, when reading, then tenant → environment → default, typed from the manifest', async () => {
    const client = createInMemoryClient({ namespace: 'shop', environment: 'prod', manifest, events: base });
    await client.ready();
    expectTypeOf(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toEqualTypeOf<number>();
    expectShopConfigReads(client);
    expect(client.getAll({ tenant: 'acme' })).toMatchObject({
      'rate_limit.requests_per_minute': 500,
      'checkout.currency': 'EUR',
    });
    expect(client.getAll({ tenant: 'acme' })).toBe(client.getAll({ tenant: 'acme' }));
  });

  it('given unknown keys, invalid values and an unloaded client, when reading, then defaults with a reason and no throw', async () => {
    const bad = [...base, f.set('checkout.currency', 'GBP', 'acme')];
    const client = createInMemoryClient({ namespace: 'shop', environment: 'prod', manifest, events: bad });
    expect(client.resolve('rate_limit.requests_per_minute')).toMatchObject({
      value: 60,
      reason: 'not_ready',
      stale: true,
    });
    await client.ready();
    expect(client.resolve('checkout.currency', { tenant: 'acme' })).toMatchObject({
      value: 'EUR',
      source: 'default',
      reason: 'invalid',
    });
    expect(client.resolve('no.such_key' as never)).toMatchObject({
      value: undefined,
      source: 'none',
      reason: 'unknown_key',
    });
    expect(client.isEnabled('no_such_flag')).toBe(false);
  });

  it('given a change, when applied, then memoised reads see it', async () => {
    const client = createInMemoryClient({ namespace: 'shop', environment: 'prod', manifest, events: base });
    await client.ready();
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
    client.apply([f.set('rate_limit.requests_per_minute', 7, 'acme')]);
    expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(7);
    await client.waitFor(f.position, 10);
    expect(client.stats()).toMatchObject({ position: f.position });
  });

  it('given required keys missing or invalid, when ready, then one message lists all of them', async () => {
    const g = new EventFactory('shop', 'prod');
    const strict = defineManifest({
      keys: {
        'billing.api_url': key(z.string().url(), { required: true }),
        'rate_limit.requests_per_minute': key(z.number().int(), { required: true }),
      },
    });
    const client = createInMemoryClient({
      namespace: 'shop',
      environment: 'prod',
      manifest: strict,
      events: [g.set('billing.api_url', 'not a url')],
    });
    await expect(client.ready()).rejects.toThrow(
      /billing\.api_url: invalid[\s\S]*rate_limit\.requests_per_minute: missing/,
    );
  });

  it('given flags, when evaluating, then counts appear in stats and hooks see every evaluation', async () => {
    const seen: string[] = [];
    const client = createInMemoryClient({
      namespace: 'shop',
      environment: 'prod',
      manifest,
      events: [...base, f.rollout('new_checkout', 100)],
      hooks: { onEvaluation: (flag, r) => seen.push(`${flag}:${r.enabled}`) },
    });
    await client.ready();
    expect(client.isEnabled('new_checkout', { tenant: 'a' })).toBe(true);
    expect(client.isEnabled('new_checkout', { tenant: 'b' })).toBe(true);
    expect(client.stats().flags['new_checkout']).toEqual({ evaluations: 2, enabled: 2 });
    expect(seen).toEqual(['new_checkout:true', 'new_checkout:true']);
  });
});
