import type { SecretAccess, SecretAccessLog } from './ports.js';

/** SecretAccessLog in process memory: the twin of the PostgreSQL one, for pure tests. */
export class InMemorySecretAccessLog implements SecretAccessLog {
  readonly #entries: SecretAccess[] = [];

  async record(access: SecretAccess): Promise<void> {
    this.#entries.push({ ...access });
  }

  /** Every recorded read, oldest first. */
  entries(): readonly SecretAccess[] {
    return this.#entries.map((entry) => ({ ...entry }));
  }
}
