/**
 * The protobuf wire reader: the one implementation of varints, fixed-width
 * values, lengths and UTF-8 that both binary decoders use (the two-pass
 * reader in ./binary.ts and the single-pass decoder in ./fast.ts), so they
 * cannot disagree on what bytes mean.
 *
 * Every read takes the end of the enclosing message and throws a
 * {@link CodecError} instead of reading past it; nothing depends on whether
 * the input is a Node Buffer or a plain Uint8Array. Varints are read to
 * their last byte (at most 10): a 32-bit field keeps the low 32 bits of a
 * longer varint, as protobuf does for a field widened from int32 to int64,
 * and a bool is true when any of the 64 bits is set.
 * @module
 */
import protobuf from 'protobufjs';
import { base64FromBytes, nodeBuffer } from '../platform.js';
import { CodecError, MAX_NESTING_DEPTH } from './schema.js';

/** Node's Buffer view of the input, with its fast UTF-8 and base64 slices. */
interface Utf8Buffer {
  utf8Slice(start: number, end: number): string;
  toString(encoding: 'base64', start?: number, end?: number): string;
}

/** UTF-8 where Node's Buffer is missing (browsers, workers): invalid bytes become U+FFFD, as Buffer does. */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

const floatUtil = protobuf.util.float;

/**
 * Input bytes and a read position. `lo`/`hi` receive the two halves of the
 * last 64-bit value read ({@link readVarint64}, {@link readFixed64}).
 *
 * @example
 * ```ts
 * const r = new WireReader(bytes);
 * const tag = readVarint32(r, bytes.length);
 * ```
 */
export class WireReader {
  /** Read position. */
  pos = 0;
  /** Low 32 bits (unsigned) of the last 64-bit value read. */
  lo = 0;
  /** High 32 bits (unsigned) of the last 64-bit value read. */
  hi = 0;
  /** The input. */
  readonly buf: Uint8Array;
  /** The input as a Node Buffer (same memory), for fast UTF-8 and base64; undefined without Buffer. */
  readonly view: Utf8Buffer | undefined;
  constructor(bytes: Uint8Array) {
    this.buf = bytes;
    this.view = nodeBuffer === undefined ? undefined : ((nodeBuffer.isBuffer(bytes) ? bytes : nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as unknown as Utf8Buffer);
  }
}

/**
 * The error for input that ends inside a value or a length that runs past
 * the end of its message.
 *
 * @example
 * ```ts
 * if (pos > end) throw truncated();
 * ```
 */
export function truncated(): CodecError {
  return new CodecError('truncated or corrupt protobuf data');
}

function malformedVarint(): CodecError {
  return new CodecError('malformed varint (more than 10 bytes)');
}

/** Skips the rest of a varint whose first five bytes were read: up to five more bytes. */
function skipVarintTail(r: WireReader, pos: number, end: number): void {
  const buf = r.buf;
  for (let i = 0; i < 5; i++) {
    if (pos >= end) throw truncated();
    if (buf[pos++] < 128) {
      r.pos = pos;
      return;
    }
  }
  throw malformedVarint();
}

/**
 * Reads a varint and returns its low 32 bits, unsigned (`| 0` gives int32).
 * Longer varints are read to their end.
 *
 * @example
 * ```ts
 * const count = readVarint32(r, end) | 0; // int32
 * ```
 */
export function readVarint32(r: WireReader, end: number): number {
  const buf = r.buf;
  let pos = r.pos;
  if (pos >= end) throw truncated();
  let b = buf[pos++];
  if (b < 128) {
    r.pos = pos;
    return b;
  }
  let v = b & 127;
  if (pos >= end) throw truncated();
  b = buf[pos++];
  v |= (b & 127) << 7;
  if (b < 128) {
    r.pos = pos;
    return v;
  }
  if (pos >= end) throw truncated();
  b = buf[pos++];
  v |= (b & 127) << 14;
  if (b < 128) {
    r.pos = pos;
    return v;
  }
  if (pos >= end) throw truncated();
  b = buf[pos++];
  v |= (b & 127) << 21;
  if (b < 128) {
    r.pos = pos;
    return v;
  }
  if (pos >= end) throw truncated();
  b = buf[pos++];
  v = (v | ((b & 15) << 28)) >>> 0;
  if (b < 128) r.pos = pos;
  else skipVarintTail(r, pos, end);
  return v;
}

/**
 * Reads a varint of up to 64 bits into `r.lo` and `r.hi`.
 *
 * @example
 * ```ts
 * readVarint64(r, end);
 * const value = (BigInt(r.hi) << 32n) | BigInt(r.lo);
 * ```
 */
export function readVarint64(r: WireReader, end: number): void {
  const buf = r.buf;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) throw truncated();
    b = buf[pos++];
    lo = (lo | ((b & 0x7f) << (i * 7))) >>> 0;
    if (b < 0x80) {
      r.pos = pos;
      r.lo = lo;
      r.hi = 0;
      return;
    }
  }
  if (pos >= end) throw truncated();
  b = buf[pos++];
  lo = (lo | ((b & 0x7f) << 28)) >>> 0;
  hi = (b & 0x7f) >>> 4;
  if (b >= 0x80) {
    let i = 0;
    for (; i < 5; i++) {
      if (pos >= end) throw truncated();
      b = buf[pos++];
      hi = (hi | ((b & 0x7f) << (i * 7 + 3))) >>> 0;
      if (b < 0x80) break;
    }
    if (i === 5) throw malformedVarint();
  }
  r.pos = pos;
  r.lo = lo;
  r.hi = hi;
}

