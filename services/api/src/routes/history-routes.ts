import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  diffStates,
  eventTypes,
  planRevert,
  StrataError,
  type EventType,
  type HistoryFilter,
  type NewEvent,
  type RecordedEvent,
  type ResealRequest,
  type SecretEnvelope,
} from '@strata/core';
import type { Principal } from '../access-policy.js';
import type { ApiContext } from '../api-context.js';
import { idempotencyKeyOf, principalOf } from '../request-context.js';
import {
  ChainVerification,
  DiffAnswer,
  DiffQuery,
  EnvParams,
  EventsPage,
  EventsQuery,
  ExportQuery,
  RevertAnswer,
  RevertBody,
  textBody,
} from '@strata/contracts';
import type { RevertAnswer as RevertAnswerBody } from '@strata/contracts';
import { everywhere, tagged } from './route-options.js';

/**
 * Secret envelopes never leave the API: history shows which version and which key wrapped it.
 * Event data is always an object (every event schema is one).
 */
export const redactData = (type: string, data: unknown): Record<string, unknown> => {
  if (type !== 'SecretVersionAdded') return data as Record<string, unknown>;
  const { envelope, ...rest } = data as { envelope: SecretEnvelope; version: number };
  return { ...rest, envelope: { version: rest.version, kek: envelope.kek } };
};

const redactEvent = (event: Pick<NewEvent, 'type' | 'data' | 'metadata'>) => ({
  type: event.type,
  data: redactData(event.type, event.data),
  metadata: event.metadata,
});

/** A tenant- or namespace-scoped caller only sees its own scope: filters are narrowed, never widened. */
const scopedFilter = (principal: Principal, query: Omit<z.infer<typeof EventsQuery>, 'limit'>): HistoryFilter => {
  const types = query.type === undefined ? undefined : Array.isArray(query.type) ? query.type : [query.type];
  for (const t of types ?? [])
    if (!eventTypes.includes(t as EventType))
      throw new StrataError('BAD_REQUEST', `unknown event type ${t}`, { type: t });
  const filter: HistoryFilter = {};
  const namespace = query.namespace ?? principal.namespace ?? undefined;
  const environment = query.env ?? principal.environment ?? undefined;
  const tenant = query.tenant ?? principal.tenant ?? undefined;
  if (namespace !== undefined) filter.namespace = namespace;
  if (environment !== undefined) filter.environment = environment;
  if (tenant !== undefined) filter.tenant = tenant;
  if (query.key !== undefined) filter.key = query.key;
  if (query.actor !== undefined) filter.actor = query.actor;
  if (types) filter.type = types as EventType[];
  if (query.from !== undefined) filter.from = query.from;
  if (query.to !== undefined) filter.to = query.to;
  if (query.after !== undefined) filter.after = query.after;
  return filter;
};

const historyTarget = (request: { query: unknown; principal: Principal | null }) => {
  // Runs before validation: repeated parameters arrive as arrays, which match no scope.
  const q = (request.query ?? {}) as Record<string, unknown>;
  const p = request.principal;
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? undefined : '\u0000invalid');
  return {
    namespace: str(q['namespace']) ?? p?.namespace ?? null,
    environment: str(q['env']) ?? p?.environment ?? null,
    tenant: str(q['tenant']) ?? p?.tenant ?? null,
  };
};

