/**
 * The core through the public API, on fake timers: wait strategy, polling
 * schedule, retries, abort, cancel, events, updates(), resume.
 */
import {
  Code,
  DecodeError,
  InvalidOperationError,
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  OperationTimeoutError,
  OperationsClient,
  RpcError,
  type OperationOptions,
  type OperationResource,
  type OperationsTransport,
} from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { systemClock } from '../src/watch/clock.js';
import { PROGRESS_URL, flush, progress, registry, result, useFakeTime } from './support/protos.js';

type Progress = { percent: number; stage: string };
type Result = { uri: string; sizeBytes: string; kind: string };

beforeEach(() => useFakeTime());
afterEach(() => {
  expect(jest.getTimerCount()).toBe(0); // nothing left behind
  jest.useRealTimers();
});

function options(server: FakeOperationsServer, extra: Partial<OperationOptions<Result, Progress>> = {}): OperationOptions<Result, Progress> {
  return { transport: server.transport, decode: registry, ...extra };
}

/** Times (relative to the start) at which the server received each call of a method. */
function recordTimes(server: FakeOperationsServer): { times: number[]; methods: string[] } {
  const start = Date.now();
  const out = { times: [] as number[], methods: [] as string[] };
  const push = server.calls.push.bind(server.calls);
  server.calls.push = (...items) => {
    for (const item of items) {
      out.times.push(Date.now() - start);
      out.methods.push(item.method);
    }
    return push(...items);
  };
  return out;
}

/** A transport that records every call and its options. */
function spy(transport: OperationsTransport) {
  const log: { method: string; name: string; timeoutMs?: number; signal?: AbortSignal; waitTimeoutMs?: number }[] = [];
  const t: OperationsTransport = {
    getOperation: (name, o) => (log.push({ method: 'get', name, ...o }), transport.getOperation(name, o)),
    cancelOperation: (name, o) => (log.push({ method: 'cancel', name, ...o }), transport.cancelOperation(name, o)),
    deleteOperation: (name, o) => (log.push({ method: 'delete', name, ...o }), transport.deleteOperation(name, o)),
    listOperations: (r, o) => (log.push({ method: 'list', name: r.name, ...o }), transport.listOperations(r, o)),
  };
  if (transport.waitOperation) {
    t.waitOperation = (name, timeoutMs, o) => (log.push({ method: 'wait', name, waitTimeoutMs: timeoutMs, ...o }), transport.waitOperation!(name, timeoutMs, o));
  }
  return { transport: t, log };
}

