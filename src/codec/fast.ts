/**
 * Single-pass decoder: protobuf binary straight to the proto3 JSON object that
 * `MessageCodec.print(type, MessageCodec.readBinary(type, bytes))` returns,
 * without the intermediate {@link MessageData} form.
 *
 * It handles the common, well-formed case only. Whenever the input is unusual
 * (corrupt or truncated bytes, wire-type mismatches, groups, a message field
 * given twice (which would need merging), oneof members overriding each other,
 * out-of-range Timestamps, an unknown nested Any, nesting beyond
 * MAX_NESTING_DEPTH, …) it gives up by throwing, and the caller runs the
 * two-pass codec, which produces the result or the exact CodecError (with its
 * field path). So the two paths agree by construction on everything this one
 * declines, and test/codec.test.ts checks them against each other on the rest.
 * Both read the wire through ./wire.ts, so they agree on what the bytes are.
 * @module
 */
import type protobuf from 'protobufjs';
import { float32Json, nonFiniteJson } from './json-print.js';
import { MAX_NESTING_DEPTH, messagePlan, planFor, type FieldPlan, type TypePlan, type TypeResolver } from './schema.js';
import * as wire from './wire.js';
import { MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS, camelPath, civilDate, fraction } from './wkt.js';

// The wire reader's functions as local bindings: module builds that turn
// imports into getters (esbuild's CommonJS) would otherwise cost a call per read.
const {
  WireReader, base64Slice, readBool, readBytesBase64, readDouble, readFixed32, readFixed64, readFloat, readLength, readString,
  readVarint32, readVarint64, skipField,
} = wire;

// Field kinds
const K_DOUBLE = 1;
const K_FLOAT = 2;
const K_INT32 = 3;
const K_UINT32 = 4;
const K_SINT32 = 5;
const K_FIXED32 = 6;
const K_SFIXED32 = 7;
const K_INT64 = 8;
const K_UINT64 = 9;
const K_SINT64 = 10;
const K_FIXED64 = 11;
const K_SFIXED64 = 12;
const K_BOOL = 13;
const K_STRING = 14;
const K_BYTES = 15;
const K_ENUM = 16;
const K_MESSAGE = 17;

const KIND_CODE: Record<string, number> = {
  double: K_DOUBLE, float: K_FLOAT, int32: K_INT32, uint32: K_UINT32, sint32: K_SINT32, fixed32: K_FIXED32,
  sfixed32: K_SFIXED32, int64: K_INT64, uint64: K_UINT64, sint64: K_SINT64, fixed64: K_FIXED64,
  sfixed64: K_SFIXED64, bool: K_BOOL, string: K_STRING, bytes: K_BYTES, enum: K_ENUM, message: K_MESSAGE,
};
const WIRE_OF: number[] = [-1, 1, 5, 0, 0, 0, 5, 5, 0, 0, 0, 1, 1, 0, 2, 2, 0, 2];

// Well-known types
const W_NONE = 0;
const W_ANY = 1;
const W_TIMESTAMP = 2;
const W_DURATION = 3;
const W_FIELDMASK = 4;
const W_STRUCT = 5;
const W_VALUE = 6;
const W_LISTVALUE = 7;
const W_WRAPPER = 8;
const WKT_CODE: Record<string, number> = {
  Any: W_ANY, Timestamp: W_TIMESTAMP, Duration: W_DURATION, FieldMask: W_FIELDMASK, Struct: W_STRUCT,
  Value: W_VALUE, ListValue: W_LISTVALUE, Wrapper: W_WRAPPER,
};

// How an unset field is printed
const D_NONE = 0; // explicit presence: omitted
const D_SCALAR = 1;
const D_ARRAY = 2;
const D_OBJECT = 3;

