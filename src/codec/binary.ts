/**
 * Protobuf binary ↔ {@link MessageData}: the two-pass codec's reader (over
 * the shared wire reader, ./wire.ts) and its writer (protobufjs's Writer).
 * Strict where protobuf is: wire types must match the field, lengths and
 * groups must end inside their message, nesting is limited.
 * @module
 */
import protobuf from 'protobufjs';
import {
  CodecError,
  MAX_NESTING_DEPTH,
  WIRE,
  defaultScalar,
  isDefaultScalar,
  mapKeyString,
  mapKeyValue,
  messagePlan,
  type FieldPlan,
  type Kind,
  type MessageData,
  type TypePlan,
} from './schema.js';
import {
  WireReader,
  readBool,
  readBytes,
  readDouble,
  readFixed32,
  readFixed64,
  readFloat,
  readLength,
  readString,
  readVarint32,
  readVarint64,
  skipField,
  skipGroup,
  truncated,
} from './wire.js';

function bigintOf(r: WireReader): bigint {
  return r.hi === 0 ? BigInt(r.lo) : (BigInt(r.hi) << 32n) | BigInt(r.lo);
}

function readScalar(r: WireReader, kind: Kind, end: number): unknown {
  switch (kind) {
    case 'double':
      return readDouble(r, end);
    case 'float':
      return readFloat(r, end);
    case 'int32':
    case 'enum':
      return readVarint32(r, end) | 0;
    case 'uint32':
      return readVarint32(r, end);
    case 'sint32': {
      const v = readVarint32(r, end);
      return ((v >>> 1) ^ -(v & 1)) | 0;
    }
    case 'fixed32':
      return readFixed32(r, end);
    case 'sfixed32':
      return readFixed32(r, end) | 0;
    case 'int64':
      readVarint64(r, end);
      return BigInt.asIntN(64, bigintOf(r));
    case 'uint64':
      readVarint64(r, end);
      return bigintOf(r);
    case 'sint64': {
      readVarint64(r, end);
      const u = bigintOf(r);
      return (u >> 1n) ^ -(u & 1n);
    }
    case 'fixed64':
      readFixed64(r, end);
      return bigintOf(r);
    case 'sfixed64':
      readFixed64(r, end);
      return BigInt.asIntN(64, bigintOf(r));
    case 'bool':
      return readBool(r, end);
    case 'string':
      return readString(r, end);
    case 'bytes':
      return readBytes(r, end);
    case 'message':
      throw new CodecError('internal: message read as scalar');
  }
}

function checkWire(wireType: number, expected: number, fp: FieldPlan): void {
  if (wireType !== expected) {
    throw new CodecError(`wire type ${wireType} does not match field ${fp.jsonName} (${fp.kind}, wire type ${expected})`);
  }
}

/**
 * Parses protobuf binary of a message type into MessageData. Throws
 * CodecError (with the field path) on bytes that are not such a message.
 *
 * @example
 * ```ts
 * const data = readBinary(planFor(type), bytes);
 * ```
 */
export function readBinary(plan: TypePlan, bytes: Uint8Array, depth = 0): MessageData {
  const r = new WireReader(bytes);
  return readMessage(plan, r, bytes.length, depth, undefined, new Map());
}

function readMessage(
  plan: TypePlan,
  r: WireReader,
  end: number,
  depth: number,
  groupId: number | undefined,
  data: MessageData,
): MessageData {
  if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
  while (r.pos < end) {
    const t = readVarint32(r, end);
    const id = t >>> 3;
    const wireType = t & 7;
    if (wireType === 4) {
      if (groupId !== undefined && id === groupId) return data;
      throw new CodecError('unexpected end-group tag');
    }
    if (id === 0) throw new CodecError('invalid field number 0');
    const fp = plan.byId.get(id);
    if (!fp) {
      if (wireType === 3) skipGroup(r, id, end, depth);
      else skipField(r, wireType, end);
      continue;
    }
    try {
      readField(fp, r, wireType, end, depth, data);
    } catch (err) {
      if (err instanceof CodecError) err.within(fp.jsonName);
      throw err;
    }
  }
  if (groupId !== undefined) throw new CodecError('missing end-group tag');
  if (r.pos !== end) throw truncated();
  return data;
}

function readSubMessage(fp: FieldPlan, r: WireReader, wireType: number, end: number, depth: number, into?: MessageData): MessageData {
  const plan = messagePlan(fp);
  const target = into ?? new Map<string, unknown>();
  if (wireType === 3) return readMessage(plan, r, end, depth + 1, fp.id, target);
  checkWire(wireType, 2, fp);
  const subEnd = readLength(r, end);
  return readMessage(plan, r, subEnd, depth + 1, undefined, target);
}

function readField(fp: FieldPlan, r: WireReader, wireType: number, end: number, depth: number, data: MessageData): void {
  if (fp.map) {
    checkWire(wireType, 2, fp);
    let map = data.get(fp.name) as Map<string, unknown> | undefined;
    if (!map) {
      map = new Map();
      data.set(fp.name, map);
    }
    readMapEntry(fp, r, end, depth, map);
    return;
  }
  if (fp.repeated) {
    let list = data.get(fp.name) as unknown[] | undefined;
    if (!list) {
      list = [];
      data.set(fp.name, list);
    }
    if (fp.kind === 'message') {
      list.push(readSubMessage(fp, r, wireType, end, depth));
    } else if (wireType === 2 && fp.kind !== 'string' && fp.kind !== 'bytes') {
      const subEnd = readLength(r, end);
      while (r.pos < subEnd) list.push(readScalar(r, fp.kind, subEnd));
    } else {
      checkWire(wireType, WIRE[fp.kind], fp);
      list.push(readScalar(r, fp.kind, end));
    }
    return;
  }
  for (const sibling of fp.siblings) data.delete(sibling.name);
  if (fp.kind === 'message') {
    const existing = data.get(fp.name) as MessageData | undefined;
    data.set(fp.name, readSubMessage(fp, r, wireType, end, depth, existing));
    return;
  }
  checkWire(wireType, WIRE[fp.kind], fp);
  data.set(fp.name, readScalar(r, fp.kind, end));
}

