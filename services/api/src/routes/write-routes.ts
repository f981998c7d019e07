import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { decide, initialState, streamIds } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { answerWrite, metadataOf, writeOptionsOf } from '../request-context.js';
import {
  EnvKeyParams,
  ManifestBody,
  NsParams,
  OverrideBody,
  SetValueBody,
  TenantFlagParams,
  TenantKeyParams,
  UnsetValueBody,
} from '@strata/contracts';
import { scopeWrite, scopeWriter, writeResponse } from './scope.js';
import { tagged } from './route-options.js';

/**
 * Commands: each handler states the command; CommandRunner loads the scope from the log,
 * decides with core's `decide` and appends with the version it decided on.
 */
export const writeRoutes = (fastify: FastifyInstance, context: ApiContext) => {
  const { commands, cache, pointInTime } = context;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const write = scopeWriter(context);

  app.put(
    '/v1/namespaces/:ns/manifest',
    tagged('writes')('manifest:write', 'Publish a manifest', {
      params: NsParams,
      body: ManifestBody,
      response: writeResponse,
    }),
    async (request, reply) => {
      const { ns } = request.params;
      const { reason, ...manifest } = request.body;
      const streamId = streamIds.manifest(ns);
      const result = await commands.run(
        streamId,
        async () => {
          const stream = await cache.manifestStream(ns);
          // An unchanged manifest appends nothing and answers this position: the manifest in force,
          // so `?minPosition=` with it waits for that manifest in the views (never for nothing).
          return {
            state: { ...initialState(ns, ''), position: stream.position },
            streamId,
            streamVersion: stream.version,
            manifestVersion: stream.version,
          };
        },
        async () => {
          const [states, inForce] = await Promise.all([pointInTime.environments(ns), cache.manifest(ns)]);
          return decide(
            { type: 'PublishManifest', namespace: ns, manifest, metadata: metadataOf(request, reason) },
            states,
            inForce,
          );
        },
        writeOptionsOf(request),
      );
      return answerWrite(reply, result);
    },
  );

  for (const tenantScoped of [false, true]) {
    const base = tenantScoped
      ? '/v1/namespaces/:ns/envs/:env/tenants/:tenant/config/:key'
      : '/v1/namespaces/:ns/envs/:env/config/:key';
    const params = tenantScoped ? TenantKeyParams : EnvKeyParams;
    const layer = tenantScoped ? 'tenant override' : 'environment value';

    app.put(base, scopeWrite(`Set a ${layer}`, params, SetValueBody), async (request, reply) =>
      write(request, reply, ({ tenant }) => ({
        type: 'SetConfigValue',
        tenant,
        key: request.params.key,
        value: request.body.value,
      })),
    );

    app.delete(base, scopeWrite(`Unset a ${layer}`, params, UnsetValueBody), async (request, reply) =>
      write(request, reply, ({ tenant }) => ({ type: 'UnsetConfigValue', tenant, key: request.params.key })),
    );
  }

  app.put(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    scopeWrite(
      'Force a flag on or off for one tenant (null clears), or pin one of its variants',
      TenantFlagParams,
      OverrideBody,
    ),
    async (request, reply) => {
      const { override, variant } = request.body;
      return write(request, reply, () => ({
        type: 'SetFlagOverride',
        tenant: request.params.tenant,
        flag: request.params.flag,
        override: variant === undefined ? (override ?? null) : 'enabled',
        variant,
      }));
    },
  );
};
