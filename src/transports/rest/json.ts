/**
 * The REST/JSON wire format of `google.longrunning` ⇄ the transport model:
 * safe JSON parsing, Operation and ListOperations bodies, Google error bodies,
 * and the HTTP status ⇄ canonical gRPC code mapping.
 * @module
 */
import { anyFromJson, type TypeRegistry } from '../../codec/registry.js';
import { decodeDetails, retryDelayFromDetails, statusFromJson } from '../../codec/status.js';
import { DecodeError, InvalidOperationError, RpcError, type DecodedDetail } from '../../errors.js';
import { MAX_JSON_NESTING_DEPTH, jsonDepthExceeds } from '../../codec/schema.js';
import { Code, codeName, type AnyMessage, type ListOperationsResponse, type OperationResource, type RpcStatus } from '../../types.js';

/**
 * `JSON.parse` that drops every `__proto__` key at any depth, so the result
 * can be copied, spread or merged without polluting `Object.prototype`.
 * Throws `SyntaxError` like `JSON.parse`.
 *
 * @example
 * ```ts
 * parseJsonSafe('{"__proto__":{"polluted":true},"a":1}'); // { a: 1 }
 * ```
 */
export function parseJsonSafe(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}

/** True for a JSON object (not null, not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function anyField(value: unknown, where: string): AnyMessage {
  if (jsonDepthExceeds(value, MAX_JSON_NESTING_DEPTH)) throw new InvalidOperationError(`${where}: the Any nests deeper than ${MAX_JSON_NESTING_DEPTH} levels`);
  try {
    return anyFromJson(value as Record<string, unknown>);
  } catch (err) {
    if (err instanceof InvalidOperationError) throw new InvalidOperationError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * A proto3 JSON `google.longrunning.Operation` → {@link OperationResource}.
 * Defaults follow proto3 JSON (missing `name` → `''`, missing `done` →
 * `false`); `Any` fields become `{ typeUrl, json }`. Throws
 * {@link InvalidOperationError} (prefixed with `context`) for a body that is
 * not an Operation.
 *
 * @example
 * ```ts
 * operationFromJson({ name: 'operations/1', done: true, response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }, 'GetOperation');
 * ```
 */
