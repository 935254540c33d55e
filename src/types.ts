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
  /** `GetOperation`: the latest state of an operation. */
  getOperation(name: string, options?: CallOptions): Promise<OperationResource>;
  /**
   * `WaitOperation`: blocks until the operation is done or `timeoutMs` passes
   * (best effort: it may return early, not done). Absent when the transport
   * cannot call it at all.
   */
  waitOperation?(name: string, timeoutMs: number, options?: CallOptions): Promise<OperationResource>;
  /** `CancelOperation`: asks the server to cancel; the operation then ends with CANCELLED. */
  cancelOperation(name: string, options?: CallOptions): Promise<void>;
  /** `DeleteOperation`: the client is no longer interested in the result. */
  deleteOperation(name: string, options?: CallOptions): Promise<void>;
  /** `ListOperations`: one page of operations. */
  listOperations(request: ListOperationsRequest, options?: CallOptions): Promise<ListOperationsResponse>;
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
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A canonical gRPC status code number. */
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
