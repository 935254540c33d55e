/**
 * The gRPC transport: calls `google.longrunning.Operations` with
 * `@grpc/grpc-js` directly, serializing through the bundled protobufjs
 * schemas (nothing is loaded from disk, no proto-loader).
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { RpcError, abortReason, type DecodedDetail } from '../errors.js';
import { builtinType } from '../codec/protos.js';
import { TypeRegistry } from '../codec/registry.js';
import { decodeDetails, decodeStatusBytes } from '../codec/status.js';
import { anyFromMessage, decodeOperation, operationFromMessage, statusFromMessage } from '../codec/operation-binary.js';
import { CancelPacer, type CancelPacing } from './cancel-pacer.js';
import { canonicalGrpcCode } from './grpc-codes.js';
import { convertProvided, resolveProvider } from './provider.js';
import { setRpcSystem, traceHeaders } from '../telemetry/tracing.js';
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

/** Fully qualified name of the service. */
const SERVICE = 'google.longrunning.Operations';

/**
 * Trailer that carries a serialized `google.rpc.Status` with the error details.
 *
 * @example
 * ```ts
 * const raw = serviceError.metadata.get(STATUS_DETAILS_KEY)[0];
 * ```
 */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/**
 * Metadata in either form the transport accepts: plain headers (keys ending
 * in `-bin` take base64 values) or a grpc-js `Metadata`.
 *
 * @example
 * ```ts
 * const md: GrpcMetadataInit = { authorization: 'Bearer token' };
 * ```
 */
export type GrpcMetadataInit = Record<string, string> | grpc.Metadata;

/**
 * Options of {@link grpcTransport}.
 *
 * @example
 * ```ts
 * const options: GrpcTransportOptions = { address: '127.0.0.1:50051', metadata: async () => ({ authorization: `Bearer ${await token()}` }) };
 * ```
 */
export interface GrpcTransportOptions {
  /** `host:port` of the server. */
  address: string;
  /** Channel credentials; insecure by default. */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call (auth headers, routing headers); a function is called once per call. */
  metadata?: GrpcMetadataInit | (() => Promise<GrpcMetadataInit> | GrpcMetadataInit);
  /** grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /** Deadline of Get/Cancel/Delete/List calls made without `timeoutMs`; default 60 000 ms. */
  defaultTimeoutMs?: number;
  /**
   * How much longer than its `timeout` a WaitOperation call's deadline is;
   * default `max(1000, 10% of the timeout)`.
   */
  waitDeadlineGraceMs?: number;
  /** Registry used to decode error details; default {@link TypeRegistry.default}. */
  registry?: TypeRegistry;
  /**
   * Queue calls while the channel is (re)connecting instead of failing them
   * at once with UNAVAILABLE; they still end at their deadline. Default false.
   */
  waitForReady?: boolean;
  /**
   * How fast calls given up on (an aborted signal, `close()`) are cancelled
   * on the wire. Each cancel is an HTTP/2 RST_STREAM, and servers end a
   * connection that receives too many (HTTP/2 rapid-reset protection: Node.js
   * allows a burst of 1,000, then 33 per second). Default: a burst of 500,
   * then 25 per second, at most 200 per 10 ms. The caller's promise settles
   * at once either way.
   */
  cancelPacing?: CancelPacing;
}

/**
 * An {@link OperationsTransport} over a grpc-js channel, with WaitOperation
 * support and a `close()` that releases the channel.
 *
 * @example
 * ```ts
 * const transport: GrpcTransport = grpcTransport({ address: '127.0.0.1:50051' });
 * transport.close();
 * ```
 */
