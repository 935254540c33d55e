/**
 * Retrying transient RPC failures with p-retry. The first attempt is made by
 * the caller, bare; only after a retryable failure does p-retry take over.
 * p-retry runs with no delay of its own: the delay is slept on the clock's
 * timer queue inside `shouldRetry`, so it follows the retry backoff (full
 * jitter) or the server's RetryInfo hint (clamped), and honours the abort
 * signal at every await.
 * @module
 */
import pRetry, { AbortError } from 'p-retry';
import { RpcError, abortReason } from '../errors.js';
import { Code } from '../types.js';
import { retryDelayFromDetails } from '../codec/status.js';
import { Backoff, clampHint, type RetryPolicy } from './policy.js';

/**
 * True when the policy retries this error: a listed code, a server hint
 * (RetryInfo) to retry, or CANCELLED. The loop's own aborts never get here
 * (they end the retries first), so a CANCELLED is one the client did not ask
 * for: the server or a proxy reset the call (a grpc-js server shutting down
 * reports its in-flight calls so), which says nothing about the operation.
 */
export function isRetryable(err: unknown, policy: RetryPolicy): err is RpcError {
  if (!(err instanceof RpcError)) return false;
  return policy.codes.has(err.code) || err.code === Code.CANCELLED || retryDelayFromDetails(err.details) !== undefined;
}

/** What a retry sequence needs besides the attempt. */
export interface RetryContext {
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly signal: AbortSignal;
  /** Called before each retry with the failure, the retry's number (1-based) and its delay. */
  readonly onRetry?: (error: RpcError, attempt: number, delayMs: number) => void;
}

/**
 * Retries `attempt` after its first try failed with `firstError`: until it
 * succeeds, a non-retryable error occurs, the retries are used up (rejecting
 * with the last error), or `signal` aborts (rejecting with its reason).
 * Callers check {@link isRetryable} and `retries > 0` first.
 */
export async function retryAfterFailure<T>(firstError: RpcError, attempt: () => Promise<T>, context: RetryContext): Promise<T> {
  const { retry, signal } = context;
  const backoff = new Backoff(retry.backoff, context.random);
  let retryNumber = 0;
  const pause = (error: RpcError): Promise<void> => {
    const hint = retryDelayFromDetails(error.details);
    const delay = hint === undefined ? backoff.next() : clampHint(hint, retry.backoff.maxDelayMs);
    context.onRetry?.(error, ++retryNumber, delay);
    return context.sleep(delay, signal);
  };
  const guarded = async (): Promise<T> => {
    try {
      return await attempt();
    } catch (err) {
      // An abort ends the retries at once; the signal's own reason is rethrown below.
      if (signal.aborted) throw new AbortError('aborted');
      throw err;
    }
  };
  try {
    await pause(firstError);
    return await pRetry(guarded, {
      retries: retry.retries - 1,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      signal,
      shouldRetry: async ({ error }) => {
        if (!isRetryable(error, retry)) return false;
        await pause(error);
        return true;
      },
    });
  } catch (err) {
    if (signal.aborted) throw abortReason(signal);
    throw err;
  }
}
