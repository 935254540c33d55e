/**
 * Polling and retry policies: small values the loop consults, so a test or a
 * user can swap one without touching the loop.
 * @module
 */
import { Code } from '../types.js';

/**
 * How long to sleep between polls: exponential backoff, capped. By default
 * the delays are exact (polls of different operations are spread by their
 * start times already; random jitter only made results arrive later in the
 * measurements against google-gax); `jitter: true` draws each delay uniformly
 * from [0, cap). While the metadata reports progress, the next poll is timed
 * by it (never later than the backoff).
 *
 * @example
 * ```ts
 * const polling: PollingOptions = { initialDelayMs: 500, multiplier: 1.5, maxDelayMs: 30_000, maxPolls: 100 };
 * ```
 */
export interface PollingOptions {
  /** The first delay. Default 110. */
  initialDelayMs?: number;
  /** Growth of the delay per poll. Default 1.21. */
  multiplier?: number;
  /** Largest delay. Default 60_000, the same ceiling as google-gax. */
  maxDelayMs?: number;
  /** Full jitter on the polling delays (default false: exact delays). */
  jitter?: boolean;
  /**
   * Time the next poll by the progress the metadata reports (a percentage or
   * done/total counts): when it advances, the completion time is estimated
   * from the observed rate and the next poll comes just after it. While the
   * progress is irregular (steps, acceleration, stalls) the estimate only
   * shortens the backoff; once each new reading lands on the line the earlier
   * ones drew, it may also skip backoff polls, reaching at most twice as far
   * ahead as progress has been watched, with one check on the way to a far
   * estimate. Default true.
   */
  followProgress?: boolean;
  /**
   * Chooses the next delay yourself: called with the latest snapshot and the
   * delay the schedule suggests; return a number of ms, or undefined to keep
   * the suggestion. A hook that throws ends the wait with its error.
   */
  nextDelay?: (snapshot: { name: string; done: boolean; metadata?: unknown; polls: number; elapsedMs: number }, suggestedMs: number) => number | undefined;
  /** At most this many GetOperation polls per wait; then the wait rejects with PollingLimitError. */
  maxPolls?: number;
  /** At most this long polling per wait; then the wait rejects with PollingLimitError. Distinct from `timeoutMs`. */
  maxPollingMs?: number;
}

/**
 * Which failed RPCs are retried while waiting, and how often in a row.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { retries: 5, codes: [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED] };
 * ```
 */
export interface RetryOptions {
  /** Retries in a row for one call before giving up. Default 10. */
  retries?: number;
  /** Cap of the first retry delay (full jitter: each delay is uniform in [0, cap)). Default 250. */
  initialDelayMs?: number;
  /** Largest cap of a retry delay, and the clamp on a server's RetryInfo / Retry-After hint. Default 30_000. */
  maxDelayMs?: number;
  /**
   * Canonical codes retried. Default `[UNAVAILABLE]`. An error carrying google.rpc.RetryInfo is retried too,
   * and so is a CANCELLED the client did not cause (the server or a proxy reset the call); a GetOperation
   * poll also retries DEADLINE_EXCEEDED (from WaitOperation it means "not done yet").
   */
  codes?: number[];
}

/** A validated polling policy. */
export interface PollingPolicy extends Required<Omit<PollingOptions, 'nextDelay' | 'maxPolls' | 'maxPollingMs'>> {
  readonly nextDelay?: PollingOptions['nextDelay'];
  readonly maxPolls: number;
  readonly maxPollingMs: number;
}
/** A validated retry policy. */
export interface RetryPolicy {
  readonly retries: number;
  readonly codes: ReadonlySet<number>;
  /** The backoff between retries: full jitter, doubling from `initialDelayMs` to `maxDelayMs`. */
  readonly backoff: BackoffSchedule;
}

/** The numbers of an exponential backoff. */
export interface BackoffSchedule {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter: boolean;
}

/**
 * Defaults of {@link PollingOptions}: 110 ms growing by 1.21 up to 60 s, exact.
 * Chosen by measurement against google-gax's `Operation` (100 ms ×1.3 → 60 s)
 * on servers without WaitOperation: see README "How it waits".
 */
