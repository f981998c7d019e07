import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StrataError, type RebuildProgress, type RebuildResult } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import {
  HealthAnswer,
  textBody,
  ProjectionStatus,
  ReadinessAnswer,
  RebuildBody,
  RebuildStarted,
} from '@strata/contracts';
import { configured, everywhere, tagged } from './route-options.js';

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/** Health, readiness, metrics and the projection controls. */
export const opsRoutes = (fastify: FastifyInstance, { deps, metrics, rotation }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const open = { public: true };
  const ops = tagged('ops');

  app.get('/healthz', ops(open, 'Liveness', { response: { 200: HealthAnswer } }), async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/readyz',
    ops(open, 'Readiness of every dependency (503 when one fails)', {
      response: { 200: ReadinessAnswer, 503: ReadinessAnswer },
    }),
    async (request, reply) => {
      const checks: Record<string, 'ok' | string> = {};
      await Promise.all(
        Object.entries(deps.readiness ?? {}).map(async ([name, probe]) => {
          try {
            await withTimeout(probe(), 2_000);
            checks[name] = 'ok';
          } catch (error) {
            // Names the failing dependency; the error text stays in the log.
            request.log.warn({ check: name, err: { message: (error as Error).message } }, 'readiness check failed');
            checks[name] = 'failing';
          }
        }),
      );
      const ready = Object.values(checks).every((v) => v === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  app.get(
    '/metrics',
    ops(open, 'Prometheus metrics (text)', { response: { 200: textBody('text/plain') } }),
    async (_request, reply) => {
      let head = -1;
      let overdue = -1;
      try {
        head = await deps.log.headPosition();
        overdue = (await rotation.due()).length;
      } catch {
        // a scrape must not fail because PostgreSQL is away: -1 says "unknown"
      }
      return reply
        .type('text/plain; version=0.0.4; charset=utf-8')
        .send(await metrics.render({ strata_log_head_position: head, strata_secrets_overdue: overdue }));
    },
  );

  let running: { progress: RebuildProgress | null; startedAt: string; actor: string } | null = null;
  let last: (RebuildResult & { finishedAt: string }) | { error: string; finishedAt: string } | null = null;

  const projections = () => configured(deps.projections, 'projection controls are not configured on this API instance');

  app.post(
    '/v1/projections/rebuild',
    ops(
      everywhere('projections'),
      'Rebuild the Redis views from the log into a new generation (runs in the background)',
      {
        body: RebuildBody,
        response: { 202: RebuildStarted },
      },
    ),
    async (request, reply) => {
      const store = projections();
      if (running) return reply.status(202).send({ started: false, running: true, progress: running.progress });
      const actor = request.principal?.subject ?? 'unknown';
      running = { progress: null, startedAt: new Date().toISOString(), actor };
      request.log.info({ actor, reason: request.body?.reason ?? null }, 'projection rebuild started');
      const current = running;
      void store
        .rebuild({ eventLog: deps.log, onProgress: (p) => (current.progress = p) })
        .then((result) => (last = { ...result, finishedAt: new Date().toISOString() }))
        .catch((error: unknown) => {
          fastify.log.error({ err: { message: (error as Error).message } }, 'projection rebuild failed');
          last = {
            error: error instanceof StrataError ? error.message : 'rebuild failed; see the API log',
            finishedAt: new Date().toISOString(),
          };
        })
        .finally(() => (running = null));
      return reply
        .status(202)
        .send({ started: true, running: true, generation: ((await store.generation()) ?? 0) + 1 });
    },
  );

  app.get(
    '/v1/projections/status',
    ops(everywhere('projections'), 'Live generation, rebuild progress, checkpoints and projector lag per partition', {
      response: { 200: ProjectionStatus },
    }),
    async () => {
      const store = projections();
      const [generation, needsRebuild, head, checkpoints, partitions] = await Promise.all([
        store.generation(),
        store.needsRebuild(),
        deps.log.headPosition(),
        // The relay's (`relay:<topic>`) and any other consumer's saved position, against the head.
        deps.checkpoints.list(),
        store.partitionLag(),
      ]);
      const progress = running?.progress ?? null;
      return {
        generation,
        needsRebuild,
        head,
        rebuilding: running ? { startedAt: running.startedAt, actor: running.actor, progress } : null,
        position: progress?.position ?? (last && 'position' in last ? last.position : null),
        lag: progress ? Math.max(0, head - progress.position) : null,
        progress: progress && progress.head > 0 ? Math.min(1, progress.position / progress.head) : null,
        last,
        checkpoints: checkpoints.map(({ name, position, updatedAt }) => ({
          name,
          position,
          lag: Math.max(0, head - position),
          updatedAt,
        })),
        partitions: partitions.map(({ everyMs: _everyMs, ...report }) => report),
      };
    },
  );
};
