/**
 * One transport call with a deadline and an abort signal: the loop never
 * trusts a transport to honour either, so a hung call cannot hang the loop.
 * @module
 */
import { RpcError, abortReason } from '../errors.js';
import { Code } from '../types.js';
import type { Clock } from './clock.js';

/**
 * Runs `fn` with a signal that fires when `signal` aborts or `timeoutMs`
 * passes. Rejects with the parent's abort reason, or with RpcError
 * DEADLINE_EXCEEDED at the deadline, even if `fn` never settles. The timer is
 * always cleared.
 */
export async function callWithDeadline<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: { signal: AbortSignal; timeoutMs: number; clock: Clock; what: string },
): Promise<T> {
  const { signal, timeoutMs, clock, what } = options;
  signal.throwIfAborted();
  const child = new AbortController();
  const onParentAbort = (): void => child.abort(abortReason(signal));
  signal.addEventListener('abort', onParentAbort, { once: true });
  try {
    const deadline = clock.sleep(timeoutMs, child.signal).then(
      () => {
        const err = new RpcError(Code.DEADLINE_EXCEEDED, `${what}: no answer within ${timeoutMs} ms`);
        child.abort(err);
        throw err;
      },
      () => new Promise<never>(() => undefined), // cleared: never settles, the race is decided elsewhere
    );
    const aborted = new Promise<never>((_, reject) => {
      if (child.signal.aborted) reject(abortReason(child.signal));
      child.signal.addEventListener('abort', () => reject(abortReason(child.signal)), { once: true });
    });
    aborted.catch(() => undefined);
    const call = Promise.resolve().then(() => fn(child.signal));
    call.catch(() => undefined); // a call that lost the race may still reject later
    return await Promise.race([call, deadline, aborted]);
  } finally {
    signal.removeEventListener('abort', onParentAbort);
    if (!child.signal.aborted) child.abort(new DOMException('call finished', 'AbortError'));
  }
}
