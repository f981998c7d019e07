import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The one primitive every layer uses: AES-256-GCM with a fresh random 96-bit IV and a 128-bit tag.
 * Key wrapping uses it too (rather than AES-KW, RFC 3394) because GCM authenticates additional
 * data: a wrapped key is bound to the context it was wrapped for, so it cannot be swapped into
 * another row or envelope, and one algorithm is less to review than two.
 */

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface GcmSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export const randomKey = (): Buffer => randomBytes(KEY_BYTES);

export const gcmSeal = (key: Uint8Array, plaintext: Uint8Array, aad: string): GcmSealed => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
};

/** Returns undefined on any authentication failure: callers decide which error to raise. */
export const gcmOpen = (key: Uint8Array, sealed: GcmSealed, aad: string): Buffer | undefined => {
  if (key.length !== KEY_BYTES || sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
};

/** Wrapped key layout: base64(iv ‖ encrypted key ‖ tag), 60 bytes for a 256-bit key. */
export const wrapKey = (kek: Uint8Array, key: Uint8Array, context: string): string => {
  const { iv, ciphertext, tag } = gcmSeal(kek, key, context);
  return Buffer.concat([iv, ciphertext, tag]).toString('base64');
};

export const unwrapKey = (kek: Uint8Array, wrapped: string, context: string): Buffer | undefined => {
  const bytes = decodeBase64(wrapped);
  if (!bytes || bytes.length !== IV_BYTES + KEY_BYTES + TAG_BYTES) return undefined;
  const key = gcmOpen(
    kek,
    {
      iv: bytes.subarray(0, IV_BYTES),
      ciphertext: bytes.subarray(IV_BYTES, IV_BYTES + KEY_BYTES),
      tag: bytes.subarray(IV_BYTES + KEY_BYTES),
    },
    context,
  );
  return key?.length === KEY_BYTES ? key : undefined;
};

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (Buffer.from silently skips junk, which would hide tampering). */
export const decodeBase64 = (text: string): Buffer | undefined => {
  if (typeof text !== 'string' || !base64Pattern.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Non-canonical trailing bits decode to the same bytes; reject them so one envelope has one spelling.
  return bytes.toString('base64') === text ? bytes : undefined;
};
