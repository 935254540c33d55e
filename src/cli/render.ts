/**
 * How the `lro` CLI shows operations: generic decoding of `Any` payloads
 * (never throws), proto3 JSON for `--json`, and a compact text form.
 *
 * Decoding an `Any` in a generic tool, in order:
 *  1. its type is known (well-known types, google.rpc, google.longrunning, and
 *     whatever `--proto` loaded) → the proto3 JSON form, `{ "@type", ...fields }`;
 *  2. it came as JSON (REST) → that JSON as the server sent it;
 *  3. otherwise (binary, unknown type) → `{ "@type", "value": "<base64>" }`, the
 *     same shape the library gives undecodable error details; the text output
 *     adds a `protoc --decode_raw`-style view of the fields by number.
 * @module
 */
import { TypeRegistry, codeName, type AnyMessage, type OperationResource } from '../index.js';

/** The proto3 JSON form of an `Any`, with `@type`. */
export type AnyJson = { '@type': string } & Record<string, unknown>;

/** A decoded payload: its JSON form, and whether its type was known. */
export interface DecodedAny {
  json: AnyJson;
  known: boolean;
  /** Why a known type did not decode, if it did not. */
  problem?: string;
}

/** Decodes an Any with the registry, falling back as described in the module comment; never throws. */
export function decodeAny(any: AnyMessage, registry: TypeRegistry): DecodedAny {
  const typeUrl = typeof any?.typeUrl === 'string' ? any.typeUrl : '';
  let problem: string | undefined;
  if (registry.has(typeUrl)) {
    try {
      return { json: registry.toJson(any) as AnyJson, known: true };
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  const json: AnyJson = { '@type': typeUrl };
  if (any.json && typeof any.json === 'object') {
    for (const [key, value] of Object.entries(any.json)) if (key !== '@type') json[key] = value;
  } else if (any.value instanceof Uint8Array) {
    json.value = Buffer.from(any.value).toString('base64');
  }
  return problem === undefined ? { json, known: false } : { json, known: false, problem };
}

/** The fields of a decoded Any (its JSON form without `@type`), for progress heuristics. */
export function fieldsOf(decoded: DecodedAny): Record<string, unknown> {
  const { '@type': _type, ...fields } = decoded.json;
  return fields;
}

/** The state of an operation in one word. */
export type OperationState = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'done';

/** `running`, `succeeded`, `failed`, `cancelled` (error code 1) or `done` (done without a result). */
export function stateOf(resource: OperationResource): OperationState {
  if (!resource.done) return 'running';
  if (resource.error) return resource.error.code === 1 ? 'cancelled' : 'failed';
  return resource.response ? 'succeeded' : 'done';
}

/**
 * The operation in proto3 JSON form (`google.longrunning.Operation`), payloads
 * decoded as in {@link decodeAny}.
 */
export function operationJson(resource: OperationResource, registry: TypeRegistry): Record<string, unknown> {
  const out: Record<string, unknown> = { name: resource.name, done: resource.done };
  if (resource.metadata) out.metadata = decodeAny(resource.metadata, registry).json;
  if (resource.error) {
    out.error = {
      code: resource.error.code,
      message: resource.error.message,
      details: (resource.error.details ?? []).map((d) => decodeAny(d, registry).json),
    };
  }
  if (resource.response) out.response = decodeAny(resource.response, registry).json;
  return out;
}

/** `type.googleapis.com/pkg.Msg` → `pkg.Msg`. */
export function shortType(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

const MAX_INLINE = 2000;

function inline(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > MAX_INLINE ? `${text.slice(0, MAX_INLINE)}…` : text;
}

/** One payload on one line: `pkg.Msg {"field":1}`, or a note for an unknown type. */
export function describeAny(any: AnyMessage, registry: TypeRegistry): string {
  const decoded = decodeAny(any, registry);
  const type = shortType(decoded.json['@type']) || '(no type)';
  if (decoded.known) {
    const fields = fieldsOf(decoded);
    const keys = Object.keys(fields);
    return keys.length === 1 && keys[0] === 'value' ? `${type} ${inline(fields.value)}` : `${type} ${inline(fields)}`;
  }
  if (any.json && typeof any.json === 'object') return `${type} ${inline(fieldsOf(decoded))}`;
  const bytes = any.value instanceof Uint8Array ? any.value : new Uint8Array(0);
  const why = decoded.problem ? `does not decode: ${decoded.problem}` : 'unknown type; --proto FILE decodes it';
  const raw = decodeRaw(bytes);
  return `${type} (${bytes.length} bytes, ${why})${raw ? ` raw ${formatRaw(raw)}` : ''}`;
}

/** The multi-line text form of an operation, as `lro get` prints it. */
export function describeOperation(resource: OperationResource, registry: TypeRegistry, progress?: string): string[] {
  const lines = [resource.name || '(no name)'];
  const state = stateOf(resource);
  lines.push(`  state     ${state}${progress ? ` · ${progress}` : ''}`);
  if (resource.metadata) lines.push(`  metadata  ${describeAny(resource.metadata, registry)}`);
  if (resource.response) lines.push(`  response  ${describeAny(resource.response, registry)}`);
  if (resource.error) lines.push(...describeError(resource.error, registry));
  return lines;
}

/** The error lines of a failed operation: code, message, then one line per detail. */
export function describeError(error: { code: number; message: string; details?: AnyMessage[] }, registry: TypeRegistry): string[] {
  const lines = [`  error     ${codeName(error.code)} (${error.code}): ${error.message}`];
  for (const detail of error.details ?? []) lines.push(`            ${describeAny(detail, registry)}`);
  return lines;
}

// ---------------------------------------------------------------------------
// `protoc --decode_raw` for bytes of an unknown type
// ---------------------------------------------------------------------------

/** One raw field value: varint (number, or bigint above 2^53), fixed32/64 (hex), text, bytes or a nested message. */
export type RawValue = number | bigint | string | { fixed: string } | Uint8Array | RawMessage;
/** Field number → values, in wire order. */
export type RawMessage = Map<number, RawValue[]>;

const MAX_RAW_DEPTH = 8;

/**
 * Parses protobuf wire format without a schema, like `protoc --decode_raw`.
 * A length-delimited field is text when it is printable UTF-8, else a nested
 * message when it parses as one, else bytes. Returns undefined when the
 * bytes are not a well-formed message.
 */
export function decodeRaw(bytes: Uint8Array, depth = 0): RawMessage | undefined {
  const out: RawMessage = new Map();
  let pos = 0;
  const varint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field < 1 || field > 536_870_911) return undefined;
    let value: RawValue;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      value = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > bytes.length) return undefined;
      value = { fixed: `0x${Buffer.from(bytes.subarray(pos, pos + size)).reverse().toString('hex')}` };
      pos += size;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || BigInt(pos) + len > BigInt(bytes.length)) return undefined;
      const chunk = bytes.subarray(pos, pos + Number(len));
      pos += Number(len);
      value = rawChunk(chunk, depth);
    } else {
      return undefined;
    }
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

function rawChunk(chunk: Uint8Array, depth: number): RawValue {
  const text = printableText(chunk);
  if (text !== undefined) return text;
  if (chunk.length > 0 && depth < MAX_RAW_DEPTH) {
    const nested = decodeRaw(chunk, depth + 1);
    if (nested && nested.size > 0) return nested;
  }
  return chunk;
}

function printableText(chunk: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(chunk);
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/** `{1: 40, 2: "exporting", 3: {1: 7}}` */
export function formatRaw(message: RawMessage): string {
  const parts: string[] = [];
  for (const [field, values] of message) {
    for (const value of values) parts.push(`${field}: ${formatRawValue(value)}`);
  }
  return `{${parts.join(', ')}}`;
}

function formatRawValue(value: RawValue): string {
  if (value instanceof Map) return formatRaw(value);
  if (value instanceof Uint8Array) return `base64:${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return value.fixed;
  return String(value);
}
