/**
 * proto3 JSON → {@link MessageData}: the JSON parser. Accepts what proto3
 * JSON parsers accept (JSON names and proto names, numbers as strings,
 * `"NaN"`, base64 with or without padding, offsets in Timestamps) and, when
 * asked, protobufjs `fromObject` forms; nested `Any`s are encoded with the
 * parser's type resolver.
 * @module
 */
import {
  CodecError,
  MAX_NESTING_DEPTH,
  at,
  fieldForKey,
  innerAnyCache,
  messagePlan,
  planFor,
  type EnumPlan,
  type FieldPlan,
  type MessageData,
  type ScalarKind,
  type TypePlan,
  type TypeResolver,
  type Wkt,
} from './schema.js';
import { writeBinary } from './binary.js';
import { base64Decode, parseDuration, parseTimestamp } from './wkt.js';


/**
 * Options of {@link JsonParser.parseJson}.
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

/**
 * Parses proto3 JSON into MessageData. Throws CodecError (with the field
 * path) for JSON that does not match the type, and for a nested Any of
 * unknown type (`unknownTypeUrl` set).
 *
 * @example
 * ```ts
 * const data = new JsonParser((url) => registry.lookup(url)).parseJson(planFor(type), json);
 * ```
 */
export class JsonParser {
  readonly #resolve: TypeResolver;

  constructor(resolve: TypeResolver) {
    this.#resolve = resolve;
  }

  /** Parses the proto3 JSON form of a message (for well-known types, their special form). */
  parseJson(plan: TypePlan, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parseMessage(plan, json, options.lenient === true, depth);
  }

  /**
   * Parses the body of an Any in JSON form: the message's fields, or
   * `{ value: <special form> }` for well-known types with a special JSON
   * form. An `@type` key is ignored.
   */
  parseAnyBody(plan: TypePlan, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parseAnyBody(plan, json, options.lenient === true, depth);
  }

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
      const fp = fieldForKey(plan, key);
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
          const parsed = parseTimestamp(v);
          if (!parsed) throw mismatch('an RFC 3339 timestamp', v);
          data.set(s[1].name, parsed.seconds);
          data.set(s[2].name, parsed.nanos);
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
    if (typeUrl === '') return parseUntypedAny(plan, v);
    const type = this.#resolve(typeUrl);
    if (!type) throw new CodecError(`no decoder for type ${typeUrl}`, { unknownTypeUrl: typeUrl });
    const innerPlan = planFor(type);
    const inner = this.#parseAnyBody(innerPlan, v, lenient, depth + 1);
    data.set(plan.byId.get(1)!.name, typeUrl);
    data.set(plan.byId.get(2)!.name, writeBinary(innerPlan, inner));
    innerAnyCache.set(data, { type, data: inner });
    return data;
  }
}

/**
 * An Any with an empty type URL, as the printer writes it when it has bytes:
 * `{ "@type": "", "value": "<base64>" }` (or just `{ "@type": "" }`).
 */
function parseUntypedAny(plan: TypePlan, v: Record<string, unknown>): MessageData {
  const data: MessageData = new Map();
  for (const key of Object.keys(v)) {
    if (key !== '@type' && key !== 'value') {
      throw new CodecError(`unknown field ${JSON.stringify(key.slice(0, 100))} in an Any without a type URL (expected "value")`);
    }
  }
  if (v.value === undefined || v.value === null) return data;
  const bytes = typeof v.value === 'string' ? base64Decode(v.value) : undefined;
  if (!bytes) throw mismatch('base64 bytes', v.value).within('value');
  if (bytes.length > 0) data.set(plan.byId.get(2)!.name, bytes);
  return data;
}
