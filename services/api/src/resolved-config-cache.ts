import type { ViewReader, ViewVersions } from '@strata/core';

/** A resolved read as the API answers it: the JSON body and its ETag, built once, and its position. */
export interface ResolvedBody {
  position: number;
  body: string;
  etag: string;
}

/** The contract's `{ position, values: { key: { value, source, position } } }`, nothing else (no `secret` marks). */
export const answerBody = (
  position: number,
  values: Readonly<Record<string, { value: unknown; source: string; position: number }>>,
): ResolvedBody => {
  const out: Record<string, { value: unknown; source: string; position: number }> = {};
  for (const key in values) {
    const v = values[key]!;
    out[key] = { value: v.value, source: v.source, position: v.position };
  }
  return { position, body: JSON.stringify({ position, values: out }), etag: `"p${position}"` };
};

/** One view's answers, all read at `version`; replaced as a whole when the version moves on. */
interface ViewEntries {
  version: string;
  /** By tenant; the environment's own answer (no tenant layer) under `environmentAnswer`. */
  answers: Map<string | typeof environmentAnswer, ResolvedBody>;
}

const environmentAnswer = Symbol('environment');

/**
 * Resolved config answers per (view, tenant), kept while the view's version is unchanged; only
 * the resolution and serialization are saved. A `fresh` read asks Redis for the version
 * (coalesced, see RedisViewVersions), so its answer is never older than the view was when the
 * request arrived: reads for `minPosition` are fresh. Others take the version the process knows
 * from the views' change announcements (no round trip), which lags a change by the time its
 * message takes to arrive, like an SDK's cache. An entry stored under a version was read after
 * that version was observed, and versions never come back, so an entry matching a version shows
 * the view as of that version or later.
 *
 * Plain maps by namespace, environment and tenant rather than an LRU over joined keys: the hot
 * read is three lookups with the strings the router produced, no key to build, no recency to
 * update. A view whose version moved on drops all its answers at once (none can match again);
 * past `maxEntries` everything is dropped, which costs a re-read, never a stale answer.
 */
export class ResolvedConfigCache {
  readonly #views = new Map<string, Map<string, ViewEntries>>();
  #size = 0;

  constructor(
    private readonly views: ViewReader,
    private readonly versions: ViewVersions,
    private readonly maxEntries = 50_000,
  ) {}

  /** The answer already built for the view's known version, without a round trip; undefined: `read`. */
  cached(namespace: string, environment: string, tenant: string | null): ResolvedBody | undefined {
    const view = this.#views.get(namespace)?.get(environment);
    if (view === undefined) return undefined;
    const answer = view.answers.get(tenant ?? environmentAnswer);
    return answer !== undefined && view.version === this.versions.known(namespace, environment) ? answer : undefined;
  }

  async read(namespace: string, environment: string, tenant: string | null, fresh: boolean): Promise<ResolvedBody> {
    const version =
      (fresh ? undefined : this.versions.known(namespace, environment)) ??
      (await this.versions.version(namespace, environment));
    let environments = this.#views.get(namespace);
    const hit = environments?.get(environment);
    const answerKey = tenant ?? environmentAnswer;
    if (hit?.version === version) {
      const answer = hit.answers.get(answerKey);
      if (answer) return answer;
    }
    const resolved = await this.views.resolvedConfig(namespace, environment, tenant);
    const answer = answerBody(resolved.position, resolved.values);
    // Another read may have replaced the view's entries while this one waited: keep the newer version's.
    if (environments === undefined) this.#views.set(namespace, (environments = new Map()));
    let view = environments.get(environment);
    if (view === undefined || view.version !== version) {
      if (view !== undefined) {
        // Which version is newer is unknown here; the one read last wins, and an entry never outlives a mismatch.
        this.#size -= view.answers.size;
      }
      view = { version, answers: new Map() };
      environments.set(environment, view);
    }
    if (this.#size >= this.maxEntries) {
      this.#views.clear();
      this.#views.set(namespace, (environments = new Map([[environment, view]])));
      this.#size = view.answers.size;
    }
    if (!view.answers.has(answerKey)) this.#size++;
    view.answers.set(answerKey, answer);
    return answer;
  }
}
