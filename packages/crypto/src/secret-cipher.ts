import { Secret, type SecretEnvelope } from '@strata/core';
import { decryptSecret, encryptSecret, type SecretAad } from './encrypt-secret.js';
import type { KeyStore } from './key-store.js';

export interface SealSecret extends SecretAad {
  plaintext: string;
}

/**
 * What the domain uses for secrets: seals each version under its tenant's KEK (the namespace KEK
 * for environment-level secrets) and opens it only for the scope it was sealed for.
 */
export class SecretCipher {
  constructor(private readonly keys: KeyStore) {}

  /** Encrypts one secret version; the envelope is what `SecretVersionAdded` carries. */
  async seal({ plaintext, ...aad }: SealSecret): Promise<SecretEnvelope> {
    const kek = await this.keys.kekFor(aad.namespace, aad.tenant);
    return encryptSecret({ plaintext, aad, kek });
  }

  /**
   * Decrypts for exactly `aad`; DECRYPTION_FAILED, KEY_NOT_FOUND or KEY_SHREDDED otherwise. The
   * value comes back as a redacting `Secret`, so only an explicit `reveal()` yields plaintext.
   */
  async open(envelope: SecretEnvelope, aad: SecretAad): Promise<Secret> {
    return new Secret(await decryptSecret(envelope, aad, (kekId) => this.keys.resolve(kekId)));
  }
}