/**
 * Reads a bool: true when any bit of the (up to 64-bit) varint is set.
 *
 * @example
 * ```ts
 * const ok = readBool(r, end);
 * ```
 */
export function readBool(r: WireReader, end: number): boolean {
  const pos = r.pos;
  if (pos < end && r.buf[pos] < 128) {
    r.pos = pos + 1;
    return r.buf[pos] !== 0;
  }
  readVarint64(r, end);
  return (r.lo | r.hi) !== 0;
}

/**
 * Reads a little-endian fixed 32-bit value, unsigned.
 *
 * @example
 * ```ts
 * const sfixed32 = readFixed32(r, end) | 0;
 * ```
 */
export function readFixed32(r: WireReader, end: number): number {
  const pos = r.pos;
  if (pos + 4 > end) throw truncated();
  const buf = r.buf;
  r.pos = pos + 4;
  return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
}

/**
 * Reads a little-endian fixed 64-bit value into `r.lo` and `r.hi`.
 *
 * @example
 * ```ts
 * readFixed64(r, end);
 * ```
 */
export function readFixed64(r: WireReader, end: number): void {
  const lo = readFixed32(r, end);
  r.hi = readFixed32(r, end);
  r.lo = lo;
}

/**
 * Reads a little-endian IEEE 754 double.
 *
 * @example
 * ```ts
 * const ratio = readDouble(r, end);
 * ```
 */
export function readDouble(r: WireReader, end: number): number {
  const pos = r.pos;
  if (pos + 8 > end) throw truncated();
  r.pos = pos + 8;
  return floatUtil.readDoubleLE(r.buf, pos);
}

/**
 * Reads a little-endian IEEE 754 float.
 *
 * @example
 * ```ts
 * const fraction = readFloat(r, end);
 * ```
 */
export function readFloat(r: WireReader, end: number): number {
  const pos = r.pos;
  if (pos + 4 > end) throw truncated();
  r.pos = pos + 4;
  return floatUtil.readFloatLE(r.buf, pos);
}

/**
 * Reads the length of a length-delimited value and returns where the value
 * ends; the value must end within `end`. The read position is then its start.
 *
 * @example
 * ```ts
 * const stop = readLength(r, end);
 * while (r.pos < stop) readVarint32(r, stop);
 * ```
 */
