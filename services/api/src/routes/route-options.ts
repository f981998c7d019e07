import type { FastifySchema } from 'fastify';
import { StrataError } from '@strata/core';
import type { Permission } from '../access-policy.js';
import type { RouteAccess } from '../api-context.js';

/**
 * A route's options: who may call it (a permission, or a whole access declaration) and its
 * schema, which both validates the request and documents the route in the OpenAPI. Every route
 * declares both, so none is reachable without an access decision.
 */
export const route = <const Schema extends FastifySchema>(access: Permission | RouteAccess, schema: Schema) => ({
  config: { access: typeof access === 'string' ? { permission: access } : access },
  schema,
});

/** Access to what spans every namespace (the whole log, the keyring, the views): only unscoped credentials reach it. */
export const everywhere = (permission: Permission): RouteAccess => ({ permission, target: () => ({}) });

/** An optional dependency of the API, or UNAVAILABLE (503) with `unconfigured` when this instance was built without it. */
export const configured = <T>(dependency: T | undefined, unconfigured: string): T => {
  if (dependency === undefined) throw new StrataError('UNAVAILABLE', unconfigured);
  return dependency;
};