interface FastField {
  readonly fp: FieldPlan;
  /** Position in declaration (= printing) order. */
  readonly index: number;
  readonly key: string;
  readonly kind: number;
  readonly wire: number;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly presence: boolean;
  readonly packable: boolean;
  /** JSON names of the other members of its oneof, or null. */
  readonly siblings: string[] | null;
  readonly enumNames: Map<number, string> | undefined;
  readonly nullEnum: boolean;
  readonly keyKind: number;
  readonly keyWire: number;
  /** Printed default of the (value) kind; for a map key, the key's default string. */
  readonly defaultValue: unknown;
  readonly defaultKey: string;
  readonly defaultMode: number;
  sub: FastPlan | undefined;
}

interface FastPlan {
  readonly plan: TypePlan;
  /** False when this decoder never handles the type (the two-pass codec does). */
  readonly ok: boolean;
  readonly wkt: number;
  readonly fields: FastField[];
  readonly byNum: (FastField | undefined)[];
  readonly far: Map<number, FastField>;
  /** Fields by number 0..6 for the well-known types. */
  readonly slots: (FastField | undefined)[];
  /** Reads the fields of an ordinary message (compiled for the type when possible). */
  decode: FieldsDecoder | undefined;
}

type FieldsDecoder = (r: Input, end: number, depth: number) => Record<string, unknown>;

const fastCache = new WeakMap<TypePlan, FastPlan>();

function printedDefault(fp: FieldPlan, kind: number): unknown {
  switch (kind) {
    case K_STRING:
    case K_BYTES:
      return '';
    case K_BOOL:
      return false;
    case K_INT64:
    case K_UINT64:
    case K_SINT64:
    case K_FIXED64:
    case K_SFIXED64:
      return '0';
    case K_ENUM:
      return fp.enumPlan!.isNullValue ? null : fp.enumPlan!.nameById.get(0) ?? 0;
    case K_MESSAGE:
      return undefined;
    default:
      return 0;
  }
}

function defaultKeyString(kind: number): string {
  switch (kind) {
    case K_STRING:
      return '';
    case K_BOOL:
      return 'false';
    default:
      return '0';
  }
}

function fastPlanOf(plan: TypePlan): FastPlan {
  let fast = fastCache.get(plan);
  if (fast) return fast;
  const keys = new Set<string>();
  let ok = true;
  const fields: FastField[] = plan.fields.map((fp, index) => {
    if (fp.jsonName === '__proto__' || keys.has(fp.jsonName)) ok = false;
    keys.add(fp.jsonName);
    const kind = KIND_CODE[fp.kind];
    const keyKind = fp.keyKind ? KIND_CODE[fp.keyKind] : 0;
    return {
      fp,
      index,
      key: fp.jsonName,
      kind,
      wire: WIRE_OF[kind],
      repeated: fp.repeated,
      map: fp.map,
      presence: fp.presence,
      packable: fp.repeated && kind !== K_STRING && kind !== K_BYTES && kind !== K_MESSAGE,
      siblings: fp.siblings.length > 0 ? fp.siblings.map((s) => s.jsonName) : null,
      enumNames: fp.enumPlan?.nameById,
      nullEnum: fp.enumPlan?.isNullValue === true,
      keyKind,
      keyWire: keyKind ? WIRE_OF[keyKind] : -1,
      defaultValue: printedDefault(fp, kind),
      defaultKey: defaultKeyString(keyKind),
      defaultMode: fp.map ? D_OBJECT : fp.repeated ? D_ARRAY : fp.presence ? D_NONE : D_SCALAR,
      sub: undefined,
    };
  });
  const byId = new Map<number, FastField>();
  for (const f of fields) byId.set(f.fp.id, f);
  const byNum: (FastField | undefined)[] = [];
  const far = new Map<number, FastField>();
  for (const f of fields) {
    if (f.fp.id < 1024) {
      while (byNum.length <= f.fp.id) byNum.push(undefined);
      byNum[f.fp.id] = f;
    } else {
      far.set(f.fp.id, f);
    }
  }
  const wkt = plan.wkt ? WKT_CODE[plan.wkt] : W_NONE;
  if ((wkt === W_ANY || wkt === W_TIMESTAMP || wkt === W_DURATION) && fields.length !== 2) ok = false;
  if (wkt === W_VALUE && fields.length !== 6) ok = false;
  fast = {
    plan, ok, wkt, fields, byNum, far,
    slots: Array.from({ length: 7 }, (_unused, id) => byId.get(id)),
    decode: undefined,
  };
  fastCache.set(plan, fast);
  return fast;
}

