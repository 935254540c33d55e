/**
 * SnapshotStream: the async iterator behind `updates()`. A small queue with
 * explicit end and failure; it starts its source on the first `next()` and
 * stops it on `return()`, end or failure.
 * @module
 */

/** Starts the source; returns how to stop it. */
export type StartSource = () => (() => void) | void;

/** A push-based async iterator. */
export class SnapshotStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private state: 'idle' | 'open' | 'ended' | 'failed' | 'closed' = 'idle';
  private error: unknown;
  private stop?: () => void;

  constructor(private readonly source: { start: StartSource }) {}

  /** Adds a value (ignored once ended or closed). */
  push(value: T): void {
    if (this.state !== 'open' && this.state !== 'idle') return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
    } else {
      this.queue.push(value);
    }
  }

  /** Ends after the queued values. */
  end(): void {
    if (this.state === 'ended' || this.state === 'failed' || this.state === 'closed') return;
    this.state = 'ended';
    this.release();
    if (this.waiting && this.queue.length === 0) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  /** Fails after the queued values. */
  fail(error: unknown): void {
    if (this.state === 'ended' || this.state === 'failed' || this.state === 'closed') return;
    this.state = 'failed';
    this.error = error;
    this.release();
    if (this.waiting && this.queue.length === 0) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      this.state = 'closed';
      reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.state === 'idle') {
      this.state = 'open';
      try {
        const stop = this.source.start();
        if (stop) {
          if (this.state === 'open') this.stop = stop;
          else stop();
        }
      } catch (err) {
        this.fail(err);
      }
    }
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.state === 'failed') {
      this.state = 'closed';
      return Promise.reject(this.error);
    }
    if (this.state === 'ended' || this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.state = 'closed';
    this.queue.length = 0;
    this.release();
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private release(): void {
    const stop = this.stop;
    this.stop = undefined;
    stop?.();
  }
}