function readMapEntry(fp: FieldPlan, r: WireReader, end: number, depth: number, map: Map<string, unknown>): void {
  const entryEnd = readLength(r, end);
  const keyKind = fp.keyKind!;
  let key: unknown;
  let value: unknown;
  while (r.pos < entryEnd) {
    const t = readVarint32(r, entryEnd);
    const wireType = t & 7;
    switch (t >>> 3) {
      case 1:
        if (wireType !== WIRE[keyKind]) throw new CodecError(`wire type ${wireType} does not match map key`);
        key = readScalar(r, keyKind, entryEnd);
        break;
      case 2:
        if (fp.kind === 'message') {
          value = readSubMessage(fp, r, wireType, entryEnd, depth, value as MessageData | undefined);
        } else {
          checkWire(wireType, WIRE[fp.kind], fp);
          value = readScalar(r, fp.kind, entryEnd);
        }
        break;
      default:
        if (wireType === 3) skipGroup(r, t >>> 3, entryEnd, depth);
        else skipField(r, wireType, entryEnd);
    }
  }
  if (key === undefined) key = defaultScalar(keyKind);
  if (value === undefined) value = fp.kind === 'message' ? new Map<string, unknown>() : defaultScalar(fp.kind);
  map.set(mapKeyString(key), value);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

type LongBitsLike = { low: number; high: number };

function bits(v: bigint): LongBitsLike {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn), high: Number(u >> 32n) };
}

function writeScalar(w: protobuf.Writer, kind: Kind, v: unknown): void {
  const long = w as unknown as Record<string, (value: LongBitsLike) => protobuf.Writer>;
  switch (kind) {
    case 'double':
      w.double(v as number);
      return;
    case 'float':
      w.float(v as number);
      return;
    case 'int32':
    case 'enum':
      w.int32(v as number);
      return;
    case 'uint32':
      w.uint32(v as number);
      return;
    case 'sint32':
      w.sint32(v as number);
      return;
    case 'fixed32':
      w.fixed32(v as number);
      return;
    case 'sfixed32':
      w.sfixed32(v as number);
      return;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      long[kind].call(w, bits(v as bigint));
      return;
    case 'bool':
      w.bool(v as boolean);
      return;
    case 'string':
      w.string(v as string);
      return;
    case 'bytes':
      w.bytes(v as Uint8Array);
      return;
    case 'message':
      throw new CodecError('internal: message written as scalar');
  }
}

function tag(id: number, wireType: number): number {
  return ((id << 3) | wireType) >>> 0;
}

/**
 * Encodes MessageData of a message type as protobuf binary (fields in
 * number order, defaults of fields without presence left out, packed
 * repeated scalars where the schema packs them).
 *
 * @example
 * ```ts
 * const bytes = writeBinary(planFor(type), data);
 * ```
 */
export function writeBinary(plan: TypePlan, data: MessageData): Uint8Array {
  const writer = protobuf.Writer.create();
  writeMessage(plan, data, writer);
  return new Uint8Array(writer.finish());
}

function writeMessage(plan: TypePlan, data: MessageData, w: protobuf.Writer): void {
  for (const fp of plan.encodeOrder) {
    if (!data.has(fp.name)) continue;
    const v = data.get(fp.name);
    if (fp.map) {
      for (const [key, value] of v as Map<string, unknown>) {
        w.uint32(tag(fp.id, 2)).fork();
        w.uint32(tag(1, WIRE[fp.keyKind!]));
        writeScalar(w, fp.keyKind!, mapKeyValue(fp.keyKind!, key));
        if (fp.kind === 'message') {
          w.uint32(tag(2, 2)).fork();
          writeMessage(messagePlan(fp), value as MessageData, w);
          w.ldelim();
        } else {
          w.uint32(tag(2, WIRE[fp.kind]));
          writeScalar(w, fp.kind, value);
        }
        w.ldelim();
      }
    } else if (fp.repeated) {
      const list = v as unknown[];
      if (list.length === 0) continue;
      if (fp.packed) {
        w.uint32(tag(fp.id, 2)).fork();
        for (const element of list) writeScalar(w, fp.kind, element);
        w.ldelim();
      } else {
        for (const element of list) writeOne(fp, element, w);
      }
    } else {
      if (!fp.presence && isDefaultScalar(v)) continue;
      writeOne(fp, v, w);
    }
  }
}

function writeOne(fp: FieldPlan, v: unknown, w: protobuf.Writer): void {
  if (fp.kind === 'message') {
    if (fp.delimited) {
      w.uint32(tag(fp.id, 3));
      writeMessage(messagePlan(fp), v as MessageData, w);
      w.uint32(tag(fp.id, 4));
    } else {
      w.uint32(tag(fp.id, 2)).fork();
      writeMessage(messagePlan(fp), v as MessageData, w);
      w.ldelim();
    }
    return;
  }
  w.uint32(tag(fp.id, WIRE[fp.kind]));
  writeScalar(w, fp.kind, v);
}
