import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { TokenSelf } from '@strata/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { StrataError } from '@strata/core';
import { consoleDistDir } from '@strata/console';
import { permissionsOf } from '../access-policy.js';
import type { ApiContext } from '../api-context.js';
import { principalOf } from '../request-context.js';
import { tagged } from './route-options.js';

/**
 * What the operator console needs from the API, in one place: its built files under /console
 * (no CDN, nothing fetched at run time) and `GET /v1/tokens/self`, which tells the console the
 * caller's role, scope and permissions so it shows only what the token may do. The API still
 * checks every call.
 */
export const consoleRoutes = async (fastify: FastifyInstance, { deps }: ApiContext) => {
  fastify.get(
    '/v1/tokens/self',
    tagged('tokens')({ authenticated: true }, "The calling token's role, scope and permissions (never its value)", {
      response: { 200: TokenSelf },
    }),
    async (request) => {
      const p = principalOf(request);
      return {
        subject: p.subject,
        tokenId: p.tokenId,
        role: p.role,
        namespace: p.namespace,
        env: p.environment,
        tenant: p.tenant,
        permissions: [...permissionsOf[p.role]].sort(),
      };
    },
  );

  const root = (deps.consoleDir === undefined ? consoleDistDir : deps.consoleDir) ?? '';
  await fastify.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply: FastifyReply) => {
      reply.header(
        'content-security-policy',
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    });
    const built = root !== '' && existsSync(path.join(root, 'index.html'));
    if (built) await scope.register(fastifyStatic, { root, serve: false, dotfiles: 'deny' });
    const index = (reply: FastifyReply) => {
      if (!built)
        throw new StrataError('UNAVAILABLE', 'the console is not built: run `npm run build -w @strata/console`', {
          retryAfterSeconds: 60,
        });
      // Always revalidated: it names the hashed asset files of the current build.
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    };
    // The app's files are public: the token is typed in by the user and kept in session storage.
    const publicFile = { config: { access: { public: true } }, schema: { hide: true } };
    scope.get('/console', publicFile, (_request, reply) => index(reply));
    scope.get<{ Params: { '*': string } }>('/console/*', publicFile, (request, reply) => {
      const rest = request.params['*'];
      // Vite names assets by content hash: they never change, so they may be cached for good.
      if (rest.startsWith('assets/')) {
        if (!built || !/^assets\/[\w-][\w.-]*$/.test(rest) || !existsSync(path.join(root, rest)))
          throw new StrataError('NOT_FOUND', `no console asset ${rest}`);
        return reply.sendFile(rest, { maxAge: '365d', immutable: true });
      }
      if (built && /^[\w-]+\.(svg|ico|png|txt)$/.test(rest) && existsSync(path.join(root, rest)))
        return reply.sendFile(rest, { maxAge: '1h' });
      // Any other path is a client-side route of the single-page app.
      return index(reply);
    });
  });
};
