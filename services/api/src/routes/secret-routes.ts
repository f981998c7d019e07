import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  addIsoDuration,
  latestSecretVersionNumber,
  StrataError,
  type NamespaceEnvState,
  type SecretVersionEntry,
} from '@strata/core';
import { withinScope } from '../access-policy.js';
import type { ApiContext, RouteAccess } from '../api-context.js';
import { clientInfo, principalOf } from '../request-context.js';
import {
  EnvParams,
  EnvSecretParams,
  SecretBody,
  SecretListAnswer,
  SecretValueAnswer,
  SecretQuery,
  SecretsDueAnswer,
  SecretsDueQuery,
  TenantParams,
  TenantSecretParams,
  UnsetValueBody,
} from '@strata/contracts';
import { scopeOf, scopeWriter, writeResponse } from './scope.js';
import { tagged } from './route-options.js';

/** The secret a tenant reads: its own, else the environment's. */
const effectiveSecret = (state: NamespaceEnvState, tenant: string | null, name: string) => {
  for (const scope of tenant === null ? [null] : [tenant, null]) {
    const entry = state.secrets.get(scope)?.get(name);
    if (entry && !entry.deleted && entry.versions.length > 0)
      return { entry, source: scope === null ? ('environment' as const) : ('tenant' as const), scope };
  }
  return undefined;
};

/** A version may be read while current, or while the rotation grace of its successor lasts. */
const readableVersion = (
  versions: readonly SecretVersionEntry[],
  wanted: number | undefined,
  now: number,
): SecretVersionEntry | undefined => {
  const current = versions[versions.length - 1];
  if (!current || wanted === undefined || wanted === current.version) return current;
  const index = versions.findIndex((v) => v.version === wanted);
  const next = versions[index + 1];
  if (
    index < 0 ||
    !next ||
    next !== current ||
    !next.previousReadableUntil ||
    Date.parse(next.previousReadableUntil) <= now
  )
    return undefined;
  return versions[index];
};

/**
 * Who may list the secrets due for rotation, and where: without a namespace/env in the query, the
 * caller's own scope; results are kept to it. Runs before validation.
 */
const rotationAccess: RouteAccess = {
  permission: 'secret:rotation',
  target: (request) => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    const p = request.principal;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      namespace: str(q['namespace']) ?? p?.namespace ?? null,
      environment: str(q['env']) ?? p?.environment ?? null,
      tenant: p?.tenant ?? null,
    };
  },
};

/**
 * Secrets: values are sealed by SecretCipher before they reach the log; plaintext leaves only to
 * `secret:read`, and only after the read is recorded in the access log (invariant 7).
 */