describe('WaitOperation first, polling as fallback', () => {
  test('resolves through WaitOperation with the decoded response, without polling', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation<Result, Progress>(server.create({ metadata: progress(5) }), options(server));
    const p = op.promise();
    await flush();
    server.complete(op.name, result('gs://b/o', 12345));
    await expect(p).resolves.toEqual({ uri: 'gs://b/o', sizeBytes: '12345', kind: 'VIDEO' });
    expect(server.calls.map((c) => c.method)).toEqual(['WaitOperation']);
    expect(op.done).toBe(true);
    expect(op.response).toEqual({ uri: 'gs://b/o', sizeBytes: '12345', kind: 'VIDEO' });
  });

  test('WaitOperation is tried once per transport, then never again after UNIMPLEMENTED', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const fixed = options(server, { polling: { initialDelayMs: 1000, multiplier: 1.5, jitter: false } });
    const a = new LongRunningOperation(server.create(), fixed);
    const b = new LongRunningOperation(server.create(), fixed);
    const pa = a.promise();
    await flush();
    expect(server.calls.map((c) => c.method)).toEqual(['WaitOperation']);
    // a fresh resource: after UNIMPLEMENTED the first poll still waits for the initial delay
    await jest.advanceTimersByTimeAsync(1_000);
    expect(server.calls.map((c) => c.method)).toEqual(['WaitOperation', 'GetOperation']);
    const pb = b.promise();
    await jest.advanceTimersByTimeAsync(2_000);
    server.complete(a.name, result('a'));
    server.complete(b.name, result('b'));
    await jest.advanceTimersByTimeAsync(10_000);
    await expect(pa).resolves.toMatchObject({ uri: 'a' });
    await expect(pb).resolves.toMatchObject({ uri: 'b' });
    expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
    // another transport is asked again
    const other = new FakeOperationsServer({ waitOperation: false });
    const c = new LongRunningOperation(other.create(), options(other));
    const pc = c.promise();
    await flush();
    expect(other.calls[0].method).toBe('WaitOperation');
    other.complete(c.name);
    await jest.advanceTimersByTimeAsync(5_000);
    await pc;
  });

  test("waitOperation: 'never' only polls", async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server, { waitOperation: 'never', polling: { initialDelayMs: 1000, multiplier: 1.5, jitter: false } }));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(1_500);
    await expect(p).resolves.toBeUndefined();
    expect(new Set(server.calls.map((c) => c.method))).toEqual(new Set(['GetOperation']));
  });

  test('a WaitOperation that returns at once, not done, loops with backoff', async () => {
    const server = new FakeOperationsServer();
    const calls: number[] = [];
    const start = Date.now();
    const transport: OperationsTransport = {
      ...server.transport,
      waitOperation: (name, _t, o) => (calls.push(Date.now() - start), server.transport.getOperation(name, o)),
    };
    const op = new LongRunningOperation(server.create(), { transport, polling: { jitter: false, initialDelayMs: 100, multiplier: 2 } });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(750);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(800);
    await p;
    expect(calls).toEqual([0, 100, 300, 700, 1500]);
  });

  test('DEADLINE_EXCEEDED from WaitOperation means not done yet', async () => {
    const server = new FakeOperationsServer();
    server.failNext('WaitOperation', { code: Code.DEADLINE_EXCEEDED }, 2);
    const op = new LongRunningOperation(server.create(), options(server));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(5_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(5_000);
    await p;
    expect(server.calls.filter((c) => c.method === 'WaitOperation').length).toBeGreaterThanOrEqual(3);
  });

  test('each WaitOperation deadline exceeds its timeout; progress listeners cap the timeout', async () => {
    const server = new FakeOperationsServer();
    const { transport, log } = spy(server.transport);
    const op = new LongRunningOperation(server.create(), { transport, waitTimeoutMs: 30_000, progressIntervalMs: 2_000 });
    const p = op.promise();
    await flush();
    // the first WaitOperation on a fresh transport is the short probe, then the full timeout
    expect(log[0]).toMatchObject({ method: 'wait', waitTimeoutMs: 250 });
    await jest.advanceTimersByTimeAsync(250);
    expect(log[1]).toMatchObject({ method: 'wait', waitTimeoutMs: 30_000 });
    expect(log[1].timeoutMs).toBeGreaterThan(30_000);
    await jest.advanceTimersByTimeAsync(30_000);
    op.on('metadata', () => undefined);
    await jest.advanceTimersByTimeAsync(30_000 + 5_000);
    const capped = log.filter((l) => l.waitTimeoutMs === 2_000);
    expect(capped.length).toBeGreaterThan(0);
    expect(capped[0].timeoutMs).toBeGreaterThan(2_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(2_000);
    await p;
  });

  test('a WaitOperation that hangs past its deadline is cut off and retried', async () => {
    const server = new FakeOperationsServer();
    let hung = 0;
    const transport: OperationsTransport = {
      ...server.transport,
      waitOperation: (name, t, o) => (hung++ === 0 ? new Promise(() => undefined) : server.transport.waitOperation!(name, t, o)),
    };
    const op = new LongRunningOperation(server.create(), { transport, waitTimeoutMs: 10_000 });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1_250); // the probe (250 ms) + 1 s grace: cut off
    expect(hung).toBeGreaterThanOrEqual(2);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(0);
    await p;
  });
});

