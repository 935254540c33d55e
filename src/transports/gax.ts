/**
 * The google-gax transport: `google.longrunning.Operations` through the
 * `OperationsClient` a generated Google Cloud client already holds.
 *
 * google-gax is an optional peer dependency: nothing here imports it. Only
 * the objects the caller passes in are touched, through structural types.
 * Adopting a generated client's `Operation` lives in `gax-operation.ts`.
 * @module
 */
import type * as protobuf from 'protobufjs';
import { TypeRegistry } from '../codec/registry.js';
import { base64Decode } from '../codec/wkt.js';
import { anyFromJson, decodeDetails, decodeStatusBytes } from '../codec/status.js';
import { RpcError, abortReason, type DecodedDetail } from '../errors.js';
import { setRpcSystem } from '../telemetry/tracing.js';
import { CancelPacer, type CancelPacing } from './cancel-pacer.js';
import { canonicalGrpcCode, isConnectionLoss } from './grpc-codes.js';
import {
  Code,
  type AnyMessage,
  type CallOptions,
  type ListOperationsRequest,
  type ListOperationsResponse,
  type OperationResource,
  type OperationsTransport,
  type RpcStatus,
} from '../types.js';

// ---------------------------------------------------------------------------
// Structural types of the google-gax objects we accept
// ---------------------------------------------------------------------------

/**
 * The per-call options this module hands to google-gax: a subset of gax's
 * `CallOptions` (plus whatever {@link GaxTransportOptions.callOptions} adds).
 *
 * @example
 * ```ts
 * const options: GaxCallOptions = { timeout: 10_000, retry: null };
 * ```
 */
export interface GaxCallOptions {
  /** Deadline of the call in milliseconds. */
  timeout?: number;
  /** `null` turns gax's own retrying off for the call. */
  retry?: null;
  /** `false` for one page of a paginated method. */
  autoPaginate?: boolean;
}

/**
 * The `ListOperationsRequest` handed to google-gax.
 *
 * @example
 * ```ts
 * const request: GaxListOperationsRequest = { name: 'operations', filter: '', pageSize: 50, pageToken: '' };
 * ```
 */
export interface GaxListOperationsRequest {
  /** The collection. */
  name: string;
  /** Server-defined filter. */
  filter: string;
  /** Page size; 0 for the server's default. */
  pageSize: number;
  /** Page token; empty for the first page. */
  pageToken: string;
  /** Sent only when true: reachable operations plus `unreachable` instead of a failure. */
  returnPartialSuccess?: boolean;
}

/**
 * What {@link gaxTransport} needs of a google-gax `OperationsClient`: the one a
 * generated client exposes as `client.operationsClient`, or one built with
 * `gax.lro({ auth }).operationsClient({ … })`. Each method returns gax's
 * cancellable promise (a promise with a `cancel()` method).
 *
 * @example
 * ```ts
 * const operationsClient: GaxOperationsClient = videoClient.operationsClient;
 * ```
 */
export interface GaxOperationsClient {
  /**
   * `GetOperation`; resolves to `[operation]`.
   *
   * @example
   * ```ts
   * const [operation] = (await client.operationsClient.getOperation({ name })) as [unknown];
   * ```
   */
  getOperation(request: { name: string }, options?: GaxCallOptions): PromiseLike<unknown>;
  /**
   * `CancelOperation`.
   *
   * @example
   * ```ts
   * await client.operationsClient.cancelOperation({ name });
   * ```
   */
  cancelOperation(request: { name: string }, options?: GaxCallOptions): PromiseLike<unknown>;
  /**
   * `DeleteOperation`.
   *
   * @example
   * ```ts
   * await client.operationsClient.deleteOperation({ name });
   * ```
   */
  deleteOperation(request: { name: string }, options?: GaxCallOptions): PromiseLike<unknown>;
  /**
   * `ListOperations`; with `autoPaginate: false` resolves to `[operations, nextRequest, rawResponse]`.
   *
   * @example
   * ```ts
   * await client.operationsClient.listOperations({ name: 'operations', filter: '', pageSize: 50, pageToken: '' }, { autoPaginate: false });
   * ```
   */
  listOperations(request: GaxListOperationsRequest, options?: GaxCallOptions): PromiseLike<unknown>;
  /** The promise of the underlying service stub (a grpc-js client over gRPC, a fetch-based stub over REST). */
  operationsStub?: unknown;
}

