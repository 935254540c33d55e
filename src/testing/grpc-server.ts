/**
 * A real grpc-js server for `google.longrunning.Operations` that forwards
 * every RPC to an in-process {@link OperationsTransport}: the gRPC listener of
 * the testing helpers, loopback only.
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import { RpcError, type DecodedDetail } from '../errors.js';
import { TypeRegistry } from '../codec/registry.js';
import { anyFromJson, encodeStatusBytes } from '../codec/status.js';
import {
  STATUS_DETAILS_KEY,
  durationToMs,
  operationToMessage,
  operationsServiceDefinition,
  type OperationsMethodName,
} from '../transports/grpc.js';
import { Code, type AnyMessage, type CallOptions, type ListOperationsRequest, type OperationResource, type OperationsTransport } from '../types.js';

/** WaitOperation timeout handed to the backend when the request carries none. */
const DEFAULT_WAIT_TIMEOUT_MS = 60_000;
/** How long `close()` lets in-flight calls finish before forcing the shutdown. */
const DEFAULT_SHUTDOWN_GRACE_MS = 250;

/**
 * What the server saw of one incoming call, reported to {@link ServeGrpcOptions.onCall}.
 *
 * @example
 * ```ts
 * const seen: ServedCall[] = [];
 * await serveGrpc(backend, { onCall: (call) => void seen.push(call) });
 * ```
 */
export interface ServedCall {
  /** The RPC, e.g. `'GetOperation'`. */
  method: OperationsMethodName;
  /** The request's `name` field. */
  name: string;
  /** Request metadata (headers) as received. */
  metadata: grpc.Metadata;
  /** Milliseconds left until the call's deadline when it arrived; `undefined` without a deadline. */
  deadlineMs: number | undefined;
}

/**
 * Options of {@link serveGrpc}.
 *
 * @example
 * ```ts
 * const server = await serveGrpc(backend, { port: 0, host: '127.0.0.1' });
 * ```
 */
export interface ServeGrpcOptions {
  /** Port to bind; `0` (default) picks a free one. Reuse a previous `port` to restart a server. */
  port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** Called for every call before it reaches the backend; throw an `RpcError` to fail the call (e.g. auth checks). */
  onCall?: (call: ServedCall) => void;
  /** Registry that encodes JSON-form `Any`s from the backend; default {@link TypeRegistry.default}. */
  registry?: TypeRegistry;
  /** How long `close()` waits for in-flight calls before forcing; default 250 ms. */
  shutdownGraceMs?: number;
}

/**
 * A running server returned by {@link serveGrpc}.
 *
 * @example
 * ```ts
 * const { address, close } = await serveGrpc(backend);
 * await close();
 * ```
 */
export interface GrpcTestServer {
  /** `127.0.0.1:PORT`, ready for `grpcTransport({ address })`. */
  address: string;
  /** The bound port. */
  port: number;
  /**
   * Stops the server (graceful, then forced) and resolves once the port is released.
   *
   * @example
   * ```ts
   * await server.close();
   * ```
   */
  close(): Promise<void>;
}

type ProtoObject = Record<string, unknown>;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A decoded detail (proto3 JSON, `@type`) → binary Any; undefined when it cannot be encoded. */
function detailToAny(detail: DecodedDetail, registry: TypeRegistry): AnyMessage | undefined {
  try {
    const binary = registry.toBinary(anyFromJson(detail));
    if (binary.value !== undefined) return { typeUrl: binary.typeUrl, value: binary.value };
  } catch {
    // fall through: maybe an undecoded detail that kept its raw bytes
  }
  const keys = Object.keys(detail);
  if (typeof detail.value === 'string' && keys.every((k) => k === '@type' || k === 'value')) {
    return { typeUrl: detail['@type'], value: new Uint8Array(Buffer.from(detail.value, 'base64')) };
  }
  return undefined;
}

/**
 * The gRPC status a backend rejection becomes: an {@link RpcError} keeps its
 * code, raw message and details (re-encoded into `grpc-status-details-bin`);
 * anything else is INTERNAL.
 *
 * @example
 * ```ts
 * callback(toGrpcStatus(new RpcError(Code.NOT_FOUND, 'no such operation')));
 * ```
 */
export function toGrpcStatus(err: unknown, registry: TypeRegistry = TypeRegistry.default()): grpc.StatusObject {
  if (err instanceof RpcError) {
    const metadata = new grpc.Metadata();
    const details = err.details
      .map((d) => detailToAny(d, registry))
      .filter((d): d is AnyMessage => d !== undefined);
    if (details.length > 0) {
      const bytes = encodeStatusBytes({ code: err.code, message: err.rawMessage, details }, registry);
      metadata.set(STATUS_DETAILS_KEY, Buffer.from(bytes));
    }
    return { code: err.code, details: err.rawMessage, metadata };
  }
  return { code: Code.INTERNAL, details: `backend failed: ${errorMessage(err)}`, metadata: new grpc.Metadata() };
}

