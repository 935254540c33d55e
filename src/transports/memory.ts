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
  const wrap =
    <A extends unknown[], R>(method: (...args: [...A, CallOptions]) => Promise<R>) =>
    (...args: [...A, CallOptions | undefined]): Promise<R> => {
      const options = (args.pop() as CallOptions | undefined) ?? {};
      return invoke((signal, timeoutMs) => method.call(service, ...(args as unknown as A), { signal, timeoutMs }), options);
    };
  const transport: OperationsTransport = {
    getOperation: (name, options) => wrap<[string], Awaited<ReturnType<OperationsTransport['getOperation']>>>(service.getOperation)(name, options),
    cancelOperation: (name, options) => wrap<[string], void>(service.cancelOperation)(name, options),
    deleteOperation: (name, options) => wrap<[string], void>(service.deleteOperation)(name, options),
    listOperations: (request, options) =>
      wrap<[typeof request], Awaited<ReturnType<OperationsTransport['listOperations']>>>(service.listOperations)(structuredClone(request), options),
  };
  if (typeof service.waitOperation === 'function') {
    const wait = service.waitOperation;
    transport.waitOperation = (name, timeoutMs, options) =>
      wrap<[string, number], Awaited<ReturnType<OperationsTransport['getOperation']>>>(wait)(name, timeoutMs, options);
  }
  return transport;
}

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
      if (timeoutMs !== undefined) {
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
    if (!controller.signal.aborted) controller.abort(new DOMException('call finished', 'AbortError'));
  }
}
