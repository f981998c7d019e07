import { StrataError } from './errors.js';
import { flagKeyPattern, keyPattern, ManifestDocument } from './events.js';
import { schemaProblems, validateAgainstSchema, type KeySchema, type ValidationResult } from './key-schema.js';
import { rotateEveryProblem } from './secret-rotation.js';

/**
 * Manifests: the typed declaration of every key, flag and secret of a namespace. The published
 * form is `ManifestDocument` (JSON Schema per key, see key-schema.ts); authoring in TypeScript is
 * define-manifest.ts, checking a new manifest against stored values manifest-change.ts.
 */

interface CompiledManifest {
  /** Declared keys, sorted. */
  keys: readonly string[];
  schemas: ReadonlyMap<string, KeySchema>;
}

// Manifests are immutable once published, so the lookup structures are built once per document.
const compiled = new WeakMap<ManifestDocument, CompiledManifest>();

/** Sorted key list and a key → schema map for a manifest, cached per document. */
export const compileManifest = (manifest: ManifestDocument): CompiledManifest => {
  let c = compiled.get(manifest);
  if (!c) {
    const schemas = new Map(Object.entries(manifest.keys) as Array<[string, unknown]> as Array<[string, KeySchema]>);
    c = { keys: [...schemas.keys()].sort(), schemas };
    compiled.set(manifest, c);
  }
  return c;
};

/** The schema of a key, or undefined when the manifest does not declare it. */
export const keySchema = (manifest: ManifestDocument | null | undefined, key: string): KeySchema | undefined =>
  manifest ? compileManifest(manifest).schemas.get(key) : undefined;

/**
 * Validates a value for a key of a manifest. Never throws: the result carries a StrataError
 * (`UNKNOWN_KEY` or `VALIDATION_FAILED`) whose message names the key, what was expected and what
 * was received.
 */
export const validateValue = (
  manifest: ManifestDocument | null | undefined,
  key: string,
  value: unknown,
): ValidationResult => {
  const schema = keySchema(manifest, key);
  if (!schema) {
    return {
      ok: false,
      error: new StrataError(
        'UNKNOWN_KEY',
        manifest ? `${key}: not declared in the manifest` : `${key}: the namespace has no manifest yet`,
        { key },
      ),
    };
  }
  return validateAgainstSchema(key, schema, value);
};
/** Lists everything wrong with a manifest document; empty when it is valid. */
export const manifestProblems = (input: unknown): string[] => {
  const parsed = ManifestDocument.safeParse(input);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(manifest)'}: ${i.message}`);
  }
  const problems: string[] = [];
  // zod's record parsing turns a "__proto__" entry into a prototype, silently dropping it.
  for (const section of ['keys', 'flags', 'secrets']) {
    const raw = (input as Record<string, unknown>)[section];
    if (raw && typeof raw === 'object' && Object.hasOwn(raw, '__proto__'))
      problems.push(`${section}.__proto__: names are dot-separated lowercase words`);
  }
  const doc = parsed.data;
  const names = new Map<string, string>();
  for (const [section, entries] of [
    ['keys', doc.keys],
    ['flags', doc.flags],
    ['secrets', doc.secrets],
  ] as const) {
    for (const name of Object.keys(entries)) {
      if (section === 'flags') {
        if (!flagKeyPattern.test(name) || name === '__proto__')
          problems.push(`flags.${name}: flag keys are letters, digits, _ . -, at most 200`);
      } else if (name.length > 200 || !keyPattern.test(name) || name.split('.').includes('__proto__'))
        problems.push(`${section}.${name}: names are dot-separated lowercase words`);
      const other = names.get(name);
      if (other) problems.push(`${section}.${name}: also declared in ${other}`);
      names.set(name, section);
    }
  }
  for (const [key, schema] of Object.entries(doc.keys)) problems.push(...schemaProblems(schema, `keys.${key}`, true));
  for (const [name, secret] of Object.entries(doc.secrets)) {
    const problem = secret.rotateEvery === undefined ? undefined : rotateEveryProblem(secret.rotateEvery);
    if (problem) problems.push(`secrets.${name}: ${problem}`);
  }
  return problems;
};

/**
 * Parses and validates a manifest document. Throws VALIDATION_FAILED listing every problem (in the
 * message and as `details.problems`) so an operator fixes them all in one round.
 */
export const parseManifest = (input: unknown): ManifestDocument => {
  const problems = manifestProblems(input);
  if (problems.length > 0) {
    throw new StrataError('VALIDATION_FAILED', `invalid manifest:\n- ${problems.join('\n- ')}`, { problems });
  }
  return ManifestDocument.parse(input);
};
