/**
 * Paced cancellation on the wire. Cancelling a gRPC call sends an HTTP/2
 * RST_STREAM; a server that receives too many in a short time treats it as
 * the "rapid reset" attack (CVE-2023-44487) and ends the whole connection
 * with GOAWAY. nghttp2, and so every Node.js server, allows a burst of 1,000
 * resets and then 33 per second, per connection; grpc-js then fails every
 * call on that connection with INTERNAL "Session closed". The pacer keeps a
 * client well inside that budget: a token bucket (a burst, then a sustained
 * rate) and at most a batch of resets per tick.
 * @module
 */

/**
 * How fast a transport may cancel calls on the wire.
 *
 * @example
 * ```ts
 * const pacing: CancelPacing = { burst: 500, perSecond: 25, perTick: 200 };
 * ```
 */
export interface CancelPacing {
  /** Resets that may be sent at once after a quiet period. Default 500 (nghttp2 allows 1,000). */
  burst?: number;
  /** Resets per second once the burst is spent. Default 25 (nghttp2 allows 33). */
  perSecond?: number;
  /** Most resets sent in one tick (one timer turn, at least 10 ms apart). Default 200. */
  perTick?: number;
}

/** A call that can be cancelled on the wire. */
export interface Cancellable {
  cancel(): void;
}

const DEFAULT_BURST = 500;
const DEFAULT_PER_SECOND = 25;
const DEFAULT_PER_TICK = 200;
const TICK_MS = 10;

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`cancelPacing.${name} must be a positive number`);
  }
  return value;
}

/**
 * Sends `cancel()`s at a bounded rate, in arrival order. A call that ends on
 * its own before its turn is `forget`ten and needs no cancel. `onIdle` runs
 * each time the queue empties.
 */
export class CancelPacer {
  private readonly queue = new Set<Cancellable>();
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly perTick: number;
  private tokens: number;
  private refilledAt: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Start of the current tick window and the resets sent in it. */
  private windowStart = -Infinity;
  private sentInWindow = 0;

  constructor(pacing: CancelPacing = {}, private readonly now: () => number = () => performance.now()) {
    this.burst = positive(pacing.burst, 'burst', DEFAULT_BURST);
    this.perSecond = positive(pacing.perSecond, 'perSecond', DEFAULT_PER_SECOND);
    this.perTick = Math.max(1, Math.floor(positive(pacing.perTick, 'perTick', DEFAULT_PER_TICK)));
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  /** Calls waiting for their cancel. */
  get pending(): number {
    return this.queue.size;
  }

  /** Queues `call` for a cancel on the wire, sent on a later turn of the event loop as the budget allows. */
  cancel(call: Cancellable): void {
    this.queue.add(call);
    this.timer ??= setTimeout(() => this.drain(), 0);
  }

  /** The call ended by itself: no cancel needed any more. */
  forget(call: Cancellable): void {
    if (this.queue.delete(call) && this.queue.size === 0) this.idle();
  }

  /** Resolves once every queued cancel was sent (or forgotten). */
  whenIdle(): Promise<void> {
    if (this.queue.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
  }

  private drain(): void {
    this.timer = undefined;
    this.refill();
    const now = this.now();
    if (now - this.windowStart >= TICK_MS) {
      this.windowStart = now;
      this.sentInWindow = 0;
    }
    let budget = Math.min(this.perTick - this.sentInWindow, Math.floor(this.tokens));
    for (const call of this.queue) {
      if (budget <= 0) break;
      this.queue.delete(call);
      budget--;
      this.tokens--;
      this.sentInWindow++;
      try {
        call.cancel();
      } catch {
        // the call is gone either way
      }
    }
    if (this.queue.size === 0) {
      this.idle();
      return;
    }
    // Next turn: the next tick window, or when the next token is due, whichever is later.
    const untilWindow = this.windowStart + TICK_MS - this.now();
    const untilToken = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.perSecond) * 1000;
    this.timer = setTimeout(() => this.drain(), Math.max(1, Math.ceil(untilWindow), Math.ceil(untilToken)));
  }

  private idle(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