describe('polling schedule', () => {
  test('exponential backoff without jitter; first poll after the initial delay', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const rec = recordTimes(server);
    const op = new LongRunningOperation(server.create(), options(server, { waitOperation: 'never', polling: { initialDelayMs: 1000, multiplier: 2, maxDelayMs: 5000, jitter: false } }));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1000 + 2000 + 4000 + 5000 + 5000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(5000);
    await p;
    expect(rec.times).toEqual([1000, 3000, 7000, 12000, 17000, 22000]);
  });

  test('full jitter: each delay is random × the cap', async () => {
    const server = new FakeOperationsServer();
    const rec = recordTimes(server);
    const op = new LongRunningOperation(server.create(), {
      ...options(server),
      waitOperation: 'never',
      polling: { initialDelayMs: 1000, multiplier: 2, maxDelayMs: 4000, jitter: true },
      clock: { ...systemClock, random: () => 0.25 },
    });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(250 + 500 + 1000 + 1000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(1000);
    await p;
    expect(rec.times).toEqual([250, 750, 1750, 2750, 3750]);
  });

  test('resumed from a name, the first poll is at once', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const { name } = server.create();
    server.complete(name, result('x'));
    const rec = recordTimes(server);
    const op = new LongRunningOperation<Result>(name, { transport: server.transport, decode: registry, waitOperation: 'never' });
    await expect(op.promise()).resolves.toMatchObject({ uri: 'x' });
    expect(rec.times).toEqual([0]);
  });

  test('resumed from a name on a server without WaitOperation, the poll after UNIMPLEMENTED is at once', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const { name } = server.create();
    server.complete(name, result('y'));
    const rec = recordTimes(server);
    const op = new LongRunningOperation<Result>(name, { transport: server.transport, decode: registry });
    await expect(op.promise()).resolves.toMatchObject({ uri: 'y' });
    expect(rec.methods).toEqual(['WaitOperation', 'GetOperation']);
    expect(rec.times).toEqual([0, 0]);
  });

  test('validate-only operation (done, no name) needs no RPC', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation({ name: '', done: true, response: result('v') }, options(server));
    await expect(op.promise()).resolves.toMatchObject({ uri: 'v' });
    expect(server.calls).toEqual([]);
    await expect(op.cancel()).rejects.toBeInstanceOf(InvalidOperationError);
  });

  test('done with neither response nor error resolves undefined, reported on the snapshot', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const p = op.promise();
    server.complete(op.name);
    await expect(p).resolves.toBeUndefined();
    expect(op.snapshot.done).toBe(true);
    expect(op.snapshot.response).toBeUndefined();
    expect(op.snapshot.error).toBeUndefined();
  });
});

describe('retries', () => {
  test('UNAVAILABLE is retried; the operation still resolves', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    server.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'flaky' }, 3);
    const op = new LongRunningOperation(server.create(), options(server, { waitOperation: 'never' }));
    server.complete(op.name, result('ok'));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(p).resolves.toMatchObject({ uri: 'ok' });
    expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(4);
  });

  test('a non-transient failure rejects at once with the RpcError', async () => {
    const server = new FakeOperationsServer();
    server.failNext('WaitOperation', { code: Code.PERMISSION_DENIED, message: 'nope' });
    const op = new LongRunningOperation(server.create(), options(server));
    const errors: Error[] = [];
    op.on('error', (e) => errors.push(e));
    const p = op.promise();
    await expect(p).rejects.toMatchObject({ name: 'RpcError', code: Code.PERMISSION_DENIED });
    expect(server.calls).toHaveLength(1);
    expect(errors).toHaveLength(1);
    await expect(op.promise()).rejects.toBe(await p.catch((e: any) => e)); // same settled value
  });

  test('retry.codes extends what is retried; retries run out', async () => {
    const server = new FakeOperationsServer();
    server.failNext('WaitOperation', { code: Code.INTERNAL }, 5);
    const op = new LongRunningOperation(server.create(), options(server, { retry: { codes: [Code.INTERNAL], retries: 2 } }));
    const p = op.promise();
    p.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(p).rejects.toMatchObject({ code: Code.INTERNAL });
    expect(server.calls).toHaveLength(3);
  });

  test('RetryInfo from the server sets the delay, clamped to maxDelayMs', async () => {
    const server = new FakeOperationsServer();
    const rec = recordTimes(server);
    const retryInfo = (delay: string) => [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }];
    server.failNext('WaitOperation', { code: Code.RESOURCE_EXHAUSTED, details: retryInfo('7s') });
    server.failNext('WaitOperation', { code: Code.RESOURCE_EXHAUSTED, details: retryInfo('3600s') });
    const op = new LongRunningOperation(server.create(), options(server, { retry: { maxDelayMs: 20_000 } }));
    server.complete(op.name);
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(30_000);
    await p;
    expect(rec.times).toEqual([0, 7_000, 27_000]);
  });
});

