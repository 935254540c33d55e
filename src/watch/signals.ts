/**
 * One listener per AbortSignal, fanned out: Node scans a signal's listeners
 * on every add, so 50,000 operations each adding their own is quadratic (and
 * warns past ten). Here each signal gets one listener, and subscribers sit in
 * a Set that costs O(1) to join and leave.
 * @module
 */

type Subscribers = Set<() => void>;

const fanouts = new WeakMap<AbortSignal, Subscribers>();

/**
 * Calls `fn` once when `signal` aborts (not at all if it already has: check
 * `signal.aborted` first). Returns the unsubscribe function. The signal keeps
 * its one listener until it aborts (or is collected).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let subscribers = fanouts.get(signal);
  if (!subscribers) {
    const created: Subscribers = new Set();
    subscribers = created;
    fanouts.set(signal, created);
    signal.addEventListener('abort', () => dispatch(signal, created), { once: true });
  }
  subscribers.add(fn);
  const set = subscribers;
  return () => {
    set.delete(fn);
  };
}

function dispatch(signal: AbortSignal, subscribers: Subscribers): void {
  fanouts.delete(signal);
  for (const fn of subscribers) {
    try {
      fn();
    } catch {
      // a subscriber's failure must not keep the others from hearing the abort
    }
  }
  subscribers.clear();
}
