import type { FastifyReply, FastifyRequest } from 'fastify';
import { decide, streamIds, type Command, type NamespaceEnvState } from '@strata/core';
import type { ApiContext } from '../api-context.js';
import type { WriteResult } from '../command-runner.js';
import { answerWrite, writeOptionsOf } from '../request-context.js';

/** One layer of an environment: the environment itself when `tenant` is null, else that tenant's. */
export interface Scope {
  namespace: string;
  environment: string;
  tenant: string | null;
}

/** The scope a route's path names: `…/tenants/:tenant/…`, else the environment. */
export const scopeOf = ({ ns, env, tenant }: { ns: string; env: string; tenant?: string }): Scope => ({
  namespace: ns,
  environment: env,
  tenant: tenant ?? null,
});

/**
 * Decides the command `command` builds from the scope's current state and appends it to the
 * scope's stream. `command` runs again on the fresh state when another writer got in between.
 */
export const writeToScope = (
  { commands, cache }: Pick<ApiContext, 'commands' | 'cache'>,
  request: FastifyRequest,
  { namespace, environment, tenant }: Scope,
  command: (state: NamespaceEnvState) => Command | Promise<Command>,
): Promise<WriteResult> =>
  commands.run(
    streamIds.scope(namespace, environment, tenant),
    () => cache.load(namespace, environment, tenant),
    async ({ state }) => decide(await command(state), state),
    writeOptionsOf(request),
  );

/**
 * Answers a route that writes one command to the scope its path names: `command` states it from
 * the scope and its current state (again on a fresh state when another writer got in between).
 */
export const answerScopeWrite = async (
  context: Pick<ApiContext, 'commands' | 'cache'>,
  request: FastifyRequest & { params: { ns: string; env: string; tenant?: string } },
  reply: FastifyReply,
  command: (scope: Scope, state: NamespaceEnvState) => Command | Promise<Command>,
) => {
  const scope = scopeOf(request.params);
  return answerWrite(reply, await writeToScope(context, request, scope, (state) => command(scope, state)));
};
