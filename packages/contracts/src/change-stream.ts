import { z } from 'zod';

/**
 * The change stream `GET /v1/namespaces/{ns}/envs/{env}/changes` (text/event-stream). Each
 * `change` event names what changed, never a value: clients refetch it with
 * `?minPosition=<position>`, which then reflects the event (read your writes).
 */
export const ChangeKind = z.enum(['manifest', 'config', 'flag', 'segment', 'secret', 'tenant-key']);
export type ChangeKind = z.infer<typeof ChangeKind>;

export const Change = z.object({
  position: z.number().int().positive(),
  type: z.string(),
  kind: ChangeKind,
  /** Config key, flag key, segment or secret name; null for manifest and tenant-key. */
  name: z.string().nullable(),
  /** null: environment-wide (every tenant sees it). */
  tenant: z.string().nullable(),
  recordedAt: z.string(),
});
export type Change = z.infer<typeof Change>;

/** `event: resync`: the server cannot replay from where the client was; reload everything, resume at `position`. */
export const Resync = z.object({ position: z.number().int().min(0) });
export type Resync = z.infer<typeof Resync>;

/** `?format=ofrep`: OFREP ADR 0008's notification, telling an OFREP provider to refetch its bulk evaluation. */
export const OfrepRefetch = z.object({
  type: z.literal('refetchEvaluation'),
  etag: z.string().optional(),
  lastModified: z.union([z.number(), z.string()]).optional(),
});

/**
 * `event: ready` (an addition to the agreed format; clients that ignore unknown events lose
 * nothing): the position the stream starts after, also as the SSE id, so a client that connected
 * live can resume after a break without a gap.
 */
export const Ready = z.object({ position: z.number().int().min(0) });

export type ChangeMessage =
  { event: 'ready'; position: number } | { event: 'change'; change: Change } | { event: 'resync'; position: number };

/** SSE wire text of one change (what the server writes). */
export const changeFrame = (change: Change): string =>
  `id: ${change.position}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`;
export const readyFrame = (position: number): string =>
  `id: ${position}\nevent: ready\ndata: ${JSON.stringify({ position })}\n\n`;
export const resyncFrame = (position: number): string => `event: resync\ndata: ${JSON.stringify({ position })}\n\n`;
export const ofrepFrame = (position: number, recordedAt: string): string =>
  `id: ${position}\nevent: message\ndata: ${JSON.stringify({
    type: 'refetchEvaluation',
    etag: `"p${position}"`,
    lastModified: Math.floor(Date.parse(recordedAt) / 1000),
  })}\n\n`;
export const keepAliveFrame = ': keep-alive\n\n';
