import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { WriteAnswer } from '@strata/contracts';
import { decide, StrataError, streamIds, type Command, type NamespaceEnvState } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import type { PointInTime } from '../point-in-time.js';
import type { ReadSource } from '../present-reads.js';
import { answerWrite, metadataOf, writeOptionsOf } from '../request-context.js';
import { tagged } from './route-options.js';

/** One layer of an environment: the environment itself when `tenant` is null, else that tenant's. */
export interface Scope {
  namespace: string;
  environment: string;
  tenant: string | null;
}

/** The path parameters that name a scope: `…/namespaces/:ns/envs/:env[/tenants/:tenant]/…`. */
interface ScopeParams {
  ns: string;
  env: string;
  tenant?: string;
}

/** The scope a route's path names: `…/tenants/:tenant/…`, else the environment. */
export const scopeOf = ({ ns, env, tenant }: ScopeParams): Scope => ({
  namespace: ns,
  environment: env,
  tenant: tenant ?? null,
});

/** Response header naming where a present read came from when it was not the views. */
const readSourceHeader = 'strata-read-source';

/** The options of a route that reads the scope its path names: `config:read`, tagged `reads`. */
export const scopeRead = <Params extends z.ZodType<ScopeParams>, Query extends z.ZodType, Answer>(
  summary: string,
  params: Params,
  querystring: Query,
  answer: Answer,
) => tagged('reads')('config:read', summary, { params, querystring, response: { 200: answer } });

/**
 * Answers a read of the present (from the views, current for the request's minimum position, or
 * from the log while they are unavailable), saying in `Strata-Read-Source` when it is the log's.
 */
export const presentRead = async <Answer extends { source: ReadSource }>(
  reply: FastifyReply,
  read: Promise<Answer>,
): Promise<Answer> => {
  const answer = await read;
  if (answer.source === 'log') reply.header(readSourceHeader, 'log');
  return answer;
};

/** The log position a read of the past names with `?at=` (a time) or `?position=`, or null: the present. */
export const pastPositionOf = async (
  pointInTime: PointInTime,
  query: { at?: string | undefined; position?: number | undefined },
): Promise<number | null> => {
  if (query.at !== undefined && query.position !== undefined)
    throw new StrataError('BAD_REQUEST', 'give either ?at= or ?position=, not both');
  const at = query.position ?? query.at;
  return at === undefined ? null : pointInTime.resolve(at);
};

/** What every write answers: the position and stream version it reached (the next If-Match). */
export const writeResponse = { 200: WriteAnswer };

/** The options of a route that writes one command to the scope its path names: `config:write`, tagged `writes`. */
export const scopeWrite = <Params extends z.ZodType<ScopeParams>, Body extends z.ZodType>(
  summary: string,
  params: Params,
  body: Body,
) => tagged('writes')('config:write', summary, { params, body, response: writeResponse });

/** A scope command as a route states it: the scope's namespace and environment and the metadata are added for it. */
export type ScopeCommand =
  Exclude<Command, { type: 'PublishManifest' }> extends infer C
    ? C extends Command
      ? Omit<C, 'namespace' | 'environment' | 'metadata'>
      : never
    : never;

/** A request to a scope write: the scope in its path, and a body that may say why. */
type ScopeWriteRequest = FastifyRequest & {
  params: ScopeParams;
  body: { reason?: string | undefined } | null | undefined;
};

/**
 * Answers routes that write one command to the scope their path names, recorded with the body's
 * `reason`: `command` states it from the scope and its current state (again on a fresh state when
 * another writer got in between); `answered` adds to the answer what the command found out.
 */
export const scopeWriter =
  ({ commands, cache }: Pick<ApiContext, 'commands' | 'cache'>) =>
  async (
    request: ScopeWriteRequest,
    reply: FastifyReply,
    command: (scope: Scope, state: NamespaceEnvState) => ScopeCommand | Promise<ScopeCommand>,
    answered: () => Record<string, unknown> = () => ({}),
  ) => {
    const scope = scopeOf(request.params);
    const { namespace, environment, tenant } = scope;
    const result = await commands.run(
      streamIds.scope(namespace, environment, tenant),
      () => cache.load(namespace, environment, tenant),
      async ({ state }) =>
        decide(
          {
            ...(await command(scope, state)),
            namespace,
            environment,
            metadata: metadataOf(request, request.body?.reason),
          },
          state,
        ),
      writeOptionsOf(request),
    );
    return answerWrite(reply, result, answered());
  };
