/**
 * The codec engine behind {@link TypeRegistry}: converts messages of a
 * protobufjs type between protobuf binary, proto3 JSON and an intermediate
 * form ({@link MessageData}), so that binary and JSON input of the same
 * message print the very same proto3 JSON object.
 *
 * protobufjs provides the schema (Type, Field, Enum reflection) and the
 * Reader/Writer primitives; message walking is done here, driven by a
 * per-type "plan" compiled once and cached. This keeps decoding safe for
 * hostile input: a nesting limit instead of unbounded recursion, Maps instead
 * of objects for map keys such as `__proto__`, strict checks of wire types.
 * @module
 */
import protobuf from 'protobufjs';
import { base64FromBytes, bytesFromBase64, nodeBuffer } from '../platform.js';
import { builtinRoot } from './protos.js';

/**
 * Deepest message nesting the codec accepts (each message level counts, so a
 * `google.protobuf.Struct` nests two levels per JSON object). Deeper input is
 * rejected with an error instead of exhausting the stack.
 *
 * @example
 * ```ts
 * if (depth > MAX_NESTING_DEPTH) throw new Error('too deep');
 * ```
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * One message in the codec's intermediate form: protobufjs field name →
 * value. A key is present exactly when the field is set. Values: numbers for
 * 32-bit integers, enums, floats and doubles; `bigint` for 64-bit integers;
 * booleans; strings; `Uint8Array` for bytes; a nested `MessageData` for
 * messages; arrays for repeated fields; a `Map` (canonical JSON key string →
 * value) for map fields.
 *
 * @example
 * ```ts
 * const duration: MessageData = new Map<string, unknown>([['seconds', 1n], ['nanos', 500_000_000]]);
 * ```
 */
export type MessageData = Map<string, unknown>;

/**
 * Finds the protobufjs type of a type URL (for `google.protobuf.Any`), or
 * returns undefined when it is unknown.
 *
 * @example
 * ```ts
 * const resolve: TypeResolver = (url) => registry.lookup(url);
 * ```
 */
export type TypeResolver = (typeUrl: string) => protobuf.Type | undefined;

/**
 * Options of {@link MessageCodec.parseJson}.
 *
 * @example
 * ```ts
 * codec.parseJson(type, { seconds: 1 }, { lenient: true });
 * ```
 */
export interface ParseJsonOptions {
  /**
   * Also accept protobufjs `fromObject` forms: well-known types as plain
   * messages (`{ seconds, nanos }` for a Timestamp, `Date` objects), Any as
   * `{ typeUrl, value }`, 64-bit integers as Long-like `{ low, high }`.
   */
  lenient?: boolean;
}

/**
 * An error of the codec engine: bad bytes, JSON that does not match the type,
 * or a schema that cannot be resolved. `path` names the field where it
 * happened (`items[2].name`). {@link TypeRegistry} turns it into a DecodeError.
 *
 * @example
 * ```ts
 * try { codec.parseJson(type, json); } catch (err) { if (err instanceof CodecError) console.log(err.pathString); }
 * ```
 */
export class CodecError extends Error {
  override name = 'CodecError';
  /** Field path segments, outermost first: `'items'`, `'[2]'`, `'name'`. */
  readonly path: string[] = [];
  /** The message without the path. */
  readonly reason: string;
  /** Set when a nested Any has a type URL that no decoder knows. */
  readonly unknownTypeUrl: string | undefined;
  constructor(reason: string, options?: { cause?: unknown; unknownTypeUrl?: string }) {
    super(reason, options);
    this.reason = reason;
    this.unknownTypeUrl = options?.unknownTypeUrl;
  }
  /** The path as text, e.g. `items[2].name`; empty at the top level. */
  get pathString(): string {
    let out = '';
    for (const segment of this.path) {
      out += segment.startsWith('[') || out === '' ? segment : `.${segment}`;
    }
    return out;
  }
  /** Prepends a path segment and refreshes `message`. */
  within(segment: string): this {
    this.path.unshift(segment);
    this.message = `${this.pathString}: ${this.reason}`;
    return this;
  }
}

/**
 * The full type name in a type URL: everything after the last `/`
 * (`type.googleapis.com/pkg.Msg` → `pkg.Msg`; a bare `pkg.Msg` is returned as is).
 *
 * @example
 * ```ts
 * typeNameOf('type.googleapis.com/google.rpc.ErrorInfo'); // 'google.rpc.ErrorInfo'
 * ```
 */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * Standard base64 (with padding) of some bytes.
 *
 * @example
 * ```ts
 * base64Encode(new Uint8Array([1, 2, 3])); // 'AQID'
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  return nodeBuffer ? nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : base64FromBytes(bytes);
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes standard or URL-safe base64, with or without padding; undefined
 * when the text is not base64.
 *
 * @example
 * ```ts
 * base64Decode('AQID'); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64Decode(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const bare = text.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (text.length !== bare.length && text.length % 4 !== 0) return undefined;
  return nodeBuffer ? new Uint8Array(nodeBuffer.from(bare, 'base64')) : bytesFromBase64(bare);
}

const DURATION_RE = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315_576_000_000n;

/**
 * Parses a proto3 JSON Duration (`"1.5s"`, `"-0.001s"`); undefined when the
 * text is not one or is out of range.
 *
 * @example
 * ```ts
 * parseDuration('1.500s'); // { seconds: 1n, nanos: 500000000 }
 * ```
 */
export function parseDuration(text: string): { seconds: bigint; nanos: number } | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let seconds = BigInt(m[2]);
  let nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  if (m[1]) {
    seconds = -seconds;
    nanos = nanos === 0 ? 0 : -nanos;
  }
  return { seconds, nanos };
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

type ScalarKind =
  | 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'bool' | 'string' | 'bytes';
type Kind = ScalarKind | 'enum' | 'message';

const WIRE: Record<Kind, number> = {
  double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5,
  int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1, bool: 0, string: 2, bytes: 2,
  enum: 0, message: 2,
};
const SCALAR_KINDS = new Set<string>([
  'double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32',
  'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes',
]);
const MAP_KEY_KINDS = new Set<string>([
  'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string',
]);

