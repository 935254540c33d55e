/**
 * The cancel pacer on fake time: a burst, then the sustained rate, never
 * more than the per-tick batch within one tick, calls that ended by
 * themselves skipped.
 */
import { CancelPacer } from '../src/transports/cancel-pacer.js';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function calls(n: number) {
  const cancelled: number[] = [];
  const list = Array.from({ length: n }, (_, i) => ({ cancel: () => void cancelled.push(i) }));
  return { list, cancelled };
}

test('1,500 cancels: at most 200 per 10 ms tick, a burst of 500, then 25 per second, in order', async () => {
  const pacer = new CancelPacer({}, () => Date.now());
  const { list, cancelled } = calls(1_500);
  for (const c of list) pacer.cancel(c);
  expect(cancelled).toHaveLength(0); // never from inside the abort handler
  await jest.advanceTimersByTimeAsync(0); // the first tick
  const perTick: number[] = [cancelled.length];
  for (let t = 1; t < 50; t++) {
    const before = cancelled.length;
    await jest.advanceTimersByTimeAsync(10);
    perTick.push(cancelled.length - before);
  }
  expect(Math.max(...perTick)).toBeLessThanOrEqual(200);
  expect(perTick.slice(0, 3)).toEqual([200, 200, 100]); // the burst of 500 goes in three ticks
  const afterBurst = cancelled.length;
  expect(afterBurst).toBeLessThanOrEqual(500 + 13); // 25/s over the 0.5 s elapsed
  await jest.advanceTimersByTimeAsync(10_000);
  expect(cancelled.length - afterBurst).toBeGreaterThanOrEqual(240);
  expect(cancelled.length - afterBurst).toBeLessThanOrEqual(251);
  expect(cancelled).toEqual([...cancelled].sort((a, b) => a - b));
  expect(pacer.pending).toBe(1_500 - cancelled.length);
});

test('forget() skips a call that ended by itself; whenIdle() resolves once the queue is empty', async () => {
  const pacer = new CancelPacer({ burst: 1, perSecond: 1 }, () => Date.now());
  const { list, cancelled } = calls(3);
  list.forEach((c) => pacer.cancel(c));
  let idle = false;
  void pacer.whenIdle().then(() => (idle = true));
  await jest.advanceTimersByTimeAsync(10);
  expect(cancelled).toEqual([0]);
  pacer.forget(list[1]);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(cancelled).toEqual([0, 2]);
  expect(idle).toBe(true);
  await expect(pacer.whenIdle()).resolves.toBeUndefined();
});

test('a bad pacing is a TypeError', () => {
  expect(() => new CancelPacer({ burst: 0 })).toThrow(TypeError);
  expect(() => new CancelPacer({ perTick: -1 })).toThrow(TypeError);
  expect(() => new CancelPacer({ perSecond: Infinity })).toThrow(TypeError);
});