/**
 * A gax `AnyDecoder`: a protobufjs `Type.decode` bound to the message type.
 *
 * @example
 * ```ts
 * const decode: GaxAnyDecoder = ResponseType.decode.bind(ResponseType);
 * ```
 */
export type GaxAnyDecoder = (bytes: Uint8Array) => unknown;

/**
 * What {@link fromGaxOperation} needs of the `Operation` a generated client
 * returns (`const [operation] = await client.someLongRunningMethod(request)`).
 *
 * @example
 * ```ts
 * const [operation]: [GaxOperation, ...unknown[]] = await client.annotateVideo(request);
 * ```
 */
export interface GaxOperation {
  /** The raw `google.longrunning.Operation` last seen by gax. */
  latestResponse: unknown;
  /** The client's descriptor of this method: its OperationsClient and its result decoders. */
  longrunningDescriptor: {
    /** The client's google-gax OperationsClient. */
    operationsClient: GaxOperationsClient;
    /** Decodes the response bytes (the method's response type). */
    responseDecoder?: GaxAnyDecoder | null;
    /** Decodes the metadata bytes (the method's metadata type). */
    metadataDecoder?: GaxAnyDecoder | null;
  };
}

/**
 * Options of {@link gaxTransport}.
 *
 * @example
 * ```ts
 * const options: GaxTransportOptions = { callOptions: { otherArgs: { headers: { 'x-goog-request-params': 'name=operations%2F1' } } } };
 * ```
 */
export interface GaxTransportOptions {
  /**
   * Let google-gax retry each call with the client's configured retry
   * settings. Default false: one RPC per transport call, and the
   * LongRunningOperation's own `retry` policy decides (gax's defaults would
   * retry UNAVAILABLE and DEADLINE_EXCEEDED for up to a minute inside one call).
   */
  gaxRetries?: boolean;
  /** Extra gax call options merged into every call (for example `otherArgs.headers`). */
  callOptions?: Record<string, unknown>;
  /**
   * Offer `waitOperation` (default true). It calls the gRPC stub's
   * WaitOperation directly, as the OperationsClient has no method for it;
   * over gax's REST fallback it answers UNIMPLEMENTED, so the watch polls.
   * `false` leaves `waitOperation` undefined.
   */
  waitOperation?: boolean;
  /** How much longer than its `timeout` a WaitOperation's deadline is; default `max(1000, 10% of the timeout)`. */
  waitDeadlineGraceMs?: number;
  /** Registry used to decode error details; default {@link TypeRegistry.default}. */
  registry?: TypeRegistry;
  /**
   * How fast abandoned calls (an aborted signal) are cancelled on the wire,
   * as for {@link GrpcTransportOptions.cancelPacing}: a burst of 500, then 25
   * per second, at most 200 per 10 ms by default. The caller's promise
   * settles at once either way.
   */
  cancelPacing?: CancelPacing;
}

// ---------------------------------------------------------------------------
// Message conversions
// ---------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return new Uint8Array(value); // a plain copy, not a view into the frame
  if (typeof value === 'string') return base64Decode(value);
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(value as number[]);
  return undefined;
}

/**
 * A gax `google.protobuf.Any` (`{ type_url | typeUrl, value }`, bytes as a
 * Buffer or base64, or proto3 JSON with `@type`) → {@link AnyMessage}.
 * A malformed one is passed on as is, for the operation's validation to name.
 *
 * @example
 * ```ts
 * anyFromGax({ type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) });
 * ```
 */
