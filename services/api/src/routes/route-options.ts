import type { FastifySchema } from 'fastify';
import { StrataError } from '@strata/core';
import type { Permission } from '../access-policy.js';
import type { RouteAccess } from '../api-context.js';

/**
 * The options of the routes under one OpenAPI tag (one section of the document). Each route adds
 * who may call it (a permission, or a whole access declaration), its summary and its schemas,
 * which both validate the request and document the route. Every route declares its access, so
 * none is reachable without an access decision.
 */
export const tagged =
  (tag: string) =>
  <const Schema extends Omit<FastifySchema, 'tags' | 'summary'>>(
    access: Permission | RouteAccess,
    summary: string,
    schema: Schema,
  ) => ({
    config: { access: typeof access === 'string' ? { permission: access } : access },
    schema: { tags: [tag], summary, ...schema },
  });

/** Access to what spans every namespace (the whole log, the keyring, the views): only unscoped credentials reach it. */
export const everywhere = (permission: Permission): RouteAccess => ({ permission, target: () => ({}) });

/** An optional dependency of the API, or UNAVAILABLE (503) with `unconfigured` when this instance was built without it. */
export const configured = <T>(dependency: T | undefined, unconfigured: string): T => {
  if (dependency === undefined) throw new StrataError('UNAVAILABLE', unconfigured);
  return dependency;
};
