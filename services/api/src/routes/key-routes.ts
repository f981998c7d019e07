import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { KeyReasonBody, KeyRotation, KeyStatus, NsTenantParams, TenantShredded } from '@strata/contracts';
import { StrataError, newEvent, streamIds } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { metadataOf } from '../request-context.js';
import { configured, everywhere, tagged } from './route-options.js';

/**
 * Key management: which master key wraps what, master-key rotation and crypto-shredding of a
 * tenant. The key material itself never leaves the key store; the log records that a rotation
 * or a shred happened (ids only), so the audit trail shows it next to the changes it affects.
 */
export const keyRoutes = (fastify: FastifyInstance, { deps }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const keyRoute = tagged('keys');
  const keys = () => configured(deps.keys, 'key management is not configured on this API instance');

  app.get(
    '/v1/keys',
    keyRoute(everywhere('keys'), 'Master key ids, the active one, and how many tenant keys each still wraps', {
      response: { 200: KeyStatus },
    }),
    async () => {
      const { store, keyring } = keys();
      const masterKeys = await Promise.all(
        keyring.kids.map(async (kid) => ({
          kid,
          active: kid === keyring.activeKid,
          wraps: (await store.keysWrappedBy(kid)).length,
        })),
      );
      return { activeKid: keyring.activeKid, masterKeys };
    },
  );

  app.post(
    '/v1/keys/rotate',
    keyRoute(everywhere('keys'), 'Re-wrap every tenant key still wrapped by an older master key under the active one', {
      body: KeyReasonBody,
      response: { 200: KeyRotation },
    }),
    async (request) => {
      const { store, keyring } = keys();
      const rotations: { fromKeyId: string; toKeyId: string; rewrapped: number }[] = [];
      let position = await deps.log.headPosition();
      for (const kid of keyring.kids.filter((k) => k !== keyring.activeKid)) {
        const rewrappedKeyIds = await store.rewrapAll(kid, keyring.activeKid);
        if (rewrappedKeyIds.length === 0) continue;
        const result = await deps.log.append(
          streamIds.keys(),
          [
            newEvent(
              'MasterKeyRotated',
              { fromKeyId: kid, toKeyId: keyring.activeKid, rewrappedKeyIds },
              metadataOf(request, request.body?.reason),
            ),
          ],
          { expectedVersion: 'any' },
        );
        if (!result.ok) throw new StrataError('VERSION_CONFLICT', 'the key stream changed; retry');
        position = result.positions.at(-1) ?? position;
        rotations.push({ fromKeyId: kid, toKeyId: keyring.activeKid, rewrapped: rewrappedKeyIds.length });
      }
      return { position, activeKid: keyring.activeKid, rotations };
    },
  );

  app.delete(
    '/v1/namespaces/:ns/tenants/:tenant/keys',
    keyRoute(
      { permission: 'keys', target: (request) => ({ namespace: (request.params as { ns: string }).ns }) },
      'Crypto-shred a tenant: destroy its key so every copy of its secrets becomes unreadable; history stays',
      { params: NsTenantParams, body: KeyReasonBody, response: { 200: TenantShredded } },
    ),
    async (request) => {
      const { ns, tenant } = request.params;
      const keyId = await keys().store.shred(ns, tenant);
      if (keyId === null) throw new StrataError('NOT_FOUND', `tenant ${tenant} of ${ns} has no key to shred`);
      const result = await deps.log.append(
        streamIds.keys(),
        [newEvent('TenantKeyShredded', { namespace: ns, tenant, keyId }, metadataOf(request, request.body?.reason))],
        { expectedVersion: 'any' },
      );
      if (!result.ok) throw new StrataError('VERSION_CONFLICT', 'the key stream changed; retry');
      return { position: result.positions.at(-1) ?? 0, keyId };
    },
  );
};
