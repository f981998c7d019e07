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
  WriteAnswer,
} from '@strata/contracts';
import { answerScopeWrite } from './scope.js';
import { route } from './route-options.js';

/**
 * Commands: each handler states the command; CommandRunner loads the scope from the log,
 * decides with core's `decide` and appends with the version it decided on.
 */
export const writeRoutes = (fastify: FastifyInstance, context: ApiContext) => {
  const { commands, cache, pointInTime } = context;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const writeResponse = { 200: WriteAnswer };

  app.put(
    '/v1/namespaces/:ns/manifest',
    route('manifest:write', {
      tags: ['writes'],
      summary: 'Publish a manifest',
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
          const stream = await cache.stream(streamId);
          // An unchanged manifest appends nothing and answers this position: the manifest in force,
          // so `?minPosition=` with it waits for that manifest in the views (never for nothing).
          return {
            state: { ...initialState(ns, ''), position: stream.events.at(-1)?.position ?? 0 },
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

    app.put(
      base,
      route('config:write', {
        tags: ['writes'],
        summary: `Set a ${layer}`,
        params,
        body: SetValueBody,
        response: writeResponse,
      }),
      async (request, reply) =>
        answerScopeWrite(context, request, reply, (scope) => ({
          type: 'SetConfigValue',
          ...scope,
          key: request.params.key,
          value: request.body.value,
          metadata: metadataOf(request, request.body.reason),
        })),
    );

    app.delete(
      base,
      route('config:write', {
        tags: ['writes'],
        summary: `Unset a ${layer}`,
        params,
        body: UnsetValueBody,
        response: writeResponse,
      }),
      async (request, reply) =>
        answerScopeWrite(context, request, reply, (scope) => ({
          type: 'UnsetConfigValue',
          ...scope,
          key: request.params.key,
          metadata: metadataOf(request, request.body?.reason),
        })),
    );
  }

  app.put(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    route('config:write', {
      tags: ['writes'],
      summary: 'Force a flag on or off for one tenant (null clears), or pin one of its variants',
      params: TenantFlagParams,
      body: OverrideBody,
      response: writeResponse,
    }),
    async (request, reply) => {
      const { ns, env, tenant, flag } = request.params;
      const { override, variant, reason } = request.body;
      return answerScopeWrite(context, request, reply, () => ({
        type: 'SetFlagOverride',
        namespace: ns,
        environment: env,
        tenant,
        flag,
        override: variant === undefined ? (override ?? null) : 'enabled',
        variant,
        metadata: metadataOf(request, reason),
      }));
    },
  );
};
