import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * SHA-256 by `@noble/hashes` (pure, audited, no `node:*`, so core stays pure and flag bucketing
 * matches Python's `hashlib.sha256` bit for bit in every runtime, browser SDKs too). Strings are
 * hashed as their UTF-8 bytes.
 */

const encoder = new TextEncoder();

/** The UTF-8 bytes of a string (TextEncoder's: a lone surrogate becomes U+FFFD). */
export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** SHA-256 digest of bytes or of a string's UTF-8 encoding. */
export const sha256 = (input: string | Uint8Array): Uint8Array =>
  nobleSha256(typeof input === 'string' ? utf8(input) : input);

export const sha256Hex = (input: string | Uint8Array): string => bytesToHex(sha256(input));

/** The first 32 bits of the digest as an unsigned integer: `int(hexdigest()[:8], 16)`. */
export const sha256FirstWord = (input: string | Uint8Array): number => {
  const digest = sha256(input);
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
};
