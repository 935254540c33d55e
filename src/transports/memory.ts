/**
 * An in-process transport: calls an Operations service object directly, with
 * what a network would add for correctness: copies (no shared mutable state),
 * an async boundary, abort and deadline handling.
 * @module
 */
import { RpcError, abortReason } from '../errors.js';
import { Code, type CallOptions, type OperationsTransport } from '../types.js';

/**
 * Wraps a server-side Operations implementation as a client transport, with no
 * sockets. Results are deep copies; `signal` aborts the call (rejecting with
 * its reason) and reaches the service; `timeoutMs` rejects with
 * DEADLINE_EXCEEDED and aborts the service's signal.
 *
 * @example
 * ```ts
 * const transport = memoryTransport(myOperationsService);
 * await transport.getOperation('operations/1');
 * ```
 */
export function memoryTransport(service: OperationsTransport): OperationsTransport {
  // Methods are looked up at call time, so a test (or a fault layer) may wrap them later.
  const transport: OperationsTransport = {
    getOperation: (name, options = {}) => invoke((signal, timeoutMs) => service.getOperation(name, { signal, timeoutMs }), options),
    cancelOperation: (name, options = {}) => invoke((signal, timeoutMs) => service.cancelOperation(name, { signal, timeoutMs }), options),
    deleteOperation: (name, options = {}) => invoke((signal, timeoutMs) => service.deleteOperation(name, { signal, timeoutMs }), options),
    listOperations: (request, options = {}) =>
      invoke((signal, timeoutMs) => service.listOperations(structuredClone(request), { signal, timeoutMs }), options),
  };
  if (typeof service.waitOperation === 'function') {
    transport.waitOperation = (name, waitMs, options = {}) =>
      invoke((signal, timeoutMs) => service.waitOperation!(name, waitMs, { signal, timeoutMs }), options);
  }
  return transport;
}

/** The reason the service's signal is aborted with once a call has settled. */
const CALL_FINISHED = new DOMException('call finished', 'AbortError');

async function invoke<R>(fn: (signal: AbortSignal, timeoutMs: number | undefined) => Promise<R>, options: CallOptions): Promise<R> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw abortReason(signal);
  await Promise.resolve(); // an async boundary, as on a network
  if (signal?.aborted) throw abortReason(signal);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => {
        controller.abort(abortReason(signal!));
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // A deadline longer than setTimeout can hold (2^31-1 ms, about 24.8 days) is treated as none.
      if (timeoutMs !== undefined && timeoutMs <= 2_147_483_647) {
        timer = setTimeout(() => {
          const err = new RpcError(Code.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`);
          controller.abort(err);
          reject(err);
        }, timeoutMs);
      }
    });
    const call = fn(controller.signal, timeoutMs);
    call.catch(() => undefined);
    return structuredClone(await Promise.race([call, stopped]));
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted) controller.abort(CALL_FINISHED);
  }
}