export function operationFromJson(value: unknown, context: string): OperationResource {
  if (!isObject(value)) throw new InvalidOperationError(`${context}: the Operation is not a JSON object`);
  const name = own(value, 'name') ?? '';
  if (typeof name !== 'string') throw new InvalidOperationError(`${context}: Operation.name is not a string`);
  const where = name === '' ? context : `${context}: operation ${JSON.stringify(name)}`;
  const done = own(value, 'done') ?? false;
  if (typeof done !== 'boolean') throw new InvalidOperationError(`${where}: Operation.done is not a boolean`);
  const op: OperationResource = { name, done };
  const metadata = own(value, 'metadata');
  if (metadata !== undefined && metadata !== null) op.metadata = anyField(metadata, `${where}: metadata`);
  const error = own(value, 'error');
  if (error !== undefined && error !== null) {
    if (!isObject(error)) throw new InvalidOperationError(`${where}: Operation.error is not a JSON object`);
    if (jsonDepthExceeds(error, MAX_JSON_NESTING_DEPTH)) throw new InvalidOperationError(`${where}: Operation.error nests deeper than ${MAX_JSON_NESTING_DEPTH} levels`);
    try {
      op.error = statusFromJson(error);
    } catch (err) {
      if (err instanceof InvalidOperationError) throw new InvalidOperationError(`${where}: error: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const response = own(value, 'response');
  if (response !== undefined && response !== null) op.response = anyField(response, `${where}: response`);
  return op;
}

/**
 * A proto3 JSON `ListOperationsResponse` → {@link ListOperationsResponse}
 * (missing `operations` → `[]`, missing `nextPageToken` → `''`; a non-empty
 * `unreachable` list is kept).
 *
 * @example
 * ```ts
 * listResponseFromJson({ operations: [{ name: 'operations/1' }] }, 'ListOperations'); // { operations: [...], nextPageToken: '' }
 * ```
 */
export function listResponseFromJson(value: unknown, context: string): ListOperationsResponse {
  if (!isObject(value)) throw new InvalidOperationError(`${context}: the response is not a JSON object`);
  const operations = own(value, 'operations') ?? [];
  if (!Array.isArray(operations)) throw new InvalidOperationError(`${context}: "operations" is not an array`);
  const nextPageToken = own(value, 'nextPageToken') ?? '';
  if (typeof nextPageToken !== 'string') throw new InvalidOperationError(`${context}: "nextPageToken" is not a string`);
  const unreachable = own(value, 'unreachable') ?? [];
  if (!Array.isArray(unreachable) || !unreachable.every((u) => typeof u === 'string')) {
    throw new InvalidOperationError(`${context}: "unreachable" is not an array of strings`);
  }
  const page: ListOperationsResponse = {
    operations: operations.map((op, i) => operationFromJson(op, `${context}: operations[${i}]`)),
    nextPageToken,
  };
  if (unreachable.length > 0) page.unreachable = unreachable as string[];
  return page;
}

/**
 * An `Any` → its proto3 JSON form (`{"@type": …, …}`) through `registry`.
 * An `Any` that already carries `json` but whose type the registry does not
 * know is passed through unchanged; binary of an unknown type throws
 * `DecodeError`.
 *
 * @example
 * ```ts
 * anyToJson({ typeUrl: 'type.googleapis.com/x.Y', json: { a: 1 } }, registry); // { '@type': 'type.googleapis.com/x.Y', a: 1 }
 * ```
 */
export function anyToJson(any: AnyMessage, registry: TypeRegistry): Record<string, unknown> {
  try {
    return registry.toJson(any);
  } catch (err) {
    if (any.json && err instanceof DecodeError) {
      const out: Record<string, unknown> = { '@type': any.typeUrl };
      for (const [k, v] of Object.entries(any.json)) if (k !== '__proto__' && k !== '@type') out[k] = v;
      return out;
    }
    throw err;
  }
}

/**
 * A `google.rpc.Status` → proto3 JSON (`{ code, message, details: [Any JSON] }`).
 *
 * @example
 * ```ts
 * statusToJson({ code: 5, message: 'gone', details: [] }, registry); // { code: 5, message: 'gone', details: [] }
 * ```
 */
export function statusToJson(status: RpcStatus, registry: TypeRegistry): Record<string, unknown> {
  return {
    code: status.code,
    message: status.message,
    details: (status.details ?? []).map((d) => anyToJson(d, registry)),
  };
}

/**
 * An {@link OperationResource} → proto3 JSON, as a REST server sends it.
 *
 * @example
 * ```ts
 * operationToJson({ name: 'operations/1', done: false }, registry); // { name: 'operations/1', done: false }
 * ```
 */
export function operationToJson(op: OperationResource, registry: TypeRegistry): Record<string, unknown> {
  const out: Record<string, unknown> = { name: op.name, done: op.done };
  if (op.metadata) out.metadata = anyToJson(op.metadata, registry);
  if (op.error) out.error = statusToJson(op.error, registry);
  if (op.response) out.response = anyToJson(op.response, registry);
  return out;
}

const HTTP_TO_CODE: Readonly<Record<number, number>> = {
  400: Code.INVALID_ARGUMENT,
  401: Code.UNAUTHENTICATED,
  403: Code.PERMISSION_DENIED,
  404: Code.NOT_FOUND,
  409: Code.ABORTED,
  429: Code.RESOURCE_EXHAUSTED,
  499: Code.CANCELLED,
  501: Code.UNIMPLEMENTED,
  503: Code.UNAVAILABLE,
  504: Code.DEADLINE_EXCEEDED,
};

const CODE_TO_HTTP: Readonly<Record<number, number>> = {
  0: 200,
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

function codeFromName(status: unknown): number | undefined {
  if (typeof status !== 'string' || !Object.prototype.hasOwnProperty.call(Code, status)) return undefined;
  const code = (Code as Record<string, number>)[status];
  return code === Code.OK ? undefined : code;
}

/**
 * Canonical gRPC code for an HTTP error status: 400→3, 401→16, 403→7, 404→5,
 * 409→10, 429→8, 499→1, 501→12, 503→14, 504→4. A Google error body's
 * `status` string refines it when it is consistent with the HTTP status
 * (400 + `FAILED_PRECONDITION` → 9, 409 + `ALREADY_EXISTS` → 6); for other
 * HTTP statuses the `status` string decides, else 500 → 13 and anything
 * else → 2 (UNKNOWN).
 *
 * @example
 * ```ts
 * grpcCodeFromHttp(404); // 5
 * grpcCodeFromHttp(418, 'FAILED_PRECONDITION'); // 9
 * ```
 */
export function grpcCodeFromHttp(httpStatus: number, statusName?: unknown): number {
  const named = codeFromName(statusName);
  const mapped = HTTP_TO_CODE[httpStatus];
  if (mapped !== undefined) {
    return named !== undefined && CODE_TO_HTTP[named] === httpStatus ? named : mapped;
  }
  if (named !== undefined) return named;
  return httpStatus === 500 ? Code.INTERNAL : Code.UNKNOWN;
}

/**
 * HTTP status for a canonical gRPC code (the inverse of
 * {@link grpcCodeFromHttp}; 12 → 501, unknown codes → 500).
 *
 * @example
 * ```ts
 * httpStatusFromGrpcCode(5); // 404
 * ```
 */
export function httpStatusFromGrpcCode(code: number): number {
  return CODE_TO_HTTP[code] ?? 500;
}

/**
 * The Google JSON error body for `code`/`message`/`details`:
 * `{ error: { code: <http status>, message, status: 'NOT_FOUND', details } }`.
 *
 * @example
 * ```ts
 * errorBody(5, 'no such operation'); // { error: { code: 404, message: 'no such operation', status: 'NOT_FOUND', details: [] } }
 * ```
 */
export function errorBody(code: number, message: string, details: readonly unknown[] = []): { error: Record<string, unknown> } {
  const name = codeName(code);
  return {
    error: {
      code: httpStatusFromGrpcCode(code),
      message,
      status: name.startsWith('CODE_') ? 'UNKNOWN' : name,
      details: [...details],
    },
  };
}

function detailsFromJson(error: Record<string, unknown>, code: number, message: string): DecodedDetail[] {
  const raw = own(error, 'details');
  if (!Array.isArray(raw) || raw.length === 0) return [];
  let anys: AnyMessage[];
  try {
    anys = statusFromJson({ code, message, details: raw }).details;
  } catch {
    anys = [];
    for (const d of raw) {
      try {
        anys.push(anyFromJson(d as Record<string, unknown>));
      } catch {
        // A detail without "@type" carries nothing usable.
      }
    }
  }
  try {
    return decodeDetails(anys);
  } catch {
    return [];
  }
}

/**
 * The {@link RpcError} for an HTTP error response: code from
 * {@link grpcCodeFromHttp}, the server's message (or a generic one naming
 * `what`), and the body's details decoded. `body` is the parsed JSON or
 * `undefined` when the body was not JSON.
 *
 * @example
 * ```ts
 * rpcErrorFromHttp(404, { error: { code: 404, message: 'gone', status: 'NOT_FOUND' } }, 'GET http://127.0.0.1/v1/operations/1');
 * ```
 */
export function rpcErrorFromHttp(httpStatus: number, body: unknown, what: string, options: { retryAfterMs?: number } = {}): RpcError {
  const error = isObject(body) ? own(body, 'error') : undefined;
  let code: number;
  let text: string;
  let details: DecodedDetail[];
  if (!isObject(error)) {
    code = grpcCodeFromHttp(httpStatus);
    text = `HTTP ${httpStatus} from ${what}`;
    details = [];
  } else {
    code = grpcCodeFromHttp(httpStatus, own(error, 'status'));
    const message = own(error, 'message');
    text = typeof message === 'string' && message !== '' ? message : `HTTP ${httpStatus} from ${what}`;
    details = detailsFromJson(error, code, text);
  }
  const { retryAfterMs } = options;
  if (retryAfterMs !== undefined && retryDelayFromDetails(details) === undefined) {
    details = [...details, { '@type': RETRY_INFO_URL, retryDelay: durationToJson(retryAfterMs) }];
  }
  return new RpcError(code, text, { details });
}

const RETRY_INFO_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * An HTTP `Retry-After` header (delay in seconds, or an HTTP-date) → the delay
 * in milliseconds from `nowMs` (a date in the past → 0); `undefined` when the
 * header is absent or malformed.
 *
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')); // 60000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text), MAX_DURATION_SECONDS) * 1000;
  // An HTTP-date (IMF-fixdate, or the obsolete RFC 850 / asctime forms Date.parse also reads).
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}

const MAX_DURATION_SECONDS = 315_576_000_000;

/**
 * Milliseconds → proto3 JSON `google.protobuf.Duration` (`"5s"`, `"1.500s"`).
 *
 * @example
 * ```ts
 * durationToJson(1500); // '1.500s'
 * ```
 */
export function durationToJson(ms: number): string {
  const clamped = Math.min(Math.max(0, ms), MAX_DURATION_SECONDS * 1000);
  let seconds = Math.floor(clamped / 1000);
  let millis = Math.round(clamped - seconds * 1000);
  if (millis >= 1000) {
    seconds += 1;
    millis -= 1000;
  }
  return millis === 0 ? `${seconds}s` : `${seconds}.${String(millis).padStart(3, '0')}s`;
}

/**
 * proto3 JSON `Duration` → milliseconds, or `undefined` when malformed or negative.
 *
 * @example
 * ```ts
 * durationFromJson('2.5s'); // 2500
 * ```
 */
export function durationFromJson(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(value);
  if (!m) return undefined;
  const seconds = Number(m[1]);
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  const fraction = m[2] ? Number(`0.${m[2]}`) : 0;
  return seconds * 1000 + Math.round(fraction * 1000);
}
