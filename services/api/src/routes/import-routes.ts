import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  decide,
  isStrataError,
  jsonEqual,
  latestSecretVersionNumber,
  StrataError,
  streamIds,
  type Command,
  type NewEvent,
  type SecretEnvelope,
  type StreamAppend,
} from '@strata/core';
import { authorize } from '../access-policy.js';
import type { ApiContext } from '../api-context.js';
import type { DecisionState } from '../scope-state-cache.js';
import { answerWrite, idempotencyKeyOf, metadataOf, principalOf } from '../request-context.js';
import { EnvParams, WriteAnswer } from '@strata/contracts';
import { tagged } from './route-options.js';

/**
 * `POST /v1/namespaces/{ns}/envs/{env}/import`: many changes across the environment and its
 * tenants, decided together and appended in ONE transaction (EventLog.appendAll), or not at all.
 * Built for `strata import tenant-configs`, usable by any migration tool.
 *
 * - Every change is decided by core's `decide` on the scope's state read from the log, exactly as
 *   the single-change routes do; every refusal is collected, so one answer lists them all
 *   (422, `problems: [{index, code, detail}]`), and nothing is appended.
 * - A change that would not change anything (same value, rollout, override, or secret plaintext)
 *   is left out: importing the same data twice appends nothing the second time.
 * - Secrets are sealed here, after every other change passed, in the same append as the rest.
 *   To tell an unchanged secret, the current version is opened in-process and compared; its
 *   plaintext never leaves this function.
 * - `dryRun: true` decides everything and answers the counts, appending nothing.
 */

const maxChanges = 20_000;

const ChangeInput = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('value'),
    tenant: z.string().max(200).nullable(),
    key: z.string().max(200),
    value: z.unknown(),
  }),
  z.strictObject({
    kind: z.literal('rollout'),
    flag: z.string().max(200),
    rollout: z.number().int().min(0).max(100),
    enabled: z.boolean(),
  }),
  z.strictObject({
    kind: z.literal('override'),
    tenant: z.string().max(200),
    flag: z.string().max(200),
    override: z.enum(['enabled', 'disabled']),
  }),
  z.strictObject({
    kind: z.literal('secret'),
    tenant: z.string().max(200).nullable(),
    name: z.string().max(200),
    value: z
      .string()
      .min(1)
      .max(64 * 1024),
  }),
]);
type ChangeInput = z.infer<typeof ChangeInput>;

const ImportBody = z.strictObject({
  changes: z.array(ChangeInput).min(1).max(maxChanges),
  reason: z.string().max(500).optional(),
  dryRun: z.boolean().optional(),
});

type Counts = Record<ChangeInput['kind'], number>;
const ImportAnswer = WriteAnswer.extend({
  dryRun: z.boolean(),
  changed: z.record(z.string(), z.number()),
  unchanged: z.record(z.string(), z.number()),
});

const zero = (): Counts => ({ value: 0, rollout: 0, override: 0, secret: 0 });

interface Problem {
  index: number;
  code: string;
  detail: string;
}

