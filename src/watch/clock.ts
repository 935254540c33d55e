/**
 * Time as a value: the loop never touches timers or randomness directly, so a
 * test can swap the clock for a scripted one.
 * @module
 */
import { abortReason } from '../errors.js';

/**
 * Time source of the watch loop: current time, an abortable sleep and a random
 * number in [0, 1) for jitter.
 *
 * @example
 * ```ts
 * const clock: Clock = { ...systemClock, random: () => 0.5 };
 * ```
 */
export interface Clock {
  /**
   * Milliseconds since an arbitrary origin (monotonic when possible).
   *
   * @example
   * ```ts
   * const started = clock.now();
   * ```
   */
  now(): number;
  /**
   * Resolves after `ms` have passed on {@link Clock.now}; rejects with the
   * signal's reason when aborted, clearing its timer. (Every sleeping
   * operation shares one timer per clock, armed through this.)
   *
   * @example
   * ```ts
   * await clock.sleep(1000, signal);
   * ```
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * A number in [0, 1).
   *
   * @example
   * ```ts
   * const jittered = Math.floor(clock.random() * capMs);
   * ```
   */
  random(): number;
}

/**
 * The real clock: `Date.now`, `setTimeout`, `Math.random` (looked up at call
 * time, so Jest's fake timers drive it too).
 *
 * @example
 * ```ts
 * await systemClock.sleep(100, AbortSignal.timeout(50)); // rejects with a TimeoutError
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) => sleep(ms, signal),
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
