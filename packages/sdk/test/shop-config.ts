import { expect } from 'vitest';
import type { RecordedEvent } from '@strata/core';
import { shopManifest, type EventFactory } from '@strata/core/testing';
import type { StrataClient } from '../src/strata-client.js';

/**
 * The shop's config in three layers, at positions 1–4 of a fresh factory: the manifest (its
 * defaults; `billing.api_url` is required, so it is set), the environment's 100 requests a minute,
 * and acme's own 500.
 */
export const shopConfig = (f: EventFactory): RecordedEvent[] => [
  f.manifest(shopManifest),
  f.set('billing.api_url', 'https://billing.example'),
  f.set('rate_limit.requests_per_minute', 100),
  f.set('rate_limit.requests_per_minute', 500, 'acme'),
];

/**
 * What a loaded client answers over `shopConfig`, whatever its driver: tenant → environment →
 * manifest default, each with the layer and the position it came from.
 */
export const expectShopConfigReads = (client: StrataClient): void => {
  expect(client.get('rate_limit.requests_per_minute', { tenant: 'acme' })).toBe(500);
  expect(client.get('rate_limit.requests_per_minute', { tenant: 'globex' })).toBe(100);
  expect(client.resolve('rate_limit.requests_per_minute', { tenant: 'acme' })).toMatchObject({
    source: 'tenant',
    position: 4,
  });
  expect(client.resolve('checkout.currency', { tenant: 'acme' })).toEqual({
    value: 'EUR',
    source: 'default',
    position: 1,
    stale: false,
  });
};
