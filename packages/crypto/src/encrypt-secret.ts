import { StrataError, type SecretEnvelope } from '@strata/core';
import { IV_BYTES, TAG_BYTES, decodeBase64, gcmOpen, gcmSeal, randomKey, unwrapKey, wrapKey } from './aes-gcm.js';

/** Where a secret version lives. The ciphertext is bound to exactly this. */
export interface SecretAad {
  namespace: string;
  environment: string;
  /** null for an environment-level secret. */
  tenant: string | null;
  name: string;
  version: number;
}

/** A key-encryption key and the id recorded in the envelope so it can be found again. */
export interface Kek {
  id: string;
  key: Uint8Array;
}

/**
 * Finds the key-encryption key for an envelope's `kek` id. Throws StrataError KEY_NOT_FOUND or
 * KEY_SHREDDED when it cannot; those codes reach the caller unchanged.
 */
export type KekResolver = (kekId: string) => Promise<Uint8Array> | Uint8Array;

/**
 * Canonical additional authenticated data: a JSON array in fixed order, so no two scopes share a
 * spelling (`tenant: null` ≠ `tenant: ""`, and no separator can be smuggled inside a name).
 */
export const secretAad = (aad: SecretAad): string =>
  JSON.stringify(['strata.secret.v1', aad.namespace, aad.environment, aad.tenant, aad.name, aad.version]);

/** The data key is wrapped under the secret's AAD and the KEK id too: it cannot move either. */
const dataKeyContext = (kekId: string, aad: SecretAad): string =>
  JSON.stringify(['strata.dek.v1', kekId, secretAad(aad)]);

/**
 * Envelope encryption of one secret version: a fresh 256-bit data key encrypts the plaintext with
 * AES-256-GCM (random 96-bit IV, AAD = `secretAad`), then is itself wrapped by the KEK with
 * AES-256-GCM (own random IV; `wrappedKey` = base64(iv ‖ key ‖ tag)).
 */
export const encryptSecret = ({
  plaintext,
  aad,
  kek,
}: {
  plaintext: string;
  aad: SecretAad;
  kek: Kek;
}): SecretEnvelope => {
  const dataKey = randomKey();
  try {
    const { iv, ciphertext, tag } = gcmSeal(dataKey, Buffer.from(plaintext, 'utf8'), secretAad(aad));
    return {
      alg: 'AES-256-GCM',
      kek: kek.id,
      wrappedKey: wrapKey(kek.key, dataKey, dataKeyContext(kek.id, aad)),
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: tag.toString('base64'),
    };
  } finally {
    dataKey.fill(0);
  }
};

/**
 * Opens an envelope for exactly the scope it was sealed for. Fails closed: any tampered field,
 * other scope, wrong or unknown KEK raises StrataError (DECRYPTION_FAILED, KEY_NOT_FOUND,
 * KEY_SHREDDED) whose message holds ids only, never plaintext or key bytes.
 */
export const decryptSecret = async (
  envelope: SecretEnvelope,
  aad: SecretAad,
  resolveKek: KekResolver,
): Promise<string> => {
  const details = {
    kek: envelope?.kek,
    namespace: aad.namespace,
    environment: aad.environment,
    tenant: aad.tenant,
    name: aad.name,
    version: aad.version,
  };
  const iv = decodeBase64(envelope?.iv);
  const tag = decodeBase64(envelope?.tag);
  const ciphertext = decodeBase64(envelope?.ciphertext);
  if (
    envelope?.alg !== 'AES-256-GCM' ||
    typeof envelope.kek !== 'string' ||
    !iv ||
    iv.length !== IV_BYTES ||
    !tag ||
    tag.length !== TAG_BYTES ||
    !ciphertext
  ) {
    throw new StrataError('DECRYPTION_FAILED', 'secret envelope is malformed', details);
  }
  const kek = await resolveKek(envelope.kek);
  const dataKey = unwrapKey(kek, envelope.wrappedKey, dataKeyContext(envelope.kek, aad));
  if (!dataKey) {
    throw new StrataError(
      'DECRYPTION_FAILED',
      'secret data key could not be unwrapped (wrong key, other scope or tampered)',
      details,
    );
  }
  try {
    const plaintext = gcmOpen(dataKey, { iv, ciphertext, tag }, secretAad(aad));
    if (!plaintext)
      throw new StrataError(
        'DECRYPTION_FAILED',
        'secret ciphertext failed authentication (other scope or tampered)',
        details,
      );
    return plaintext.toString('utf8');
  } finally {
    dataKey.fill(0);
  }
};