type Wkt = 'Any' | 'Timestamp' | 'Duration' | 'FieldMask' | 'Struct' | 'Value' | 'ListValue' | 'Wrapper';
const WKT_BY_NAME = new Map<string, Wkt>([
  ['google.protobuf.Any', 'Any'],
  ['google.protobuf.Timestamp', 'Timestamp'],
  ['google.protobuf.Duration', 'Duration'],
  ['google.protobuf.FieldMask', 'FieldMask'],
  ['google.protobuf.Struct', 'Struct'],
  ['google.protobuf.Value', 'Value'],
  ['google.protobuf.ListValue', 'ListValue'],
  ['google.protobuf.DoubleValue', 'Wrapper'],
  ['google.protobuf.FloatValue', 'Wrapper'],
  ['google.protobuf.Int64Value', 'Wrapper'],
  ['google.protobuf.UInt64Value', 'Wrapper'],
  ['google.protobuf.Int32Value', 'Wrapper'],
  ['google.protobuf.UInt32Value', 'Wrapper'],
  ['google.protobuf.BoolValue', 'Wrapper'],
  ['google.protobuf.StringValue', 'Wrapper'],
  ['google.protobuf.BytesValue', 'Wrapper'],
]);

interface EnumPlan {
  readonly fullName: string;
  readonly nameById: Map<number, string>;
  readonly idByName: Map<string, number>;
  /** google.protobuf.NullValue prints as JSON null. */
  readonly isNullValue: boolean;
}

interface FieldPlan {
  /** protobufjs field name: the key in MessageData. */
  readonly name: string;
  /** proto3 JSON name (lowerCamelCase or json_name). */
  readonly jsonName: string;
  readonly id: number;
  readonly kind: Kind;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly keyKind: ScalarKind | undefined;
  /** Set only when present: printed only when set, encoded even when default. */
  readonly presence: boolean;
  readonly packed: boolean;
  readonly delimited: boolean;
  readonly enumPlan: EnumPlan | undefined;
  readonly messageType: protobuf.Type | undefined;
  /** Other members of the same oneof. */
  siblings: FieldPlan[];
  /** Accepts JSON null as a value (google.protobuf.Value, NullValue). */
  acceptsNull: boolean;
  plan: TypePlan | undefined;
}

interface TypePlan {
  readonly type: protobuf.Type;
  readonly fullName: string;
  readonly wkt: Wkt | undefined;
  /** Declaration order: the order of printed keys. */
  readonly fields: FieldPlan[];
  /** Field-number order: the order of encoded fields. */
  readonly encodeOrder: FieldPlan[];
  readonly byId: Map<number, FieldPlan>;
  /** JSON name, protobufjs name and proto (snake_case) name → field. */
  readonly byKey: Map<string, FieldPlan>;
  /** Fields indexed by number, for the well-known types' fixed layouts. */
  readonly slots: FieldPlan[];
}

const planCache = new WeakMap<object, TypePlan>();
const enumCache = new WeakMap<object, EnumPlan>();

interface FieldInternals {
  _featuresResolved?: boolean;
  _features?: { message_encoding?: string; repeated_field_encoding?: string };
  declaringField?: unknown;
  keyType?: string;
}

function isTypeLike(o: unknown): o is protobuf.Type {
  return typeof o === 'object' && o !== null && Array.isArray((o as protobuf.Type).fieldsArray);
}

function isEnumLike(o: unknown): o is protobuf.Enum {
  return (
    typeof o === 'object' && o !== null && !isTypeLike(o) &&
    typeof (o as protobuf.Enum).values === 'object' && typeof (o as protobuf.Enum).valuesById === 'object'
  );
}

function stripDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

function protocJsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') {
      upper = true;
      continue;
    }
    out += upper ? ch.toUpperCase() : ch;
    upper = false;
  }
  return out;
}

function snakeName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function resolveFieldType(field: protobuf.Field): protobuf.Type | protobuf.Enum {
  if (field.resolvedType) return field.resolvedType as protobuf.Type | protobuf.Enum;
  const parent = field.parent as protobuf.Type | null;
  if (parent) {
    try {
      const found = parent.lookupTypeOrEnum(field.type) as unknown;
      if (isTypeLike(found) || isEnumLike(found)) return found;
    } catch {
      // not in the field's own root: try the bundled schemas below
    }
  }
  const name = field.type;
  const candidates: string[] = [];
  if (name.startsWith('.')) {
    candidates.push(name);
  } else {
    const scope = parent ? stripDot(parent.fullName).split('.').filter(Boolean) : [];
    for (let i = scope.length; i >= 0; i--) candidates.push(`.${[...scope.slice(0, i), name].join('.')}`);
  }
  const builtin = builtinRoot();
  for (const candidate of candidates) {
    const found = builtin.lookup(candidate, [protobuf.Type, protobuf.Enum]);
    if (found) return found as protobuf.Type | protobuf.Enum;
  }
  const owner = parent ? stripDot(parent.fullName) : '?';
  throw new CodecError(`cannot resolve type "${name}" of field ${owner}.${field.name}`);
}

function enumPlanFor(e: protobuf.Enum): EnumPlan {
  let plan = enumCache.get(e);
  if (plan) return plan;
  const nameById = new Map<number, string>();
  const idByName = new Map<string, number>();
  for (const name of Object.keys(e.values)) {
    const id = e.values[name];
    if (typeof id !== 'number') continue;
    idByName.set(name, id);
    if (!nameById.has(id)) nameById.set(id, name);
  }
  const fullName = stripDot(e.fullName);
  plan = { fullName, nameById, idByName, isNullValue: fullName === 'google.protobuf.NullValue' };
  enumCache.set(e, plan);
  return plan;
}

function buildField(field: protobuf.Field): FieldPlan {
  const internals = field as unknown as FieldInternals;
  const isMap = field.map === true;
  let kind: Kind;
  let enumPlan: EnumPlan | undefined;
  let messageType: protobuf.Type | undefined;
  if (SCALAR_KINDS.has(field.type)) {
    kind = field.type as ScalarKind;
  } else {
    const target = resolveFieldType(field);
    if (isTypeLike(target)) {
      kind = 'message';
      messageType = target;
    } else {
      kind = 'enum';
      enumPlan = enumPlanFor(target);
    }
  }
  let keyKind: ScalarKind | undefined;
  if (isMap) {
    const keyType = internals.keyType ?? '';
    if (!MAP_KEY_KINDS.has(keyType)) {
      throw new CodecError(`unsupported map key type "${keyType}" of field ${stripDot(field.fullName)}`);
    }
    keyKind = keyType as ScalarKind;
  }
  const repeated = field.repeated && !isMap;
  const featuresResolved = internals._featuresResolved === true;
  let explicitPresence = false;
  if (featuresResolved) {
    try {
      explicitPresence = field.hasPresence;
    } catch {
      explicitPresence = false;
    }
  }
  const presence = !repeated && !isMap && (kind === 'message' || field.partOf != null || explicitPresence);
  const packable = repeated && kind !== 'string' && kind !== 'bytes' && kind !== 'message';
  const packed = packable && (featuresResolved
    ? internals._features?.repeated_field_encoding === 'PACKED'
    : (field.options as Record<string, unknown> | undefined)?.packed !== false);
  const delimited = kind === 'message' && !isMap && featuresResolved &&
    internals._features?.message_encoding === 'DELIMITED';
  const jsonOption = (field.options as Record<string, unknown> | undefined)?.json_name;
  const jsonName = typeof jsonOption === 'string' && jsonOption !== '' ? jsonOption : protocJsonName(field.name);
  const acceptsNull = kind === 'message'
    ? stripDot(messageType!.fullName) === 'google.protobuf.Value'
    : enumPlan?.isNullValue === true;
  return {
    name: field.name, jsonName, id: field.id, kind, repeated, map: isMap, keyKind, presence, packed, delimited,
    enumPlan, messageType, siblings: [], acceptsNull, plan: undefined,
  };
}