export interface GrpcTransport extends OperationsTransport {
  /**
   * `WaitOperation`, always available over gRPC (the server may answer
   * UNIMPLEMENTED). `timeoutMs` is sent as the request's `timeout`; the RPC
   * deadline is `options.timeoutMs` if given, else `timeoutMs` plus the grace.
   * A non-finite `timeoutMs` sends no `timeout` (the server decides) and sets
   * no deadline unless `options.timeoutMs` is given.
   *
   * @example
   * ```ts
   * const latest = await transport.waitOperation('operations/42', 30_000);
   * ```
   */
  waitOperation(name: string, timeoutMs: number, options?: CallOptions): Promise<OperationResource>;
  /**
   * Closes the transport: every call in flight rejects at once with `RpcError`
   * FAILED_PRECONDITION, as calls made afterwards do; the calls are cancelled
   * on the wire at the `cancelPacing` rate, and the channel is closed once
   * the last of them has ended, so nothing is left to keep the process alive.
   *
   * @example
   * ```ts
   * transport.close();
   * ```
   */
  close(): void;
}

// ---------------------------------------------------------------------------
// Message conversions (the decoding half lives in codec/operation-binary, shared with the browser entry)
// ---------------------------------------------------------------------------

export { anyFromMessage, decodeOperation, operationFromMessage, statusFromMessage };

/** A protobufjs message instance or a plain object with the same (camelCase) fields. */
type ProtoObject = Record<string, unknown>;

/** A `Long` as protobufjs decodes int64 fields when the `long` package is present. */
interface LongLike {
  toNumber(): number;
}

/**
 * Converts an int64 field value (number, Long, bigint or decimal string) to a number.
 *
 * @example
 * ```ts
 * int64ToNumber('90'); // 90
 * ```
 */
export function int64ToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (typeof value === 'bigint') return Number(value);
  if (value != null && typeof (value as LongLike).toNumber === 'function') return (value as LongLike).toNumber();
  return 0;
}

/**
 * A `google.protobuf.Duration` (as decoded by protobufjs, or plain) in milliseconds.
 *
 * @example
 * ```ts
 * durationToMs({ seconds: 2, nanos: 500_000_000 }); // 2500
 * ```
 */
export function durationToMs(duration: { seconds?: unknown; nanos?: unknown }): number {
  return int64ToNumber(duration.seconds) * 1000 + (Number(duration.nanos) || 0) / 1e6;
}

/**
 * Milliseconds as a plain `google.protobuf.Duration` (negative values become zero).
 *
 * @example
 * ```ts
 * msToDuration(2500); // { seconds: 2, nanos: 500000000 }
 * ```
 */
export function msToDuration(ms: number): { seconds: number; nanos: number } {
  const total = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(total / 1000), nanos: (total % 1000) * 1e6 };
}

/**
 * An {@link AnyMessage} → plain `google.protobuf.Any` fields for protobufjs.
 * Binary `value` is used as is; a JSON-form Any is encoded through `registry`
 * (throws `DecodeError` when its type is unknown there).
 *
 * @example
 * ```ts
 * anyToMessage({ typeUrl: 'type.googleapis.com/google.protobuf.Empty', json: {} });
 * ```
 */
export function anyToMessage(any: AnyMessage, registry: TypeRegistry = TypeRegistry.default()): { typeUrl: string; value: Uint8Array } {
  if (any.value !== undefined) return { typeUrl: any.typeUrl, value: any.value };
  if (any.json !== undefined) {
    const binary = registry.toBinary(any);
    return { typeUrl: binary.typeUrl, value: binary.value ?? new Uint8Array() };
  }
  return { typeUrl: any.typeUrl, value: new Uint8Array() };
}

/**
 * An {@link RpcStatus} → plain `google.rpc.Status` fields for protobufjs.
 *
 * @example
 * ```ts
 * statusToMessage({ code: 1, message: 'cancelled', details: [] });
 * ```
 */
export function statusToMessage(status: RpcStatus, registry: TypeRegistry = TypeRegistry.default()): ProtoObject {
  return {
    code: status.code,
    message: status.message,
    details: (status.details ?? []).map((d) => anyToMessage(d, registry)),
  };
}

/**
 * An {@link OperationResource} → plain `google.longrunning.Operation` fields
 * for protobufjs. JSON-form `Any`s are encoded to binary through `registry`
 * (throws `DecodeError` for a type it does not know).
 *
 * @example
 * ```ts
 * const bytes = builtinType('google.longrunning.Operation').encode(operationToMessage({ name: 'operations/1', done: false })).finish();
 * ```
 */
