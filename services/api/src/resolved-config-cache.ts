import { LRUCache } from 'lru-cache';
import type { ViewReader, ViewVersions } from '@strata/core';

/** A resolved read as the API answers it: the JSON body, serialized once, and its position (ETag). */
export interface ResolvedBody {
  position: number;
  body: string;
}

interface Entry extends ResolvedBody {
  version: string;
}

/** The contract's `{ position, values: { key: { value, source, position } } }`, nothing else (no `secret` marks). */
export const answerBody = (
  position: number,
  values: Readonly<Record<string, { value: unknown; source: string; position: number }>>,
): string => {
  const out: Record<string, { value: unknown; source: string; position: number }> = {};
  for (const key in values) {
    const v = values[key]!;
    out[key] = { value: v.value, source: v.source, position: v.position };
  }
  return JSON.stringify({ position, values: out });
};

/**
 * Resolved config answers per (view, tenant), kept while the view's version is unchanged; only
 * the resolution and serialization are saved. A `fresh` read asks Redis for the version
 * (coalesced, see RedisViewVersions), so its answer is never older than the view was when the
 * request arrived: reads for `minPosition` are fresh. Others take the version the process knows
 * from the views' change announcements (no round trip), which lags a change by the time its
 * message takes to arrive, like an SDK's cache. An entry stored under a version was read after
 * that version was observed, and versions never come back, so an entry matching a version shows
 * the view as of that version or later.
 */
export class ResolvedConfigCache {
  readonly #entries: LRUCache<string, Entry>;

  constructor(
    private readonly views: ViewReader,
    private readonly versions: ViewVersions,
    maxEntries = 50_000,
  ) {
    this.#entries = new LRUCache({ max: maxEntries });
  }

  async read(namespace: string, environment: string, tenant: string | null, fresh: boolean): Promise<ResolvedBody> {
    const version =
      (fresh ? undefined : this.versions.known(namespace, environment)) ??
      (await this.versions.version(namespace, environment));
    // Names and tenant ids cannot contain NUL (path validation), so the key is unambiguous.
    const key = `${namespace}\0${environment}\0${tenant ?? ''}\0${tenant === null ? 'env' : 't'}`;
    const hit = this.#entries.get(key);
    if (hit && hit.version === version) return hit;
    const resolved = await this.views.resolvedConfig(namespace, environment, tenant);
    const entry: Entry = { version, position: resolved.position, body: answerBody(resolved.position, resolved.values) };
    this.#entries.set(key, entry);
    return entry;
  }
}