function subPlan(f: FastField): FastPlan {
  return (f.sub ??= fastPlanOf(messagePlan(f.fp)));
}

/** Whether to use the generated field readers (off: the generic readFields, for tests). */
let generated = true;

/**
 * Switches between generated field readers (the default) and the generic
 * one they fall back to where code generation is unavailable.
 * @internal For tests.
 */
export function useGeneratedReaders(enabled: boolean): void {
  generated = enabled;
}

/** Thrown to hand the input over to the two-pass codec. Not an Error: no stack to capture. */
const GIVE_UP = { giveUp: true };

function giveUp(): never {
  throw GIVE_UP;
}

const hasOwn = Object.prototype.hasOwnProperty;
/** The input, the read position and the type resolver for nested Anys. */
class Input extends WireReader {
  readonly resolve: TypeResolver;
  constructor(bytes: Uint8Array, resolve: TypeResolver) {
    super(bytes);
    this.resolve = resolve;
  }
}

// ---------------------------------------------------------------------------
// Values. The wire reader (./wire.ts) is shared with the two-pass codec; it
// throws on input that ends too early, which hands the input over as well.
// ---------------------------------------------------------------------------

function u64String(lo: number, hi: number): string {
  if (hi === 0) return `${lo}`;
  if (hi < 0x200000) return `${hi * 4294967296 + lo}`;
  return String((BigInt(hi) << 32n) | BigInt(lo));
}

