/**
 * The Redis key layout, shared by the writer, the reader and (through README.md) by services in
 * other languages. Every key of one view carries the view's hash tag, so on Redis Cluster a view
 * lives in one slot; the generation pointer and channels are global.
 */

export const defaultPrefix = 'strata:';

/** Hash tag of an environment view (`{ns/env}`) or of a namespace view (`{ns}`, manifest). */
export const viewTag = (namespace: string, environment: string | null): string =>
  environment === null ? `{${namespace}}` : `{${namespace}/${environment}}`;

export const globalKeys = (prefix: string) => ({
  /** Current generation number; missing means no view is live (fresh or flushed Redis). */
  generation: `${prefix}gen`,
  /** Highest position dropped while no generation was live; a rebuild must reach it before it goes live. */
  missed: `${prefix}missed`,
  /** Lease held by the one process rebuilding. */
  rebuildLock: `${prefix}rebuild:lock`,
  /** Global change channel. */
  changes: `${prefix}changes`,
  /** Hash: Kafka partition → the projector lag last reported by the member owning it (partition-lag.ts). */
  partitionLag: `${prefix}projector:lag`,
});

export const generationKeys = (prefix: string, generation: number | string) => ({
  /** `building` while a rebuild fills it, `ready` once it went live; missing means lost data. */
  marker: `${prefix}g${generation}:marker`,
  /** Set of view tags in this generation. */
  views: `${prefix}g${generation}:views`,
  /** Pattern matching every key of the generation (for dropping it). */
  pattern: `${prefix}g${generation}:*`,
});

export const viewKeys = (prefix: string, generation: number | string, tag: string) => {
  const base = `${prefix}g${generation}:${tag}`;
  return {
    base,
    pos: `${base}:pos`,
    /** Number of events applied to the view (each exactly once). */
    count: `${base}:n`,
    env: `${base}:env`,
    tenant: (tenant: string) => `${base}:tenant:${tenant}`,
    tenants: `${base}:tenants`,
    flags: `${base}:flags`,
    /** Segments (flagd `$evaluators`): name → `{logic, position, changedAt}` JSON. */
    segments: `${base}:segments`,
    overrides: (tenant: string) => `${base}:overrides:${tenant}`,
    secrets: `${base}:secrets`,
    manifest: `${base}:manifest`,
    shredded: `${base}:shredded`,
  };
};

export const viewChannel = (prefix: string, tag: string): string => `${prefix}changes:${tag}`;

/** Field of the `:secrets` hash: `<tenant>/<name>`, or `*\/<name>` for the environment's own secret. */
export const secretField = (tenant: string | null, name: string): string => `${tenant ?? '*'}/${name}`;
