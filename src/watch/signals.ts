/**
 * One listener per AbortSignal, fanned out: Node scans a signal's listeners
 * on every add, so 50,000 operations each adding their own is quadratic (and
 * warns past ten). Here each signal gets one listener, and subscribers sit in
 * a Set that costs O(1) to join and leave.
 * @module
 */

/** Told once when a signal it subscribed to aborts: an object, so a subscription allocates no closure. */
export interface AbortSubscriber {
  /** `signal` aborted. */
  onSignalAbort(signal: AbortSignal): void;
}

type Subscriber = (() => void) | AbortSubscriber;
type Subscribers = Set<Subscriber>;

const fanouts = new WeakMap<AbortSignal, Subscribers>();

function subscribersOf(signal: AbortSignal): Subscribers {
  let subscribers = fanouts.get(signal);
  if (!subscribers) {
    const created: Subscribers = new Set();
    subscribers = created;
    fanouts.set(signal, created);
    signal.addEventListener('abort', () => dispatch(signal, created), { once: true });
  }
  return subscribers;
}

/**
 * Calls `fn` once when `signal` aborts (not at all if it already has: check
 * `signal.aborted` first). Returns the unsubscribe function. The signal keeps
 * its one listener until it aborts (or is collected).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  const set = subscribersOf(signal);
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

/** {@link onAbort} for an object: `subscriber.onSignalAbort(signal)` once when it aborts; undo with {@link unsubscribeAbort}. */
export function subscribeAbort(signal: AbortSignal, subscriber: AbortSubscriber): void {
  subscribersOf(signal).add(subscriber);
}

/** Undoes {@link subscribeAbort} (nothing if the signal has aborted already). */
export function unsubscribeAbort(signal: AbortSignal, subscriber: AbortSubscriber): void {
  fanouts.get(signal)?.delete(subscriber);
}

function dispatch(signal: AbortSignal, subscribers: Subscribers): void {
  fanouts.delete(signal);
  for (const subscriber of subscribers) {
    try {
      if (typeof subscriber === 'function') subscriber();
      else subscriber.onSignalAbort(signal);
    } catch {
      // a subscriber's failure must not keep the others from hearing the abort
    }
  }
  subscribers.clear();
}