/** Audit history, export, chain verification, diff and revert. */
export const historyRoutes = (fastify: FastifyInstance, { deps, pointInTime }: ApiContext) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const audit = tagged('audit');
  const scopedHistory = { permission: 'history:read', target: historyTarget } as const;

  type ConfigChange = Extract<RecordedEvent, { type: 'ConfigValueSet' | 'ConfigValueUnset' }>;
  const isConfigChange = (event: RecordedEvent): event is ConfigChange =>
    event.type === 'ConfigValueSet' || event.type === 'ConfigValueUnset';
  const valueOf = (change: RecordedEvent | null) =>
    change?.type === 'ConfigValueSet' ? { value: change.data.value } : null;

  /**
   * A page of history as answered: config changes with the value they replaced (`before`, the
   * key's previous change in the same stream, one `lastKeyChanges` for the whole page) and set.
   */
  const withBeforeAfter = async (events: RecordedEvent[]) => {
    const changes = events.filter(isConfigChange);
    const previous = await deps.log.lastKeyChanges(
      changes.map((event) => ({ streamId: event.streamId, key: event.data.key, before: event.position })),
    );
    const before = new Map<RecordedEvent, RecordedEvent | null>(
      changes.map((event, i) => [event, previous[i] ?? null]),
    );
    return events.map((event) => {
      const base = {
        position: event.position,
        eventId: event.eventId,
        type: event.type,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        recordedAt: event.recordedAt,
        actor: event.metadata.actor,
        data: redactData(event.type, event.data),
        metadata: event.metadata,
      };
      return isConfigChange(event)
        ? { ...base, before: valueOf(before.get(event) ?? null), after: valueOf(event) }
        : base;
    });
  };

  app.get(
    '/v1/events',
    audit(scopedHistory, 'History, oldest first; page with ?after=<next>', {
      querystring: EventsQuery,
      response: { 200: EventsPage },
    }),
    async (request) => {
      const filter = scopedFilter(principalOf(request), request.query);
      const events = await deps.log.history({ ...filter, limit: request.query.limit });
      const last = events[events.length - 1];
      return {
        events: await withBeforeAfter(events),
        next: events.length === request.query.limit && last ? last.position : null,
      };
    },
  );

  app.get(
    '/v1/events/export',
    audit(scopedHistory, 'The filtered history as NDJSON, one event per line', {
      querystring: ExportQuery,
      response: { 200: textBody('application/x-ndjson') },
    }),
    async (request, reply) => {
      const filter = scopedFilter(principalOf(request), request.query);
      const max = request.query.limit ?? Number.MAX_SAFE_INTEGER;
      async function* lines() {
        let sent = 0;
        let after = filter.after ?? 0;
        while (sent < max) {
          const page = await deps.log.history({ ...filter, after, limit: Math.min(1000, max - sent) });
          for (const answered of await withBeforeAfter(page)) yield `${JSON.stringify(answered)}\n`;
          sent += page.length;
          if (page.length < 1000) return;
          after = page[page.length - 1]!.position;
        }
      }
      // The schema describes the text; the body is that text, streamed.
      return reply.type('application/x-ndjson').send(Readable.from(lines()) as unknown as string);
    },
  );

  app.get(
    '/v1/verify',
    audit(everywhere('history:verify'), 'Verify the hash chain of the whole log', {
      response: { 200: ChainVerification },
    }),
    async () => deps.verifyChain(),
  );

  app.get(
    '/v1/namespaces/:ns/envs/:env/diff',
    audit('history:read', 'What changed between two positions or times (to: default now)', {
      params: EnvParams,
      querystring: DiffQuery,
      response: { 200: DiffAnswer },
    }),
    async (request) => {
      const { ns, env } = request.params;
      const from = await pointInTime.resolve(request.query.from);
      const to = await pointInTime.resolve(request.query.to ?? (await deps.log.headPosition()));
      const [a, b] = await Promise.all([pointInTime.stateAt(ns, env, from), pointInTime.stateAt(ns, env, to)]);
      return { from, to, changes: diffStates(a, b) };
    },
  );

  app.post(
    '/v1/namespaces/:ns/envs/:env/revert',
    tagged('writes')('revert', 'Restore an earlier state by appending compensating events', {
      params: EnvParams,
      body: RevertBody,
      response: { 200: RevertAnswer },
    }),
    async (request): Promise<RevertAnswerBody> => {
      const { ns, env } = request.params;
      const body = request.body;
      const principal = principalOf(request);
      const target = await pointInTime.resolve('position' in body.to ? body.to.position : body.to.at);
      const [current, past] = await Promise.all([pointInTime.current(ns, env), pointInTime.stateAt(ns, env, target)]);
      const reseals: ResealRequest[] = [];
      const plan = planRevert(current.state, past, {
        ...(body.tenants ? { tenants: body.tenants } : {}),
        ...(body.keys ? { keys: body.keys, flags: body.keys, secrets: body.keys } : {}),
        actor: principal.subject,
        reason: body.reason,
        revertTo: target,
        correlationId: request.id,
        reseal: (r) => {
          reseals.push(r);
          return r.envelope;
        },
      });
      const shown = {
        streams: plan.streams.map((s) => ({ streamId: s.streamId, events: s.events.map(redactEvent) })),
        skipped: plan.skipped,
      };
      if (body.dryRun) return { position: current.state.position, dryRun: true as const, to: target, plan: shown };

      // The envelope binds its version number: re-encrypt restored versions under their new number.
      for (const r of reseals) {
        const plaintext = await deps.cipher.open(r.envelope, {
          namespace: r.namespace,
          environment: r.environment,
          tenant: r.tenant,
          name: r.name,
          version: r.fromVersion,
        });
        const sealed = await deps.cipher.seal({
          namespace: r.namespace,
          environment: r.environment,
          tenant: r.tenant,
          name: r.name,
          version: r.toVersion,
          plaintext: plaintext.reveal(),
        });
        for (const s of plan.streams) {
          for (const e of s.events) {
            if (
              e.type === 'SecretVersionAdded' &&
              e.data.tenant === r.tenant &&
              e.data.name === r.name &&
              e.data.version === r.toVersion
            )
              e.data.envelope = sealed;
          }
        }
      }
      const idempotencyKey = idempotencyKeyOf(request);
      let position = current.state.position;
      let appended = 0;
      for (const { streamId, events } of plan.streams) {
        const result = await deps.log.append(streamId, events, {
          expectedVersion: current.streamVersions.get(streamId) ?? 0,
          ...(idempotencyKey ? { idempotencyKey: `${idempotencyKey}:${streamId}` } : {}),
        });
        if (!result.ok) {
          throw new StrataError(
            'VERSION_CONFLICT',
            `${streamId} changed while the revert was planned; ${appended} event(s) were appended before it — plan again`,
            {
              streamId,
              currentVersion: result.currentVersion,
              appended,
            },
          );
        }
        position = result.positions[result.positions.length - 1] ?? position;
        appended += result.replayed ? 0 : result.positions.length;
      }
      return { position, to: target, appended, applied: shown };
    },
  );
};
