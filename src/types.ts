/**
 * The wire model shared by every transport: what `google.longrunning.Operations`
 * sends and receives, independent of gRPC, google-gax or REST.
 * @module
 */

/**
 * A `google.protobuf.Any`: a type URL plus the message, either as protobuf
 * bytes (`value`, from gRPC) or as proto3 JSON fields (`json`, from REST, without
 * the `@type` key).
 *
 * @example
 * ```ts
 * const any: AnyMessage = { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: new Uint8Array() };
 * ```
 */
export interface AnyMessage {
  /** `type.googleapis.com/<full.message.Name>` (any prefix up to the last `/` is accepted). */
  typeUrl: string;
  /** The message in protobuf binary form. */
  value?: Uint8Array;
  /** The message in proto3 JSON form, `@type` removed. */
  json?: Record<string, unknown>;
}

/**
 * A `google.rpc.Status`: the error an operation ended with, or an RPC failed with.
 *
 * @example
 * ```ts
 * const status: RpcStatus = { code: 5, message: 'bucket not found', details: [] };
 * ```
 */
export interface RpcStatus {
  /** Canonical gRPC code (see {@link Code}). */
  code: number;
  /** Developer-facing message. */
  message: string;
  /** Error details, usually `google.rpc.*` messages (ErrorInfo, RetryInfo, BadRequest, …). */
  details: AnyMessage[];
}

/**
 * A `google.longrunning.Operation` as a transport returns it.
 *
 * @example
 * ```ts
 * const op: OperationResource = { name: 'operations/42', done: false };
 * ```
 */
export interface OperationResource {
  /** Server-assigned name; empty only for a validate-only call that is already done. */
  name: string;
  /** Whether the operation has ended. */
  done: boolean;
  /** Service-specific progress information. */
  metadata?: AnyMessage;
  /** Set when the operation ended with an error. */
  error?: RpcStatus;
  /** Set when the operation ended with a result. */
  response?: AnyMessage;
}

/**
 * Options every transport call accepts.
 *
 * @example
 * ```ts
 * await transport.getOperation('operations/42', { signal: AbortSignal.timeout(5_000), timeoutMs: 2_000 });
 * ```
 */
export interface CallOptions {
  /** Aborts the call; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Deadline for this one call, in milliseconds; exceeding it rejects with `RpcError` DEADLINE_EXCEEDED. */
  timeoutMs?: number;
}

/**
 * Request of `ListOperations`.
 *
 * @example
 * ```ts
 * const request: ListOperationsRequest = { name: 'operations', filter: 'done=false', pageSize: 50 };
 * ```
 */
export interface ListOperationsRequest {
  /** The collection (or parent) whose operations are listed. */
  name: string;
  /** Server-defined filter expression. */
  filter?: string;
  /** Maximum number of operations in one page. */
  pageSize?: number;
  /** Token of the page to fetch, from a previous `nextPageToken`. */
  pageToken?: string;
  /**
   * Return the operations that can be reached and name the rest in
   * `unreachable`, instead of failing (reads across collections, such as
   * `projects/p/locations/-`). Services that do not support it answer UNIMPLEMENTED.
   */
  returnPartialSuccess?: boolean;
}

/**
 * Response of `ListOperations`.
 *
 * @example
 * ```ts
 * const page: ListOperationsResponse = { operations: [], nextPageToken: '' };
 * ```
 */
export interface ListOperationsResponse {
  /** The operations of this page. */
  operations: OperationResource[];
  /** Token of the next page; empty on the last page. */
  nextPageToken: string;
  /**
   * Resources (such as locations) that could not be reached when the request
   * asked for `returnPartialSuccess`; absent or empty otherwise.
   */
  unreachable?: string[];
}

/**
 * The client side of `google.longrunning.Operations`. Every method rejects with
 * `RpcError` (canonical gRPC code) when the call fails, or with the signal's
 * reason when aborted.
 *
 * @example
 * ```ts
 * const transport = grpcTransport({ address: '127.0.0.1:50051' });
 * const op = await transport.getOperation('operations/42');
 * ```
 */
