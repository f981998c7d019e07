import { randomBytes } from 'node:crypto';
import type { Kek, KekResolver } from './encrypt-secret.js';

/**
 * Per-tenant key-encryption keys, kept outside the immutable log so they can be destroyed. Each
 * (namespace, tenant) has at most one live KEK, itself wrapped by a master key of the keyring;
 * environment-level secrets (tenant null) use the namespace's own KEK.
 */
export interface KeyStore {
  /** The live KEK of this tenant (or of the namespace when tenant is null), created on first use. */
  kekFor(namespace: string, tenant: string | null): Promise<Kek>;
  /** Unwraps a KEK by id for decryption; KEY_NOT_FOUND when unknown, KEY_SHREDDED once shredded. */
  resolve: KekResolver;
  /**
   * Crypto-shreds the live KEK: every envelope under it, in every copy of the log, becomes
   * undecryptable. Returns the shredded key id (for a `TenantKeyShredded` event), or null when the
   * tenant had no key. A later `kekFor` starts a fresh key.
   */
  shred(namespace: string, tenant: string | null): Promise<string | null>;
  /**
   * Re-wraps every live KEK wrapped by master key `fromKid` with `toKid`; returns their ids (for a
   * `MasterKeyRotated` event). Envelopes in the log are untouched: they reference the KEK id.
   */
  rewrapAll(fromKid: string, toKid: string): Promise<string[]>;
  /** Ids of live KEKs still wrapped by this master key: empty means the key can be retired. */
  keysWrappedBy(kid: string): Promise<string[]>;
}

/** The namespace-level KEK (environment secrets) is stored with tenant ''; tenant ids are never empty. */
export const tenantColumn = (tenant: string | null): string => tenant ?? '';

/** Random, so a tenant re-created after shredding never reuses an id an old envelope names. */
export const newKekId = (): string => `tk_${randomBytes(15).toString('base64url')}`;

/** A wrapped KEK is bound to its row: it cannot be copied onto another key id or tenant. */
export const kekContext = (row: { key_id: string; namespace: string; tenant: string }): string =>
  JSON.stringify(['strata.kek.v1', row.key_id, row.namespace, row.tenant]);
