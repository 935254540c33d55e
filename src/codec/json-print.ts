/**
 * {@link MessageData} → proto3 JSON: the two-pass codec's printer. Fields
 * without presence print their defaults, 64-bit integers print as decimal
 * strings, enums as names (unknown numbers stay numbers), bytes as base64,
 * well-known types in their special forms; nested `Any`s are decoded with
 * the printer's type resolver.
 * @module
 */
import {
  CodecError,
  MAX_NESTING_DEPTH,
  at,
  defaultScalar,
  innerAnyCache,
  messagePlan,
  planFor,
  setOwn,
  type EnumPlan,
  type FieldPlan,
  type MessageData,
  type ScalarKind,
  type TypePlan,
  type TypeResolver,
  type Wkt,
} from './schema.js';
import { readBinary } from './binary.js';
import { base64Encode, camelPath, formatDuration, formatTimestamp } from './wkt.js';

/** The JSON string of a non-finite number: `"NaN"`, `"Infinity"`, `"-Infinity"`. */
export function nonFiniteJson(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** The JSON of a float: the shortest decimal that reads back as the same float32. */
export function float32Json(v: number): unknown {
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

/**
 * Prints MessageData as proto3 JSON. Throws CodecError for values JSON cannot
 * hold (out-of-range Timestamps, non-finite Value numbers) and for a nested
 * Any of unknown type (`unknownTypeUrl` set).
 *
 * @example
 * ```ts
 * const json = new JsonPrinter((url) => registry.lookup(url)).print(planFor(type), data);
 * ```
 */
export class JsonPrinter {
  readonly #resolve: TypeResolver;

  constructor(resolve: TypeResolver) {
    this.#resolve = resolve;
  }

  /** The proto3 JSON of a message (for well-known types, their special form). */
  print(plan: TypePlan, data: MessageData, depth = 0): unknown {
    return this.#printMessage(plan, data, depth);
  }

  /**
   * The body of an Any in JSON form: an object of the fields, or
   * `{ value: <special form> }` for well-known types.
   */
  printAnyBody(plan: TypePlan, data: MessageData, depth = 0): Record<string, unknown> {
    const printed = this.#printMessage(plan, data, depth);
    return plan.wkt ? { value: printed } : (printed as Record<string, unknown>);
  }

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
      // No type to decode it with: an unknown Any, its bytes kept as base64.
      return bytes.length === 0 ? {} : { '@type': '', value: base64Encode(bytes) };
    }
    const type = this.#resolve(typeUrl);
    if (!type) throw new CodecError(`no decoder for type ${typeUrl}`, { unknownTypeUrl: typeUrl });
    const cached = innerAnyCache.get(data);
    const innerPlan = planFor(type);
    const inner = cached && cached.type === type ? cached.data : readBinary(innerPlan, bytes, depth + 1);
    const body = this.printAnyBody(innerPlan, inner, depth + 1);
    const out: Record<string, unknown> = { '@type': typeUrl };
    for (const key of Object.keys(body)) setOwn(out, key, body[key]);
    return out;
  }
}
