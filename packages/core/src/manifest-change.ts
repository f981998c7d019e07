import type { ManifestDocument } from './events.js';
import { describeValue, validateAgainstSchema } from './key-schema.js';
import { keySchema } from './manifest.js';
import type { NamespaceEnvState } from './scope-state.js';

/** Whether a new manifest fits the values already stored under the old one. */

export interface ManifestConflict {
  environment: string;
  /** null: the environment layer. */
  tenant: string | null;
  kind: 'key' | 'secret';
  /** The config key or secret name. */
  key: string;
  /** Why the new manifest rejects the current value (never the value of a secret key). */
  problem: string;
}

/**
 * Every current value, in any environment and tenant scope given, that the new manifest would
 * reject: ill-typed under the new schema, or its key (or live secret) removed. The PublishManifest
 * decider refuses with MANIFEST_CONFLICT listing them; empty means the change is safe.
 * Flags are not checked: a flag removed from the manifest keeps evaluating but can no longer be set.
 */
export const checkManifestChange = (
  newManifest: ManifestDocument,
  states: NamespaceEnvState | Iterable<NamespaceEnvState>,
): ManifestConflict[] => {
  const conflicts: ManifestConflict[] = [];
  const list = Symbol.iterator in states ? [...states] : [states];
  for (const state of list) {
    const oldSchema = (key: string) => keySchema(state.manifest, key);
    const checkLayer = (tenant: string | null, layer: ReadonlyMap<string, { value: unknown }>) => {
      for (const [key, { value }] of layer) {
        const schema = keySchema(newManifest, key);
        let problem: string | undefined;
        if (!schema)
          problem = `${key}: removed from the manifest but set to ${describeValue(value, oldSchema(key)?.secret === true)}`;
        else {
          const result = validateAgainstSchema(
            key,
            { ...schema, secret: schema.secret === true || oldSchema(key)?.secret === true },
            value,
          );
          if (!result.ok) problem = result.error.message;
        }
        if (problem) conflicts.push({ environment: state.environment, tenant, kind: 'key', key, problem });
      }
    };
    checkLayer(null, state.environmentValues);
    for (const [tenant, layer] of state.tenantValues) checkLayer(tenant, layer);
    for (const [tenant, names] of state.secrets) {
      for (const [name, entry] of names) {
        if (!entry.deleted && !Object.hasOwn(newManifest.secrets, name)) {
          conflicts.push({
            environment: state.environment,
            tenant,
            kind: 'secret',
            key: name,
            problem: `secret ${name}: removed from the manifest but still stored`,
          });
        }
      }
    }
  }
  return conflicts;
};
