/**
 * Polling and retry policies: small values the loop consults, so a test or a
 * user can swap one without touching the loop.
 * @module
 */
import { Code } from '../types.js';

/**
 * How long to sleep between polls: exponential backoff, capped, with full
 * jitter (each delay is uniformly random in [0, cap)) unless `jitter` is false.
 *
 * @example
 * ```ts
 * const polling: PollingOptions = { initialDelayMs: 500, multiplier: 1.5, maxDelayMs: 30_000, jitter: true };
 * ```
 */
export interface PollingOptions {
  /** Cap of the first delay. Default 1000. */
  initialDelayMs?: number;
  /** Growth of the cap per attempt. Default 1.5. */
  multiplier?: number;
  /** Largest cap. Default 60_000, the same ceiling as google-gax. */
  maxDelayMs?: number;
  /** Full jitter (default true); false sleeps exactly the cap. */
  jitter?: boolean;
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
  /**
   * Canonical codes retried. Default `[UNAVAILABLE]`. An error carrying google.rpc.RetryInfo is retried too,
   * and so is a CANCELLED the client did not cause (the server or a proxy reset the call); a GetOperation
   * poll also retries DEADLINE_EXCEEDED (from WaitOperation it means "not done yet").
   */
  codes?: number[];
}

/** A validated polling policy. */
export type PollingPolicy = Required<PollingOptions>;
/** A validated retry policy. */
export interface RetryPolicy {
  readonly retries: number;
  readonly codes: ReadonlySet<number>;
}

/** Defaults of {@link PollingOptions}. */
export const DEFAULT_POLLING: PollingPolicy = Object.freeze({
  initialDelayMs: 1000,
  multiplier: 1.5,
  maxDelayMs: 60_000,
  jitter: true,
});

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  retries: 10,
  codes: new Set<number>([Code.UNAVAILABLE]),
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
  if (typeof policy.jitter !== 'boolean') {
    throw new TypeError(`longrunning: option polling.jitter must be a boolean, got ${String(policy.jitter)}`);
  }
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
  return Object.freeze({ retries, codes: new Set(codes) });
}

/**
 * Successive delays of a polling policy. `next()` returns the delay before the
 * next attempt and advances; `reset()` starts over.
 *
 * @example
 * ```ts
 * const b = new Backoff(pollingPolicy({ jitter: false }), Math.random);
 * b.next(); // 1000
 * b.next(); // 1500
 * ```
 */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly policy: PollingPolicy,
    private readonly random: () => number,
  ) {}

  /** The cap of the current attempt, without jitter. */
  cap(): number {
    const raw = this.policy.initialDelayMs * this.policy.multiplier ** this.attempt;
    return Math.min(this.policy.maxDelayMs, raw);
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

/** Clamps a server's retry hint into [0, max]. */
export function clampHint(hintMs: number, maxMs: number): number {
  return Math.min(Math.max(0, hintMs), maxMs);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
