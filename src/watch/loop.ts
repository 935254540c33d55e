/**
 * The watch loop: advances one operation until it is done, by WaitOperation
 * where the server has it and GetOperation polling otherwise. It knows nothing
 * of events or decoding: it hands each answer to a {@link WatchTarget}.
 * @module
 */
import { abortReason, isRpcCode } from '../errors.js';
import { Code, type OperationsTransport } from '../types.js';
import { callWithDeadline } from './call.js';
import type { Clock } from './clock.js';
import { Backoff, type PollingPolicy, type RetryPolicy } from './policy.js';
import { withRetry } from './retry.js';

/** What the loop advances. */
export interface WatchTarget {
  /** Operation name sent with every call. */
  readonly name: string;
  /** Takes one server answer; returns true when the operation is done. Throws to end the loop. */
  apply(resource: unknown): boolean;
  /** True while someone wants progress, which caps each WaitOperation at the progress interval. */
  wantsProgress(): boolean;
}

/** The loop's settings, all validated. */
export interface WatchConfig {
  transport: OperationsTransport;
  clock: Clock;
  polling: PollingPolicy;
  retry: RetryPolicy;
  waitOperation: 'auto' | 'never';
  /** Timeout sent with each WaitOperation when nobody wants progress. */
  waitTimeoutMs: number;
  /** Timeout sent with each WaitOperation while someone wants progress. */
  progressIntervalMs: number;
  /** Deadline of each GetOperation call. */
  rpcTimeoutMs: number;
  /** How much longer than its `timeout` a WaitOperation call may take before its deadline. */
  waitGraceMs: (timeoutMs: number) => number;
}

/** Per-run switches. */
export interface WatchRun {
  /** Poll at once instead of after the first backoff delay. */
  pollImmediately: boolean;
  /** Aborted to end the run. */
  signal: AbortSignal;
  /** While the loop sleeps, `current` cuts the sleep short so it polls now (for example after cancel()). */
  wake?: { current?: () => void };
}

const lacksWaitOperation = new WeakMap<OperationsTransport, true>();

/** True once WaitOperation answered UNIMPLEMENTED on this transport (or it has none). */
export function waitOperationUnavailable(transport: OperationsTransport): boolean {
  return typeof transport.waitOperation !== 'function' || lacksWaitOperation.has(transport);
}

const pollRetries = new WeakMap<RetryPolicy, RetryPolicy>();

/** The retry policy of GetOperation polls: the configured one plus DEADLINE_EXCEEDED (computed once per policy). */
function pollRetryPolicy(retry: RetryPolicy): RetryPolicy {
  let policy = pollRetries.get(retry);
  if (!policy) {
    policy = Object.freeze({ ...retry, codes: new Set([...retry.codes, Code.DEADLINE_EXCEEDED]) });
    pollRetries.set(retry, policy);
  }
  return policy;
}

/** A WaitOperation shorter than this share of its timeout counts as an early return. */
const EARLY_RETURN_SHARE = 0.5;

/** Runs the loop until the target is done; rejects with the first non-retryable failure or the abort reason. */
export async function watch(target: WatchTarget, config: WatchConfig, run: WatchRun): Promise<void> {
  const { transport, clock, signal } = { ...config, signal: run.signal };
  const backoff = new Backoff(config.polling, clock.random);
  let delayNextPoll = !run.pollImmediately;

  // A poll that got no answer in time (a lost packet, a server stalled for a
  // moment) says nothing about the operation, and GetOperation is idempotent:
  // DEADLINE_EXCEEDED from it is retried like UNAVAILABLE (as google-gax does).
  const pollRetry = pollRetryPolicy(config.retry);
  const call = <T>(what: string, timeoutMs: number, fn: (s: AbortSignal) => Promise<T>, retry = config.retry): Promise<T> =>
    withRetry(() => callWithDeadline(fn, { signal, timeoutMs, clock, what: `${what} ${target.name}` }), {
      retry,
      backoff: config.polling,
      clock,
      signal,
    });

  const pause = async (ms: number): Promise<void> => {
    const sleep = new AbortController();
    const onAbort = (): void => sleep.abort(abortReason(signal));
    let woken = false;
    signal.addEventListener('abort', onAbort, { once: true });
    if (run.wake) {
      run.wake.current = () => {
        woken = true;
        sleep.abort(new DOMException('woken up', 'AbortError'));
      };
    }
    try {
      await clock.sleep(ms, sleep.signal);
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      if (!woken) throw err;
      backoff.reset(); // woken up: poll now, and start the schedule over
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (run.wake) run.wake.current = undefined;
    }
  };

  for (;;) {
    signal.throwIfAborted();
    if (config.waitOperation === 'auto' && !waitOperationUnavailable(transport)) {
      const timeoutMs = target.wantsProgress() ? Math.min(config.waitTimeoutMs, config.progressIntervalMs) : config.waitTimeoutMs;
      const started = clock.now();
      let answer: unknown;
      let answered = false;
      try {
        answer = await call('WaitOperation', timeoutMs + config.waitGraceMs(timeoutMs), (s) =>
          transport.waitOperation!(target.name, timeoutMs, { signal: s, timeoutMs: timeoutMs + config.waitGraceMs(timeoutMs) }),
        );
        answered = true;
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (isRpcCode(err, Code.UNIMPLEMENTED)) {
          lacksWaitOperation.set(transport, true);
          continue; // poll on the usual schedule: after the first delay for a fresh resource, at once for a name
        }
        if (!isRpcCode(err, Code.DEADLINE_EXCEEDED)) throw err; // DEADLINE_EXCEEDED: not done yet
      }
      if (answered && target.apply(answer)) return;
      if (clock.now() - started < timeoutMs * EARLY_RETURN_SHARE) await pause(backoff.next());
      else backoff.reset();
    } else {
      if (delayNextPoll) await pause(backoff.next());
      delayNextPoll = true;
      const answer = await call(
        'GetOperation',
        config.rpcTimeoutMs,
        (s) => transport.getOperation(target.name, { signal: s, timeoutMs: config.rpcTimeoutMs }),
        pollRetry,
      );
      if (target.apply(answer)) return;
    }
  }
}