export const secretRoutes = (fastify: FastifyInstance, context: ApiContext) => {
  const { deps, cache, metrics } = context;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const write = scopeWriter(context);
  const secrets = tagged('secrets');

  for (const tenantScoped of [false, true]) {
    const base = tenantScoped
      ? '/v1/namespaces/:ns/envs/:env/tenants/:tenant/secrets'
      : '/v1/namespaces/:ns/envs/:env/secrets';
    const params = tenantScoped ? TenantSecretParams : EnvSecretParams;

    app.put(
      `${base}/:name`,
      secrets('secret:write', 'Add a secret version (encrypted before it is logged)', {
        params,
        body: SecretBody,
        response: writeResponse,
      }),
      async (request, reply) => {
        const { name } = request.params;
        const { value, previousReadableUntil } = request.body;
        let sealedVersion = 0;
        return write(
          request,
          reply,
          async (scope, state) => {
            // Decide first on a placeholder-free check: unknown names fail before anything is encrypted.
            if (!state.manifest || !Object.hasOwn(state.manifest.secrets, name)) {
              throw new StrataError('UNKNOWN_KEY', `secret ${name}: not declared in the manifest`, { name });
            }
            const version = latestSecretVersionNumber(state, scope.tenant, name) + 1;
            const envelope = await deps.cipher.seal({ ...scope, name, version, plaintext: value });
            sealedVersion = version;
            return {
              type: 'AddSecretVersion',
              tenant: scope.tenant,
              name,
              version,
              envelope,
              previousReadableUntil: previousReadableUntil ? new Date(previousReadableUntil).toISOString() : null,
            };
          },
          () => (sealedVersion ? { secretVersion: sealedVersion } : {}),
        );
      },
    );

    app.delete(
      `${base}/:name`,
      secrets('secret:write', 'Delete a secret (its versions stay in history)', {
        params,
        body: UnsetValueBody,
        response: writeResponse,
      }),
      async (request, reply) =>
        write(request, reply, ({ tenant }) => ({ type: 'DeleteSecret', tenant, name: request.params.name })),
    );

    app.get(
      `${base}/:name`,
      secrets('secret:read', 'Read a secret value (recorded in the access log first)', {
        params,
        querystring: SecretQuery,
        response: { 200: SecretValueAnswer },
      }),
      async (request, reply) => {
        const { ns, env, name } = request.params;
        const { tenant } = scopeOf(request.params);
        const principal = principalOf(request);
        const { state } = await cache.load(ns, env, tenant);
        const found = effectiveSecret(state, tenant, name);
        const version = found && readableVersion(found.entry.versions, request.query.version, Date.now());
        if (!found || !version) {
          throw new StrataError(
            'NOT_FOUND',
            `no readable secret ${name}${request.query.version ? ` version ${request.query.version}` : ''}`,
            { name },
          );
        }
        const { ip, userAgent } = clientInfo(request);
        await deps.secretAccessLog.record({
          actor: principal.subject,
          tokenId: principal.tokenId,
          namespace: ns,
          environment: env,
          tenant: found.scope,
          name,
          version: version.version,
          ip,
          userAgent,
          requestId: request.id,
        });
        const value = await deps.cipher.open(version.envelope, {
          namespace: ns,
          environment: env,
          tenant: found.scope,
          name,
          version: version.version,
        });
        metrics.secretRead('ok');
        reply.header('cache-control', 'no-store');
        return { value: value.reveal(), version: version.version, source: found.source };
      },
    );

    app.get(
      base,
      secrets('secret:list', 'Secret names and version metadata (never values)', {
        params: tenantScoped ? TenantParams : EnvParams,
        response: { 200: SecretListAnswer },
      }),
      async (request) => {
        const { ns, env } = request.params;
        const { tenant } = scopeOf(request.params);
        const { state } = await cache.load(ns, env, tenant);
        const secrets: z.infer<typeof SecretListAnswer>['secrets'] = [];
        for (const scope of tenant === null ? [null] : [tenant, null]) {
          for (const [name, entry] of state.secrets.get(scope) ?? []) {
            secrets.push({
              name,
              tenant: scope,
              deleted: entry.deleted,
              versions: entry.versions.map((v) => ({
                version: v.version,
                position: v.position,
                addedAt: v.addedAt,
                kek: v.envelope.kek,
                previousReadableUntil: v.previousReadableUntil,
              })),
            });
          }
        }
        return { position: state.position, secrets };
      },
    );
  }

  app.get(
    '/v1/secrets/due',
    secrets(
      rotationAccess,
      'Secret versions overdue for rotation (manifest rotateEvery), and those due within `within`',
      { querystring: SecretsDueQuery, response: { 200: SecretsDueAnswer } },
    ),
    async (request) => {
      const principal = principalOf(request);
      const { namespace, env, within } = request.query;
      const now = new Date();
      const soonUntil = within === undefined ? now : addIsoDuration(within, now);
      if (!soonUntil) {
        throw new StrataError('BAD_REQUEST', `within must be an ISO 8601 duration such as "P14D", got "${within}"`);
      }
      const due = await context.rotation.due({
        ...(namespace === undefined ? {} : { namespace }),
        ...(env === undefined ? {} : { environment: env }),
        now,
        soonUntil,
      });
      const visible = due.filter((d) => withinScope(principal, d));
      return {
        asOf: now.toISOString(),
        overdue: visible.filter((d) => d.overdue).length,
        secrets: visible.map(({ environment, ...d }) => ({ ...d, env: environment })),
      };
    },
  );
};