export const importRoutes = (fastify: FastifyInstance, context: ApiContext) => {
  const { commands, cache, deps } = context;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.post(
    '/v1/namespaces/:ns/envs/:env/import',
    {
      // An import carries thousands of rows: more than the default body limit, still bounded.
      bodyLimit: 16 * 1024 * 1024,
      ...tagged('writes')('config:write', 'Import many changes atomically (values, rollouts, overrides, secrets)', {
        params: EnvParams,
        body: ImportBody,
        response: { 200: ImportAnswer },
      }),
    },
    async (request, reply) => {
      const { ns, env } = request.params;
      const { changes, reason, dryRun = false } = request.body;
      const principal = principalOf(request);
      for (const change of changes) {
        const tenant = change.kind === 'rollout' ? null : change.tenant;
        const permission = change.kind === 'secret' ? 'secret:write' : 'config:write';
        authorize(principal, permission, { namespace: ns, environment: env, tenant });
      }
      const idempotencyKey = dryRun ? null : idempotencyKeyOf(request);
      if (idempotencyKey) {
        const previous = await commands.replay(idempotencyKey);
        if (previous) return answerWrite(reply, previous, { dryRun, changed: zero(), unchanged: zero() });
      }
      const metadata = metadataOf(request, reason);

      for (let attempt = 1; ; attempt++) {
        // Every scope the import touches, read from the log (never from the views, which may lag).
        const states = new Map<string | null, DecisionState>();
        const stateOf = async (tenant: string | null) => {
          let state = states.get(tenant);
          if (!state) {
            state = await cache.load(ns, env, tenant);
            states.set(tenant, state);
          }
          return state;
        };
        const problems: Problem[] = [];
        const changed = zero();
        const unchanged = zero();
        const planned: Array<{ tenant: string | null; index: number; change: ChangeInput }> = [];
        for (const [index, change] of changes.entries()) {
          const tenant = change.kind === 'rollout' ? null : change.tenant;
          const scope = await stateOf(tenant);
          const { state } = scope;
          let same: boolean;
          switch (change.kind) {
            case 'value': {
              const layer = tenant === null ? state.environmentValues : state.tenantValues.get(tenant);
              const current = layer?.get(change.key);
              same = current !== undefined && jsonEqual(current.value, change.value);
              break;
            }
            case 'rollout': {
              const current = state.flags.get(change.flag);
              same = current?.rollout === change.rollout && current.enabled === change.enabled;
              break;
            }
            case 'override':
              same = state.overrides.get(change.tenant)?.get(change.flag)?.override === change.override;
              break;
            case 'secret':
              same = await sameSecret(scope, tenant, change.name, change.value);
              break;
          }
          if (same) {
            unchanged[change.kind]++;
            continue;
          }
          // Decided now on a placeholder envelope for secrets: names and scopes are checked before
          // anything is encrypted, and a refused import never seals anything. A secret that already
          // has versions (rotated since an earlier import) gets the next one, as the write will.
          const version = change.kind === 'secret' ? latestSecretVersionNumber(state, tenant, change.name) + 1 : 1;
          try {
            decide(commandOf(ns, env, change, metadata, placeholderEnvelope, version), state);
          } catch (error) {
            if (!isStrataError(error)) throw error;
            problems.push({ index, code: error.code, detail: error.message });
            continue;
          }
          changed[change.kind]++;
          planned.push({ tenant, index, change });
        }
        if (problems.length > 0) {
          throw new StrataError(
            'VALIDATION_FAILED',
            `${problems.length} of ${changes.length} change(s) refused; nothing was appended`,
            { problems },
          );
        }
        const head = Math.max(0, ...[...states.values()].map((s) => s.state.position));
        if (dryRun || planned.length === 0) {
          const anyState = [...states.values()][0];
          return answerWrite(
            reply,
            { position: head, version: anyState?.streamVersion ?? 0, appended: 0, replayed: false },
            { dryRun, changed, unchanged },
          );
        }

        const byStream = new Map<string, { scope: DecisionState; events: NewEvent[] }>();
        for (const { tenant, change } of planned) {
          const scope = states.get(tenant)!;
          let command: Command;
          if (change.kind === 'secret') {
            const version = latestSecretVersionNumber(scope.state, tenant, change.name) + 1;
            const envelope = await deps.cipher.seal({
              namespace: ns,
              environment: env,
              tenant,
              name: change.name,
              version,
              plaintext: change.value,
            });
            command = commandOf(ns, env, change, metadata, envelope, version);
          } else command = commandOf(ns, env, change, metadata, placeholderEnvelope, 1);
          const streamId = streamIds.scope(ns, env, tenant);
          const entry = byStream.get(streamId) ?? { scope, events: [] };
          entry.events.push(...decide(command, scope.state));
          byStream.set(streamId, entry);
        }
        const appends: StreamAppend[] = [...byStream].map(([streamId, { scope, events }]) => ({
          streamId,
          events,
          expectedVersion: scope.streamVersion,
        }));
        const result = await deps.log.appendAll(appends, idempotencyKey ? { idempotencyKey } : {});
        if (result.ok) {
          if (!result.replayed) commands.appended(ns, env);
          const position = result.positions[result.positions.length - 1] ?? head;
          const version = result.streamVersions[appends[appends.length - 1]!.streamId] ?? 0;
          return answerWrite(
            reply,
            { position, version, appended: result.replayed ? 0 : result.positions.length, replayed: result.replayed },
            { dryRun, changed: result.replayed ? zero() : changed, unchanged: result.replayed ? zero() : unchanged },
          );
        }
        if (attempt >= 5)
          throw new StrataError('VERSION_CONFLICT', `${result.streamId} kept changing during the import; retry`, {
            currentVersion: result.currentVersion,
          });
      }
    },
  );

  /** True when the scope's own current secret version holds exactly `value`. */
  const sameSecret = async (scope: DecisionState, tenant: string | null, name: string, value: string) => {
    const entry = scope.state.secrets.get(tenant)?.get(name);
    const current = entry && !entry.deleted ? entry.versions[entry.versions.length - 1] : undefined;
    if (!current) return false;
    try {
      const secret = await deps.cipher.open(current.envelope, {
        namespace: scope.state.namespace,
        environment: scope.state.environment,
        tenant,
        name,
        version: current.version,
      });
      return secret.reveal() === value;
    } catch (error) {
      // A shredded tenant key or an unreadable version: not the same; deciding will say why.
      if (isStrataError(error)) return false;
      throw error;
    }
  };
};

/** Stands in for the envelope while deciding whether a secret change is acceptable at all. */
const placeholderEnvelope: SecretEnvelope = {
  alg: 'AES-256-GCM',
  kek: 'placeholder',
  wrappedKey: '',
  iv: '',
  ciphertext: '',
  tag: '',
};

const commandOf = (
  namespace: string,
  environment: string,
  change: ChangeInput,
  metadata: ReturnType<typeof metadataOf>,
  envelope: SecretEnvelope,
  version: number,
): Command => {
  const scope = { namespace, environment, metadata };
  switch (change.kind) {
    case 'value':
      return { type: 'SetConfigValue', ...scope, tenant: change.tenant, key: change.key, value: change.value };
    case 'rollout':
      return { type: 'SetFlagRollout', ...scope, flag: change.flag, rollout: change.rollout, enabled: change.enabled };
    case 'override':
      return { type: 'SetFlagOverride', ...scope, tenant: change.tenant, flag: change.flag, override: change.override };
    case 'secret':
      return {
        type: 'AddSecretVersion',
        ...scope,
        tenant: change.tenant,
        name: change.name,
        version,
        envelope,
        previousReadableUntil: null,
      };
  }
};