export const DEFAULT_POLLING: PollingPolicy = Object.freeze({
  initialDelayMs: 110,
  multiplier: 1.21,
  maxDelayMs: 60_000,
  jitter: false,
  followProgress: true,
  maxPolls: Infinity,
  maxPollingMs: Infinity,
});

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  retries: 10,
  codes: new Set<number>([Code.UNAVAILABLE]),
  backoff: Object.freeze({ initialDelayMs: 250, multiplier: 2, maxDelayMs: 30_000, jitter: true }),
});

/** Validates a finite, non-negative number option; throws a TypeError naming it. */
export function checkDuration(name: string, value: unknown, { allowZero = true } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(`longrunning: option ${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${String(value)}`);
  }
  return value;
}

/** Fills in and validates polling options. */
export function pollingPolicy(options: PollingOptions = {}): PollingPolicy {
  const policy = { ...DEFAULT_POLLING, ...stripUndefined(options) };
  checkDuration('polling.initialDelayMs', policy.initialDelayMs);
  checkDuration('polling.maxDelayMs', policy.maxDelayMs);
  if (typeof policy.multiplier !== 'number' || !Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    throw new TypeError(`longrunning: option polling.multiplier must be a finite number >= 1, got ${String(policy.multiplier)}`);
  }
  for (const key of ['jitter', 'followProgress'] as const) {
    if (typeof policy[key] !== 'boolean') throw new TypeError(`longrunning: option polling.${key} must be a boolean, got ${String(policy[key])}`);
  }
  if (policy.nextDelay !== undefined && typeof policy.nextDelay !== 'function') {
    throw new TypeError('longrunning: option polling.nextDelay must be a function');
  }
  if (policy.maxPolls !== Infinity && (!Number.isInteger(policy.maxPolls) || policy.maxPolls < 1)) {
    throw new TypeError(`longrunning: option polling.maxPolls must be an integer >= 1, got ${String(policy.maxPolls)}`);
  }
  if (policy.maxPollingMs !== Infinity) checkDuration('polling.maxPollingMs', policy.maxPollingMs, { allowZero: false });
  return Object.freeze(policy);
}

/** Fills in and validates retry options. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const retries = options.retries ?? DEFAULT_RETRY.retries;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new TypeError(`longrunning: option retry.retries must be an integer >= 0, got ${String(retries)}`);
  }
  const codes = options.codes ?? [...DEFAULT_RETRY.codes];
  if (!Array.isArray(codes) || codes.some((c) => !Number.isInteger(c) || c < 1 || c > 16)) {
    throw new TypeError(`longrunning: option retry.codes must be an array of gRPC codes 1..16, got ${String(codes)}`);
  }
  const initialDelayMs = checkDuration('retry.initialDelayMs', options.initialDelayMs ?? DEFAULT_RETRY.backoff.initialDelayMs);
  const maxDelayMs = checkDuration('retry.maxDelayMs', options.maxDelayMs ?? DEFAULT_RETRY.backoff.maxDelayMs);
  const backoff = Object.freeze({ ...DEFAULT_RETRY.backoff, initialDelayMs, maxDelayMs: Math.max(initialDelayMs, maxDelayMs) });
  return Object.freeze({ retries, codes: new Set(codes), backoff });
}

/**
 * Successive delays of a backoff schedule. `next()` returns the delay before
 * the next attempt and advances; `reset()` starts over.
 *
 * @example
 * ```ts
 * const b = new Backoff(pollingPolicy(), Math.random);
 * b.next(); // 100
 * b.next(); // 125
 * ```
 */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly policy: BackoffSchedule,
    private readonly random: () => number,
  ) {}

  /** The cap of the current attempt, without jitter. */
  cap(): number {
    return backoffCap(this.policy, this.attempt);
  }

  /** The delay before the next attempt (jittered if the policy says so), then advances. */
  next(): number {
    const cap = this.cap();
    if (cap < this.policy.maxDelayMs) this.attempt++;
    return this.policy.jitter ? Math.floor(this.random() * cap) : cap;
  }

  /** Starts the schedule over. */
  reset(): void {
    this.attempt = 0;
  }
}

/** The delay cap of attempt `n` (0-based) of a schedule. */
export function backoffCap(schedule: BackoffSchedule, n: number): number {
  return Math.min(schedule.maxDelayMs, schedule.initialDelayMs * schedule.multiplier ** n);
}

/** Clamps a server's retry hint into [0, max]. */
export function clampHint(hintMs: number, maxMs: number): number {
  return Math.min(Math.max(0, hintMs), maxMs);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
