/**
 * One transport call with a deadline and an abort signal: the loop never
 * trusts a transport to honour either, so a hung call cannot hang the loop.
 * @module
 */
import { RpcError, abortReason } from '../errors.js';
import { Code } from '../types.js';
import type { Clock } from './clock.js';

/** The reason a call's own signal is aborted with once the call has settled (it stops the deadline timer). */
const CALL_FINISHED = new DOMException('call finished', 'AbortError');

/**
 * Runs `fn` with a signal that fires when `signal` aborts or `timeoutMs`
 * passes. Rejects with the parent's abort reason, or with RpcError
 * DEADLINE_EXCEEDED at the deadline, even if `fn` never settles. The timer is
 * always cleared. One promise per call: the call, the deadline and the abort
 * all settle it through `settle`, the first one wins.
 */
export function callWithDeadline<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: { signal: AbortSignal; timeoutMs: number; clock: Clock; what: string },
): Promise<T> {
  const { signal, timeoutMs, clock, what } = options;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const child = new AbortController();
    let settled = false;
    const settle = (ok: boolean, value: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onParentAbort);
      if (!child.signal.aborted) child.abort(CALL_FINISHED);
      if (ok) resolve(value as T);
      else reject(value);
    };
    const onParentAbort = (): void => {
      const reason = abortReason(signal);
      child.abort(reason);
      settle(false, reason);
    };
    signal.addEventListener('abort', onParentAbort, { once: true });
    clock.sleep(timeoutMs, child.signal).then(
      () => {
        const err = new RpcError(Code.DEADLINE_EXCEEDED, `${what}: no answer within ${timeoutMs} ms`);
        child.abort(err);
        settle(false, err);
      },
      () => undefined, // cleared when the call settled or was aborted
    );
    // Started a microtask later, so a caller that aborts synchronously afterwards still wins.
    Promise.resolve()
      .then(() => fn(child.signal))
      .then(
        (value) => settle(true, value),
        (err: unknown) => settle(false, err),
      );
  });
}
