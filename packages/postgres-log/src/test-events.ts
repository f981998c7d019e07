import type { NewEvent } from '@strata/core';

/** Event builders shared by this package's specs and benchmark. */
export const configValueSet = (
  key: string,
  value: unknown,
  scope: { namespace?: string; environment?: string; tenant?: string | null; actor?: string } = {},
): NewEvent => ({
  type: 'ConfigValueSet',
  data: {
    namespace: scope.namespace ?? 'shop',
    environment: scope.environment ?? 'prod',
    tenant: scope.tenant ?? null,
    key,
    value,
  },
  metadata: { actor: scope.actor ?? 'admin', reason: 'test' },
});
