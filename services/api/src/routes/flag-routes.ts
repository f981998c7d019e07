import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  definitionOf,
  flagdSchemaUrl,
  parseFlagDefinition,
  planFlagdImport,
  previewDefinition,
  shorthandDefinition,
  StrataError,
  streamIds,
  tenantsSeen,
  type EvaluationContext,
  type FlagdFile,
} from '@strata/core';
import type { ApiContext } from '../api-context.js';
import { answerWrite, metadataOf, writeOptionsOf } from '../request-context.js';
import {
  EnvFlagParams,
  EnvParams,
  EnvSegmentParams,
  FlagBody,
  FlagdFileAnswer,
  FlagdFileBody,
  FlagdImportAnswer,
  PreviewAnswer,
  PreviewBody,
  ReadQuery,
  SegmentBody,
  UnsetValueBody,
} from '@strata/contracts';
import { pastPositionOf, scopeRead, scopeWrite, scopeWriter } from './scope.js';
import { tagged } from './route-options.js';

/**
 * Flag definitions (flagd's format), segments, flagd file import / export and "who flips"
 * previews. Deciding and validating is core's; every bad input is a 422 naming its path.
 */
export const flagRoutes = (fastify: FastifyInstance, context: ApiContext) => {
  const { commands, cache, pointInTime } = context;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const write = scopeWriter(context);
  const reads = tagged('reads');

  app.put(
    '/v1/namespaces/:ns/envs/:env/flags/:flag',
    scopeWrite('Set a flag: a flagd definition, or the {rollout, enabled} shorthand', EnvFlagParams, FlagBody),
    async (request, reply) => {
      const { flag } = request.params;
      const body = request.body;
      return write(request, reply, () => {
        if ('state' in body) {
          const { reason: _, ...definition } = body;
          return { type: 'SetFlagDefinition', flag, definition };
        }
        const { rollout, enabled, variants } = body;
        // Omitted keeps the flag's variants, null removes them (core's SetFlagRollout).
        return { type: 'SetFlagRollout', flag, rollout, enabled, ...(variants === undefined ? {} : { variants }) };
      });
    },
  );

  app.put(
    '/v1/namespaces/:ns/envs/:env/segments/:name',
    scopeWrite(
      'Set a segment (a shared JsonLogic rule, flagd $evaluators), used by {"$ref": name}',
      EnvSegmentParams,
      SegmentBody,
    ),
    async (request, reply) =>
      write(request, reply, () => ({ type: 'SetSegment', segment: request.params.name, logic: request.body.logic })),
  );

  app.delete(
    '/v1/namespaces/:ns/envs/:env/segments/:name',
    scopeWrite('Delete a segment no flag uses', EnvSegmentParams, UnsetValueBody),
    async (request, reply) => write(request, reply, () => ({ type: 'DeleteSegment', segment: request.params.name })),
  );

  app.post(
    '/v1/namespaces/:ns/envs/:env/flags/import',
    // It may declare flags in the manifest.
    tagged('writes')(
      'manifest:write',
      'Import a flagd file: segments, definitions, missing flags declared; one atomic append',
      { params: EnvParams, body: FlagdFileBody, response: { 200: FlagdImportAnswer } },
    ),
    async (request, reply) => {
      const { ns, env } = request.params;
      const { reason, ...file } = request.body;
      const metadata = metadataOf(request, reason);
      // Flags missing from the manifest are declared in the same append: the events then go to the
      // manifest stream (the log's unit of atomicity is one stream; folds read events by scope).
      const first = await cache.load(ns, env, null);
      const declares = planFlagdImport(file, first.state, metadata).declaresFlags;
      const streamId = declares ? streamIds.manifest(ns) : streamIds.environment(ns, env);
      let planned: { flags: string[]; segments: string[] } = { flags: [], segments: [] };
      const result = await commands.run(
        streamId,
        async () => {
          const loaded = await cache.load(ns, env, null);
          return declares ? { ...loaded, streamId, streamVersion: loaded.manifestVersion } : loaded;
        },
        ({ state }) => {
          const plan = planFlagdImport(file, state, metadata);
          if (plan.declaresFlags !== declares)
            throw new StrataError('VERSION_CONFLICT', 'the manifest changed while importing; retry the request');
          planned = { flags: plan.flags, segments: plan.segments };
          return plan.events;
        },
        writeOptionsOf(request),
      );
      return answerWrite(reply, result, planned);
    },
  );

  app.get(
    '/v1/namespaces/:ns/envs/:env/flags/export',
    scopeRead(
      'Export the environment as a flagd file (flagd loads it as it is)',
      EnvParams,
      ReadQuery,
      FlagdFileAnswer,
    ),
    async (request) => {
      const { ns, env } = request.params;
      const past = await pastPositionOf(pointInTime, request.query);
      const state = past === null ? (await cache.load(ns, env, null)).state : await pointInTime.stateAt(ns, env, past);
      const file: FlagdFile = { $schema: flagdSchemaUrl, flags: {} };
      // Shorthand flags export as their definition; `rollout` is Strata's operation, which flagd
      // itself does not know (it loads such a flag and answers its default).
      for (const [flag, entry] of [...state.flags].sort(([a], [b]) => (a < b ? -1 : 1)))
        file.flags[flag] = definitionOf(entry);
      if (state.segments.size > 0)
        file.$evaluators = Object.fromEntries([...state.segments].map(([name, s]) => [name, s.logic]));
      return { ...file, metadata: { namespace: ns, environment: env, position: state.position } };
    },
  );

  app.post(
    '/v1/namespaces/:ns/envs/:env/flags/:flag/preview',
    reads('config:read', 'Who flips: the contexts that would change variant under a proposed definition', {
      params: EnvFlagParams,
      body: PreviewBody,
      response: { 200: PreviewAnswer },
    }),
    async (request) => {
      const { ns, env, flag } = request.params;
      const { state } = await cache.load(ns, env, null);
      const declared =
        state.manifest && Object.hasOwn(state.manifest.flags, flag) ? state.manifest.flags[flag] : undefined;
      if (!declared) throw new StrataError('UNKNOWN_KEY', `flag ${flag}: not declared in the manifest`, { flag });
      const raw = request.body.definition as Record<string, unknown> | null;
      const proposed =
        raw !== null && typeof raw === 'object' && 'rollout' in raw && !('state' in raw)
          ? shorthandOf(flag, raw)
          : parseFlagDefinition(flag, raw, { segments: state.segments, declaredType: declared.type });
      const contexts: Array<{ context: EvaluationContext; tenant?: string }> = [];
      for (const c of request.body.contexts ?? []) contexts.push({ context: c });
      const tenants =
        request.body.tenants === 'seen' ? tenantsSeen(await fullState(ns, env)) : (request.body.tenants ?? []);
      for (const tenant of tenants) contexts.push({ context: { targetingKey: tenant }, tenant });
      const now = () => Math.floor(Date.now() / 1000);
      const flips = previewDefinition(await fullState(ns, env), flag, proposed, contexts, now);
      return { flag, evaluated: contexts.length, changed: flips.length, flips };
    },
  );

  /** The environment with every tenant's overrides and layers (for previews over tenants). */
  const fullState = async (ns: string, env: string) => (await context.pointInTime.current(ns, env)).state;
};

const shorthandOf = (flag: string, raw: Record<string, unknown>) => {
  const { rollout, enabled } = raw;
  if (typeof rollout !== 'number' || !Number.isInteger(rollout) || rollout < 0 || rollout > 100)
    throw new StrataError('VALIDATION_FAILED', `flag ${flag}: definition.rollout: an integer 0-100`, {
      problems: [{ path: 'definition.rollout', message: 'an integer 0-100' }],
    });
  return shorthandDefinition(rollout, enabled !== false);
};
