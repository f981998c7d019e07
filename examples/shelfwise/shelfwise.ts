import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineManifest, key, toManifestDocument } from '@strata/core';

/**
 * ShelfWise's settings model from the seed (Pydantic `AppSettings`), written once in TypeScript:
 * the SDK gets static types from it and the store gets its JSON Schema.
 */
export const shelfwise = defineManifest({
  keys: {
    'rate_limit.requests_per_minute': z.number().int().min(1).default(100).describe('Requests per minute per tenant'),
    'rate_limit.burst_size': z.number().int().min(1).default(20).describe('Burst allowance above the steady rate'),
    'database.pool_size': key(z.number().int().min(1).max(100).default(20).describe('Connection pool size'), {
      owner: 'platform',
    }),
    'database.pool_timeout': z.number().int().min(5).default(30).describe('Seconds to wait for a pooled connection'),
    'ai.model_name': z.string().min(1).default('gpt-4o-mini').describe('Model behind AI recommendations'),
    'ai.max_tokens': z.number().int().min(1).max(16384).default(2048),
    'ai.temperature': z.number().min(0).max(2).default(0.7),
  },
  flags: {
    ai_recommendations: { type: 'boolean', description: 'AI book recommendations', owner: 'growth' },
  },
  secrets: {
    // The seed's `secret.erp.api_key` rows, imported (strata import tenant-configs).
    'erp.api_key': { description: "A publisher's ERP API key for inventory push" },
  },
});

export const shelfwiseManifest = toManifestDocument(shelfwise);

/** 200 tenants with stable UUIDs, as the seed's tenant_id columns are UUIDs. */
const uuidOf = (seed: string): string => {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

export const tenantIds: string[] = Array.from({ length: 200 }, (_, i) => uuidOf(`shelfwise-tenant-${i}`));

export const tenants = {
  /** Pays for 1,000 requests per minute. */
  a: tenantIds[0]!,
  /** The largest customer: 10,000 requests per minute. */
  b: tenantIds[1]!,
  /** Beta-tests AI recommendations: always on. */
  beta: tenantIds[2]!,
  /** Contract excludes experimental features: always off. */
  restricted: tenantIds[3]!,
  /** Pushes inventory to its own ERP with an API key kept in Strata. */
  publisher: tenantIds[4]!,
};
