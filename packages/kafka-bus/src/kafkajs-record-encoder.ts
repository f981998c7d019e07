import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's record encoder, rewritten to allocate once per record.
 *
 * kafkajs builds every record of a produce request from small `Encoder`s: a zero-filled 512-byte
 * buffer for the record and one for each header, an array and a `Buffer.from` for every varint and
 * Long.js arithmetic for the timestamp delta. While the relay drains a backlog that was most of its
 * CPU (the allocations, the zeroing and the collections they cause; the five documented headers alone
 * were 18 %), and it is what held the drain near 30 k events/s. kafkajs has had no release since
 * 2.2.4 (February 2023), so the module replaced here does not move under us; the package pins it.
 *
 * `encodeRecord` writes the same bytes as kafkajs's `recordBatch/record/v0` (the contract test
 * compares them on every shape a record can take) into one buffer of the exact size. Anything it does
 * not handle itself (a header given as an array of values, a timestamp delta outside ±2^30, a value
 * that is neither a string nor a Buffer) goes to kafkajs's own encoder, so the result never differs.
 */

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
}

interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
}

type RecordEncoder = (record: RecordInput) => KafkajsEncoder;

const require = createRequire(import.meta.url);
const kafkajsFile = (relative: string) => require.resolve(`kafkajs/src/protocol/${relative}`);
const recordModulePath = kafkajsFile('recordBatch/record/v0/index.js');
/** The modules that bind the record encoder when they load (produce v4–v7 build on v3). */
const producePath = kafkajsFile('requests/produce/v3/request.js');

const Encoder = require(kafkajsFile('encoder.js')) as { prototype: object };
/** Set on an installed `encodeRecord`: kafkajs's own encoder, which it replaced. */
const replaced = Symbol.for('strata.kafkajs-record-encoder.replaced');
type Installed = RecordEncoder & { [replaced]?: RecordEncoder };
const loaded = require(recordModulePath) as Installed;
/**
 * kafkajs's own encoder, for the shapes handled by delegation and for the contract test (found
 * behind an `encodeRecord` already installed by another copy of this module, as in a test runner
 * that reloads ES modules but not CommonJS ones).
 */
export const kafkajsEncodeRecord: RecordEncoder = loaded[replaced] ?? loaded;

/** Small enough that zigzag and shifts stay within 32-bit integer arithmetic. */
const smallInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= -0x40000000 && value < 0x40000000;

const zigzag = (value: number) => (value << 1) ^ (value >> 31);

const unsignedVarIntSize = (value: number) => {
  let size = 1;
  while ((value & 0xffffff80) !== 0) {
    size += 1;
    value >>>= 7;
  }
  return size;
};

const writeUnsignedVarInt = (buf: Buffer, offset: number, value: number): number => {
  while ((value & 0xffffff80) !== 0) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[offset++] = value;
  return offset;
};

/** The byte length of a key, value or header value as kafkajs writes it: -1 for null, UTF-8 for strings. */
const byteLengthOf = (value: Buffer | string | null | undefined): number =>
  value == null ? -1 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;

const bytesSize = (length: number) => (length < 0 ? 1 : unsignedVarIntSize(zigzag(length)) + length);

const writeBytes = (buf: Buffer, offset: number, value: Buffer | string | null | undefined, length: number) => {
  offset = writeUnsignedVarInt(buf, offset, zigzag(length));
  if (length <= 0) return offset;
  if (typeof value === 'string') buf.write(value, offset, length, 'utf8');
  else (value as Buffer).copy(buf, offset);
  return offset + length;
};

const isBytes = (value: unknown): value is Buffer | string | null | undefined =>
  value == null || typeof value === 'string' || Buffer.isBuffer(value);

export const encodeRecord: RecordEncoder = (record) => {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  if (!smallInteger(offsetDelta) || !smallInteger(timestampDelta) || !isBytes(key) || !isBytes(value)) {
    return kafkajsEncodeRecord(record);
  }
  const headerKeys = Object.keys(headers);
  const headerLengths: number[] = [];
  let headersSize = unsignedVarIntSize(zigzag(headerKeys.length));
  for (const headerKey of headerKeys) {
    const headerValue = headers[headerKey];
    // kafkajs refuses null header values (Buffer.byteLength throws) and spreads arrays into several
    // headers: both stay its business.
    if (headerValue == null || !isBytes(headerValue)) return kafkajsEncodeRecord(record);
    const keyLength = Buffer.byteLength(headerKey, 'utf8');
    const valueLength = byteLengthOf(headerValue);
    headerLengths.push(keyLength, valueLength);
    headersSize += bytesSize(keyLength) + bytesSize(valueLength);
  }
  const keyLength = byteLengthOf(key);
  const valueLength = byteLengthOf(value);
  const timestamp = zigzag(timestampDelta);
  const offsetZigzag = zigzag(offsetDelta);
  const bodySize =
    1 +
    unsignedVarIntSize(timestamp) +
    unsignedVarIntSize(offsetZigzag) +
    bytesSize(keyLength) +
    bytesSize(valueLength) +
    headersSize;
  const lengthZigzag = zigzag(bodySize);
  const buf = Buffer.allocUnsafe(unsignedVarIntSize(lengthZigzag) + bodySize);
  let offset = writeUnsignedVarInt(buf, 0, lengthZigzag);
  buf[offset++] = 0; // attributes: none are used on a record
  offset = writeUnsignedVarInt(buf, offset, timestamp);
  offset = writeUnsignedVarInt(buf, offset, offsetZigzag);
  offset = writeBytes(buf, offset, key, keyLength);
  offset = writeBytes(buf, offset, value, valueLength);
  offset = writeUnsignedVarInt(buf, offset, zigzag(headerKeys.length));
  for (let i = 0; i < headerKeys.length; i++) {
    offset = writeBytes(buf, offset, headerKeys[i], headerLengths[2 * i]!);
    offset = writeBytes(buf, offset, headers[headerKeys[i]!] as Buffer | string, headerLengths[2 * i + 1]!);
  }
  // An Encoder without its constructor's 512-byte buffer: the batch encoder copies `buffer` out of it.
  const encoder = Object.create(Encoder.prototype) as KafkajsEncoder;
  encoder.buf = buf;
  encoder.offset = offset;
  return encoder;
};

/**
 * Makes kafkajs's produce requests use `encodeRecord`. It must run before the first produce request
 * is built (kafkajs loads that module on first use, and it binds the record encoder then); importing
 * this package does it, and it refuses loudly rather than leave the slow encoder silently in place.
 */
const installRecordEncoder = () => {
  const cached = require.cache[recordModulePath];
  if (!cached) throw new Error('kafkajs record encoder: module not loaded');
  if ((cached.exports as Installed)[replaced]) return;
  if (require.cache[producePath]) {
    throw new Error('kafkajs record encoder: produce requests were loaded before it could be installed');
  }
  (encodeRecord as Installed)[replaced] = kafkajsEncodeRecord;
  cached.exports = encodeRecord;
  require(producePath);
};

/** Whether kafkajs's produce requests encode records with `encodeRecord` (or an earlier copy of it). */
export const recordEncoderInstalled = (): boolean => Boolean((require(recordModulePath) as Installed)[replaced]);

installRecordEncoder();