export function operationToMessage(resource: OperationResource, registry: TypeRegistry = TypeRegistry.default()): ProtoObject {
  const message: ProtoObject = { name: resource.name ?? '', done: resource.done === true };
  if (resource.metadata) message.metadata = anyToMessage(resource.metadata, registry);
  if (resource.error) message.error = statusToMessage(resource.error, registry);
  if (resource.response) message.response = anyToMessage(resource.response, registry);
  return message;
}

/**
 * Encodes an {@link OperationResource} as `google.longrunning.Operation` bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeOperation({ name: 'operations/1', done: true });
 * ```
 */
export function encodeOperation(resource: OperationResource, registry?: TypeRegistry): Uint8Array {
  return builtinType('google.longrunning.Operation').encode(operationToMessage(resource, registry)).finish();
}

// ---------------------------------------------------------------------------
// Service definition
// ---------------------------------------------------------------------------

function method(name: string, requestType: string, responseType: string): grpc.MethodDefinition<ProtoObject, ProtoObject> {
  let request: protobuf.Type | undefined;
  let response: protobuf.Type | undefined;
  const req = () => (request ??= builtinType(requestType));
  const res = () => (response ??= builtinType(responseType));
  return {
    path: `/${SERVICE}/${name}`,
    originalName: name,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value) => Buffer.from(req().encode(value).finish()),
    requestDeserialize: (bytes) => req().decode(bytes) as unknown as ProtoObject,
    responseSerialize: (value) => Buffer.from(res().encode(value).finish()),
    responseDeserialize: (bytes) => res().decode(bytes) as unknown as ProtoObject,
  };
}

/**
 * The grpc-js definition of `google.longrunning.Operations`, built from the
 * bundled schemas. Requests and responses are protobufjs messages on the
 * decoding side and plain objects (camelCase fields) on the encoding side.
 *
 * @example
 * ```ts
 * server.addService(operationsServiceDefinition, implementation);
 * ```
 */
export const operationsServiceDefinition = {
  ListOperations: method('ListOperations', 'google.longrunning.ListOperationsRequest', 'google.longrunning.ListOperationsResponse'),
  GetOperation: method('GetOperation', 'google.longrunning.GetOperationRequest', 'google.longrunning.Operation'),
  DeleteOperation: method('DeleteOperation', 'google.longrunning.DeleteOperationRequest', 'google.protobuf.Empty'),
  CancelOperation: method('CancelOperation', 'google.longrunning.CancelOperationRequest', 'google.protobuf.Empty'),
  WaitOperation: method('WaitOperation', 'google.longrunning.WaitOperationRequest', 'google.longrunning.Operation'),
} satisfies grpc.ServiceDefinition;

/**
 * Name of one method of `google.longrunning.Operations`.
 *
 * @example
 * ```ts
 * const method: OperationsMethodName = 'WaitOperation';
 * ```
 */
export type OperationsMethodName = keyof typeof operationsServiceDefinition;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A grpc-js `ServiceError` → {@link RpcError}, with the details of the
 * `grpc-status-details-bin` trailer decoded (empty when the trailer is absent
 * or garbage). A stream reset with NO_ERROR before any status, which grpc-js
 * reports as INTERNAL "Received RST_STREAM with code 0", becomes UNAVAILABLE,
 * as gRPC core reports it.
 *
 * @example
 * ```ts
 * client.makeUnaryRequest(..., (err) => { if (err) reject(rpcErrorFromServiceError(err)); });
 * ```
 */
export function rpcErrorFromServiceError(error: grpc.ServiceError, registry?: TypeRegistry): RpcError {
  let details: DecodedDetail[] = [];
  try {
    const raw = error.metadata?.get(STATUS_DETAILS_KEY)?.[0];
    if (raw instanceof Uint8Array && raw.length > 0) {
      details = decodeDetails(decodeStatusBytes(raw).details, registry);
    }
  } catch {
    details = [];
  }
  const message = typeof error.details === 'string' ? error.details : error.message;
  const code = canonicalGrpcCode(typeof error.code === 'number' ? error.code : Code.UNKNOWN, message);
  return new RpcError(code, message, { details, cause: error });
}