describe('abort and timeout', () => {
  test('a signal aborted before start makes no RPC', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const reason = new Error('stop');
    await expect(op.promise({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await flush();
    expect(server.calls).toEqual([]);
  });

  test('abort during a sleep rejects with an AbortError and stops polling', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create(), options(server, { waitOperation: 'never' }));
    const ac = new AbortController();
    const p = op.promise({ signal: ac.signal });
    await jest.advanceTimersByTimeAsync(1500);
    const before = server.calls.length;
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await jest.advanceTimersByTimeAsync(120_000);
    expect(server.calls.length).toBe(before);
    expect(server.calls.some((c) => c.method === 'CancelOperation')).toBe(false);
  });

  test('abort during an RPC aborts the call itself and sends nothing after', async () => {
    const server = new FakeOperationsServer();
    const { transport, log } = spy(server.transport);
    const op = new LongRunningOperation(server.create(), { transport });
    const ac = new AbortController();
    const p = op.promise({ signal: ac.signal });
    await flush();
    expect(log).toHaveLength(1);
    expect(log[0].signal!.aborted).toBe(false);
    ac.abort(new Error('user left'));
    await expect(p).rejects.toThrow('user left');
    expect(log[0].signal!.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(log).toHaveLength(1);
  });

  test('aborting one waiter leaves the others waiting', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const ac = new AbortController();
    const a = op.promise({ signal: ac.signal });
    const b = op.promise();
    await flush();
    ac.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    server.complete(op.name, result('b'));
    await expect(b).resolves.toMatchObject({ uri: 'b' });
    expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
  });

  test("the object's signal stops every waiter and every later wait", async () => {
    const server = new FakeOperationsServer();
    const ac = new AbortController();
    const op = new LongRunningOperation(server.create(), options(server, { signal: ac.signal }));
    const a = op.promise();
    const b = op.promise({ timeoutMs: 100_000 });
    await flush();
    ac.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    await expect(op.promise()).rejects.toMatchObject({ name: 'AbortError' });
    await expect(op.poll()).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('timeoutMs rejects with OperationTimeoutError; the operation can be awaited again', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation<Result>(server.create(), options(server));
    const settled = op.promise({ timeoutMs: 5_000 }).catch((e: any) => e);
    await jest.advanceTimersByTimeAsync(5_000);
    const err: any = await settled;
    expect(err).toBeInstanceOf(OperationTimeoutError);
    expect(err.operation).toBe(op);
    expect(err.message).toContain(op.name);
    server.complete(op.name, result('late'));
    await expect(err.operation.promise()).resolves.toMatchObject({ uri: 'late' });
  });
});

describe('cancel and delete', () => {
  test('cancel() → CancelOperation → OperationCancelledError', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create(), options(server));
    const settled = op.promise().catch((e: any) => e);
    await jest.advanceTimersByTimeAsync(3_000);
    await op.cancel();
    await jest.advanceTimersByTimeAsync(2_000);
    const err: any = await settled;
    expect(err).toBeInstanceOf(OperationCancelledError);
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err).toMatchObject({ name: 'OperationCancelledError', code: Code.CANCELLED });
    expect(op.error).toBe(err);
  });

  test('cancel() on a server without CancelOperation rejects with RpcError 12; waiting goes on', async () => {
    const server = new FakeOperationsServer({ cancelOperation: false });
    const op = new LongRunningOperation(server.create(), options(server));
    const p = op.promise();
    await expect(op.cancel()).rejects.toMatchObject({ name: 'RpcError', code: Code.UNIMPLEMENTED });
    server.complete(op.name, result('anyway'));
    await expect(p).resolves.toMatchObject({ uri: 'anyway' });
  });

  test('delete() calls DeleteOperation', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    await op.delete();
    expect(server.get(op.name)).toBeUndefined();
    await expect(op.poll()).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });
});

