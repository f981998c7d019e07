import { roles, type Role } from '@strata/contracts';
import { StrataError } from '@strata/core';

export { roles, type Role };

/**
 * Who may do what: ONE table from role to permission, and the scope rule. Every route declares
 * the permission it needs; anything not granted here is denied.
 */

export type Permission =
  /** Resolved config and flag evaluation (views, OFREP, point-in-time reads). */
  | 'config:read'
  /** Config values, environment flags and tenant overrides. */
  | 'config:write'
  | 'manifest:write'
  /** Secret names, versions and metadata — never values. */
  | 'secret:list'
  /** Secret plaintext: recorded in the access log before it is returned (invariant 7). */
  | 'secret:read'
  | 'secret:write'
  /** Which secret versions are due for rotation (names, versions, ages — never values). */
  | 'secret:rotation'
  /** The audit log, its export and diffs. */
  | 'history:read'
  | 'history:verify'
  | 'revert'
  | 'projections'
  | 'tokens'
  /** Master-key status and rotation, tenant crypto-shredding. */
  | 'keys';

export const permissionsOf: Record<Role, ReadonlySet<Permission>> = {
  reader: new Set(['config:read', 'secret:list']),
  writer: new Set(['config:read', 'config:write', 'secret:list']),
  'secret-reader': new Set(['secret:list', 'secret:read']),
  'secret-writer': new Set(['secret:list', 'secret:write', 'secret:rotation']),
  auditor: new Set(['config:read', 'secret:list', 'secret:rotation', 'history:read', 'history:verify']),
  operator: new Set([
    'config:read',
    'config:write',
    'manifest:write',
    'secret:list',
    'secret:rotation',
    'history:read',
    'revert',
    'projections',
  ]),
  admin: new Set([
    'config:read',
    'config:write',
    'manifest:write',
    'secret:list',
    'secret:read',
    'secret:write',
    'secret:rotation',
    'history:read',
    'history:verify',
    'revert',
    'projections',
    'tokens',
    'keys',
  ]),
};

/** The authenticated caller. A null scope field means "any". */
export interface Principal {
  /** Recorded as the actor of events and secret reads: `token:<id>` or `admin`. */
  subject: string;
  tokenId: string | null;
  role: Role;
  namespace: string | null;
  environment: string | null;
  tenant: string | null;
  /** A short-lived credential's end: tokens it issues or rotates live no longer. */
  expiresAt: string | null;
}

/** What a request touches; `tenant: null` means environment- or namespace-wide. */
export interface Target {
  namespace?: string | null;
  environment?: string | null;
  tenant?: string | null;
}

const deny = (principal: Principal, permission: Permission, what: string): never => {
  throw new StrataError('FORBIDDEN', `this token is scoped to ${scopeText(principal)} and may not reach ${what}`, {
    permission,
  });
};

/**
 * Throws FORBIDDEN unless the principal holds the permission within its scope. A tenant-scoped
 * credential only reaches its own tenant, never an environment-wide resource (invariant 8);
 * namespace-scoped tokens never reach system-wide resources.
 */
export const authorize = (principal: Principal, permission: Permission, target: Target = {}): void => {
  if (!permissionsOf[principal.role].has(permission)) {
    throw new StrataError('FORBIDDEN', `role ${principal.role} may not ${permission}`, { permission });
  }
  // Runs on every request: no closure is made unless access is denied.
  if (principal.namespace !== null && target.namespace !== principal.namespace)
    deny(principal, permission, target.namespace ? `namespace ${target.namespace}` : 'every namespace');
  if (principal.environment !== null && target.environment !== principal.environment) {
    deny(principal, permission, target.environment ? `environment ${target.environment}` : 'every environment');
  }
  if (principal.tenant !== null && target.tenant !== principal.tenant)
    deny(principal, permission, target.tenant ? 'another tenant' : 'environment-wide data');
};

/** True when `inner` grants nothing outside `outer`'s scope (tokens never widen their issuer). */
export const withinScope = (outer: Principal, inner: Target): boolean =>
  (outer.namespace === null || inner.namespace === outer.namespace) &&
  (outer.environment === null || inner.environment === outer.environment) &&
  (outer.tenant === null || inner.tenant === outer.tenant);

export const scopeText = (p: Pick<Principal, 'namespace' | 'environment' | 'tenant'>): string =>
  [p.namespace ?? '*', p.environment ?? '*', p.tenant ?? '*'].join('/');
