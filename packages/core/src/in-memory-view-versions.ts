import { StrataError } from './errors.js';
import type { ViewVersions } from './ports.js';

/** ViewVersions in process memory: the twin of the Redis one, told of changes by the test that makes them. */
export class InMemoryViewVersions implements ViewVersions {
  #generation: number | null = 1;
  /** View (`ns` or `ns/env`) → its position. */
  readonly #positions = new Map<string, number>();

  async version(namespace: string, environment: string): Promise<string> {
    const known = this.known(namespace, environment);
    if (known === undefined)
      throw new StrataError('UNAVAILABLE', 'no view generation is live (views are being rebuilt)');
    return known;
  }

  /** In memory every change is heard at once: the current version, undefined while no generation is live. */
  known(namespace: string, environment: string): string | undefined {
    if (this.#generation === null) return undefined;
    const env = this.#positions.get(`${namespace}/${environment}`) ?? 0;
    return `${this.#generation}:${env}:${this.#positions.get(namespace) ?? 0}`;
  }

  /** An event at `position` reached the environment view, or the namespace's view when `environment` is null. */
  applied(namespace: string, environment: string | null, position: number): void {
    const view = environment === null ? namespace : `${namespace}/${environment}`;
    this.#positions.set(view, Math.max(position, this.#positions.get(view) ?? 0));
  }

  /** Goes live on `generation` (a rebuild switched), or takes every view away (null: flushed). */
  live(generation: number | null): void {
    this.#generation = generation;
  }
}