function i64String(lo: number, hi: number): string {
  if (hi < 0x80000000) return u64String(lo, hi);
  const signedHi = hi - 4294967296;
  if (signedHi >= -0x200000) return `${signedHi * 4294967296 + lo}`;
  return String(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
}

function s64String(lo: number, hi: number): string {
  if (hi < 0x200000) {
    const n = hi * 4294967296 + lo;
    return `${lo & 1 ? -((n - 1) / 2) - 1 : n / 2}`;
  }
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return String((u >> 1n) ^ -(u & 1n));
}

/** lo/hi as a signed number, or NaN when it is beyond ±2^53. */
function i64Number(lo: number, hi: number): number {
  if (hi < 0x200000) return hi * 4294967296 + lo;
  if (hi >= 0xffe00000) return (hi - 4294967296) * 4294967296 + lo;
  return NaN;
}

/** Reads one scalar or enum value of a field and prints it. */
function readScalar(r: Input, f: FastField, kind: number, end: number): unknown {
  switch (kind) {
    case K_STRING:
      return readString(r, end);
    case K_INT32:
      return readVarint32(r, end) | 0;
    case K_ENUM: {
      const v = readVarint32(r, end) | 0;
      if (f.nullEnum) return null;
      const name = f.enumNames!.get(v);
      return name === undefined ? v : name;
    }
    case K_BOOL:
      return readBool(r, end);
    case K_INT64:
      readVarint64(r, end);
      return i64String(r.lo, r.hi);
    case K_UINT64:
      readVarint64(r, end);
      return u64String(r.lo, r.hi);
    case K_SINT64:
      readVarint64(r, end);
      return s64String(r.lo, r.hi);
    case K_UINT32:
      return readVarint32(r, end);
    case K_SINT32: {
      const v = readVarint32(r, end);
      return ((v >>> 1) ^ -(v & 1)) | 0;
    }
    case K_FIXED32:
      return readFixed32(r, end);
    case K_SFIXED32:
      return readFixed32(r, end) | 0;
    case K_FIXED64:
      readFixed64(r, end);
      return u64String(r.lo, r.hi);
    case K_SFIXED64:
      readFixed64(r, end);
      return i64String(r.lo, r.hi);
    case K_DOUBLE: {
      const v = readDouble(r, end);
      return Number.isFinite(v) ? v : nonFiniteJson(v);
    }
    case K_FLOAT:
      return float32Json(readFloat(r, end));
    case K_BYTES:
      return readBytesBase64(r, end);
    default:
      return giveUp();
  }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/** Reads the message in r.pos..end and returns its proto3 JSON form. */
function readMessage(r: Input, p: FastPlan, end: number, depth: number): unknown {
  if (depth > MAX_NESTING_DEPTH || !p.ok) giveUp();
  switch (p.wkt) {
    case W_NONE:
      return generated ? (p.decode ??= compileDecoder(p))(r, end, depth) : readFields(r, p, end, depth);
    case W_TIMESTAMP:
      return readTimestamp(r, end);
    case W_DURATION:
      return readDuration(r, end);
    case W_ANY:
      return readAny(r, p, end, depth);
    case W_VALUE:
      return readValue(r, p, end, depth);
    default:
      return wktFromFields(p, generated ? (p.decode ??= compileDecoder(p))(r, end, depth) : readFields(r, p, end, depth));
  }
}

function fillDefault(out: Record<string, unknown>, f: FastField): void {
  switch (f.defaultMode) {
    case D_SCALAR:
      out[f.key] = f.defaultValue;
      return;
    case D_ARRAY:
      out[f.key] = [];
      return;
    case D_OBJECT:
      out[f.key] = {};
      return;
  }
}

function siblingSet(out: Record<string, unknown>, siblings: string[]): boolean {
  for (let i = 0; i < siblings.length; i++) if (hasOwn.call(out, siblings[i])) return true;
  return false;
}

/**
 * Reads an ordinary message's fields into a new object whose keys come in
 * declaration order: fields normally arrive in that order, so each is
 * appended after the defaults of the fields it skipped over.
 */
function readFields(r: Input, p: FastPlan, end: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = p.fields;
  const byNum = p.byNum;
  let next = 0;
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const id = t >>> 3;
    const wire = t & 7;
    const f = id < byNum.length ? byNum[id] : p.far.get(id);
    if (f === undefined) {
      if (id === 0) giveUp();
      skipField(r, wire, end);
      continue;
    }
    const i = f.index;
    if (i >= next) {
      // first time: the fields in between are unset
      for (let j = next; j < i; j++) fillDefault(out, fields[j]);
      next = i + 1;
      if (f.map) {
        const obj: Record<string, unknown> = {};
        out[f.key] = obj;
        readMapEntry(r, f, wire, obj, end, depth);
      } else if (f.repeated) {
        const list: unknown[] = [];
        out[f.key] = list;
        readRepeated(r, f, wire, list, end, depth);
      } else {
        if (f.siblings !== null && siblingSet(out, f.siblings)) giveUp();
        out[f.key] = readSingular(r, f, wire, end, depth);
      }
    } else if (f.map) {
      readMapEntry(r, f, wire, out[f.key] as Record<string, unknown>, end, depth);
    } else if (f.repeated) {
      readRepeated(r, f, wire, out[f.key] as unknown[], end, depth);
    } else {
      // seen before (last one wins; messages would merge) or out of declaration order
      if (f.kind === K_MESSAGE || (f.presence && !hasOwn.call(out, f.key))) giveUp();
      if (f.siblings !== null && siblingSet(out, f.siblings)) giveUp();
      out[f.key] = readSingular(r, f, wire, end, depth);
    }
  }
  if (r.pos !== end) giveUp();
  for (let j = next; j < fields.length; j++) fillDefault(out, fields[j]);
  return out;
}

function readSingular(r: Input, f: FastField, wire: number, end: number, depth: number): unknown {
  if (f.kind === K_MESSAGE) {
    if (wire !== 2) giveUp();
    const stop = readLength(r, end);
    return readMessage(r, subPlan(f), stop, depth + 1);
  }
  if (wire !== f.wire) giveUp();
  return readScalar(r, f, f.kind, end);
}

function readRepeated(r: Input, f: FastField, wire: number, list: unknown[], end: number, depth: number): void {
  const kind = f.kind;
  if (kind === K_MESSAGE) {
    if (wire !== 2) giveUp();
    const stop = readLength(r, end);
    list.push(readMessage(r, subPlan(f), stop, depth + 1));
  } else if (wire === 2 && f.packable) {
    const stop = readLength(r, end);
    while (r.pos < stop) list.push(readScalar(r, f, kind, stop));
  } else {
    if (wire !== f.wire) giveUp();
    list.push(readScalar(r, f, kind, end));
  }
}

function readMapEntry(
  r: Input, f: FastField, wire: number, obj: Record<string, unknown>, end: number, depth: number,
): void {
  if (wire !== 2) giveUp();
  const stop = readLength(r, end);
  let key: string | undefined;
  let value: unknown;
  let hasValue = false;
  while (r.pos < stop) {
    const t = readVarint32(r, stop);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        if (w !== f.keyWire) giveUp();
        key = String(readScalar(r, f, f.keyKind, stop));
        break;
      case 2:
        if (f.kind === K_MESSAGE) {
          if (w !== 2 || hasValue) giveUp(); // a second value would merge
          const valueEnd = readLength(r, stop);
          value = readMessage(r, subPlan(f), valueEnd, depth + 1);
        } else {
          if (w !== f.wire) giveUp();
          value = readScalar(r, f, f.kind, stop);
        }
        hasValue = true;
        break;
      default:
        skipField(r, w, stop);
    }
  }
  if (!hasValue) value = f.kind === K_MESSAGE ? readMessage(r, subPlan(f), r.pos, depth + 1) : f.defaultValue;
  const k = key === undefined ? f.defaultKey : key;
  if (k === '__proto__') {
    Object.defineProperty(obj, k, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[k] = value;
  }
}

// ---------------------------------------------------------------------------
// Compiled decoders
// ---------------------------------------------------------------------------

function readInt32(r: Input, end: number): number {
  return readVarint32(r, end) | 0;
}

function readInt64(r: Input, end: number): string {
  readVarint64(r, end);
  return i64String(r.lo, r.hi);
}

function readUint64(r: Input, end: number): string {
  readVarint64(r, end);
  return u64String(r.lo, r.hi);
}

function readEnum(r: Input, f: FastField, end: number): unknown {
  const v = readVarint32(r, end) | 0;
  if (f.nullEnum) return null;
  const name = f.enumNames!.get(v);
  return name === undefined ? v : name;
}

/** A tag that no case of a compiled decoder takes: an unknown field is skipped, anything else declined. */
function otherTag(r: Input, p: FastPlan, t: number, end: number): void {
  const id = t >>> 3;
  if (id === 0 || p.plan.byId.has(id)) giveUp();
  skipField(r, t & 7, end);
}

function readSub(r: Input, f: FastField, end: number, depth: number): unknown {
  const stop = readLength(r, end);
  return readMessage(r, subPlan(f), stop, depth + 1);
}

function readPacked(r: Input, f: FastField, list: unknown[], end: number): void {
  const stop = readLength(r, end);
  const kind = f.kind;
  while (r.pos < stop) list.push(readScalar(r, f, kind, stop));
}

const HELPERS = {
  readVarint32, giveUp, readString, readInt32, readBool, readInt64, readUint64, readEnum, readScalar, readSub,
  readPacked, readMapEntry, otherTag,
};

/** The read expression of one scalar value of field F[i]. */
function scalarExpr(f: FastField, i: number): string {
  switch (f.kind) {
    case K_STRING:
      return 'readString(r, end)';
    case K_INT32:
      return 'readInt32(r, end)';
    case K_UINT32:
      return 'readVarint32(r, end)';
    case K_BOOL:
      return 'readBool(r, end)';
    case K_INT64:
      return 'readInt64(r, end)';
    case K_UINT64:
      return 'readUint64(r, end)';
    case K_ENUM:
      return `readEnum(r, F[${i}], end)`;
    default:
      return `readScalar(r, F[${i}], ${f.kind}, end)`;
  }
}

function tagOf(id: number, wire: number): number {
  return ((id << 3) | wire) >>> 0;
}

/**
 * Generates the field reader of a type: one local per field, a switch over
 * the expected tags, then the object built with its keys in declaration order.
 * Same semantics as readFields; used unless code generation is unavailable.
 */
function compileDecoder(p: FastPlan): FieldsDecoder {
  const fields = p.fields;
  const indexOf = new Map<FieldPlan, number>();
  fields.forEach((f, i) => indexOf.set(f.fp, i));
  const cases: string[] = [];
  fields.forEach((f, i) => {
    const v = `v${i}`;
    const id = f.fp.id;
    if (f.map) {
      cases.push(`case ${tagOf(id, 2)}: if (${v} === undefined) ${v} = {}; readMapEntry(r, F[${i}], 2, ${v}, end, depth); break;`);
    } else if (f.repeated) {
      const push = f.kind === K_MESSAGE ? 'readSub(r, F[' + i + '], end, depth)' : scalarExpr(f, i);
      // The first element as a literal of one: push() on an empty array reserves 17 slots.
      cases.push(`case ${tagOf(id, f.wire)}: if (${v} === undefined) ${v} = [${push}]; else ${v}.push(${push}); break;`);
      if (f.packable) {
        cases.push(`case ${tagOf(id, 2)}: if (${v} === undefined) ${v} = []; readPacked(r, F[${i}], ${v}, end); break;`);
      }
    } else {
      const clear = f.fp.siblings.map((sib) => `v${indexOf.get(sib)!} = undefined; `).join('');
      if (f.kind === K_MESSAGE) {
        cases.push(`case ${tagOf(id, 2)}: if (${v} !== undefined) giveUp(); ${clear}${v} = readSub(r, F[${i}], end, depth); break;`);
      } else {
        cases.push(`case ${tagOf(id, f.wire)}: ${clear}${v} = ${scalarExpr(f, i)}; break;`);
      }
    }
  });
  const build = fields.map((f, i) => {
    const key = `o[${JSON.stringify(f.key)}]`;
    const v = `v${i}`;
    switch (f.defaultMode) {
      case D_NONE:
        return `if (${v} !== undefined) ${key} = ${v};`;
      case D_ARRAY:
        return `${key} = ${v} === undefined ? [] : ${v};`;
      case D_OBJECT:
        return `${key} = ${v} === undefined ? {} : ${v};`;
      default:
        return `${key} = ${v} === undefined ? ${JSON.stringify(f.defaultValue)} : ${v};`;
    }
  });
  const locals = fields.map((_f, i) => `v${i}`);
  const source = [
    `return function decode(r, end, depth) {`,
    locals.length > 0 ? `let ${locals.join(', ')};` : '',
    `while (r.pos < end) {`,
    `const t = readVarint32(r, end);`,
    `switch (t) {`,
    ...cases,
    `default: otherTag(r, P, t, end);`,
    `}`,
    `}`,
    `if (r.pos !== end) giveUp();`,
    `const o = {};`,
    ...build,
    `return o;`,
    `};`,
  ].join('\n');
  try {
    const names = Object.keys(HELPERS);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function(...names, 'F', 'P', source) as (...args: unknown[]) => FieldsDecoder;
    return factory(...names.map((n) => HELPERS[n as keyof typeof HELPERS]), fields, p);
  } catch {
    // no code generation here (e.g. a CSP without 'unsafe-eval'): the generic reader
    return (r, end, depth) => readFields(r, p, end, depth);
  }
}

// ---------------------------------------------------------------------------
// Well-known types
// ---------------------------------------------------------------------------

function wktFromFields(p: FastPlan, out: Record<string, unknown>): unknown {
  const f = p.slots[1]!;
  switch (p.wkt) {
    case W_STRUCT:
    case W_LISTVALUE:
      return out[f.key];
    case W_FIELDMASK:
      return (out[f.key] as string[]).map(camelPath).join(',');
    case W_WRAPPER:
      return hasOwn.call(out, f.key) ? out[f.key] : f.defaultValue;
    default:
      return giveUp();
  }
}

/** Seconds and nanos of the last Timestamp or Duration read. */
let SECONDS = 0;
let NANOS = 0;

function readSecondsNanos(r: Input, end: number): void {
  let lo = 0;
  let hi = 0;
  let nanos = 0;
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const wire = t & 7;
    switch (t >>> 3) {
      case 1:
        if (wire !== 0) giveUp();
        readVarint64(r, end);
        lo = r.lo;
        hi = r.hi;
        break;
      case 2:
        if (wire !== 0) giveUp();
        nanos = readVarint32(r, end) | 0;
        break;
      case 0:
        giveUp();
        break;
      default:
        skipField(r, wire, end);
    }
  }
  if (r.pos !== end) giveUp();
  const seconds = i64Number(lo, hi);
  if (seconds !== seconds) giveUp(); // NaN: out of any range
  SECONDS = seconds;
  NANOS = nanos;
}