describe('events', () => {
  test('metadata fires on first sight and on change, never twice for the same bytes, also on the final state', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation<Result, Progress>(server.create({ metadata: progress(0) }), options(server, { polling: { initialDelayMs: 1000, jitter: false, multiplier: 1 } }));
    const seen: number[] = [];
    const polls: boolean[] = [];
    op.on('metadata', (m) => seen.push(m.percent));
    op.on('poll', (s) => polls.push(s.done));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1000); // poll 1: 0%
    await jest.advanceTimersByTimeAsync(1000); // poll 2: 0% again
    server.update(op.name, { metadata: progress(50) });
    await jest.advanceTimersByTimeAsync(1000); // poll 3: 50%
    server.complete(op.name, result('r'), { metadata: progress(100) });
    await jest.advanceTimersByTimeAsync(1000); // poll 4: done, 100%
    await p;
    expect(seen).toEqual([0, 50, 100]);
    expect(polls).toEqual([false, false, false, true]);
  });

  test('a throwing listener does not break the loop or the other listeners', async () => {
    const server = new FakeOperationsServer();
    const reported: unknown[] = [];
    const op = new LongRunningOperation(server.create(), options(server, { onListenerError: (e) => reported.push(e) }));
    const after: string[] = [];
    op.on('poll', () => {
      throw new Error('listener bug');
    });
    op.on('poll', () => after.push('poll'));
    op.once('done', () => after.push('done'));
    const p = op.promise();
    server.complete(op.name, result('fine'));
    await expect(p).resolves.toMatchObject({ uri: 'fine' });
    expect(after).toEqual(['poll', 'done']);
    expect(reported).toHaveLength(1);
    expect(op.listeners('done')).toHaveLength(0);
  });

  test('off() removes a listener added with on()', () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const fn = () => undefined;
    op.on('poll', fn);
    expect(op.listeners('poll')).toEqual([fn]);
    op.off('poll', fn);
    expect(op.listenerCount('poll')).toBe(0);
  });

  test('done and error fire when the operation fails, with decoded details', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const events: string[] = [];
    op.on('done', (s) => events.push(`done:${s.error?.code}`));
    op.on('error', (e) => events.push(`error:${e.name}`));
    const p = op.promise();
    const info = registry.encode('google.rpc.ErrorInfo', { reason: 'QUOTA', domain: 'example.com', metadata: { k: 'v' } });
    server.fail(op.name, { code: Code.FAILED_PRECONDITION, message: 'bad input', details: [info] });
    const err: any = await p.catch((e: any) => e);
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err.message).toContain(op.name);
    expect(err.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'QUOTA', domain: 'example.com', metadata: { k: 'v' } }]);
    expect(events).toEqual(['done:9', 'error:OperationFailedError']);
  });
});