function toMetadata(init: GrpcMetadataInit | undefined): grpc.Metadata {
  if (init instanceof grpc.Metadata) return init.clone();
  const metadata = new grpc.Metadata();
  if (init) {
    for (const [key, value] of Object.entries(init)) {
      if (key.toLowerCase().endsWith('-bin')) metadata.set(key, Buffer.from(String(value), 'base64'));
      else metadata.set(key, String(value));
    }
  }
  return metadata;
}

// ---------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------

const DEFAULT_TIMEOUT_MS = 60_000;
/** Longest delay setTimeout holds; a longer deadline is left to grpc-js alone. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Creates a transport that calls `google.longrunning.Operations` over gRPC.
 * Every failed call rejects with {@link RpcError} (details decoded from
 * `grpc-status-details-bin`), a call lost with its connection with
 * UNAVAILABLE; an aborted call rejects at once with the signal's reason and
 * is cancelled on the wire at the `cancelPacing` rate. WaitOperation's RPC
 * deadline always exceeds the `timeout` it sends.
 *
 * @example
 * ```ts
 * const transport = grpcTransport({ address: '127.0.0.1:50051', metadata: { authorization: 'Bearer t' } });
 * const op = await transport.waitOperation('operations/42', 30_000);
 * transport.close();
 * ```
 */
