/**
 * Every error this library throws. Each class has a stable `name`, so code can
 * branch on `err.name` across module copies as well as with `instanceof`.
 * @module
 */
import { Code, codeName, type RpcStatus } from './types.js';

/**
 * An error detail decoded from a `google.protobuf.Any` into its proto3 JSON
 * form: `'@type'` is the type URL, the other keys are the message's fields.
 * A detail whose type is unknown keeps its raw bytes as base64 in `value`.
 *
 * @example
 * ```ts
 * const retry = err.details.find((d) => d['@type'].endsWith('google.rpc.RetryInfo'));
 * ```
 */
export type DecodedDetail = {
  /** The detail's type URL, e.g. `type.googleapis.com/google.rpc.ErrorInfo`. */
  '@type': string;
} & Record<string, unknown>;

/**
 * Base class of every error of this library.
 *
 * @example
 * ```ts
 * try { await op.promise(); } catch (err) { if (err instanceof LongRunningError) console.error(err.name); }
 * ```
 */
export class LongRunningError extends Error {
  /** Stable class name (`'LongRunningError'`; subclasses set their own), for checks across module copies. */
  override name: string = 'LongRunningError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A transport call failed. `code` is the canonical gRPC code (HTTP statuses are
 * mapped); `details` are the decoded `google.rpc.Status` details, if any.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof RpcError && err.code === Code.NOT_FOUND) … }
 * ```
 */
export class RpcError extends LongRunningError {
  /** Always `'RpcError'`. */
  override name = 'RpcError';
  /** Canonical gRPC code. */
  readonly code: number;
  /** Decoded error details (ErrorInfo, RetryInfo, …). */
  readonly details: DecodedDetail[];
  /** The server's message, without the code prefix. */
  readonly rawMessage: string;
  constructor(code: number, message: string, options?: { details?: DecodedDetail[]; cause?: unknown }) {
    super(`${codeName(code)}: ${message}`, { cause: options?.cause });
    this.code = code;
    this.rawMessage = message;
    this.details = options?.details ?? [];
  }
}

/**
 * The operation ended with `error`. `status` is the raw `google.rpc.Status`;
 * `details` are its details decoded.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof OperationFailedError) console.log(err.code, err.details); }
 * ```
 */
export class OperationFailedError extends LongRunningError {
  /** Always `'OperationFailedError'`. */
  override name = 'OperationFailedError';
  /** Canonical gRPC code of the operation's error. */
  readonly code: number;
  /** The raw status the operation ended with. */
  readonly status: RpcStatus;
  /** The status details, decoded. */
  readonly details: DecodedDetail[];
  /** Name of the operation that failed. */
  readonly operationName: string;
  constructor(operationName: string, status: RpcStatus, details: DecodedDetail[]) {
    super(`operation ${operationName} failed with ${codeName(status.code)}: ${status.message}`);
    this.operationName = operationName;
    this.code = status.code;
    this.status = status;
    this.details = details;
  }
}

/**
 * The operation ended with CANCELLED (code 1), usually after `cancel()`.
 *
 * @example
 * ```ts
 * await op.cancel();
 * await op.promise().catch((err) => err instanceof OperationCancelledError);
 * ```
 */
export class OperationCancelledError extends OperationFailedError {
  /** Always `'OperationCancelledError'`. */
  override name = 'OperationCancelledError';
}

/**
 * Waiting took longer than the `timeoutMs` asked for. Only the local wait
 * ended: the operation may still be running on the server, and `operation`
 * can be awaited again.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof OperationTimeoutError) save(err.operation.toJSON()); }
 * ```
 */
export class OperationTimeoutError<TOperation = unknown> extends LongRunningError {
  /** Always `'OperationTimeoutError'`. */
  override name = 'OperationTimeoutError';
  /** The operation that was being waited for (a `LongRunningOperation`). */
  readonly operation: TOperation;
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(operationName: string, timeoutMs: number, operation: TOperation) {
    super(`timed out after ${timeoutMs} ms waiting for operation ${operationName}; it may still be running`);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * An `Any` could not be decoded: no decoder for its type URL, or bytes/JSON
 * that do not match the type.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof DecodeError) console.error('register', err.typeUrl); }
 * ```
 */
export class DecodeError extends LongRunningError {
  /** Always `'DecodeError'`. */
  override name = 'DecodeError';
  /** The type URL that failed to decode. */
  readonly typeUrl: string;
  constructor(typeUrl: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.typeUrl = typeUrl;
  }
}

/**
 * A resource, token or argument that breaks the long-running operations API's
 * rules (both `error` and `response`, a non-string name, a malformed `Any`, …).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof InvalidOperationError) reportServerBug(err.message); }
 * ```
 */
export class InvalidOperationError extends LongRunningError {
  /** Always `'InvalidOperationError'`. */
  override name = 'InvalidOperationError';
}

/**
 * A wait reached a polling limit (`polling.maxPolls` or `polling.maxPollingMs`)
 * before the operation was done; the operation may still be running on the
 * server. Distinct from {@link OperationTimeoutError} (`timeoutMs`).
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof PollingLimitError && err.limit === 'maxPolls') … }
 * ```
 */
export class PollingLimitError extends LongRunningError {
  /** Always `'PollingLimitError'`. */
  override name = 'PollingLimitError';
  constructor(
    /** The operation's name. */
    readonly operationName: string,
    /** Which limit was reached. */
    readonly limit: 'maxPolls' | 'maxPollingMs',
    /** The limit's value. */
    readonly value: number,
    /** Polls made in this wait. */
    readonly polls: number,
  ) {
    super(
      limit === 'maxPolls'
        ? `operation ${operationName} is not done after ${polls} polls (polling.maxPolls = ${value}); it may still be running on the server`
        : `operation ${operationName} is not done after polling for ${value} ms (polling.maxPollingMs, ${polls} polls); it may still be running on the server`,
    );
  }
}

/**
 * A function that needs Node.js was called in the browser build of
 * `longrunning` (the package's `browser`, `worker`, `workerd` and
 * `edge-light` conditions): `grpcTransport`, `gaxTransport` and
 * `fromGaxOperation` run on @grpc/grpc-js or google-gax, which need Node's
 * sockets. Use `restTransport` there, or run the code on Node.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof UnsupportedRuntimeError) console.error(err.feature, 'needs Node.js'); }
 * ```
 */
export class UnsupportedRuntimeError extends LongRunningError {
  /** Always `'UnsupportedRuntimeError'`. */
  override name = 'UnsupportedRuntimeError';
  /** The function that was called, e.g. `'grpcTransport'`. */
  readonly feature: string;
  constructor(feature: string, message: string) {
    super(message);
    this.feature = feature;
  }
}

/** True when `err` is an {@link RpcError} with the given code. */
export function isRpcCode(err: unknown, code: number): err is RpcError {
  return err instanceof RpcError && err.code === code;
}

/** The default reason used when a signal is aborted without one. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export { Code };
