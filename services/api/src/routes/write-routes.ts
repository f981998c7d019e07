import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { decide, initialState, streamIds } from '@strata/core';
import type { ApiContext } from '../app.js';
import { answerWrite, metadataOf, writeOptionsOf } from '../request-context.js';
import {
  EnvFlagParams,
  EnvKeyParams,
  FlagBody,
  ManifestBody,
  NsParams,
  OverrideBody,
  SetValueBody,
  TenantFlagParams,
  TenantKeyParams,
  UnsetValueBody,
  WriteAnswer,
} from '../schemas.js';

/**
 * Commands: each handler states the command; CommandRunner loads the scope from the log,
 * decides with core's `decide` and appends with the version it decided on.
 */
export const writeRoutes = (fastify: FastifyInstance, { commands, cache, pointInTime }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const writeResponse = { 200: WriteAnswer };

  app.put(
    '/v1/namespaces/:ns/manifest',
    {
      config: { access: { permission: 'manifest:write' } },
      schema: {
        tags: ['writes'],
        summary: 'Publish a manifest',
        params: NsParams,
        body: ManifestBody,
        response: writeResponse,
      },
    },
    async (request, reply) => {
      const { ns } = request.params;
      const { reason, ...manifest } = request.body;
      const streamId = streamIds.manifest(ns);
      const result = await commands.run(
        streamId,
        async () => {
          const stream = await cache.stream(streamId);
          return {
            state: initialState(ns, ''),
            streamId,
            streamVersion: stream.version,
            manifestVersion: stream.version,
          };
        },
        async () => {
          const states = await pointInTime.environments(ns);
          return decide(
            { type: 'PublishManifest', namespace: ns, manifest, metadata: metadataOf(request, reason) },
            states,
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
    const tenantOf = (p: object): string | null => ('tenant' in p && typeof p.tenant === 'string' ? p.tenant : null);

    app.put(
      base,
      {
        config: { access: { permission: 'config:write' } },
        schema: {
          tags: ['writes'],
          summary: `Set a ${tenantScoped ? 'tenant override' : 'environment value'}`,
          params,
          body: SetValueBody,
          response: writeResponse,
        },
      },
      async (request, reply) => {
        const { ns, env, key } = request.params;
        const tenant = tenantOf(request.params);
        const result = await commands.run(
          streamIds.scope(ns, env, tenant),
          () => cache.load(ns, env, tenant),
          ({ state }) =>
            decide(
              {
                type: 'SetConfigValue',
                namespace: ns,
                environment: env,
                tenant,
                key,
                value: request.body.value,
                metadata: metadataOf(request, request.body.reason),
              },
              state,
            ),
          writeOptionsOf(request),
        );
        return answerWrite(reply, result);
      },
    );

    app.delete(
      base,
      {
        config: { access: { permission: 'config:write' } },
        schema: {
          tags: ['writes'],
          summary: `Unset a ${tenantScoped ? 'tenant override' : 'environment value'}`,
          params,
          body: UnsetValueBody,
          response: writeResponse,
        },
      },
      async (request, reply) => {
        const { ns, env, key } = request.params;
        const tenant = tenantOf(request.params);
        const result = await commands.run(
          streamIds.scope(ns, env, tenant),
          () => cache.load(ns, env, tenant),
          ({ state }) =>
            decide(
              {
                type: 'UnsetConfigValue',
                namespace: ns,
                environment: env,
                tenant,
                key,
                metadata: metadataOf(request, request.body?.reason),
              },
              state,
            ),
          writeOptionsOf(request),
        );
        return answerWrite(reply, result);
      },
    );
  }

  app.put(
    '/v1/namespaces/:ns/envs/:env/flags/:flag',
    {
      config: { access: { permission: 'config:write' } },
      schema: {
        tags: ['writes'],
        summary: 'Set a flag rollout and kill switch',
        params: EnvFlagParams,
        body: FlagBody,
        response: writeResponse,
      },
    },
    async (request, reply) => {
      const { ns, env, flag } = request.params;
      const { rollout, enabled, variants, reason } = request.body;
      const result = await commands.run(
        streamIds.environment(ns, env),
        () => cache.load(ns, env, null),
        ({ state }) =>
          decide(
            {
              type: 'SetFlagRollout',
              namespace: ns,
              environment: env,
              flag,
              rollout,
              enabled,
              ...(variants ? { variants } : {}),
              metadata: metadataOf(request, reason),
            },
            state,
          ),
        writeOptionsOf(request),
      );
      return answerWrite(reply, result);
    },
  );

  app.put(
    '/v1/namespaces/:ns/envs/:env/tenants/:tenant/flags/:flag',
    {
      config: { access: { permission: 'config:write' } },
      schema: {
        tags: ['writes'],
        summary: 'Force a flag on or off for one tenant (null clears)',
        params: TenantFlagParams,
        body: OverrideBody,
        response: writeResponse,
      },
    },
    async (request, reply) => {
      const { ns, env, tenant, flag } = request.params;
      const result = await commands.run(
        streamIds.tenant(ns, env, tenant),
        () => cache.load(ns, env, tenant),
        ({ state }) =>
          decide(
            {
              type: 'SetFlagOverride',
              namespace: ns,
              environment: env,
              tenant,
              flag,
              override: request.body.override,
              metadata: metadataOf(request, request.body.reason),
            },
            state,
          ),
        writeOptionsOf(request),
      );
      return answerWrite(reply, result);
    },
  );
};