export function grpcTransport(options: GrpcTransportOptions): GrpcTransport {
  const client = new grpc.Client(
    options.address,
    options.credentials ?? grpc.credentials.createInsecure(),
    options.channelOptions ?? {},
  );
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const registry = options.registry;
  const pacer = new CancelPacer(options.cancelPacing);
  /** Calls not settled yet, from their first await on: `close()` rejects them all. */
  const inFlight = new Set<(error: RpcError) => void>();
  let closed = false;
  const closedError = (): RpcError => new RpcError(Code.FAILED_PRECONDITION, `transport to ${options.address} is closed`);

  /** The call's metadata: a failing provider is UNAVAILABLE, metadata grpc-js refuses INVALID_ARGUMENT. */
  function metadataFor(): Promise<grpc.Metadata> {
    return resolveProvider(options.metadata, 'metadata', toMetadata);
  }

  /**
   * One unary call. The deadline counts from here, so it covers a slow
   * `metadata()` provider too; the signal, the deadline and `close()` end the
   * call at any stage, the one that comes first settling the promise. A call
   * given up on after it started is cancelled on the wire through the pacer.
   */
  function unary(
    definition: grpc.MethodDefinition<ProtoObject, ProtoObject>,
    request: ProtoObject,
    deadlineMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ProtoObject> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (closed) return Promise.reject(closedError());
    const deadline = deadlineMs !== undefined && Number.isFinite(deadlineMs) ? Date.now() + Math.max(0, deadlineMs) : undefined;
    // W3C traceparent (…) of the active context, when an OpenTelemetry propagator is registered.
    const propagated = traceHeaders();
    return new Promise<ProtoObject>((resolve, reject) => {
      let settled = false;
      let call: grpc.ClientUnaryCall | undefined;
      let ended = false;
      let metadataTimer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = (error: unknown): void => {
        if (settled) return;
        finish();
        if (call && !ended) pacer.cancel(call);
        reject(error);
      };
      const onAbort = (): void => giveUp(abortReason(signal!));
      const onClose = (error: RpcError): void => giveUp(error);
      const finish = (): void => {
        settled = true;
        clearTimeout(metadataTimer);
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(onClose);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      inFlight.add(onClose);
      // Only a provider can keep the call waiting before it starts; then the deadline must hold here too.
      if (typeof options.metadata === 'function' && deadline !== undefined && deadline - Date.now() <= MAX_TIMER_MS) {
        metadataTimer = setTimeout(
          () => giveUp(new RpcError(Code.DEADLINE_EXCEEDED, `deadline of ${deadlineMs} ms exceeded while the metadata provider was pending`)),
          Math.max(0, deadline - Date.now()),
        );
      }
      const start = (metadata: grpc.Metadata): void => {
        if (settled) return;
        clearTimeout(metadataTimer);
        if (options.waitForReady) metadata.setOptions({ ...metadata.getOptions(), waitForReady: true });
        if (propagated) for (const key of Object.keys(propagated)) metadata.set(key, propagated[key]!);
        const callOptions: grpc.CallOptions = {};
        if (deadline !== undefined) callOptions.deadline = deadline;
        try {
          call = client.makeUnaryRequest<ProtoObject, ProtoObject>(
            definition.path,
            definition.requestSerialize,
            definition.responseDeserialize,
            request,
            metadata,
            callOptions,
            (error, response) => {
              ended = true;
              if (call) pacer.forget(call);
              if (settled) return;
              finish();
              if (error) reject(rpcErrorFromServiceError(error, registry));
              else resolve(response ?? {});
            },
          );
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          giveUp(new RpcError(Code.FAILED_PRECONDITION, `cannot start call: ${message}`, { cause: err }));
        }
      };
      if (typeof options.metadata === 'function') {
        metadataFor().then(start, (err: unknown) => giveUp(err));
      } else {
        // Static metadata (or none): no promise and no extra turn before the call.
        let metadata: grpc.Metadata;
        try {
          metadata = convertProvided(options.metadata, 'metadata', toMetadata);
        } catch (err) {
          giveUp(err);
          return;
        }
        start(metadata);
      }
    });
  }

  const defs = operationsServiceDefinition;

  return setRpcSystem({
    async getOperation(name, callOptions) {
      const message = await unary(defs.GetOperation, { name }, callOptions?.timeoutMs ?? defaultTimeoutMs, callOptions?.signal);
      return operationFromMessage(message);
    },

    async waitOperation(name, timeoutMs, callOptions) {
      const request: ProtoObject = { name };
      let deadlineMs = callOptions?.timeoutMs;
      if (Number.isFinite(timeoutMs)) {
        const timeout = Math.max(0, timeoutMs);
        request.timeout = msToDuration(timeout);
        deadlineMs ??= timeout + (options.waitDeadlineGraceMs ?? Math.max(1000, timeout * 0.1));
      }
      const message = await unary(defs.WaitOperation, request, deadlineMs, callOptions?.signal);
      return operationFromMessage(message);
    },

    async cancelOperation(name, callOptions) {
      await unary(defs.CancelOperation, { name }, callOptions?.timeoutMs ?? defaultTimeoutMs, callOptions?.signal);
    },

    async deleteOperation(name, callOptions) {
      await unary(defs.DeleteOperation, { name }, callOptions?.timeoutMs ?? defaultTimeoutMs, callOptions?.signal);
    },

    async listOperations(request: ListOperationsRequest, callOptions?: CallOptions): Promise<ListOperationsResponse> {
      const message = await unary(
        defs.ListOperations,
        {
          name: request.name ?? '',
          filter: request.filter ?? '',
          pageSize: request.pageSize ?? 0,
          pageToken: request.pageToken ?? '',
          returnPartialSuccess: request.returnPartialSuccess === true,
        },
        callOptions?.timeoutMs ?? defaultTimeoutMs,
        callOptions?.signal,
      );
      const operations = Array.isArray(message.operations) ? (message.operations as ProtoObject[]) : [];
      const page: ListOperationsResponse = {
        operations: operations.map(operationFromMessage),
        nextPageToken: typeof message.nextPageToken === 'string' ? message.nextPageToken : '',
      };
      const unreachable = Array.isArray(message.unreachable) ? message.unreachable.filter((u): u is string => typeof u === 'string') : [];
      if (unreachable.length > 0) page.unreachable = unreachable;
      return page;
    },

    close() {
      if (closed) return;
      closed = true;
      for (const fail of [...inFlight]) fail(closedError());
      // The cancels just queued go out at the paced rate; the channel goes once they have.
      void pacer.whenIdle().then(() => client.close());
    },
  }, 'grpc');
}
