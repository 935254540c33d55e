/**
 * One timer structure per clock: a binary min-heap of due times behind a
 * single armed sleep, so 100,000 sleeping operations cost 100,000 small heap
 * entries and one timer, not 100,000 timers, promises and AbortControllers.
 * @module
 */
import { abortReason } from '../errors.js';
import type { Clock } from './clock.js';
import { onAbort } from './signals.js';

/**
 * The longest a single timer may be armed for: Node's setTimeout holds at
 * most 2^31-1 ms and fires after 1 ms for anything longer; longer waits re-arm.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A scheduled callback; `cancel()` it with {@link TimerQueue.cancel}. */
export interface TimerEntry {
  /** Clock time at which it fires. */
  due: number;
  /** Position in the heap, -1 once fired or cancelled. */
  index: number;
  /** Order of scheduling, so entries due together fire first-in first-out. */
  seq: number;
  /** Called once at `due` (or later), unless cancelled first: a function, or an object's `onTimer()` (no closure needed). */
  readonly fire: (() => void) | TimerHandler;
}

/** An object the queue calls back when its entry is due. */
export interface TimerHandler {
  onTimer(): void;
}

/**
 * Entries fired in one turn of the event loop at most; the rest fire on the
 * next turn, so 100,000 operations due together never block I/O for long.
 */
const MAX_FIRED_PER_TURN = 512;

/** A timer this overdue is taken as lost. */
const LOST_TIMER_MS = 1_000;

/** Why the armed sleep is aborted when an earlier entry arrives (one shared value). */
const REARM = new DOMException('re-armed', 'AbortError');

/**
 * A min-heap of timer entries on one clock, with one armed sleep for the
 * earliest. Entries due at the same time fire in the order they were added.
 */
export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  private armedFor = Infinity;
  private armed?: AbortController;
  private order = 0;

  constructor(private readonly clock: Clock) {}

  /** Number of pending entries. */
  get size(): number {
    return this.heap.length;
  }

  /** Calls `fire` after `delayMs` (never less than 0; any length, re-armed past {@link MAX_TIMER_MS}). */
  schedule(delayMs: number, fire: (() => void) | TimerHandler): TimerEntry {
    const entry: TimerEntry = { due: 0, index: -1, seq: 0, fire };
    this.scheduleEntry(entry, delayMs);
    return entry;
  }

  /**
   * Schedules an entry that is not pending: an object can be its own entry
   * (a watch loop is, with `fire` itself), so a sleep allocates nothing.
   */
  scheduleEntry(entry: TimerEntry, delayMs: number): void {
    entry.due = this.clock.now() + Math.max(0, delayMs);
    entry.index = this.heap.length;
    entry.seq = this.order++;
    this.heap.push(entry);
    this.up(entry.index);
    this.arm();
  }

  /** Removes an entry that has not fired; a no-op for one that has. */
  cancel(entry: TimerEntry | undefined): void {
    if (!entry || entry.index < 0) return;
    const i = entry.index;
    const last = this.heap.pop()!;
    entry.index = -1;
    if (last !== entry) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    if (this.heap.length === 0) this.disarm();
  }

  /** Arms the single sleep for the earliest entry, if it is not armed for it already. */
  private arm(): void {
    const first = this.heap[0];
    if (!first) {
      this.disarm();
      return;
    }
    // Armed for an earlier time already, unless that timer is overdue: a timer
    // that has not fired long after its time was lost (a test swapped the fake
    // timers under us), so arm a new one.
    if (this.armed && this.armedFor <= first.due && this.clock.now() <= this.armedFor + LOST_TIMER_MS) return;
    this.disarm();
    const controller = new AbortController();
    this.armed = controller;
    this.armedFor = first.due;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, first.due - this.clock.now()));
    this.clock.sleep(ms, controller.signal).then(
      () => {
        if (this.armed !== controller) return;
        this.armed = undefined;
        this.armedFor = Infinity;
        this.run();
      },
      () => undefined, // re-armed or disarmed
    );
  }

  private disarm(): void {
    const armed = this.armed;
    this.armed = undefined;
    this.armedFor = Infinity;
    armed?.abort(REARM);
  }

  /** Fires every entry that is due, then re-arms for the next. A throwing callback does not stop the others. */
  private run(): void {
    const now = this.clock.now();
    let first: TimerEntry | undefined;
    let fired = 0;
    while (fired++ < MAX_FIRED_PER_TURN && (first = this.heap[0]) !== undefined && first.due <= now) {
      this.cancel(first);
      try {
        const fire = first.fire;
        if (typeof fire === 'function') fire();
        else fire.onTimer();
      } catch {
        // callbacks handle their own errors; one must never stop the queue
      }
    }
    this.arm();
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(entry, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].index = i;
      i = parent;
    }
    heap[i] = entry;
    entry.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.less(heap[r], heap[l]) ? r : l;
      if (!this.less(heap[child], entry)) break;
      heap[i] = heap[child];
      heap[i].index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The timer queue of a clock (one per clock, shared by every operation and transport on it). */
export function timersOf(clock: Clock): TimerQueue {
  let queue = queues.get(clock);
  if (!queue) {
    queue = new TimerQueue(clock);
    queues.set(clock, queue);
  }
  return queue;
}

/** Sleeps `ms` on a timer queue; rejects with the signal's reason when it aborts first. */
export function sleepOn(timers: TimerQueue, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    let unsubscribe: (() => void) | undefined;
    const entry = timers.schedule(ms, () => {
      unsubscribe?.();
      resolve();
    });
    if (signal) {
      unsubscribe = onAbort(signal, () => {
        timers.cancel(entry);
        reject(abortReason(signal));
      });
    }
  });
}
