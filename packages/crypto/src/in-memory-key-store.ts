import { StrataError } from '@strata/core';
import { randomKey, unwrapKey, wrapKey } from './aes-gcm.js';
import type { Kek } from './encrypt-secret.js';
import { kekContext, newKekId, tenantColumn, type KeyStore } from './key-store.js';
import type { Keyring } from './keyring.js';

interface Row {
  key_id: string;
  namespace: string;
  tenant: string;
  wrapped_key: string | null;
  wrapped_by: string | null;
}

/**
 * The reference KeyStore for pure tests and local demos: same semantics and errors as
 * PostgresKeyStore (keys really are wrapped by the keyring), state in memory.
 */
export class InMemoryKeyStore implements KeyStore {
  readonly #rows = new Map<string, Row>();

  constructor(private readonly keyring: Keyring) {}

  async kekFor(namespace: string, tenant: string | null): Promise<Kek> {
    const live = this.#live(namespace, tenant);
    if (live) return { id: live.key_id, key: this.#unwrap(live) };
    const key = randomKey();
    const row: Row = {
      key_id: newKekId(),
      namespace,
      tenant: tenantColumn(tenant),
      wrapped_key: null,
      wrapped_by: this.keyring.activeKid,
    };
    row.wrapped_key = wrapKey(this.keyring.key(this.keyring.activeKid), key, kekContext(row));
    this.#rows.set(row.key_id, row);
    return { id: row.key_id, key };
  }

  resolve = async (kekId: string): Promise<Buffer> => {
    const row = this.#rows.get(kekId);
    if (!row) throw new StrataError('KEY_NOT_FOUND', `tenant key '${kekId}' does not exist`, { kek: kekId });
    return this.#unwrap(row);
  };

  async shred(namespace: string, tenant: string | null): Promise<string | null> {
    const row = this.#live(namespace, tenant);
    if (!row) return null;
    row.wrapped_key = null;
    return row.key_id;
  }

  async rewrapAll(fromKid: string, toKid: string): Promise<string[]> {
    if (fromKid === toKid) throw new StrataError('BAD_REQUEST', `cannot re-wrap master key '${fromKid}' with itself`);
    const from = this.keyring.key(fromKid);
    const to = this.keyring.key(toKid);
    const rows = [...this.#rows.values()].filter((row) => row.wrapped_key !== null && row.wrapped_by === fromKid);
    const rewrapped = rows.map((row) => {
      const key = unwrapKey(from, row.wrapped_key ?? '', kekContext(row));
      if (!key)
        throw new StrataError(
          'DECRYPTION_FAILED',
          `tenant key '${row.key_id}' could not be unwrapped with master key '${fromKid}'`,
        );
      return { row, wrapped: wrapKey(to, key, kekContext(row)) };
    });
    for (const { row, wrapped } of rewrapped) Object.assign(row, { wrapped_key: wrapped, wrapped_by: toKid });
    return rewrapped.map(({ row }) => row.key_id).sort();
  }

  async keysWrappedBy(kid: string): Promise<string[]> {
    return [...this.#rows.values()]
      .filter((row) => row.wrapped_key !== null && row.wrapped_by === kid)
      .map((row) => row.key_id)
      .sort();
  }

  #live(namespace: string, tenant: string | null): Row | undefined {
    return [...this.#rows.values()].find(
      (row) => row.namespace === namespace && row.tenant === tenantColumn(tenant) && row.wrapped_key !== null,
    );
  }

  #unwrap(row: Row): Buffer {
    if (row.wrapped_key === null || row.wrapped_by === null) {
      throw new StrataError('KEY_SHREDDED', `tenant key '${row.key_id}' has been shredded`, { kek: row.key_id });
    }
    const key = unwrapKey(this.keyring.key(row.wrapped_by), row.wrapped_key, kekContext(row));
    if (!key)
      throw new StrataError(
        'DECRYPTION_FAILED',
        `tenant key '${row.key_id}' could not be unwrapped with master key '${row.wrapped_by}'`,
      );
    return key;
  }
}
