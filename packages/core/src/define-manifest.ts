import { z } from 'zod';
import type { ManifestDocument } from './events.js';
import { parseManifest } from './manifest.js';

/** Authoring a manifest with zod: static types for the SDK, JSON Schema for the store. */

/** Strata's annotations on a key, attached with zod's `.meta()` (or the `key()` helper). */
export interface KeyMeta {
  owner?: string;
  secret?: boolean;
  mutable?: boolean;
  deprecated?: boolean | string;
  required?: boolean;
}

/** Attaches Strata annotations to a zod schema; same as `schema.meta(meta)`, but typed. */
export const key = <S extends z.ZodType>(schema: S, meta: KeyMeta): S =>
  schema.meta({ ...meta } as Record<string, unknown>) as S;

export type FlagDefinition = z.input<typeof ManifestDocument>['flags'] extends Record<string, infer F> | undefined
  ? F
  : never;
export type SecretDefinition = ManifestDocument['secrets'][string];

export interface DefinedManifest<
  K extends Record<string, z.ZodType> = Record<string, z.ZodType>,
  F extends Record<string, FlagDefinition> = Record<string, FlagDefinition>,
  S extends Record<string, SecretDefinition> = Record<string, SecretDefinition>,
> {
  readonly keys: K;
  readonly flags: F;
  readonly secrets: S;
}

/** Declares a manifest in TypeScript; `toManifestDocument` turns it into the published JSON. */
export const defineManifest = <
  const K extends Record<string, z.ZodType>,
  const F extends Record<string, FlagDefinition> = Record<never, FlagDefinition>,
  const S extends Record<string, SecretDefinition> = Record<never, SecretDefinition>,
>(definition: {
  keys: K;
  flags?: F;
  secrets?: S;
}): DefinedManifest<K, F, S> => ({
  keys: definition.keys,
  flags: (definition.flags ?? {}) as F,
  secrets: (definition.secrets ?? {}) as S,
});

/** Key → TypeScript type. Keys with a default are always present; others may be missing. */
export type ManifestValues<M extends DefinedManifest> = {
  [P in keyof M['keys']]: M['keys'][P] extends z.ZodDefault<z.ZodType>
    ? z.output<M['keys'][P]>
    : z.output<M['keys'][P]> | undefined;
};
export type ManifestKey<M extends DefinedManifest> = keyof M['keys'] & string;
export type ManifestFlag<M extends DefinedManifest> = keyof M['flags'] & string;
export type ManifestSecret<M extends DefinedManifest> = keyof M['secrets'] & string;

/**
 * Produces the JSON manifest: `z.toJSONSchema` per key (input side, so defaults are kept), with
 * `.meta()` annotations carried through. Throws VALIDATION_FAILED when a zod schema has no
 * equivalent in the supported JSON Schema subset (unions, transforms, …).
 */
export const toManifestDocument = (defined: DefinedManifest): ManifestDocument => {
  const keys: Record<string, Record<string, unknown>> = {};
  for (const [name, schema] of Object.entries(defined.keys)) {
    const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    // zod bounds every integer by the safe-integer range; that is noise in a manifest.
    if (json['maximum'] === Number.MAX_SAFE_INTEGER) delete json['maximum'];
    if (json['minimum'] === Number.MIN_SAFE_INTEGER) delete json['minimum'];
    keys[name] = json;
  }
  return parseManifest({ keys, flags: defined.flags, secrets: defined.secrets });
};
