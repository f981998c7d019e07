import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md), the format of the seed's
 * `cryptography.fernet.Fernet`, with node:crypto only: a 32-byte url-safe base64 key whose first
 * half signs (HMAC-SHA256) and second half encrypts (AES-128-CBC, PKCS#7); a token is
 * `0x80 ‖ timestamp (8 bytes, big-endian seconds) ‖ IV (16) ‖ ciphertext ‖ HMAC (32)`, url-safe
 * base64. Like `Fernet.decrypt(token)` without a ttl, the timestamp is not checked.
 *
 * Errors never carry the key, the token or the plaintext: callers list them next to table rows.
 */

export class FernetError extends Error {
  override readonly name = 'FernetError';
}

const urlSafeBase64 = /^[A-Za-z0-9_-]*={0,2}$/;

const decodeBase64Url = (text: string, what: string): Buffer => {
  const trimmed = text.trim();
  if (!urlSafeBase64.test(trimmed) || trimmed.replace(/=+$/, '').length % 4 === 1)
    throw new FernetError(`${what} is not url-safe base64`);
  return Buffer.from(trimmed, 'base64url');
};

export interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

/** Parses a Fernet key as `Fernet(key)` accepts it: url-safe base64 of exactly 32 bytes. */
export const parseFernetKey = (key: string): FernetKey => {
  const raw = decodeBase64Url(key, 'the Fernet key');
  if (raw.length !== 32) throw new FernetError('the Fernet key must be 32 url-safe base64-encoded bytes');
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
};

/** The plaintext of a token, or FernetError ("InvalidToken") when it was not made with this key. */
export const fernetDecrypt = (key: FernetKey, token: string): Buffer => {
  let raw: Buffer;
  try {
    raw = decodeBase64Url(token, 'token');
  } catch {
    throw new FernetError('not a Fernet token (not url-safe base64)');
  }
  // version + timestamp + IV + at least one block + HMAC
  if (raw.length < 1 + 8 + 16 + 16 + 32 || raw[0] !== 0x80)
    throw new FernetError('not a Fernet token (wrong version byte or too short)');
  const signed = raw.subarray(0, raw.length - 32);
  const mac = raw.subarray(raw.length - 32);
  const expected = createHmac('sha256', key.signing).update(signed).digest();
  if (!timingSafeEqual(mac, expected)) throw new FernetError('the token does not verify with this key (HMAC mismatch)');
  const iv = signed.subarray(9, 25);
  const ciphertext = signed.subarray(25);
  if (ciphertext.length % 16 !== 0) throw new FernetError('the ciphertext is not a whole number of blocks');
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new FernetError('the token verifies but does not decrypt (bad padding)');
  }
};

/**
 * A token for `plaintext`, as `Fernet.encrypt` makes it; `iv` and `time` are fixed only by the
 * spec's test vectors and by the demo, which builds a legacy table the way the seed does.
 */
export const fernetEncrypt = (
  key: FernetKey,
  plaintext: Buffer | string,
  options: { iv?: Buffer; time?: Date } = {},
): string => {
  const iv = options.iv ?? randomBytes(16);
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor((options.time ?? new Date()).getTime() / 1000)), 1);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac])
    .toString('base64url')
    .padEnd(Math.ceil((body.length + 32) / 3) * 4, '=');
};

/** A fresh key in the form `Fernet.generate_key()` prints. */
export const generateFernetKey = (): string => randomBytes(32).toString('base64url') + '=';