describe('promise(), poll(), updates()', () => {
  test('promise() twice shares one loop and gives the same value', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation<Result>(server.create(), options(server));
    const a = op.promise();
    const b = op.promise();
    server.complete(op.name, result('same'));
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toBe(rb);
    expect(await op.promise()).toBe(ra);
    expect(server.calls).toHaveLength(1);
  });

  test('poll() makes exactly one GetOperation', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation<Result, Progress>(server.create({ metadata: progress(40, 'encode') }), options(server));
    const snap = await op.poll();
    expect(server.calls).toEqual([{ method: 'GetOperation', name: op.name }]);
    expect(snap).toMatchObject({ done: false, metadata: { percent: 40, stage: 'encode' } });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.calls).toHaveLength(1);
  });

  test('updates() yields the current snapshot, each answer, and ends after the terminal one', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation<Result, Progress>(server.create({ metadata: progress(1) }), options(server, { polling: { initialDelayMs: 1000, jitter: false, multiplier: 1 } }));
    const seen: Array<[boolean, number | undefined]> = [];
    const done = (async () => {
      for await (const s of op.updates()) seen.push([s.done, s.metadata?.percent]);
    })();
    await jest.advanceTimersByTimeAsync(1000);
    server.update(op.name, { metadata: progress(60) });
    await jest.advanceTimersByTimeAsync(1000);
    server.complete(op.name, result('u'), { metadata: progress(100) });
    await jest.advanceTimersByTimeAsync(1000);
    await done;
    expect(seen).toEqual([
      [false, 1], // the current snapshot
      [false, 1], // the first poll, one initial delay after WaitOperation answered UNIMPLEMENTED
      [false, 60],
      [true, 100],
    ]);
  });

  test('updates() ends normally when the operation failed; the snapshot carries the error', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const it = op.updates();
    const first = await it.next();
    expect(first.value.done).toBe(false);
    server.fail(op.name, { code: Code.ABORTED, message: 'x' });
    const last = await it.next();
    expect(last.value.error).toMatchObject({ code: Code.ABORTED });
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('breaking out of updates() stops the loop cleanly', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create(), options(server));
    for await (const s of op.updates()) {
      if (!s.done) break;
    }
    await jest.advanceTimersByTimeAsync(120_000);
    expect(server.calls).toEqual([]);
    const polling = new LongRunningOperation(server.create(), options(server, { waitOperation: 'never' }));
    const it = polling.updates();
    await it.next();
    const pending = it.next();
    await jest.advanceTimersByTimeAsync(0);
    await it.return!();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    const count = server.calls.length;
    await jest.advanceTimersByTimeAsync(120_000);
    expect(server.calls.length).toBe(count);
  });

  test('updates() throws on a watch failure', async () => {
    const server = new FakeOperationsServer();
    server.failNext('WaitOperation', { code: Code.NOT_FOUND });
    const op = new LongRunningOperation(server.create(), options(server));
    const it = op.updates();
    await it.next();
    await expect(it.next()).rejects.toBeInstanceOf(RpcError);
  });
});