function deadlineRemaining(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  return Math.max(0, at - Date.now());
}

function listen(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * Starts a real grpc-js server on 127.0.0.1 that implements
 * `google.longrunning.Operations` by forwarding each RPC to `backend`.
 * The call's deadline and WaitOperation `timeout` are passed on; a client
 * cancel or an expired deadline aborts the backend's signal. A backend
 * without `waitOperation` answers UNIMPLEMENTED.
 *
 * @example
 * ```ts
 * const server = await serveGrpc(fake.transport);
 * const transport = grpcTransport({ address: server.address });
 * // …
 * transport.close();
 * await server.close();
 * ```
 */
export async function serveGrpc(backend: OperationsTransport, options: ServeGrpcOptions = {}): Promise<GrpcTestServer> {
  const registry = options.registry ?? TypeRegistry.default();
  const host = options.host ?? '127.0.0.1';
  const inFlight = new Set<AbortController>();
  const server = new grpc.Server();

  function handler(
    methodName: OperationsMethodName,
    run: (request: ProtoObject, callOptions: CallOptions) => Promise<ProtoObject>,
  ): grpc.handleUnaryCall<ProtoObject, ProtoObject> {
    return (call, callback) => {
      const controller = new AbortController();
      inFlight.add(controller);
      const remaining = deadlineRemaining(call);
      const onCancelled = () => controller.abort(new RpcError(Code.CANCELLED, 'call cancelled by the client'));
      call.on('cancelled', onCancelled);
      const timer =
        remaining === undefined || remaining > 2_147_483_647
          ? undefined
          : setTimeout(() => controller.abort(new RpcError(Code.DEADLINE_EXCEEDED, 'deadline exceeded')), remaining);
      const finish = () => {
        if (timer) clearTimeout(timer);
        call.removeListener('cancelled', onCancelled);
        inFlight.delete(controller);
      };
      const callOptions: CallOptions = { signal: controller.signal };
      if (remaining !== undefined) callOptions.timeoutMs = remaining;
      Promise.resolve()
        .then(() => {
          options.onCall?.({
            method: methodName,
            name: typeof call.request.name === 'string' ? call.request.name : '',
            metadata: call.metadata,
            deadlineMs: remaining,
          });
          return run(call.request, callOptions);
        })
        .then(
          (response) => {
            finish();
            callback(null, response);
          },
          (err: unknown) => {
            finish();
            callback(toGrpcStatus(err, registry));
          },
        );
    };
  }

  function encode(resource: OperationResource): ProtoObject {
    try {
      return operationToMessage(resource, registry);
    } catch (err) {
      throw new RpcError(Code.INTERNAL, `cannot encode operation ${String(resource?.name)}: ${errorMessage(err)}`, { cause: err });
    }
  }

  const implementation: grpc.UntypedServiceImplementation = {
    GetOperation: handler('GetOperation', async (request, callOptions) =>
      encode(await backend.getOperation(request.name as string, callOptions)),
    ),
    WaitOperation: handler('WaitOperation', async (request, callOptions) => {
      if (typeof backend.waitOperation !== 'function') {
        throw new RpcError(Code.UNIMPLEMENTED, 'WaitOperation is not implemented by this server');
      }
      const timeout = request.timeout as ProtoObject | null | undefined;
      const timeoutMs = timeout != null ? durationToMs(timeout) : DEFAULT_WAIT_TIMEOUT_MS;
      return encode(await backend.waitOperation(request.name as string, timeoutMs, callOptions));
    }),
    CancelOperation: handler('CancelOperation', async (request, callOptions) => {
      await backend.cancelOperation(request.name as string, callOptions);
      return {};
    }),
    DeleteOperation: handler('DeleteOperation', async (request, callOptions) => {
      await backend.deleteOperation(request.name as string, callOptions);
      return {};
    }),
    ListOperations: handler('ListOperations', async (request, callOptions) => {
      const listRequest: ListOperationsRequest = { name: request.name as string };
      if (request.filter) listRequest.filter = request.filter as string;
      if (request.pageSize) listRequest.pageSize = request.pageSize as number;
      if (request.pageToken) listRequest.pageToken = request.pageToken as string;
      if (request.returnPartialSuccess === true) listRequest.returnPartialSuccess = true;
      const page = await backend.listOperations(listRequest, callOptions);
      return { operations: page.operations.map(encode), nextPageToken: page.nextPageToken ?? '', unreachable: page.unreachable ?? [] };
    }),
  };
  server.addService(operationsServiceDefinition, implementation);

  const port = await listen(server, `${host}:${options.port ?? 0}`);
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  let closing: Promise<void> | undefined;

  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          for (const controller of inFlight) controller.abort(new RpcError(Code.UNAVAILABLE, 'server shut down'));
          inFlight.clear();
          resolve();
        });
      });
      return closing;
    },
  };
}