function wktShapeOk(wkt: Wkt, byId: Map<number, FieldPlan>): boolean {
  const f = (id: number): FieldPlan | undefined => byId.get(id);
  const single = (id: number, kind: Kind): boolean => {
    const fp = f(id);
    return fp !== undefined && fp.kind === kind && !fp.repeated && !fp.map;
  };
  switch (wkt) {
    case 'Any':
      return single(1, 'string') && single(2, 'bytes');
    case 'Timestamp':
    case 'Duration':
      return single(1, 'int64') && single(2, 'int32');
    case 'FieldMask':
      return f(1)?.kind === 'string' && f(1)?.repeated === true;
    case 'Struct':
      return f(1)?.map === true && f(1)?.keyKind === 'string' && f(1)?.kind === 'message';
    case 'ListValue':
      return f(1)?.repeated === true && f(1)?.kind === 'message';
    case 'Value':
      return (
        f(1)?.kind === 'enum' && single(2, 'double') && single(3, 'string') && single(4, 'bool') &&
        single(5, 'message') && single(6, 'message')
      );
    case 'Wrapper': {
      const fp = f(1);
      return fp !== undefined && fp.kind !== 'message' && fp.kind !== 'enum' && !fp.repeated && !fp.map;
    }
  }
}

/**
 * The compiled conversion plan of a protobufjs type (cached per type object).
 * Throws CodecError when a field's type cannot be resolved.
 */
function planFor(type: protobuf.Type): TypePlan {
  let plan = planCache.get(type);
  if (plan) return plan;
  const fullName = stripDot(type.fullName);
  const fields: FieldPlan[] = [];
  for (const field of type.fieldsArray) {
    if (field.name.includes('.') || (field as unknown as FieldInternals).declaringField) continue; // extensions
    fields.push(buildField(field));
  }
  const byId = new Map<number, FieldPlan>();
  const byKey = new Map<string, FieldPlan>();
  for (const fp of fields) byId.set(fp.id, fp);
  for (const fp of fields) if (!byKey.has(fp.jsonName)) byKey.set(fp.jsonName, fp);
  for (const fp of fields) if (!byKey.has(fp.name)) byKey.set(fp.name, fp);
  for (const fp of fields) {
    const snake = snakeName(fp.name);
    if (!byKey.has(snake)) byKey.set(snake, fp);
  }
  const oneofs = new Map<string, FieldPlan[]>();
  for (const field of type.fieldsArray) {
    const fp = byId.get(field.id);
    if (!fp || fp.name !== field.name || !field.partOf) continue;
    const members = oneofs.get(field.partOf.name) ?? [];
    members.push(fp);
    oneofs.set(field.partOf.name, members);
  }
  for (const members of oneofs.values()) {
    for (const fp of members) fp.siblings = members.filter((m) => m !== fp);
  }
  let wkt = WKT_BY_NAME.get(fullName);
  if (wkt && !wktShapeOk(wkt, byId)) wkt = undefined;
  plan = {
    type, fullName, wkt, fields,
    encodeOrder: [...fields].sort((a, b) => a.id - b.id),
    byId, byKey,
    slots: wkt ? Array.from({ length: 7 }, (_unused, id) => byId.get(id)!) : [],
  };
  planCache.set(type, plan);
  return plan;
}

function messagePlan(fp: FieldPlan): TypePlan {
  return (fp.plan ??= planFor(fp.messageType!));
}

/**
 * Whether a type's proto3 JSON is not a JSON object of its fields (Any,
 * Timestamp, Duration, FieldMask, Struct, Value, ListValue, wrappers): inside
 * an Any such a message is written as `{ "@type": …, "value": <form> }`.
 *
 * @example
 * ```ts
 * hasSpecialJson(builtinType('google.protobuf.Duration')); // true
 * ```
 */
