import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  ChangesQuery,
  EnvParams,
  changeFrame,
  readyFrame,
  keepAliveFrame,
  ofrepFrame,
  resyncFrame,
  textBody,
} from '@strata/contracts';
import { StrataError, type RecordedEvent } from '@strata/core';
import type { ApiContext, ChangeStreamLimits } from '../api-context.js';
import { changeOf, type ChangeFilter, type LogTail } from '../log-tail.js';
import { principalOf } from '../request-context.js';
import { tagged } from './route-options.js';

/** The tenant a stream is narrowed to: the token's own, else `?tenant=`. Read before validation. */
const changesTarget = (request: FastifyRequest) => {
  const p = request.params as { ns?: string; env?: string };
  const q = (request.query ?? {}) as Record<string, unknown>;
  const asked = typeof q['tenant'] === 'string' ? q['tenant'] : q['tenant'] === undefined ? null : '\u0000invalid';
  return { namespace: p.ns ?? null, environment: p.env ?? null, tenant: asked ?? request.principal?.tenant ?? null };
};

const lastEventIdOf = (request: FastifyRequest): number | undefined => {
  const raw = request.headers['last-event-id'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^\d{1,15}$/.test(value.trim()))
    throw new StrataError('BAD_REQUEST', 'Last-Event-ID must be a log position');
  return Number(value.trim());
};

/**
 * `GET …/changes`: a text/event-stream of what changed (never values), id = log position.
 * A resume (`Last-Event-ID` / `?after=`) replays from the log, then joins the live feed without
 * a gap or a duplicate: the tail's events are buffered while the replay runs and delivered after
 * it, each position at most once.
 */
export const changeRoutes = (
  fastify: FastifyInstance,
  { deps }: ApiContext,
  tail: LogTail,
  limits: ChangeStreamLimits,
) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/v1/namespaces/:ns/envs/:env/changes',
    tagged('reads')(
      { permission: 'config:read', target: changesTarget },
      'Change stream (text/event-stream; id = log position; resume with Last-Event-ID)',
      { params: EnvParams, querystring: ChangesQuery, response: { 200: textBody('text/event-stream') } },
    ),
    async (request, reply) => {
      const { ns, env } = request.params;
      const principal = principalOf(request);
      const filter: ChangeFilter = {
        namespace: ns,
        environment: env,
        tenant: principal.tenant ?? request.query.tenant ?? null,
      };
      const header = lastEventIdOf(request);
      const after = header ?? request.query.after;
      const ofrep = request.query.format === 'ofrep';
      const out = new PassThrough();
      let lastSent = 0;
      let replaying = true;
      let ended = false;
      const buffered: RecordedEvent[] = [];

      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        tail.unsubscribe(subscriber);
        out.end();
      };
      const resync = (head: number) => {
        out.write(resyncFrame(head));
        end();
      };
      const deliver = (event: RecordedEvent) => {
        if (event.position <= lastSent) return;
        lastSent = event.position;
        const change = changeOf(event, filter);
        if (!change) return;
        if (ofrep) {
          if (change.kind === 'flag' || change.kind === 'manifest' || change.kind === 'segment')
            out.write(ofrepFrame(change.position, change.recordedAt));
        } else out.write(changeFrame(change));
        if (out.writableLength > limits.maxBufferedBytes) resync(event.position);
      };
      const subscriber = {
        offer(event: RecordedEvent) {
          if (ended) return;
          if (!replaying) return deliver(event);
          buffered.push(event);
          if (buffered.length > limits.maxReplay) resync(event.position);
        },
        end,
      };
      const heartbeat = setInterval(() => out.write(keepAliveFrame), limits.heartbeatMs);
      heartbeat.unref();
      request.raw.on('close', end);

      let head: number;
      try {
        head = await tail.subscribe(subscriber);
      } catch (error) {
        end();
        request.log.warn({ err: { message: (error as Error).message } }, 'change stream cannot read the log');
        throw new StrataError('UNAVAILABLE', 'the change stream cannot read the log right now', {
          retryAfterSeconds: 1,
        });
      }
      out.write('retry: 1000\n\n');
      const goLive = () => {
        replaying = false;
        for (const event of buffered.splice(0)) deliver(event);
      };
      if (after === undefined || after >= head) {
        lastSent = after ?? head;
        out.write(readyFrame(lastSent));
        goLive();
      } else if (head - after > limits.maxReplay) {
        resync(head);
      } else {
        // Replay (after, head] from the log; the tail's events are buffered meanwhile.
        lastSent = after;
        out.write(readyFrame(after));
        void (async () => {
          try {
            while (!ended && lastSent < head) {
              const page = await deps.log.readAll(lastSent, 1000);
              for (const event of page) if (event.position <= head) deliver(event);
              if (page.length === 0 || page[page.length - 1]!.position >= head) break;
            }
            lastSent = Math.max(lastSent, head);
            goLive();
          } catch (error) {
            request.log.warn({ err: { message: (error as Error).message } }, 'change stream replay failed');
            end();
          }
        })();
      }
      // The schema describes the text; the body is that text, streamed.
      return reply
        .header('cache-control', 'no-cache')
        .header('x-accel-buffering', 'no')
        .type('text/event-stream; charset=utf-8')
        .send(out as unknown as string);
    },
  );
};