export function readLength(r: WireReader, end: number): number {
  const pos = r.pos;
  let len: number;
  if (pos < end && r.buf[pos] < 128) {
    len = r.buf[pos];
    r.pos = pos + 1;
  } else {
    readVarint64(r, end);
    if (r.hi !== 0) throw truncated();
    len = r.lo;
  }
  const stop = r.pos + len;
  if (stop > end) throw truncated();
  return stop;
}

/**
 * Reads a length-delimited UTF-8 string (invalid sequences become U+FFFD,
 * as TextDecoder does).
 *
 * @example
 * ```ts
 * const name = readString(r, end);
 * ```
 */
export function readString(r: WireReader, end: number): string {
  const stop = readLength(r, end);
  const start = r.pos;
  r.pos = stop;
  if (stop === start) return '';
  return r.view ? r.view.utf8Slice(start, stop) : utf8Decoder.decode(r.buf.subarray(start, stop));
}

/**
 * Reads length-delimited bytes (a copy).
 *
 * @example
 * ```ts
 * const payload = readBytes(r, end);
 * ```
 */
export function readBytes(r: WireReader, end: number): Uint8Array {
  const stop = readLength(r, end);
  const start = r.pos;
  r.pos = stop;
  return Uint8Array.prototype.slice.call(r.buf, start, stop);
}

/**
 * Reads length-delimited bytes as standard base64 (their proto3 JSON form).
 *
 * @example
 * ```ts
 * const payload = readBytesBase64(r, end); // 'AQID'
 * ```
 */
export function readBytesBase64(r: WireReader, end: number): string {
  const stop = readLength(r, end);
  const start = r.pos;
  r.pos = stop;
  return stop === start ? '' : base64Slice(r, start, stop);
}

/**
 * Bytes `start`..`stop` of the input as standard base64.
 *
 * @example
 * ```ts
 * base64Slice(r, 0, 3); // 'AQID'
 * ```
 */
export function base64Slice(r: WireReader, start: number, stop: number): string {
  return r.view ? r.view.toString('base64', start, stop) : base64FromBytes(r.buf.subarray(start, stop));
}

/**
 * Skips one value of wire type 0, 1, 2 or 5. Groups (3) are for
 * {@link skipGroup}; a stray end-group tag (4) or wire type 6 or 7 throws.
 *
 * @example
 * ```ts
 * skipField(r, tag & 7, end);
 * ```
 */
export function skipField(r: WireReader, wireType: number, end: number): void {
  switch (wireType) {
    case 0: {
      const buf = r.buf;
      let pos = r.pos;
      for (let i = 0; i < 10; i++) {
        if (pos >= end) throw truncated();
        if (buf[pos++] < 128) {
          r.pos = pos;
          return;
        }
      }
      throw malformedVarint();
    }
    case 1:
      if (r.pos + 8 > end) throw truncated();
      r.pos += 8;
      return;
    case 2:
      r.pos = readLength(r, end);
      return;
    case 5:
      if (r.pos + 4 > end) throw truncated();
      r.pos += 4;
      return;
    case 4:
      throw new CodecError('unexpected end-group tag');
    default:
      throw new CodecError(`invalid wire type ${wireType}`);
  }
}

/**
 * Skips a group whose start tag (field `id`, wire type 3) was just read, up
 * to and including its end tag; nested groups count toward the nesting limit.
 *
 * @example
 * ```ts
 * if ((tag & 7) === 3) skipGroup(r, tag >>> 3, end, depth);
 * ```
 */
export function skipGroup(r: WireReader, id: number, end: number, depth: number): void {
  if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const wireType = t & 7;
    if (wireType === 4) {
      if (t >>> 3 === id) return;
      throw new CodecError('mismatched end-group tag');
    }
    if (wireType === 3) skipGroup(r, t >>> 3, end, depth + 1);
    else skipField(r, wireType, end);
  }
  throw truncated();
}