export function hasSpecialJson(type: protobuf.Type): boolean {
  return planFor(type).wkt !== undefined;
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/**
 * Assigns `target[key] = value` as an own enumerable property, without ever
 * triggering the `__proto__` setter (so hostile keys cannot change or pollute
 * prototypes).
 *
 * @example
 * ```ts
 * const out: Record<string, unknown> = {};
 * setOwn(out, '__proto__', { polluted: true }); // an ordinary own property
 * ```
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}…"` : `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function mismatch(expected: string, v: unknown): CodecError {
  return new CodecError(`expected ${expected}, got ${describe(v)}`);
}

function at<T>(segment: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) throw err.within(segment);
    throw err;
  }
}

const INT_RE = /^-?\d+$/;
const NUMBER_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function parseNumberLike(v: unknown, expected: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (v.length <= 400 && NUMBER_RE.test(v)) return Number(v);
  }
  throw mismatch(expected, v);
}

function parseInt32(v: unknown, kind: ScalarKind, min: number, max: number): number {
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (typeof v === 'string' && v.length <= 400 && NUMBER_RE.test(v)) {
    n = Number(v);
  } else {
    throw mismatch(kind, v);
  }
  if (!Number.isInteger(n)) throw mismatch(`an integer (${kind})`, v);
  if (n < min || n > max) throw new CodecError(`${kind} out of range: ${String(v)}`);
  return n === 0 ? 0 : n;
}

function bigintFromBits(low: number, high: number, signed: boolean): bigint {
  const u = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

function parseInt64(v: unknown, kind: ScalarKind, signed: boolean): bigint {
  let n: bigint;
  if (typeof v === 'bigint') {
    n = v;
  } else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw mismatch(`an integer (${kind})`, v);
    n = BigInt(v);
  } else if (typeof v === 'string' && v.length <= 400) {
    if (INT_RE.test(v)) {
      n = BigInt(v);
    } else if (NUMBER_RE.test(v)) {
      const num = Number(v);
      if (!Number.isInteger(num)) throw mismatch(`an integer (${kind})`, v);
      n = BigInt(num);
    } else {
      throw mismatch(kind, v);
    }
  } else if (isObject(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    n = bigintFromBits(v.low, v.high, signed);
  } else {
    throw mismatch(kind, v);
  }
  if (signed ? n < INT64_MIN || n > INT64_MAX : n < 0n || n > UINT64_MAX) {
    throw new CodecError(`${kind} out of range: ${String(v)}`);
  }
  return n;
}

function parseScalar(kind: ScalarKind, v: unknown): unknown {
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return v;
      throw mismatch('string', v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw mismatch('boolean', v);
    case 'bytes': {
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string') {
        const bytes = base64Decode(v);
        if (bytes) return bytes;
      }
      throw mismatch('base64 bytes', v);
    }
    case 'double':
      return parseNumberLike(v, 'number');
    case 'float': {
      const n = parseNumberLike(v, 'number');
      const f = Math.fround(n);
      if (Number.isFinite(n) && !Number.isFinite(f)) throw new CodecError(`float out of range: ${String(v)}`);
      return f;
    }
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return parseInt32(v, kind, -2147483648, 2147483647);
    case 'uint32':
    case 'fixed32':
      return parseInt32(v, kind, 0, 4294967295);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return parseInt64(v, kind, true);
    case 'uint64':
    case 'fixed64':
      return parseInt64(v, kind, false);
  }
}

function parseEnum(plan: EnumPlan, v: unknown): number {
  if (typeof v === 'string') {
    const id = plan.idByName.get(v);
    if (id === undefined) throw new CodecError(`unknown value ${JSON.stringify(v.slice(0, 100))} of enum ${plan.fullName}`);
    return id;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw mismatch(`enum ${plan.fullName}`, v);
    return v;
  }
  if (v === null && plan.isNullValue) return 0;
  throw mismatch(`enum ${plan.fullName}`, v);
}

function parseMapKey(kind: ScalarKind, key: string): string {
  switch (kind) {
    case 'string':
      return key;
    case 'bool':
      if (key === 'true' || key === 'false') return key;
      throw new CodecError(`map key ${JSON.stringify(key.slice(0, 100))} is not a bool`);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64':
      if (!INT_RE.test(key)) throw new CodecError(`map key ${JSON.stringify(key.slice(0, 100))} is not an integer`);
      return String(parseInt64(key, kind, kind !== 'uint64' && kind !== 'fixed64'));
    default:
      if (!INT_RE.test(key)) throw new CodecError(`map key ${JSON.stringify(key.slice(0, 100))} is not an integer`);
      return String(parseScalar(kind, key));
  }
}

function defaultScalar(kind: Kind): unknown {
  switch (kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return new Uint8Array(0);
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return 0n;
    default:
      return 0;
  }
}

function isDefaultScalar(v: unknown): boolean {
  if (v instanceof Uint8Array) return v.length === 0;
  return v === 0 || v === 0n || v === false || v === '' ? !Object.is(v, -0) : false;
}

function mapKeyString(key: unknown): string {
  return String(key);
}

function mapKeyValue(kind: ScalarKind, key: string): unknown {
  switch (kind) {
    case 'string':
      return key;
    case 'bool':
      return key === 'true';
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return BigInt(key);
    default:
      return Number(key);
  }
}

function nonFiniteJson(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function float32Json(v: number): unknown {
  if (!Number.isFinite(v)) return nonFiniteJson(v);
  if (v === 0 || Number.isInteger(v)) return v;
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(v.toPrecision(precision));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

function printScalar(kind: ScalarKind, v: unknown): unknown {
  switch (kind) {
    case 'double':
      return Number.isFinite(v as number) ? v : nonFiniteJson(v as number);
    case 'float':
      return float32Json(v as number);
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return String(v);
    case 'bytes':
      return base64Encode(v as Uint8Array);
    default:
      return v;
  }
}

function printEnum(plan: EnumPlan, v: number): unknown {
  if (plan.isNullValue) return null;
  return plan.nameById.get(v) ?? v;
}

function defaultJson(fp: FieldPlan): unknown {
  if (fp.kind === 'enum') return printEnum(fp.enumPlan!, 0);
  return printScalar(fp.kind as ScalarKind, defaultScalar(fp.kind));
}

// Timestamp ------------------------------------------------------------------

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const MIN_TIMESTAMP_SECONDS = -62_135_596_800; // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1_000 === 0) return `.${String(nanos / 1_000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

const DAY_SECONDS = 86_400;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function formatTimestamp(seconds: bigint, nanos: number): string {
  if (seconds < BigInt(MIN_TIMESTAMP_SECONDS) || seconds > BigInt(MAX_TIMESTAMP_SECONDS)) {
    throw new CodecError(`Timestamp seconds out of range: ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new CodecError(`Timestamp nanos out of range: ${nanos}`);
  }
  const total = Number(seconds);
  const days = Math.floor(total / DAY_SECONDS);
  let rest = total - days * DAY_SECONDS;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60;
  return `${civilDate(days)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}${fraction(nanos)}Z`;
}

/** `YYYY-MM-DD` of a day counted from 1970-01-01 (H. Hinnant's civil-from-days). */
export function civilDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function parseTimestamp(text: string): { seconds: bigint; nanos: number } {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) throw mismatch('an RFC 3339 timestamp', text);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (
    year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) {
    throw mismatch('an RFC 3339 timestamp', text);
  }
  let seconds = daysFromCivil(year, month, day) * DAY_SECONDS + hour * 3600 + minute * 60 + second;
  if (m[9]) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) throw mismatch('an RFC 3339 timestamp', text);
    const offset = (offsetHours * 3600 + offsetMinutes * 60) * (m[9] === '-' ? -1 : 1);
    seconds -= offset;
  }
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new CodecError(`Timestamp out of range: ${text}`);
  }
  return { seconds: BigInt(seconds), nanos: m[7] ? Number(m[7].padEnd(9, '0')) : 0 };
}

