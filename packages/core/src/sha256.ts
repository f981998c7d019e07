/**
 * SHA-256 (FIPS 180-4) in plain TypeScript, because core may not import `node:crypto` and flag
 * bucketing must match Python's `hashlib.sha256` bit for bit in every runtime (browser SDKs too).
 * Tuned for the short inputs of bucketing: no allocation per call beyond the input bytes.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19] as const;

const W = new Int32Array(64);
const H = new Int32Array(8);
/** Scratch buffer the input is encoded into; grows for long inputs and is reused. */
let scratch = new Uint8Array(256);

/** Writes the UTF-8 bytes of `text` into `out` (which must hold text.length * 3); returns the count. */
const encodeInto = (text: string, out: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd; // lone surrogate, as TextEncoder does
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
};

/** UTF-8 bytes of a string; lone surrogates become U+FFFD, as TextEncoder does. */
export const utf8 = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length * 3);
  return out.slice(0, encodeInto(text, out));
};

const compress = (bytes: Uint8Array, offset: number): void => {
  const w = W;
  for (let t = 0; t < 16; t++) {
    const j = offset + t * 4;
    w[t] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15]!;
    const w2 = w[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = H[0]!,
    b = H[1]!,
    c = H[2]!,
    d = H[3]!;
  let e = H[4]!,
    f = H[5]!,
    g = H[6]!,
    h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[t]! + w[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = H[0]! + a;
  H[1] = H[1]! + b;
  H[2] = H[2]! + c;
  H[3] = H[3]! + d;
  H[4] = H[4]! + e;
  H[5] = H[5]! + f;
  H[6] = H[6]! + g;
  H[7] = H[7]! + h;
};

/**
 * Hashes the first `length` bytes of `buf`, which must have room for 72 more bytes of padding
 * after them (padding is written in place). The digest is left in H (big-endian words).
 */
const run = (buf: Uint8Array, length: number): void => {
  H.set(H0);
  const total = (((length + 8) >> 6) + 1) << 6; // padded length: a multiple of 64 with room for 0x80 and the length
  buf[length] = 0x80;
  buf.fill(0, length + 1, total - 8);
  const bits = length * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  buf[total - 8] = hi >>> 24;
  buf[total - 7] = (hi >>> 16) & 255;
  buf[total - 6] = (hi >>> 8) & 255;
  buf[total - 5] = hi & 255;
  buf[total - 4] = lo >>> 24;
  buf[total - 3] = (lo >>> 16) & 255;
  buf[total - 2] = (lo >>> 8) & 255;
  buf[total - 1] = lo & 255;
  for (let off = 0; off < total; off += 64) compress(buf, off);
};

const hashInput = (input: string | Uint8Array): void => {
  const max = (typeof input === 'string' ? input.length * 3 : input.length) + 72;
  if (scratch.length < max) scratch = new Uint8Array(Math.max(max, scratch.length * 2));
  let length: number;
  if (typeof input === 'string') length = encodeInto(input, scratch);
  else {
    scratch.set(input);
    length = input.length;
  }
  run(scratch, length);
};

/** SHA-256 digest of bytes or of a string's UTF-8 encoding. */
export const sha256 = (input: string | Uint8Array): Uint8Array => {
  hashInput(input);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const word = H[i] ?? 0;
    out[i * 4] = word >>> 24;
    out[i * 4 + 1] = (word >>> 16) & 255;
    out[i * 4 + 2] = (word >>> 8) & 255;
    out[i * 4 + 3] = word & 255;
  }
  return out;
};

export const sha256Hex = (input: string | Uint8Array): string => {
  let hex = '';
  for (const byte of sha256(input)) hex += byte.toString(16).padStart(2, '0');
  return hex;
};

/** The first 32 bits of the digest as an unsigned integer: `int(hexdigest()[:8], 16)`. */
export const sha256FirstWord = (input: string | Uint8Array): number => {
  hashInput(input);
  return (H[0] ?? 0) >>> 0;
};