export function anyFromGax(message: unknown): AnyMessage {
  if (!isObject(message)) return message as unknown as AnyMessage;
  if (typeof message['@type'] === 'string') return anyFromJson(message);
  const typeUrl = message.typeUrl ?? message.type_url;
  const value = message.value == null ? new Uint8Array(0) : bytesOf(message.value);
  if (value === undefined) return { typeUrl, value: message.value } as unknown as AnyMessage;
  return { typeUrl: typeUrl as string, value };
}

function statusFromGax(message: unknown): RpcStatus {
  if (!isObject(message)) return message as unknown as RpcStatus;
  const details = message.details == null ? [] : message.details;
  return {
    code: message.code as number,
    message: (message.message ?? '') as string,
    details: Array.isArray(details) ? details.map(anyFromGax) : (details as AnyMessage[]),
  };
}

/**
 * A gax `google.longrunning.Operation` (as its gRPC stub or REST fallback
 * decodes it: snake- or camel-case Any fields, `null` for absent messages,
 * a `result` oneof marker) → {@link OperationResource}.
 *
 * @example
 * ```ts
 * const [raw] = await operationsClient.getOperation({ name });
 * const resource = operationFromGax(raw);
 * ```
 */
export function operationFromGax(message: unknown): OperationResource {
  if (!isObject(message)) return message as unknown as OperationResource;
  const resource: OperationResource = { name: message.name as string, done: (message.done ?? false) as boolean };
  const oneof = typeof message.result === 'string' ? message.result : undefined;
  if (message.metadata != null) resource.metadata = anyFromGax(message.metadata);
  if (message.error != null && (oneof === undefined || oneof === 'error')) resource.error = statusFromGax(message.error);
  if (message.response != null && (oneof === undefined || oneof === 'response')) resource.response = anyFromGax(message.response);
  return resource;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

function detailsFromMetadata(metadata: unknown, registry: TypeRegistry): DecodedDetail[] | undefined {
  if (!isObject(metadata) || typeof metadata.get !== 'function') return undefined;
  const values = (metadata.get as (key: string) => unknown)(STATUS_DETAILS_KEY);
  const raw = Array.isArray(values) ? values[0] : undefined;
  if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined;
  return decodeDetails(decodeStatusBytes(raw).details, registry);
}

/** REST fallback errors carry `details` as Any objects (or proto3 JSON); gRPC ones as a string. */
function detailsFromArray(details: unknown, registry: TypeRegistry): DecodedDetail[] | undefined {
  if (!Array.isArray(details) || details.length === 0) return undefined;
  const anys: AnyMessage[] = [];
  for (const detail of details) {
    try {
      const any = anyFromGax(detail);
      if (typeof any.typeUrl === 'string') anys.push(any);
    } catch {
      // not an Any: skip it
    }
  }
  return anys.length > 0 ? decodeDetails(anys, registry) : undefined;
}

/** gax's decoded `statusDetails`: protobufjs messages that still know their type. */
function detailsFromMessages(messages: unknown, registry: TypeRegistry): DecodedDetail[] | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const anys: AnyMessage[] = [];
  for (const message of messages) {
    const type = (message as { $type?: protobuf.Type } | null)?.$type;
    if (!type || typeof type.encode !== 'function' || typeof type.fullName !== 'string') continue;
    try {
      anys.push({ typeUrl: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`, value: type.encode(message as protobuf.Message).finish() });
    } catch {
      // cannot re-encode: skip it
    }
  }
  return anys.length > 0 ? decodeDetails(anys, registry) : undefined;
}

function canonicalCode(code: unknown): number | undefined {
  if (typeof code === 'number' && Number.isInteger(code) && code > 0) return code;
  if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(Code, code)) {
    const value = Code[code as keyof typeof Code];
    return value > 0 ? value : undefined;
  }
  return undefined;
}

/**
 * The code of a gax failure that carries no status: a closed client is
 * FAILED_PRECONDITION; a request the REST fallback cannot build because no
 * URL template of the method matches the name ("Cannot build HTTP request
 * for …") is UNIMPLEMENTED, as the server would answer for an unbound
 * method; a lost connection (reset, refused, body cut off) is UNAVAILABLE;
 * anything else UNKNOWN.
 */
function codeWithoutStatus(error: unknown, message: string): number {
  if (/channel has been shut down|client has already been closed/i.test(message)) return Code.FAILED_PRECONDITION;
  if (/^Cannot build HTTP request for /.test(message)) return Code.UNIMPLEMENTED;
  if (isConnectionLoss(error)) return Code.UNAVAILABLE;
  return Code.UNKNOWN;
}

/**
 * Whether a gax failure is google-gax 6's REST fallback reporting a 2xx
 * answer it could not decode (a body that is not JSON, or JSON its protos
 * cannot read, such as an `Any` of a type the client's protos lack). gax 6
 * gives those UNAVAILABLE, the code it uses for requests that got no
 * response, which would make the watch retry a body that will not change.
 * Recognised by shape: a GoogleError without `httpStatusCode` wrapping the
 * decoder's own error (same message; no code, status, response or cause of
 * its own), on no lost connection.
 */
function isUndecodableResponse(e: Obj, error: unknown): boolean {
  if (e.code !== Code.UNAVAILABLE || e.httpStatusCode != null || !isObject(e.cause) || isConnectionLoss(error)) return false;
  const cause = e.cause;
  return (
    typeof cause.message === 'string' && cause.message === e.message &&
    cause.code === undefined && cause.status === undefined && cause.response === undefined && cause.cause === undefined
  );
}

/**
 * A google-gax failure (a grpc-js ServiceError or gax `GoogleError` with a
 * numeric `code`; `grpc-status-details-bin` in `metadata`; REST errors with
 * `details` as Any objects) → {@link RpcError} with the canonical code and
 * the details decoded. A call lost with its connection is UNAVAILABLE (a
 * GOAWAY or session closed over gRPC, a reset or a body cut off over the REST
 * fallback); a 2xx answer the REST fallback cannot decode is INTERNAL (google-gax 6
 * calls it UNAVAILABLE); a request the REST fallback has no URL for is UNIMPLEMENTED; a
 * closed client is FAILED_PRECONDITION; any other failure without a code is UNKNOWN.
 *
 * @example
 * ```ts
 * try { await operationsClient.getOperation({ name }); } catch (err) { throw rpcErrorFromGax(err); }
 * ```
 */
export function rpcErrorFromGax(error: unknown, registry: TypeRegistry = TypeRegistry.default()): RpcError {
  if (error instanceof RpcError) return error;
  if (!isObject(error) && !(error instanceof Error)) {
    return new RpcError(Code.UNKNOWN, typeof error === 'string' ? error : `google-gax call failed: ${String(error)}`, { cause: error });
  }
  const e = error as unknown as Obj;
  const rawMessage = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : String(error);
  // A 2xx answer gax 6 could not decode is INTERNAL, as restTransport reports a 2xx body it cannot parse.
  const given = isUndecodableResponse(e, error) ? Code.INTERNAL : canonicalCode(e.code);
  const code = canonicalGrpcCode(given ?? codeWithoutStatus(error, rawMessage), rawMessage);
  let details: DecodedDetail[] = [];
  try {
    details =
      detailsFromMetadata(e.metadata, registry) ??
      detailsFromArray(e.details, registry) ??
      detailsFromMessages(e.statusDetails, registry) ??
      [];
  } catch {
    details = [];
  }
  return new RpcError(code, rawMessage, { details, cause: error });
}

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

/**
 * Starts a gax call and settles with it, or rejects with the signal's reason
 * the moment the signal aborts (then `cancel()`s the gax call). Nothing is
 * started when the signal is already aborted.
 */
function settleWithSignal<T>(
  start: () => unknown,
  signal: AbortSignal | undefined,
  cancel: (pending: unknown) => void,
  mapError: (err: unknown) => unknown,
  live?: Set<(reason: unknown) => void>,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let pending: unknown;
    const stop = (): void => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      live?.delete(giveUp);
    };
    /** Rejects now and cancels the call (an abort, or the transport's close()). */
    const giveUp = (reason: unknown): void => {
      if (settled) return;
      stop();
      try {
        cancel(pending);
      } catch {
        // the call is gone either way
      }
      reject(reason);
    };
    const onAbort = (): void => giveUp(abortReason(signal!));
    try {
      pending = start();
    } catch (err) {
      settled = true;
      reject(mapError(err));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    live?.add(giveUp);
    Promise.resolve(pending).then(
      (value) => {
        if (settled) return;
        stop();
        resolve(value as T);
      },
      (err: unknown) => {
        if (settled) return;
        stop();
        reject(mapError(err));
      },
    );
  });
}

function cancelGaxCall(pending: unknown): void {
  const cancel = (pending as { cancel?: unknown } | null)?.cancel;
  if (typeof cancel === 'function') cancel.call(pending);
}

/** A grpc-js style unary stub method: `(request, [metadata,] callOptions, callback) => call`. */
type StubMethod = {
  (request: Obj, options: Obj, callback: (err: unknown, response?: unknown) => void): unknown;
  (request: Obj, metadata: GrpcLikeMetadata, options: Obj, callback: (err: unknown, response?: unknown) => void): unknown;
};

/** What this module needs of a grpc-js `Metadata` (the instance gax built, from gax's own grpc-js). */
interface GrpcLikeMetadata {
  clone(): GrpcLikeMetadata;
  get(key: string): unknown[];
}

function isGrpcMetadata(value: unknown): value is GrpcLikeMetadata {
  return typeof value === 'object' && value !== null && typeof (value as GrpcLikeMetadata).clone === 'function' && typeof (value as GrpcLikeMetadata).get === 'function';
}

/** The gRPC stub's WaitOperation, or undefined when the stub is not a grpc-js client (REST fallback). */
function grpcWaitMethod(stub: unknown): StubMethod | undefined {
  if (!isObject(stub) && typeof stub !== 'function') return undefined;
  const s = stub as Obj;
  if (typeof s.makeUnaryRequest !== 'function') return undefined; // the REST fallback stub is not a grpc-js Client
  const method = s.waitOperation ?? s.WaitOperation;
  return typeof method === 'function' ? (method as StubMethod).bind(stub) : undefined;
}

/** How long a metadata capture may take before WaitOperation goes without it. */
const CAPTURE_LIMIT_MS = 1_000;

/**
 * Whether the client's ListOperationsRequest schema has `return_partial_success`
 * (field 5; google-gax 5 bundles a google.longrunning without it and would
 * drop it without a word). Probed by encoding a request through the gRPC
 * stub's own serializer; a stub that cannot be probed (the REST fallback, a
 * hand-made client) is trusted to send it.
 */
async function carriesPartialSuccess(stubPromise: unknown): Promise<boolean> {
  let stub: unknown;
  try {
    stub = await stubPromise;
  } catch {
    return true; // the call itself will report the broken stub
  }
  const service = (stub as { constructor?: { service?: Record<string, { requestSerialize?: unknown }> } } | null)?.constructor?.service;
  const serialize = service?.ListOperations?.requestSerialize ?? service?.listOperations?.requestSerialize;
  if (typeof serialize !== 'function') return true;
  try {
    const bytes = (serialize as (value: unknown) => Uint8Array)({ name: '', returnPartialSuccess: true });
    return bytes.includes(0x28); // tag of field 5, varint: only that field is set
  } catch {
    return false;
  }
}

function msToDuration(ms: number): { seconds: number; nanos: number } {
  const total = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(total / 1000), nanos: (total % 1000) * 1e6 };
}

function checkClient(client: unknown): asserts client is GaxOperationsClient {
  const c = client as Partial<GaxOperationsClient> | null;
  if (
    typeof c !== 'object' || c === null ||
    typeof c.getOperation !== 'function' || typeof c.cancelOperation !== 'function' ||
    typeof c.deleteOperation !== 'function' || typeof c.listOperations !== 'function'
  ) {
    throw new TypeError('longrunning: gaxTransport expects a google-gax OperationsClient (for example client.operationsClient)');
  }
}

/**
 * The transport {@link gaxTransport} returns.
 *
 * @example
 * ```ts
 * const transport: GaxTransport = gaxTransport(client.operationsClient);
 * transport.close();
 * ```
 */
export interface GaxTransport extends OperationsTransport {
  /**
   * Closes the transport (not the client: close that yourself): every call in
   * flight rejects at once with `RpcError` FAILED_PRECONDITION, as calls made
   * afterwards do, and is cancelled on the wire at the `cancelPacing` rate.
   * Without it, a gRPC WaitOperation in flight outlives `client.close()` until
   * its deadline.
   *
   * @example
   * ```ts
   * transport.close();
   * await client.close();
   * ```
   */
  close(): void;
}

/**
 * An {@link OperationsTransport} over a google-gax `OperationsClient`. Get,
 * Cancel, Delete and List go through the client's own methods (List one page
 * at a time, `autoPaginate: false`); WaitOperation, which the OperationsClient
 * lacks, calls its gRPC stub directly with the `timeout` Duration and an RPC
 * deadline longer than it (UNIMPLEMENTED over the REST fallback).
 * `timeoutMs` becomes gax's `timeout`; gax's own retrying is off unless asked
 * for. An aborted signal cancels the gax call and rejects with its reason.
 * Failures reject with {@link RpcError}, details decoded. The transport does
 * not own the client: `close()` ends the transport's calls, then close the client yourself.
 *
 * @example
 * ```ts
 * const client = new VideoIntelligenceServiceClient(options);
 * const transport = gaxTransport(client.operationsClient);
 * const op = new LongRunningOperation('projects/p/locations/l/operations/42', { transport });
 * ```
 */
export function gaxTransport(operationsClient: GaxOperationsClient, options: GaxTransportOptions = {}): GaxTransport {
  checkClient(operationsClient);
  const client = operationsClient;
  const registry = options.registry ?? TypeRegistry.default();
  const mapError = (err: unknown): RpcError => rpcErrorFromGax(err, registry);
  /** Calls not settled yet: `close()` gives them all up. */
  const live = new Set<(reason: unknown) => void>();
  let closed = false;
  const closedError = (): RpcError => new RpcError(Code.FAILED_PRECONDITION, 'this gaxTransport is closed');
  /** settleWithSignal for this transport: after close(), rejects at once. */
  const settle = <T>(start: () => unknown, signal: AbortSignal | undefined, cancel: (pending: unknown) => void): Promise<T> =>
    closed ? Promise.reject(closedError()) : settleWithSignal<T>(start, signal, cancel, mapError, live);

  const gaxOptions = (callOptions: CallOptions | undefined, extra?: GaxCallOptions): GaxCallOptions => {
    // User extras (otherArgs, …) travel along untyped: gax reads them, we do not.
    const merged: GaxCallOptions & Record<string, unknown> = { ...(options.callOptions ?? {}), ...(extra ?? {}) };
    if (!options.gaxRetries) merged.retry = null;
    const timeoutMs = callOptions?.timeoutMs;
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) merged.timeout = Math.max(1, Math.round(timeoutMs));
    return merged;
  };

  let partialSuccess: Promise<boolean> | undefined;
  const pacer = new CancelPacer(options.cancelPacing);
  /**
   * Cancels an abandoned call on the wire through the pacer (each cancel is
   * an HTTP/2 RST_STREAM over gRPC); a call that ends by itself before its
   * turn needs none.
   */
  const pacedCancel = (pending: unknown, cancel: () => void): void => {
    const handle = { cancel };
    pacer.cancel(handle);
    const forget = (): void => pacer.forget(handle);
    Promise.resolve(pending).then(forget, forget);
  };
  const call = <T>(callOptions: CallOptions | undefined, start: () => PromiseLike<unknown>): Promise<T> =>
    settle<T>(start, callOptions?.signal, (pending) => pacedCancel(pending, () => cancelGaxCall(pending)));

  const transport: GaxTransport = {
    close() {
      if (closed) return;
      closed = true;
      for (const giveUp of [...live]) giveUp(closedError());
    },

    async getOperation(name, callOptions) {
      const answer = await call<unknown>(callOptions, () => client.getOperation({ name }, gaxOptions(callOptions)));
      return operationFromGax(Array.isArray(answer) ? answer[0] : answer); // gax resolves to [operation]
    },

    async cancelOperation(name, callOptions) {
      await call(callOptions, () => client.cancelOperation({ name }, gaxOptions(callOptions)));
    },

    async deleteOperation(name, callOptions) {
      await call(callOptions, () => client.deleteOperation({ name }, gaxOptions(callOptions)));
    },

    async listOperations(request: ListOperationsRequest, callOptions?: CallOptions): Promise<ListOperationsResponse> {
      const gaxRequest: GaxListOperationsRequest = {
        name: request.name ?? '',
        filter: request.filter ?? '',
        pageSize: request.pageSize ?? 0,
        pageToken: request.pageToken ?? '',
      };
      if (request.returnPartialSuccess === true) {
        if (!(await (partialSuccess ??= carriesPartialSuccess(client.operationsStub)))) {
          throw new RpcError(
            Code.UNIMPLEMENTED,
            'ListOperations: this google-gax OperationsClient cannot send returnPartialSuccess (its google.longrunning.ListOperationsRequest has no return_partial_success field)',
          );
        }
        gaxRequest.returnPartialSuccess = true;
      }
      const answer = await call<unknown>(callOptions, () => client.listOperations(gaxRequest, gaxOptions(callOptions, { autoPaginate: false })));
      const [operations, nextRequest, raw] = Array.isArray(answer) ? (answer as unknown[]) : [undefined, undefined, answer];
      const rawResponse = isObject(raw) ? raw : {};
      const list = Array.isArray(operations) ? operations : Array.isArray(rawResponse.operations) ? rawResponse.operations : [];
      let nextPageToken = rawResponse.nextPageToken ?? rawResponse.next_page_token;
      if (typeof nextPageToken !== 'string') {
        nextPageToken = isObject(nextRequest) && typeof nextRequest.pageToken === 'string' ? nextRequest.pageToken : '';
      }
      const page: ListOperationsResponse = { operations: list.map(operationFromGax), nextPageToken: nextPageToken as string };
      const unreachable = Array.isArray(rawResponse.unreachable) ? rawResponse.unreachable.filter((u): u is string => typeof u === 'string') : [];
      if (unreachable.length > 0) page.unreachable = unreachable;
      return page;
    },
  };

  /** `otherArgs` of the transport's callOptions, if any. */
  const userOtherArgs = (): Obj => (isObject(options.callOptions?.otherArgs) ? options.callOptions.otherArgs : {});
  /** grpc-js call options the user passed through `otherArgs.options` (interceptors, …); gax hands them to the stub. */
  const userGrpcOptions = (): Obj => (isObject(userOtherArgs().options) ? (userOtherArgs().options as Obj) : {});
  let gaxMetadata: Promise<GrpcLikeMetadata | undefined> | undefined;

  /**
   * The metadata gax builds for this client's calls, taken from a GetOperation
   * that never reaches the wire: a grpc-js interceptor, last in the chain,
   * records the metadata the call starts with and ends the call there. gax
   * adds the same headers to every call of an OperationsClient (its
   * `x-goog-api-client` and the `otherArgs.headers` of `callOptions`), so one
   * capture serves every WaitOperation. Credentials are not in it: grpc-js
   * adds them below the interceptors. Undefined when the client does not run
   * grpc-js interceptors (a hand-made client), and then WaitOperation is sent
   * without metadata as before.
   */
  function captureGaxMetadata(): Promise<GrpcLikeMetadata | undefined> {
    let captured: GrpcLikeMetadata | undefined;
    const capture = (): Obj => ({
      start(metadata: unknown, listener: { onReceiveStatus?: (status: unknown) => void }) {
        if (isGrpcMetadata(metadata)) captured = metadata.clone();
        queueMicrotask(() =>
          listener?.onReceiveStatus?.({ code: Code.CANCELLED, details: 'longrunning: metadata captured', metadata: isGrpcMetadata(metadata) ? metadata.clone() : metadata }),
        );
      },
      sendMessage: () => undefined,
      sendMessageWithContext: () => undefined,
      startRead: () => undefined,
      halfClose: () => undefined,
      cancelWithStatus: () => undefined,
      getPeer: () => '',
      getAuthContext: () => null,
    });
    const grpcOptions = userGrpcOptions();
    const interceptors = Array.isArray(grpcOptions.interceptors) ? grpcOptions.interceptors : [];
    const callOptions: Obj = {
      ...(options.callOptions ?? {}),
      retry: null,
      otherArgs: { ...userOtherArgs(), options: { ...grpcOptions, interceptors: [...interceptors, capture] } },
    };
    let pending: PromiseLike<unknown>;
    try {
      pending = client.getOperation({ name: '' }, callOptions as GaxCallOptions);
    } catch {
      return Promise.resolve(undefined);
    }
    // The interceptor ends the call within a microtask; a client that ignores it gets a bounded wait.
    return new Promise<GrpcLikeMetadata | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(captured), CAPTURE_LIMIT_MS);
      timer.unref?.();
      const done = (): void => {
        clearTimeout(timer);
        resolve(captured);
      };
      Promise.resolve(pending).then(done, done);
    });
  }

  const stubPromise = client.operationsStub;
  // rpc.system of the spans: a grpc-js stub speaks gRPC, the REST fallback's stub HTTP (unknown until the stub is there).
  Promise.resolve(stubPromise).then(
    (stub) => {
      if (stub != null) setRpcSystem(transport, (isObject(stub) || typeof stub === 'function') && typeof (stub as Obj).makeUnaryRequest === 'function' ? 'grpc' : 'http');
    },
    () => undefined,
  );
  if (options.waitOperation !== false && stubPromise != null) {
    transport.waitOperation = async (name, timeoutMs, callOptions) => {
      const signal = callOptions?.signal;
      if (signal?.aborted) throw abortReason(signal);
      const stub = await settle<unknown>(() => stubPromise, signal, () => undefined);
      const wait = grpcWaitMethod(stub);
      if (!wait) {
        throw new RpcError(
          Code.UNIMPLEMENTED,
          'WaitOperation is not available through this google-gax OperationsClient (its stub is not a gRPC client, e.g. the REST fallback)',
        );
      }
      const request: Obj = { name };
      let deadlineMs = callOptions?.timeoutMs;
      if (Number.isFinite(timeoutMs)) {
        const timeout = Math.max(0, timeoutMs);
        request.timeout = msToDuration(timeout);
        deadlineMs ??= timeout + (options.waitDeadlineGraceMs ?? Math.max(1000, timeout * 0.1));
      }
      const deadline = deadlineMs !== undefined && Number.isFinite(deadlineMs) ? new Date(Date.now() + Math.max(0, deadlineMs)) : undefined;
      // The metadata gax sends with GetOperation: the client's x-goog-api-client and the callOptions headers.
      const metadata = await settle<GrpcLikeMetadata | undefined>(() => (gaxMetadata ??= captureGaxMetadata()), signal, () => undefined);
      const stubOptions: Obj = { ...userGrpcOptions() };
      if (deadline) stubOptions.deadline = deadline;
      let grpcCall: unknown;
      const operation = await settle<unknown>(
        () =>
          new Promise((resolve, reject) => {
            const callback = (err: unknown, response?: unknown): void => (err ? reject(err) : resolve(response));
            grpcCall = metadata ? wait(request, metadata.clone(), stubOptions, callback) : wait(request, stubOptions, callback);
          }),
        signal,
        (pending) => pacedCancel(pending, () => cancelGaxCall(grpcCall)),
      );
      return operationFromGax(operation);
    };
  }
  return transport;
}