function formatDuration(seconds: bigint, nanos: number): string {
  if (seconds < -MAX_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) {
    throw new CodecError(`Duration seconds out of range: ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999) {
    throw new CodecError(`Duration nanos out of range: ${nanos}`);
  }
  if ((seconds < 0n && nanos > 0) || (seconds > 0n && nanos < 0)) {
    throw new CodecError('Duration seconds and nanos have different signs');
  }
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

function camelPath(path: string): string {
  return path.split('.').map((segment) => segment.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join('.');
}

// ---------------------------------------------------------------------------
// Binary reading
// ---------------------------------------------------------------------------

function truncated(): CodecError {
  return new CodecError('truncated or corrupt protobuf data');
}

function readVarint64(r: protobuf.Reader): bigint {
  const buf = r.buf;
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let i = 0; i < 4; i++) {
    if (r.pos >= r.len) throw truncated();
    b = buf[r.pos++];
    lo = (lo | ((b & 0x7f) << (i * 7))) >>> 0;
    if (b < 0x80) return BigInt(lo);
  }
  if (r.pos >= r.len) throw truncated();
  b = buf[r.pos++];
  lo = (lo | ((b & 0x7f) << 28)) >>> 0;
  hi = (b & 0x7f) >>> 4;
  if (b < 0x80) return (BigInt(hi) << 32n) | BigInt(lo);
  for (let i = 0; i < 5; i++) {
    if (r.pos >= r.len) throw truncated();
    b = buf[r.pos++];
    hi = (hi | ((b & 0x7f) << (i * 7 + 3))) >>> 0;
    if (b < 0x80) return (BigInt(hi) << 32n) | BigInt(lo);
  }
  throw new CodecError('malformed varint');
}

function readFixed64(r: protobuf.Reader): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function readScalar(r: protobuf.Reader, kind: Kind): unknown {
  switch (kind) {
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'int32':
    case 'enum':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'sint32':
      return r.sint32();
    case 'fixed32':
      return r.fixed32();
    case 'sfixed32':
      return r.sfixed32();
    case 'int64':
      return BigInt.asIntN(64, readVarint64(r));
    case 'uint64':
      return readVarint64(r);
    case 'sint64': {
      const u = readVarint64(r);
      return (u >> 1n) ^ -(u & 1n);
    }
    case 'fixed64':
      return readFixed64(r);
    case 'sfixed64':
      return BigInt.asIntN(64, readFixed64(r));
    case 'bool':
      return r.bool();
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
    case 'message':
      throw new CodecError('internal: message read as scalar');
  }
}

function checkWire(wireType: number, expected: number, fp: FieldPlan): void {
  if (wireType !== expected) {
    throw new CodecError(`wire type ${wireType} does not match field ${fp.jsonName} (${fp.kind}, wire type ${expected})`);
  }
}

// ---------------------------------------------------------------------------
// Binary writing
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

// ---------------------------------------------------------------------------
// The codec
// ---------------------------------------------------------------------------

interface InnerAny {
  type: protobuf.Type;
  data: MessageData;
}

/** Decoded content of Any messages parsed from JSON, to print them without decoding their bytes again. */
const innerAnyCache = new WeakMap<MessageData, InnerAny>();

/**
 * Converts messages of protobufjs types between binary, proto3 JSON and
 * {@link MessageData}. Nested `google.protobuf.Any` values are resolved with
 * the given resolver. Every method throws {@link CodecError} on bad input
 * (with `unknownTypeUrl` set for an Any of unknown type).
 *
 * @example
 * ```ts
 * const codec = new MessageCodec((url) => registry.lookup(url));
 * const data = codec.readBinary(type, bytes);
 * const json = codec.print(type, data); // proto3 JSON, defaults included
 * ```
 */
export class MessageCodec {
  readonly #resolve: TypeResolver;

  constructor(resolve: TypeResolver) {
    this.#resolve = resolve;
  }

  /** Parses protobuf binary into MessageData. */
  readBinary(type: protobuf.Type, bytes: Uint8Array, depth = 0): MessageData {
    const plan = planFor(type);
    const reader = protobuf.Reader.create(bytes);
    try {
      return this.#readMessage(plan, reader, reader.len, depth, undefined, new Map());
    } catch (err) {
      if (err instanceof CodecError) throw err;
      throw new CodecError(`invalid protobuf binary: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Parses the proto3 JSON form of a message (for well-known types, their special form). */
  parseJson(type: protobuf.Type, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parseMessage(planFor(type), json, options.lenient === true, depth);
  }

  /**
   * Parses the body of an Any in JSON form: the message's fields, or
   * `{ value: <special form> }` for well-known types with a special JSON
   * form. An `@type` key is ignored.
   */
  parseAnyBody(type: protobuf.Type, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parseAnyBody(planFor(type), json, options.lenient === true, depth);
  }

  /** Prints MessageData as proto3 JSON, with default values of fields without presence. */
  print(type: protobuf.Type, data: MessageData, depth = 0): unknown {
    return this.#printMessage(planFor(type), data, depth);
  }

  /**
   * Prints MessageData as the body of an Any in JSON form: an object of the
   * fields, or `{ value: <special form> }` for well-known types.
   */
  printAnyBody(type: protobuf.Type, data: MessageData, depth = 0): Record<string, unknown> {
    const plan = planFor(type);
    const printed = this.#printMessage(plan, data, depth);
    return plan.wkt ? { value: printed } : (printed as Record<string, unknown>);
  }

  /** Encodes MessageData as protobuf binary. */
  writeBinary(type: protobuf.Type, data: MessageData): Uint8Array {
    const writer = protobuf.Writer.create();
    this.#writeMessage(planFor(type), data, writer);
    return new Uint8Array(writer.finish());
  }

  // --- binary → data ---------------------------------------------------------

  #readMessage(
    plan: TypePlan,
    r: protobuf.Reader,
    end: number,
    depth: number,
    groupId: number | undefined,
    data: MessageData,
  ): MessageData {
    if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
    while (r.pos < end) {
      const t = r.uint32();
      const id = t >>> 3;
      const wireType = t & 7;
      if (wireType === 4) {
        if (groupId !== undefined && id === groupId) return data;
        throw new CodecError('unexpected end-group tag');
      }
      if (id === 0) throw new CodecError('invalid field number 0');
      const fp = plan.byId.get(id);
      if (!fp) {
        if (wireType === 3) this.#skipGroup(r, id, end, depth);
        else r.skipType(wireType);
        continue;
      }
      try {
        this.#readField(fp, r, wireType, end, depth, data);
      } catch (err) {
        if (err instanceof CodecError) err.within(fp.jsonName);
        throw err;
      }
    }
    if (groupId !== undefined) throw new CodecError('missing end-group tag');
    if (r.pos !== end) throw truncated();
    return data;
  }

  #skipGroup(r: protobuf.Reader, id: number, end: number, depth: number): void {
    if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
    while (r.pos < end) {
      const t = r.uint32();
      const wireType = t & 7;
      if (wireType === 4) {
        if (t >>> 3 === id) return;
        throw new CodecError('mismatched end-group tag');
      }
      if (wireType === 3) this.#skipGroup(r, t >>> 3, end, depth + 1);
      else r.skipType(wireType);
    }
    throw truncated();
  }

  #subEnd(r: protobuf.Reader, end: number): number {
    const length = r.uint32();
    const subEnd = r.pos + length;
    if (subEnd > end) throw truncated();
    return subEnd;
  }

  #readSubMessage(fp: FieldPlan, r: protobuf.Reader, wireType: number, end: number, depth: number, into?: MessageData): MessageData {
    const plan = messagePlan(fp);
    const target = into ?? new Map<string, unknown>();
    if (wireType === 3) return this.#readMessage(plan, r, end, depth + 1, fp.id, target);
    checkWire(wireType, 2, fp);
    const subEnd = this.#subEnd(r, end);
    return this.#readMessage(plan, r, subEnd, depth + 1, undefined, target);
  }

  #readField(fp: FieldPlan, r: protobuf.Reader, wireType: number, end: number, depth: number, data: MessageData): void {
    if (fp.map) {
      checkWire(wireType, 2, fp);
      let map = data.get(fp.name) as Map<string, unknown> | undefined;
      if (!map) {
        map = new Map();
        data.set(fp.name, map);
      }
      this.#readMapEntry(fp, r, end, depth, map);
      return;
    }
    if (fp.repeated) {
      let list = data.get(fp.name) as unknown[] | undefined;
      if (!list) {
        list = [];
        data.set(fp.name, list);
      }
      if (fp.kind === 'message') {
        list.push(this.#readSubMessage(fp, r, wireType, end, depth));
      } else if (wireType === 2 && fp.kind !== 'string' && fp.kind !== 'bytes') {
        const subEnd = this.#subEnd(r, end);
        while (r.pos < subEnd) list.push(readScalar(r, fp.kind));
        if (r.pos !== subEnd) throw truncated();
      } else {
        checkWire(wireType, WIRE[fp.kind], fp);
        list.push(readScalar(r, fp.kind));
      }
      return;
    }
    for (const sibling of fp.siblings) data.delete(sibling.name);
    if (fp.kind === 'message') {
      const existing = data.get(fp.name) as MessageData | undefined;
      data.set(fp.name, this.#readSubMessage(fp, r, wireType, end, depth, existing));
      return;
    }
    checkWire(wireType, WIRE[fp.kind], fp);
    data.set(fp.name, readScalar(r, fp.kind));
  }

  #readMapEntry(fp: FieldPlan, r: protobuf.Reader, end: number, depth: number, map: Map<string, unknown>): void {
    const entryEnd = this.#subEnd(r, end);
    const keyKind = fp.keyKind!;
    let key: unknown;
    let value: unknown;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      const wireType = t & 7;
      switch (t >>> 3) {
        case 1:
          if (wireType !== WIRE[keyKind]) throw new CodecError(`wire type ${wireType} does not match map key`);
          key = readScalar(r, keyKind);
          break;
        case 2:
          if (fp.kind === 'message') {
            value = this.#readSubMessage(fp, r, wireType, entryEnd, depth, value as MessageData | undefined);
          } else {
            checkWire(wireType, WIRE[fp.kind], fp);
            value = readScalar(r, fp.kind);
          }
          break;
        default:
          if (wireType === 3) this.#skipGroup(r, t >>> 3, entryEnd, depth);
          else r.skipType(wireType);
      }
    }
    if (r.pos !== entryEnd) throw truncated();
    if (key === undefined) key = defaultScalar(keyKind);
    if (value === undefined) value = fp.kind === 'message' ? new Map<string, unknown>() : defaultScalar(fp.kind);
    map.set(mapKeyString(key), value);
  }

  // --- JSON → data -------------------------------------------------------------

  #parseAnyBody(plan: TypePlan, json: unknown, lenient: boolean, depth: number): MessageData {
    if (!isObject(json)) throw mismatch(`a JSON object for ${plan.fullName}`, json);
    if (!plan.wkt) return this.#parseFields(plan, json, lenient, depth, '@type');
    const keys = Object.keys(json).filter((k) => k !== '@type');
    if (keys.length === 0) return new Map();
    if (keys.length === 1 && keys[0] === 'value') {
      const value = json.value;
      if (value === null && plan.wkt !== 'Value') return new Map();
      return this.#parseMessage(plan, value, lenient, depth);
    }
    if (lenient) return this.#parseFields(plan, json, lenient, depth, '@type');
    const unknown = keys.find((k) => k !== 'value') ?? keys[0];
    throw new CodecError(`unknown field ${JSON.stringify(unknown.slice(0, 100))} in ${plan.fullName} (expected "value")`);
  }

  #parseMessage(plan: TypePlan, json: unknown, lenient: boolean, depth: number): MessageData {
    if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
    if (plan.wkt) return this.#parseWkt(plan, plan.wkt, json, lenient, depth);
    if (!isObject(json)) throw mismatch(`a JSON object for ${plan.fullName}`, json);
    return this.#parseFields(plan, json, lenient, depth, undefined);
  }

  #parseFields(
    plan: TypePlan,
    json: Record<string, unknown>,
    lenient: boolean,
    depth: number,
    skipKey: string | undefined,
  ): MessageData {
    if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
    const data: MessageData = new Map();
    let seenOneofs: Set<FieldPlan> | undefined;
    for (const key of Object.keys(json)) {
      if (key === skipKey) continue;
      const fp = plan.byKey.get(key);
      if (!fp) throw new CodecError(`unknown field ${JSON.stringify(key.slice(0, 100))} in ${plan.fullName}`);
      if (data.has(fp.name)) throw new CodecError(`field ${fp.jsonName} of ${plan.fullName} given twice`);
      const value = json[key];
      if (value === null && !(fp.acceptsNull && !fp.repeated && !fp.map)) continue;
      if (fp.siblings.length > 0) {
        seenOneofs ??= new Set();
        if (fp.siblings.some((s) => seenOneofs!.has(s))) {
          throw new CodecError(`more than one field of a oneof set in ${plan.fullName} (${fp.jsonName})`);
        }
        seenOneofs.add(fp);
      }
      try {
        data.set(fp.name, this.#parseField(fp, value, lenient, depth));
      } catch (err) {
        if (err instanceof CodecError) err.within(fp.jsonName);
        throw err;
      }
    }
    return data;
  }

  #parseField(fp: FieldPlan, v: unknown, lenient: boolean, depth: number): unknown {
    if (fp.map) {
      if (!isObject(v)) throw mismatch('a JSON object (map)', v);
      const map = new Map<string, unknown>();
      for (const rawKey of Object.keys(v)) {
        const element = v[rawKey];
        map.set(
          at(`[${JSON.stringify(rawKey.slice(0, 100))}]`, () => parseMapKey(fp.keyKind!, rawKey)),
          at(`[${JSON.stringify(rawKey.slice(0, 100))}]`, () => this.#parseElement(fp, element, lenient, depth)),
        );
      }
      return map;
    }
    if (fp.repeated) {
      if (!Array.isArray(v)) throw mismatch('a JSON array', v);
      const list: unknown[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const element: unknown = v[i];
        list[i] = at(`[${i}]`, () => this.#parseElement(fp, element, lenient, depth));
      }
      return list;
    }
    return this.#parseElement(fp, v, lenient, depth);
  }

  #parseElement(fp: FieldPlan, v: unknown, lenient: boolean, depth: number): unknown {
    if (v === null && !fp.acceptsNull) throw mismatch(fp.kind === 'message' ? 'a message' : fp.kind, v);
    switch (fp.kind) {
      case 'message':
        return this.#parseMessage(messagePlan(fp), v, lenient, depth + 1);
      case 'enum':
        return parseEnum(fp.enumPlan!, v);
      default:
        return parseScalar(fp.kind, v);
    }
  }

  #parseWkt(plan: TypePlan, wkt: Wkt, v: unknown, lenient: boolean, depth: number): MessageData {
    const s = plan.slots;
    const data: MessageData = new Map();
    switch (wkt) {
      case 'Timestamp': {
        if (typeof v === 'string') {
          const { seconds, nanos } = parseTimestamp(v);
          data.set(s[1].name, seconds);
          data.set(s[2].name, nanos);
          return data;
        }
        if (lenient && v instanceof Date) {
          const ms = v.getTime();
          if (!Number.isFinite(ms)) throw mismatch('a valid Date', v);
          const seconds = Math.floor(ms / 1000);
          data.set(s[1].name, BigInt(seconds));
          data.set(s[2].name, Math.round(ms - seconds * 1000) * 1_000_000);
          return data;
        }
        if (lenient && isObject(v)) return this.#parseFields(plan, v, lenient, depth, undefined);
        throw mismatch('an RFC 3339 timestamp string', v);
      }
      case 'Duration': {
        if (typeof v === 'string') {
          const parsed = parseDuration(v);
          if (!parsed) throw mismatch('a duration string like "1.5s"', v);
          data.set(s[1].name, parsed.seconds);
          data.set(s[2].name, parsed.nanos);
          return data;
        }
        if (lenient && isObject(v)) return this.#parseFields(plan, v, lenient, depth, undefined);
        throw mismatch('a duration string like "1.5s"', v);
      }
      case 'FieldMask': {
        if (typeof v === 'string') {
          const paths = v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
          data.set(s[1].name, paths);
          return data;
        }
        if (lenient && isObject(v)) return this.#parseFields(plan, v, lenient, depth, undefined);
        throw mismatch('a field mask string', v);
      }
      case 'Wrapper': {
        const fp = s[1];
        if (lenient && isObject(v) && Object.keys(v).length === 1 && ('value' in v || fp.name in v)) {
          return this.#parseFields(plan, v, lenient, depth, undefined);
        }
        if (v === null) return data;
        data.set(fp.name, at('value', () => parseScalar(fp.kind as ScalarKind, v)));
        return data;
      }
      case 'Struct': {
        if (!isObject(v)) throw mismatch('a JSON object (Struct)', v);
        const valueField = s[1];
        const valuePlan = messagePlan(valueField);
        const fields = new Map<string, unknown>();
        for (const key of Object.keys(v)) {
          const element = v[key];
          fields.set(key, at(key, () => this.#parseMessage(valuePlan, element, lenient, depth + 1)));
        }
        data.set(valueField.name, fields);
        return data;
      }
      case 'ListValue': {
        if (!Array.isArray(v)) throw mismatch('a JSON array (ListValue)', v);
        const valuesField = s[1];
        const valuePlan = messagePlan(valuesField);
        const values: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const element: unknown = v[i];
          values[i] = at(`[${i}]`, () => this.#parseMessage(valuePlan, element, lenient, depth + 1));
        }
        data.set(valuesField.name, values);
        return data;
      }
      case 'Value': {
        if (v === null) data.set(s[1].name, 0);
        else if (typeof v === 'number') data.set(s[2].name, v);
        else if (typeof v === 'string') data.set(s[3].name, v);
        else if (typeof v === 'boolean') data.set(s[4].name, v);
        else if (Array.isArray(v)) data.set(s[6].name, this.#parseMessage(messagePlan(s[6]), v, lenient, depth + 1));
        else if (isObject(v)) data.set(s[5].name, this.#parseMessage(messagePlan(s[5]), v, lenient, depth + 1));
        else throw mismatch('a JSON value', v);
        return data;
      }
      case 'Any':
        return this.#parseAny(plan, v, lenient, depth);
    }
  }

  #parseAny(plan: TypePlan, v: unknown, lenient: boolean, depth: number): MessageData {
    if (!isObject(v)) throw mismatch('a JSON object (Any)', v);
    const typeUrl = v['@type'];
    const data: MessageData = new Map();
    if (typeUrl === undefined) {
      if (Object.keys(v).length === 0) return data;
      if (lenient) return this.#parseFields(plan, v, lenient, depth, undefined);
      throw new CodecError('Any without "@type"');
    }
    if (typeof typeUrl !== 'string') throw mismatch('string', typeUrl).within('@type');
    const type = this.#resolve(typeUrl);
    if (!type) throw new CodecError(`no decoder for type ${typeUrl}`, { unknownTypeUrl: typeUrl });
    const innerPlan = planFor(type);
    const inner = this.#parseAnyBody(innerPlan, v, lenient, depth + 1);
    data.set(plan.byId.get(1)!.name, typeUrl);
    data.set(plan.byId.get(2)!.name, this.writeBinary(type, inner));
    innerAnyCache.set(data, { type, data: inner });
    return data;
  }

  // --- data → JSON --------------------------------------------------------------

  #printMessage(plan: TypePlan, data: MessageData, depth: number): unknown {
    if (depth > MAX_NESTING_DEPTH) throw new CodecError(`message nesting deeper than ${MAX_NESTING_DEPTH}`);
    if (plan.wkt) return this.#printWkt(plan, plan.wkt, data, depth);
    const out: Record<string, unknown> = {};
    for (const fp of plan.fields) {
      if (data.has(fp.name)) {
        const value = data.get(fp.name);
        let printed: unknown;
        try {
          printed = this.#printField(fp, value, depth);
        } catch (err) {
          if (err instanceof CodecError) err.within(fp.jsonName);
          throw err;
        }
        setOwn(out, fp.jsonName, printed);
      } else if (!fp.presence) {
        setOwn(out, fp.jsonName, fp.map ? {} : fp.repeated ? [] : defaultJson(fp));
      }
    }
    return out;
  }

  #printField(fp: FieldPlan, v: unknown, depth: number): unknown {
    if (fp.map) {
      const out: Record<string, unknown> = {};
      for (const [key, element] of v as Map<string, unknown>) setOwn(out, key, this.#printElement(fp, element, depth));
      return out;
    }
    if (fp.repeated) {
      const list = v as unknown[];
      const out: unknown[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) out[i] = this.#printElement(fp, list[i], depth);
      return out;
    }
    return this.#printElement(fp, v, depth);
  }

  #printElement(fp: FieldPlan, v: unknown, depth: number): unknown {
    switch (fp.kind) {
      case 'message':
        return this.#printMessage(messagePlan(fp), v as MessageData, depth + 1);
      case 'enum':
        return printEnum(fp.enumPlan!, v as number);
      default:
        return printScalar(fp.kind, v);
    }
  }

  #printWkt(plan: TypePlan, wkt: Wkt, data: MessageData, depth: number): unknown {
    const s = plan.slots;
    switch (wkt) {
      case 'Timestamp':
        return formatTimestamp((data.get(s[1].name) as bigint | undefined) ?? 0n, (data.get(s[2].name) as number | undefined) ?? 0);
      case 'Duration':
        return formatDuration((data.get(s[1].name) as bigint | undefined) ?? 0n, (data.get(s[2].name) as number | undefined) ?? 0);
      case 'FieldMask':
        return ((data.get(s[1].name) as string[] | undefined) ?? []).map(camelPath).join(',');
      case 'Wrapper': {
        const fp = s[1];
        const v = data.get(s[1].name);
        return printScalar(fp.kind as ScalarKind, v === undefined ? defaultScalar(fp.kind) : v);
      }
      case 'Struct': {
        const valuePlan = messagePlan(s[1]);
        const out: Record<string, unknown> = {};
        const fields = (data.get(s[1].name) as Map<string, unknown> | undefined) ?? new Map<string, unknown>();
        for (const [key, value] of fields) {
          setOwn(out, key, at(key, () => this.#printMessage(valuePlan, value as MessageData, depth + 1)));
        }
        return out;
      }
      case 'ListValue': {
        const valuePlan = messagePlan(s[1]);
        const values = (data.get(s[1].name) as unknown[] | undefined) ?? [];
        return values.map((value, i) => at(`[${i}]`, () => this.#printMessage(valuePlan, value as MessageData, depth + 1)));
      }
      case 'Value': {
        if (data.get(s[1].name) !== undefined) return null;
        const n = data.get(s[2].name);
        if (n !== undefined) {
          if (!Number.isFinite(n as number)) throw new CodecError(`Value number ${String(n)} cannot be represented in JSON`);
          return n;
        }
        const str = data.get(s[3].name);
        if (str !== undefined) return str;
        const b = data.get(s[4].name);
        if (b !== undefined) return b;
        const struct = data.get(s[5].name);
        if (struct !== undefined) return this.#printMessage(messagePlan(s[5]), struct as MessageData, depth + 1);
        const list = data.get(s[6].name);
        if (list !== undefined) return this.#printMessage(messagePlan(s[6]), list as MessageData, depth + 1);
        return null;
      }
      case 'Any':
        return this.#printAny(plan, data, depth);
    }
  }

  #printAny(plan: TypePlan, data: MessageData, depth: number): Record<string, unknown> {
    const urlField = plan.byId.get(1)!;
    const valueField = plan.byId.get(2)!;
    const typeUrl = (data.get(urlField.name) as string | undefined) ?? '';
    const bytes = (data.get(valueField.name) as Uint8Array | undefined) ?? new Uint8Array(0);
    if (typeUrl === '') {
      if (bytes.length === 0) return {};
      throw new CodecError('Any with a value but no type URL');
    }
    const type = this.#resolve(typeUrl);
    if (!type) throw new CodecError(`no decoder for type ${typeUrl}`, { unknownTypeUrl: typeUrl });
    const cached = innerAnyCache.get(data);
    const inner = cached && cached.type === type ? cached.data : this.readBinary(type, bytes, depth + 1);
    const body = this.printAnyBody(type, inner, depth + 1);
    const out: Record<string, unknown> = { '@type': typeUrl };
    for (const key of Object.keys(body)) setOwn(out, key, body[key]);
    return out;
  }

  // --- data → binary ------------------------------------------------------------

  #writeMessage(plan: TypePlan, data: MessageData, w: protobuf.Writer): void {
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
            this.#writeMessage(messagePlan(fp), value as MessageData, w);
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
          for (const element of list) this.#writeOne(fp, element, w);
        }
      } else {
        if (!fp.presence && isDefaultScalar(v)) continue;
        this.#writeOne(fp, v, w);
      }
    }
  }

  #writeOne(fp: FieldPlan, v: unknown, w: protobuf.Writer): void {
    if (fp.kind === 'message') {
      if (fp.delimited) {
        w.uint32(tag(fp.id, 3));
        this.#writeMessage(messagePlan(fp), v as MessageData, w);
        w.uint32(tag(fp.id, 4));
      } else {
        w.uint32(tag(fp.id, 2)).fork();
        this.#writeMessage(messagePlan(fp), v as MessageData, w);
        w.ldelim();
      }
      return;
    }
    w.uint32(tag(fp.id, WIRE[fp.kind]));
    writeScalar(w, fp.kind, v);
  }
}

/**
 * Compiles (or fetches from the cache) the conversion plan of a type, so
 * that a schema problem such as an unresolvable field type surfaces as a
 * CodecError before any data is touched.
 *
 * @example
 * ```ts
 * compilePlan(root.lookupType('my.pkg.Progress'));
 * ```
 */
export function compilePlan(type: protobuf.Type): void {
  planFor(type);
}

// ---------------------------------------------------------------------------
// Internals shared with the single-pass binary decoder (./fast.ts)
// ---------------------------------------------------------------------------

/** @internal */
export type { FieldPlan, TypePlan, Wkt };
/** @internal */
export {
  planFor, messagePlan, float32Json, nonFiniteJson, camelPath, fraction,
  MIN_TIMESTAMP_SECONDS, MAX_TIMESTAMP_SECONDS,
};
