/**
 * google.rpc.Status → decoded details and typed errors; RetryInfo hints;
 * Status in binary (gRPC `grpc-status-details-bin`) and REST JSON form.
 * @module
 */
import {
  DecodeError,
  InvalidOperationError,
  OperationCancelledError,
  OperationFailedError,
  type DecodedDetail,
} from '../errors.js';
import { Code, type AnyMessage, type RpcStatus } from '../types.js';
import { MessageCodec } from './json.js';
import { setOwn, typeNameOf, type MessageData } from './schema.js';
import { base64Encode, parseDuration } from './wkt.js';
import { builtinType } from './protos.js';
import { TypeRegistry, anyFromJson, describe, isJsonObject } from './registry.js';

export { anyFromJson };

const STATUS_URL = 'type.googleapis.com/google.rpc.Status';

let statusCodec: MessageCodec | undefined;

function codec(): MessageCodec {
  return (statusCodec ??= new MessageCodec((typeUrl) => TypeRegistry.default().lookup(typeUrl)));
}

function fallbackDetail(detail: unknown, typeUrl: string): DecodedDetail {
  const out: DecodedDetail = { '@type': typeUrl };
  if (!isJsonObject(detail)) return out;
  if (detail.value instanceof Uint8Array) {
    out.value = base64Encode(detail.value);
  } else if (isJsonObject(detail.json)) {
    const json = detail.json;
    for (const key of Object.keys(json)) {
      if (key !== '@type') setOwn(out, key, json[key]);
    }
  }
  return out;
}

function decodeDetail(detail: AnyMessage, registry: TypeRegistry): DecodedDetail {
  const typeUrl = isJsonObject(detail) && typeof detail.typeUrl === 'string' ? detail.typeUrl : '';
  try {
    const known = registry.has(typeUrl) ? registry : TypeRegistry.default();
    return known.toJson(detail) as DecodedDetail;
  } catch {
    return fallbackDetail(detail, typeUrl);
  }
}

/**
 * Decodes status details leniently into `{ '@type': url, ...fields }`
 * objects. A detail whose type is unknown or whose content does not decode
 * becomes `{ '@type', value: base64 }` (or `{ '@type', ...json }` for a JSON
 * detail): this never throws. `google.rpc` types are decoded even when the
 * given registry lacks them.
 *
 * @example
 * ```ts
 * const [info] = decodeDetails(status.details); // { '@type': '…/google.rpc.ErrorInfo', reason: 'STOCKOUT', domain: '…', metadata: {} }
 * ```
 */
export function decodeDetails(details: AnyMessage[], registry: TypeRegistry = TypeRegistry.default()): DecodedDetail[] {
  if (!Array.isArray(details)) return [];
  const reg = registry instanceof TypeRegistry ? registry : TypeRegistry.default();
  return details.map((detail) => decodeDetail(detail, reg));
}

/**
 * The error an operation that ended with `status` rejects with:
 * `OperationCancelledError` for CANCELLED (code 1), else
 * `OperationFailedError`; details decoded with {@link decodeDetails}.
 *
 * @example
 * ```ts
 * throw operationError(resource.name, resource.error!, registry);
 * ```
 */
export function operationError(operationName: string, status: RpcStatus, registry?: TypeRegistry): OperationFailedError {
  const details = decodeDetails(Array.isArray(status?.details) ? status.details : [], registry);
  return status?.code === Code.CANCELLED
    ? new OperationCancelledError(operationName, status, details)
    : new OperationFailedError(operationName, status, details);
}

function durationMs(value: unknown): number | undefined {
  let seconds: number;
  let nanos: number;
  if (typeof value === 'string') {
    const parsed = parseDuration(value);
    if (!parsed) return undefined;
    seconds = Number(parsed.seconds);
    nanos = parsed.nanos;
  } else if (isJsonObject(value)) {
    seconds = Number(value.seconds ?? 0);
    nanos = Number(value.nanos ?? 0);
    if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) return undefined;
  } else {
    return undefined;
  }
  const ms = Math.ceil(seconds * 1000 + nanos / 1_000_000);
  return ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}

/**
 * The retry delay, in milliseconds, that the first `google.rpc.RetryInfo`
 * detail asks for (`retryDelay: "1.5s"` → 1500); undefined when there is no
 * RetryInfo or its delay is missing, invalid or negative.
 *
 * @example
 * ```ts
 * const hint = retryDelayFromDetails(err.details) ?? defaultDelayMs;
 * ```
 */
export function retryDelayFromDetails(details: readonly DecodedDetail[]): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    if (!isJsonObject(detail) || typeof detail['@type'] !== 'string') continue;
    if (typeNameOf(detail['@type']) !== 'google.rpc.RetryInfo') continue;
    return durationMs(detail.retryDelay ?? detail.retry_delay);
  }
  return undefined;
}