export interface OperationsTransport {
  /**
   * `GetOperation`: the latest state of an operation.
   *
   * @example
   * ```ts
   * const latest = await transport.getOperation('operations/42');
   * ```
   */
  getOperation(name: string, options?: CallOptions): Promise<OperationResource>;
  /**
   * `WaitOperation`: blocks until the operation is done or `timeoutMs` passes
   * (best effort: it may return early, not done). Absent when the transport
   * cannot call it at all.
   *
   * @example
   * ```ts
   * const latest = await transport.waitOperation?.('operations/42', 30_000);
   * ```
   */
  waitOperation?(name: string, timeoutMs: number, options?: CallOptions): Promise<OperationResource>;
  /**
   * `CancelOperation`: asks the server to cancel; the operation then ends with CANCELLED.
   *
   * @example
   * ```ts
   * await transport.cancelOperation('operations/42');
   * ```
   */
  cancelOperation(name: string, options?: CallOptions): Promise<void>;
  /**
   * `DeleteOperation`: the client is no longer interested in the result.
   *
   * @example
   * ```ts
   * await transport.deleteOperation('operations/42');
   * ```
   */
  deleteOperation(name: string, options?: CallOptions): Promise<void>;
  /**
   * `ListOperations`: one page of operations.
   *
   * @example
   * ```ts
   * const { operations, nextPageToken } = await transport.listOperations({ name: 'operations', pageSize: 50 });
   * ```
   */
  listOperations(request: ListOperationsRequest, options?: CallOptions): Promise<ListOperationsResponse>;
  /**
   * How many calls the operations watched over this transport may keep in
   * flight together (optional; defaults suit one HTTP/2 connection).
   *
   * @example
   * ```ts
   * const transport: OperationsTransport = { ...memoryTransport(service), limits: { maxCalls: 64 } };
   * ```
   */
  readonly limits?: TransportLimits;
}

/**
 * Canonical gRPC status codes (`google.rpc.Code`).
 *
 * @example
 * ```ts
 * if (err instanceof RpcError && err.code === Code.UNAVAILABLE) retryLater();
 * ```
 */
export const Code = {
  /** Not an error. */
  OK: 0,
  /** The operation was cancelled, typically by the caller (a cancelled long-running operation ends with this code). */
  CANCELLED: 1,
  /** Unknown error. */
  UNKNOWN: 2,
  /** The client specified an invalid argument. */
  INVALID_ARGUMENT: 3,
  /** The deadline expired before the call completed (from WaitOperation: "not done yet"). */
  DEADLINE_EXCEEDED: 4,
  /** The operation (or collection) does not exist. */
  NOT_FOUND: 5,
  /** The entity the client tried to create already exists. */
  ALREADY_EXISTS: 6,
  /** The caller may not do this. */
  PERMISSION_DENIED: 7,
  /** A quota or resource is exhausted. */
  RESOURCE_EXHAUSTED: 8,
  /** The system is not in a state required for the operation. */
  FAILED_PRECONDITION: 9,
  /** Aborted, typically by a concurrency conflict. */
  ABORTED: 10,
  /** Out of the valid range. */
  OUT_OF_RANGE: 11,
  /** The server does not implement the method (e.g. WaitOperation); the client falls back to polling. */
  UNIMPLEMENTED: 12,
  /** Internal error of the server. */
  INTERNAL: 13,
  /** The service is unavailable for now; retried while waiting. */
  UNAVAILABLE: 14,
  /** Unrecoverable data loss or corruption. */
  DATA_LOSS: 15,
  /** The request lacks valid credentials. */
  UNAUTHENTICATED: 16,
} as const;

/**
 * A canonical gRPC status code number.
 *
 * @example
 * ```ts
 * const code: CodeNumber = Code.NOT_FOUND; // 5
 * ```
 */
export type CodeNumber = (typeof Code)[keyof typeof Code];

/**
 * The name of a canonical code (`'NOT_FOUND'` for 5), or `'CODE_<n>'` for an unknown number.
 *
 * @example
 * ```ts
 * codeName(14); // 'UNAVAILABLE'
 * ```
 */
export function codeName(code: number): string {
  for (const [name, value] of Object.entries(Code)) {
    if (value === code) return name;
  }
  return `CODE_${code}`;
}

/**
 * How many calls a transport's engine keeps in flight. Set them as a transport's
 * `limits`; the engine shared by every operation on the transport reads them once.
 *
 * @example
 * ```ts
 * const limits: TransportLimits = { maxCalls: 64, maxWaitCalls: 32 };
 * ```
 */
export interface TransportLimits {
  /** Short calls (Get, Cancel, Delete, List) in flight at once; more wait in a queue, first come first served. Default 64 (measured: at 50,000 pending operations on one loopback channel, 64 resolved a mass completion faster than 32 or 128 and kept the event loop's p99 near 50 ms; 512 doubled it). */
  maxCalls?: number;
  /** WaitOperation calls held open at once; operations beyond it poll with GetOperation until a slot frees. Default 256. */
  maxWaitCalls?: number;
}