const PAD2: string[] = Array.from({ length: 100 }, (_unused, i) => (i < 10 ? `0${i}` : String(i)));
const PAD3: string[] = Array.from({ length: 1000 }, (_unused, i) => String(i).padStart(3, '0'));

/** The fractional part of a Timestamp or Duration (0, 3, 6 or 9 digits), as json.ts's fraction(). */
function fastFraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${PAD3[nanos / 1_000_000]}`;
  return fraction(nanos);
}

/**
 * Small direct-mapped caches of formatted Timestamps and Durations: the same
 * instants recur within a payload (start times) and from poll to poll.
 */
const CACHE_SIZE = 512;
const tsSeconds = new Float64Array(CACHE_SIZE).fill(NaN);
const tsNanos = new Int32Array(CACHE_SIZE);
const tsText: string[] = new Array<string>(CACHE_SIZE).fill('');
const durSeconds = new Float64Array(CACHE_SIZE).fill(NaN);
const durNanos = new Int32Array(CACHE_SIZE);
const durText: string[] = new Array<string>(CACHE_SIZE).fill('');

function slotOf(seconds: number, nanos: number): number {
  return ((seconds | 0) ^ Math.imul(nanos, 0x9e3779b1) ^ (nanos >>> 17)) & (CACHE_SIZE - 1);
}

let lastDay = NaN;
let lastDate = '';

function readTimestamp(r: Input, end: number): string {
  readSecondsNanos(r, end);
  const seconds = SECONDS;
  const nanos = NANOS;
  const slot = slotOf(seconds, nanos);
  if (tsSeconds[slot] === seconds && tsNanos[slot] === nanos) return tsText[slot];
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) giveUp();
  if (nanos < 0 || nanos > 999_999_999) giveUp();
  const days = Math.floor(seconds / 86_400);
  let rest = seconds - days * 86_400;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60;
  let date: string;
  if (days === lastDay) {
    date = lastDate;
  } else {
    date = `${civilDate(days)}T`;
    lastDay = days;
    lastDate = date;
  }
  const text = `${date}${PAD2[hour]}:${PAD2[minute]}:${PAD2[second]}${fastFraction(nanos)}Z`;
  tsSeconds[slot] = seconds;
  tsNanos[slot] = nanos;
  tsText[slot] = text;
  return text;
}

const MAX_DURATION_SECONDS = 315_576_000_000;

function readDuration(r: Input, end: number): string {
  readSecondsNanos(r, end);
  const seconds = SECONDS;
  const nanos = NANOS;
  const slot = slotOf(seconds, nanos);
  if (durSeconds[slot] === seconds && durNanos[slot] === nanos) return durText[slot];
  if (seconds < -MAX_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) giveUp();
  if (nanos < -999_999_999 || nanos > 999_999_999) giveUp();
  if ((seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) giveUp();
  const whole = seconds < 0 ? `${-seconds}` : `${seconds}`;
  const text = `${seconds < 0 || nanos < 0 ? '-' : ''}${whole}${fastFraction(nanos < 0 ? -nanos : nanos)}s`;
  durSeconds[slot] = seconds;
  durNanos[slot] = nanos;
  durText[slot] = text;
  return text;
}

function readAny(r: Input, p: FastPlan, end: number, depth: number): Record<string, unknown> {
  const urlField = p.plan.byId.get(1)!;
  const valueField = p.plan.byId.get(2)!;
  if (urlField.kind !== 'string' || valueField.kind !== 'bytes') giveUp();
  let typeUrl = '';
  let start = 0;
  let stop = 0;
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const wire = t & 7;
    switch (t >>> 3) {
      case 1:
        if (wire !== 2) giveUp();
        typeUrl = readString(r, end);
        break;
      case 2:
        if (wire !== 2) giveUp();
        stop = readLength(r, end);
        start = r.pos;
        r.pos = stop;
        break;
      case 0:
        giveUp();
        break;
      default:
        skipField(r, wire, end);
    }
  }
  if (r.pos !== end) giveUp();
  if (typeUrl === '') {
    // No type to decode it with: an unknown Any, its bytes kept as base64 (as ./json-print.ts prints it).
    if (stop === start) return {};
    return { '@type': '', value: base64Slice(r, start, stop) };
  }
  const type = r.resolve(typeUrl);
  if (!type) giveUp();
  const inner = fastPlanOf(planFor(type));
  r.pos = start;
  const body = readMessage(r, inner, stop, depth + 1);
  r.pos = end;
  const out: Record<string, unknown> = { '@type': typeUrl };
  if (inner.wkt !== W_NONE) {
    out.value = body;
  } else {
    const fields = body as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (key === '__proto__') giveUp();
      out[key] = fields[key];
    }
  }
  return out;
}

function readValue(r: Input, p: FastPlan, end: number, depth: number): unknown {
  // The six members by number; `set` bit i: member i is set.
  let set = 0;
  let num = 0;
  let str = '';
  let bool = false;
  let struct: unknown;
  let list: unknown;
  const slots = p.slots;
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const wire = t & 7;
    const id = t >>> 3;
    if (id > 6 || id === 0) {
      if (id === 0) giveUp();
      skipField(r, wire, end);
      continue;
    }
    const f = slots[id]!;
    if (f.siblings !== null) {
      for (const sibling of f.fp.siblings) set &= ~(1 << sibling.id);
    }
    switch (id) {
      case 1:
        if (wire !== 0) giveUp();
        readVarint32(r, end);
        break;
      case 2:
        if (wire !== 1) giveUp();
        num = readDouble(r, end);
        break;
      case 3:
        if (wire !== 2) giveUp();
        str = readString(r, end);
        break;
      case 4:
        if (wire !== 0) giveUp();
        bool = readBool(r, end);
        break;
      case 5:
      case 6: {
        if (wire !== 2 || set & (1 << id)) giveUp(); // a second one would merge
        const stop = readLength(r, end);
        const v = readMessage(r, subPlan(f), stop, depth + 1);
        if (id === 5) struct = v;
        else list = v;
        break;
      }
    }
    set |= 1 << id;
  }
  if (r.pos !== end) giveUp();
  if (set & 2) return null;
  if (set & 4) {
    if (!Number.isFinite(num)) giveUp();
    return num;
  }
  if (set & 8) return str;
  if (set & 16) return bool;
  if (set & 32) return struct;
  if (set & 64) return list;
  return null;
}

// ---------------------------------------------------------------------------

/**
 * Decodes protobuf binary of a type straight to its proto3 JSON form, as
 * `codec.print(type, codec.readBinary(type, bytes))` would. Throws (anything)
 * when it declines the input; the caller then runs that two-pass path.
 *
 * @example
 * ```ts
 * let json: unknown;
 * try { json = decodeBinaryFast(type, bytes, resolve); } catch { json = codec.print(type, codec.readBinary(type, bytes)); }
 * ```
 */
export function decodeBinaryFast(type: protobuf.Type, bytes: Uint8Array, resolve: TypeResolver): unknown {
  const r = new Input(bytes, resolve);
  return readMessage(r, fastPlanOf(planFor(type)), bytes.length, 0);
}