/**
 * Parses a serialized `google.rpc.Status` (as in gRPC's
 * `grpc-status-details-bin` trailer). Details stay binary Any messages.
 * Throws DecodeError on bytes that are not a Status.
 *
 * @example
 * ```ts
 * const status = decodeStatusBytes(metadata.get('grpc-status-details-bin')[0] as Buffer);
 * ```
 */
export function decodeStatusBytes(bytes: Uint8Array): RpcStatus {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(STATUS_URL, 'google.rpc.Status bytes must be a Uint8Array');
  let data: MessageData;
  try {
    data = codec().readBinary(builtinType('google.rpc.Status'), bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DecodeError(STATUS_URL, `cannot decode google.rpc.Status: ${reason}`, { cause: err });
  }
  const details = ((data.get('details') as MessageData[] | undefined) ?? []).map((any): AnyMessage => {
    const value = any.get('value') as Uint8Array | undefined;
    return { typeUrl: (any.get('typeUrl') as string | undefined) ?? '', value: value ? Uint8Array.from(value) : new Uint8Array(0) };
  });
  return {
    code: (data.get('code') as number | undefined) ?? 0,
    message: (data.get('message') as string | undefined) ?? '',
    details,
  };
}

/**
 * Serializes a status as a `google.rpc.Status` message (the inverse of
 * {@link decodeStatusBytes}). JSON-form details are converted to binary with
 * the registry (default: bundled types); throws DecodeError when one cannot be.
 *
 * @example
 * ```ts
 * metadata.set('grpc-status-details-bin', Buffer.from(encodeStatusBytes(status)));
 * ```
 */
export function encodeStatusBytes(status: RpcStatus, registry: TypeRegistry = TypeRegistry.default()): Uint8Array {
  if (!isJsonObject(status)) throw new DecodeError(STATUS_URL, 'cannot encode google.rpc.Status: expected an object');
  const code = status.code ?? 0;
  if (!Number.isInteger(code) || code < -2147483648 || code > 2147483647) {
    throw new DecodeError(STATUS_URL, `cannot encode google.rpc.Status: code ${String(code)} is not an int32`);
  }
  const message = status.message ?? '';
  if (typeof message !== 'string') throw new DecodeError(STATUS_URL, 'cannot encode google.rpc.Status: message must be a string');
  const rawDetails: unknown = status.details ?? [];
  if (!Array.isArray(rawDetails)) throw new DecodeError(STATUS_URL, 'cannot encode google.rpc.Status: details must be an array');
  const details = rawDetails.map((detail: AnyMessage) => {
    const binary = registry.toBinary(detail);
    return new Map<string, unknown>([
      ['typeUrl', binary.typeUrl],
      ['value', binary.value ?? new Uint8Array(0)],
    ]);
  });
  const data: MessageData = new Map<string, unknown>([
    ['code', code],
    ['message', message],
    ['details', details],
  ]);
  try {
    return codec().writeBinary(builtinType('google.rpc.Status'), data);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DecodeError(STATUS_URL, `cannot encode google.rpc.Status: ${reason}`, { cause: err });
  }
}

function parseCode(obj: Record<string, unknown>): number {
  const code = obj.code;
  if (code === undefined || code === null) {
    const name = obj.status;
    if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(Code, name)) return Code[name as keyof typeof Code];
    return 0;
  }
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^-?\d{1,10}$/.test(code)) return Number(code);
  if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(Code, code)) return Code[code as keyof typeof Code];
  throw new InvalidOperationError(`status code must be an integer, got ${describe(code)}`);
}

/**
 * Converts a REST JSON status (`{ code, message, details: [{ "@type": … }] }`)
 * into an {@link RpcStatus} with JSON-form Any details. Missing fields take
 * their defaults; a code given as a name (`"NOT_FOUND"`), or only a `status`
 * name as in Google's REST error bodies, is mapped to its number. Throws
 * InvalidOperationError for a non-object or fields of the wrong kind.
 *
 * @example
 * ```ts
 * const status = statusFromJson(body.error); // { code: 5, message: 'not found', details: [...] }
 * ```
 */
export function statusFromJson(obj: unknown): RpcStatus {
  if (!isJsonObject(obj)) throw new InvalidOperationError(`a status must be a JSON object, got ${describe(obj)}`);
  const code = parseCode(obj);
  const message = obj.message ?? '';
  if (typeof message !== 'string') throw new InvalidOperationError(`status message must be a string, got ${describe(message)}`);
  const details = obj.details ?? [];
  if (!Array.isArray(details)) throw new InvalidOperationError(`status details must be an array, got ${describe(details)}`);
  return { code, message, details: details.map((detail: unknown) => anyFromJson(detail)) };
}
