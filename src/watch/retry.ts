/**
 * Retrying transient RPC failures with p-retry. p-retry runs with no delay of
 * its own; the delay is slept on the injected clock inside `shouldRetry`, so it
 * follows the policy's backoff (or the server's RetryInfo hint) and honours
 * the abort signal at every await.
 * @module
 */
import pRetry, { AbortError } from 'p-retry';
import { RpcError, abortReason } from '../errors.js';
import { Code } from '../types.js';
import { retryDelayFromDetails } from '../codec/status.js';
import { Backoff, clampHint, type PollingPolicy, type RetryPolicy } from './policy.js';
import type { Clock } from './clock.js';

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

/**
 * Calls `attempt` until it succeeds, a non-retryable error occurs, the
 * retries are used up, or `signal` aborts (rejecting with its reason). The
 * first attempt runs bare: p-retry and the backoff are set up only after a
 * retryable failure, so the common path costs one call and nothing more.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  options: { retry: RetryPolicy; backoff: PollingPolicy; clock: Clock; signal: AbortSignal; onRetry?: (err: RpcError, delayMs: number) => void },
): Promise<T> {
  const { retry, clock, signal } = options;
  try {
    return await attempt();
  } catch (err) {
    if (signal.aborted) throw abortReason(signal);
    if (retry.retries === 0 || !isRetryable(err, retry)) throw err;
    const backoff = new Backoff(options.backoff, clock.random);
    await pauseBeforeRetry(err, backoff, options);
    return retryWithPRetry(attempt, backoff, { ...options, retries: retry.retries - 1 });
  }
}

/** Sleeps the delay before a retry: the server's RetryInfo hint (clamped) or the next backoff step. */
async function pauseBeforeRetry(
  error: RpcError,
  backoff: Backoff,
  options: { backoff: PollingPolicy; clock: Clock; signal: AbortSignal; onRetry?: (err: RpcError, delayMs: number) => void },
): Promise<void> {
  const hint = retryDelayFromDetails(error.details);
  const delay = hint === undefined ? backoff.next() : clampHint(hint, options.backoff.maxDelayMs);
  options.onRetry?.(error, delay);
  await options.clock.sleep(delay, options.signal);
}

/** The retries after the first: p-retry with no delay of its own, sleeping on the injected clock in `shouldRetry`. */
async function retryWithPRetry<T>(
  attempt: () => Promise<T>,
  backoff: Backoff,
  options: { retry: RetryPolicy; retries: number; backoff: PollingPolicy; clock: Clock; signal: AbortSignal; onRetry?: (err: RpcError, delayMs: number) => void },
): Promise<T> {
  const { retry, signal } = options;
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
    return await pRetry(guarded, {
      retries: options.retries,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      signal,
      shouldRetry: async ({ error }) => {
        if (!isRetryable(error, retry)) return false;
        await pauseBeforeRetry(error, backoff, options);
        return true;
      },
    });
  } catch (err) {
    if (signal.aborted) throw abortReason(signal);
    throw err;
  }
}