describe('decoding', () => {
  /** An operation polled every second whose metadata decoder counts its calls. */
  function countingDecodes(server: FakeOperationsServer) {
    const counter = { decodes: 0 };
    const op = new LongRunningOperation<Result, Progress>(server.create({ metadata: progress(1) }), {
      transport: server.transport,
      decode: { metadata: (any) => (counter.decodes++, registry.decode(any) as Progress), response: (any) => registry.decode(any) as Result },
      polling: { initialDelayMs: 1000, jitter: false, multiplier: 1 },
    });
    return { op, counter };
  }

  test('metadata is decoded once per change, not on every poll', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const { op, counter } = countingDecodes(server);
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(counter.decodes).toBe(1);
    server.update(op.name, { metadata: progress(2) });
    await jest.advanceTimersByTimeAsync(3_000);
    expect(counter.decodes).toBe(2);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(1_000);
    await p;
  });

  test('decoded metadata nobody looks at is not held: decoded again on the first read, then kept', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const { op, counter } = countingDecodes(server);
    const p = op.promise();
    server.update(op.name, { metadata: progress(40, 'encoding') });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(counter.decodes).toBe(2); // each new state once (a DecodeError would end the wait), nothing kept
    const first = op.metadata;
    expect(first).toEqual({ percent: 40, stage: 'encoding' });
    expect(counter.decodes).toBe(3); // decoded again when asked for
    expect(op.metadata).toBe(first);
    expect(op.snapshot.metadata).toBe(first);
    server.update(op.name, { metadata: progress(70, 'encoding') });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(op.metadata).toEqual({ percent: 70, stage: 'encoding' });
    expect(counter.decodes).toBe(4); // read once: kept from then on
    server.complete(op.name, result('gs://b/o'));
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(p).resolves.toMatchObject({ uri: 'gs://b/o' });
    expect(op.snapshot).toMatchObject({ done: true, metadata: { percent: 70 }, response: { uri: 'gs://b/o' } });
  });

  test('metadata that does not decode ends the wait with DecodeError, also with nobody listening', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create({ metadata: progress(1) }), {
      ...options(server),
      polling: { initialDelayMs: 1000, jitter: false, multiplier: 1 },
    });
    const p = op.promise();
    server.update(op.name, { metadata: { typeUrl: PROGRESS_URL, value: new Uint8Array([0x0a, 0xff, 0xff]) } });
    const rejected = expect(p).rejects.toMatchObject({ name: 'DecodeError', typeUrl: PROGRESS_URL });
    await jest.advanceTimersByTimeAsync(1_000);
    await rejected;
    expect(op.metadata).toEqual({ percent: 1, stage: '' }); // the last state that decoded
  });

  test('unknown response type → DecodeError naming the type URL', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), { transport: server.transport });
    const p = op.promise();
    server.complete(op.name, { typeUrl: 'type.googleapis.com/nobody.Knows', value: new Uint8Array([8, 1]) });
    const err: any = await p.catch((e: any) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.typeUrl).toBe('type.googleapis.com/nobody.Knows');
    expect(err.message).toContain('nobody.Knows');
  });

  test('corrupt bytes → DecodeError', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    const p = op.promise();
    server.complete(op.name, { typeUrl: 'type.googleapis.com/test.v1.Result', value: new Uint8Array([0x0a, 0xff, 0xff]) });
    await expect(p).rejects.toBeInstanceOf(DecodeError);
  });

  test('a user decoder that throws becomes a DecodeError', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), {
      transport: server.transport,
      decode: {
        response: () => {
          throw new Error('boom');
        },
      },
    });
    const p = op.promise();
    server.complete(op.name, result('r'));
    await expect(p).rejects.toMatchObject({ name: 'DecodeError', typeUrl: 'type.googleapis.com/test.v1.Result' });
  });
});

describe('malformed resources → typed errors, never a hang', () => {
  const bad: Array<[string, unknown, string]> = [
    ['both error and response', { name: 'operations/x', done: true, error: { code: 3, message: 'm' }, response: result('r') }, 'both'],
    ['a non-string name', { name: 42, done: false }, 'name'],
    ['done that is not a boolean', { name: 'operations/x', done: 'yes' }, 'done'],
    ['a result while not done', { name: 'operations/x', done: false, response: result('r') }, 'not done'],
    ['an Any without a type URL', { name: 'operations/x', done: false, metadata: { value: new Uint8Array() } }, 'type URL'],
    ['an error with code 0', { name: 'operations/x', done: true, error: { code: 0, message: '' } }, 'code'],
    ['not an object', 'surprise', 'not an Operation'],
    ['null', null, 'not an Operation'],
  ];
  test.each(bad)('%s', async (_what, answer, message) => {
    const transport: OperationsTransport = {
      getOperation: async () => answer as OperationResource,
      cancelOperation: async () => undefined,
      deleteOperation: async () => undefined,
      listOperations: async () => ({ operations: [], nextPageToken: '' }),
    };
    const op = new LongRunningOperation('operations/x', { transport });
    const err: any = await op.promise().catch((e: any) => e);
    expect(err).toBeInstanceOf(InvalidOperationError);
    expect(err.message).toContain('operations/x');
    expect(err.message).toContain(message);
  });

  test('the constructor rejects a malformed initial resource and an empty name', () => {
    const server = new FakeOperationsServer();
    expect(() => new LongRunningOperation({ name: 'operations/x', done: true, error: { code: 2, message: '', details: [] }, response: result('r') }, options(server))).toThrow(InvalidOperationError);
    expect(() => new LongRunningOperation('', options(server))).toThrow(InvalidOperationError);
    expect(() => new LongRunningOperation({ name: '', done: false }, options(server))).toThrow(InvalidOperationError);
    expect(() => new LongRunningOperation('operations/x', {} as never)).toThrow(TypeError);
    expect(() => new LongRunningOperation('operations/x', { ...options(server), polling: { multiplier: 0.5 } })).toThrow(/multiplier/);
  });
});

