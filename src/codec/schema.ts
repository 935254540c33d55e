/**
 * What the codec knows about a protobufjs type: the per-type "plan" (fields
 * by number and by JSON key, kinds, presence, oneofs, well-known type)
 * compiled once and cached, the intermediate {@link MessageData} form, and
 * {@link CodecError}. The wire reader, the binary reader/writer, the JSON
 * printer and parser and the single-pass decoder all build on this module.
 * @module
 */
import protobuf from 'protobufjs';
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
 * Deepest JSON nesting (objects and arrays) of a payload in JSON form the
 * codec can decode: two JSON levels at most per message level (a repeated
 * or map field, then the message), {@link MAX_NESTING_DEPTH} + 1 message
 * levels. Deeper JSON can only fail to decode.
 *
 * @example
 * ```ts
 * if (jsonDepthExceeds(json, MAX_JSON_NESTING_DEPTH)) throw new Error('too deep');
 * ```
 */
export const MAX_JSON_NESTING_DEPTH = 2 * (MAX_NESTING_DEPTH + 1);

/**
 * Whether a JSON value nests objects and arrays more than `limit` levels
 * deep (the value itself, when an object or array, is level 1). Iterative,
 * so any depth is safe to check; shared or cyclic references are followed
 * only while they get deeper, so a cycle counts as too deep, and so does a
 * value that throws when read (a hostile getter or proxy).
 *
 * @example
 * ```ts
 * jsonDepthExceeds({ a: [{}] }, 2); // true: three levels
 * ```
 */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return walkDepth(value, limit);
  } catch {
    return true;
  }
}

function walkDepth(value: object, limit: number): boolean {
  const deepest = new Map<object, number>();
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > limit) return true;
    if ((deepest.get(node) ?? 0) >= depth) continue;
    deepest.set(node, depth);
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

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

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/** A protobuf scalar type name. */
export type ScalarKind =
  | 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64' | 'bool' | 'string' | 'bytes';
/** What a field holds: a scalar, an enum or a message. */
export type Kind = ScalarKind | 'enum' | 'message';

/** The wire type of each kind (unpacked). */
export const WIRE: Record<Kind, number> = {
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

/** The well-known types whose proto3 JSON form is special. */
export type Wkt = 'Any' | 'Timestamp' | 'Duration' | 'FieldMask' | 'Struct' | 'Value' | 'ListValue' | 'Wrapper';
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

/** An enum's names and numbers. */
export interface EnumPlan {
  readonly fullName: string;
  readonly nameById: Map<number, string>;
  readonly idByName: Map<string, number>;
  /** google.protobuf.NullValue prints as JSON null. */
  readonly isNullValue: boolean;
}

/** Everything the codec needs to know about one field. */
export interface FieldPlan {
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

/** The compiled plan of a message type. */
export interface TypePlan {
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
  /** protobufjs name → field. */
  readonly byName: Map<string, FieldPlan>;
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
export function planFor(type: protobuf.Type): TypePlan {
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
  const byName = new Map<string, FieldPlan>();
  for (const fp of fields) byName.set(fp.name, fp);
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
    byId, byKey, byName,
    slots: wkt ? Array.from({ length: 7 }, (_unused, id) => byId.get(id)!) : [],
  };
  planCache.set(type, plan);
  return plan;
}

/** The plan of a message field's type (cached on the field plan). */
export function messagePlan(fp: FieldPlan): TypePlan {
  return (fp.plan ??= planFor(fp.messageType!));
}

/**
 * The field a proto3 JSON key names: its JSON name (lowerCamelCase or
 * `json_name`), its protobufjs name or its proto name. A root parsed with
 * protobufjs's default `keepCase: false` keeps only the camelCased name
 * (`mixedCase_field` becomes `mixedCaseField`), so a key with underscores is
 * also matched by the name protobufjs would have made of it.
 *
 * @example
 * ```ts
 * fieldForKey(planFor(type), 'mixedCase_field')?.jsonName; // 'mixedCaseField'
 * ```
 */
export function fieldForKey(plan: TypePlan, key: string): FieldPlan | undefined {
  const fp = plan.byKey.get(key);
  if (fp !== undefined || !key.includes('_')) return fp;
  return plan.byName.get(protobuf.util.camelCase(key));
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

/** Runs `fn`, prefixing the path of a CodecError it throws with `segment`. */
export function at<T>(segment: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) throw err.within(segment);
    throw err;
  }
}

/** The default value of a kind in MessageData form. */
export function defaultScalar(kind: Kind): unknown {
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

/** Whether a MessageData scalar is its kind's default (not written without presence). */
export function isDefaultScalar(v: unknown): boolean {
  if (v instanceof Uint8Array) return v.length === 0;
  return v === 0 || v === 0n || v === false || v === '' ? !Object.is(v, -0) : false;
}

/** The canonical JSON key string of a map key read from binary. */
export function mapKeyString(key: unknown): string {
  return String(key);
}

/** A map key string back as the value to write in binary. */
export function mapKeyValue(kind: ScalarKind, key: string): unknown {
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

/** The decoded content of an Any that was parsed from JSON. */
export interface InnerAny {
  type: protobuf.Type;
  data: MessageData;
}

/** Decoded content of Any messages parsed from JSON, to print them without decoding their bytes again. */
export const innerAnyCache = new WeakMap<MessageData, InnerAny>();

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
