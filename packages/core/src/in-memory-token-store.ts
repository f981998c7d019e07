import { StrataError } from './errors.js';
import type { Clock, NewTokenRecord, TokenFilter, TokenRecord, TokenStore } from './ports.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** TokenStore in process memory: the twin of the PostgreSQL one, for pure tests. Time comes from `clock`. */
export class InMemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, { record: TokenRecord; hash: string }>();

  constructor(private readonly clock: Clock) {}

  async findByHash(tokenHash: Uint8Array): Promise<TokenRecord | null> {
    const hash = hex(tokenHash);
    for (const { record, hash: stored } of this.#tokens.values())
      if (stored === hash && record.revokedAt === null) return { ...record };
    return null;
  }

  async insert(token: NewTokenRecord): Promise<TokenRecord> {
    const { tokenHash, ...fields } = token;
    const record: TokenRecord = {
      ...fields,
      createdAt: this.clock.now().toISOString(),
      revokedAt: null,
      rotatedTo: null,
    };
    this.#tokens.set(token.id, { record, hash: hex(tokenHash) });
    return { ...record };
  }

  async rotate(
    id: string,
    successor: Pick<NewTokenRecord, 'id' | 'tokenHash' | 'createdBy' | 'expiresAt'>,
    previousValidUntil: string,
  ): Promise<{ previous: TokenRecord; record: TokenRecord }> {
    const old = this.#tokens.get(id)?.record;
    if (!old || !this.#live(old)) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
    if (old.rotatedTo !== null) {
      throw new StrataError('VERSION_CONFLICT', `token ${id} was already rotated to ${old.rotatedTo}`, {
        tokenId: id,
        rotatedTo: old.rotatedTo,
      });
    }
    const { createdAt: _c, revokedAt: _r, rotatedTo: _t, ...fields } = old;
    const record = await this.insert({ ...fields, ...successor });
    old.rotatedTo = record.id;
    const until = new Date(previousValidUntil).toISOString();
    old.expiresAt = old.expiresAt === null || until < old.expiresAt ? until : old.expiresAt;
    return { previous: { ...old }, record };
  }

  async revoke(id: string, _by: string): Promise<void> {
    const token = this.#tokens.get(id)?.record;
    if (!token || token.revokedAt !== null) throw new StrataError('NOT_FOUND', `no live token ${id}`, { tokenId: id });
    token.revokedAt = this.clock.now().toISOString();
  }

  async list(filter: TokenFilter): Promise<TokenRecord[]> {
    return (
      [...this.#tokens.values()]
        .map(({ record }) => record)
        .filter(
          (r) =>
            (filter.id === undefined || r.id === filter.id) &&
            (!filter.namespace || r.namespace === filter.namespace) &&
            (filter.includeRevoked || filter.id !== undefined || this.#live(r)),
        )
        // Stable: tokens created in the same millisecond stay in insertion order.
        .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
        .slice(0, 1000)
        .map((r) => ({ ...r }))
    );
  }

  #live(record: TokenRecord): boolean {
    return (
      record.revokedAt === null &&
      (record.expiresAt === null || Date.parse(record.expiresAt) > this.clock.now().getTime())
    );
  }
}