describe('resume tokens', () => {
  test('JSON.stringify(op) resumes; the first poll is at once', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create({ metadata: progress(30) }), options(server));
    const token = JSON.stringify(op);
    expect(token).not.toContain('transport');
    const again = LongRunningOperation.resume<Result, Progress>(token, options(server));
    expect(again.name).toBe(op.name);
    expect(again.metadata).toEqual({ percent: 30, stage: '' });
    const p = again.promise();
    await flush();
    expect(server.calls).toHaveLength(1);
    server.complete(op.name, result('resumed'));
    await expect(p).resolves.toMatchObject({ uri: 'resumed' });
  });

  test('a token of a finished operation needs no RPC', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create(), options(server));
    server.complete(op.name, result('kept'));
    await op.promise();
    const again = LongRunningOperation.resume(JSON.parse(JSON.stringify(op)), options(server) as OperationOptions);
    await expect(again.promise()).resolves.toMatchObject({ uri: 'kept' });
    expect(server.calls).toHaveLength(1);
  });

  test.each([
    ['not JSON', '{oops'],
    ['wrong kind', JSON.stringify({ kind: 'x', version: 1, name: 'a' })],
    ['wrong version', JSON.stringify({ kind: 'longrunning.operation', version: 9, name: 'a' })],
    ['no name', JSON.stringify({ kind: 'longrunning.operation', version: 1 })],
    ['bad base64', JSON.stringify({ kind: 'longrunning.operation', version: 1, name: 'a', resource: { name: 'a', done: false, metadata: { typeUrl: 't/x', value: '!!' } } })],
    ['bad resource', JSON.stringify({ kind: 'longrunning.operation', version: 1, name: 'a', resource: { name: 'a', done: 'no' } })],
  ])('a bad token (%s) → InvalidOperationError', (_what, token) => {
    const server = new FakeOperationsServer();
    expect(() => LongRunningOperation.resume(token, options(server) as OperationOptions)).toThrow(InvalidOperationError);
  });
});

describe('the metadata type URL', () => {
  test('is kept on the raw resource', async () => {
    const server = new FakeOperationsServer();
    const op = new LongRunningOperation(server.create({ metadata: progress(1) }), options(server));
    expect(op.latest.metadata?.typeUrl).toBe(PROGRESS_URL);
  });
});

describe('news from outside the loop', () => {
  test('an operation done by a notification stops its loop at once: no timer or call left behind', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const client = new OperationsClient({ transport: server.transport, polling: { initialDelayMs: 60_000, multiplier: 1 } });
    const created = server.create();
    const op = client.wrap(created);
    const p = op.promise(); // no signal, no timeout: the shared result itself
    await flush();
    expect(client.notify({ name: created.name, done: true })).toBe(true);
    await expect(p).resolves.toBeUndefined();
    await flush();
    expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(0);
    // afterEach checks that no timer is left
  });
});
