/**
 * The per-transport engine through the public API: one WaitOperation probe
 * per transport, bounds on calls in flight, one listener per shared
 * AbortSignal, paced wire cancellations, a silent server, long timeouts and
 * renamed operations. Schedules run on fake timers; transports on loopback.
 */
import { getEventListeners } from 'node:events';
import * as net from 'node:net';
import {
  Code,
  LongRunningOperation,
  RpcError,
  grpcTransport,
  type OperationResource,
  type OperationsTransport,
} from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { flush, registry, result, useFakeTime } from './support/protos.js';

process.env.METADATA_SERVER_DETECTION = 'none';

/** A transport that counts calls in flight per method and remembers the most seen at once. */
function gauge(inner: OperationsTransport, extra: Partial<OperationsTransport> = {}) {
  const now: Record<string, number> = {};
  const peak: Record<string, number> = {};
  const aborted: Record<string, number> = {};
  const track = <T>(method: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> => {
    now[method] = (now[method] ?? 0) + 1;
    peak[method] = Math.max(peak[method] ?? 0, now[method]);
    signal?.addEventListener('abort', () => (aborted[method] = (aborted[method] ?? 0) + 1), { once: true });
    return call().finally(() => now[method]--);
  };
  const transport: OperationsTransport = {
    getOperation: (name, o) => track('get', o?.signal, () => inner.getOperation(name, o)),
    waitOperation: inner.waitOperation ? (name, t, o) => track('wait', o?.signal, () => inner.waitOperation!(name, t, o)) : undefined,
    cancelOperation: (name, o) => inner.cancelOperation(name, o),
    deleteOperation: (name, o) => inner.deleteOperation(name, o),
    listOperations: (r, o) => inner.listOperations(r, o),
    ...extra,
  };
  return { transport, peak, aborted, now };
}

describe('one WaitOperation probe per transport', () => {
  test('200 operations on a fresh gRPC transport to a server without WaitOperation send exactly one WaitOperation', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const { address, close } = await server.listenGrpc();
    const transport = grpcTransport({ address });
    try {
      const ops = Array.from({ length: 200 }, () => new LongRunningOperation(server.create(), { transport, decode: registry }));
      const all = Promise.all(ops.map((op) => op.promise()));
      await new Promise((r) => setTimeout(r, 50));
      for (const op of ops) server.complete(op.name, result(op.name));
      const values = (await all) as { uri: string }[];
      expect(values.map((v) => v.uri)).toEqual(ops.map((op) => op.name));
      expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
    } finally {
      transport.close();
      await close();
    }
  });

  test('on a server with WaitOperation, the others wait for the probe and then use WaitOperation too', async () => {
    const server = new FakeOperationsServer();
    const { address, close } = await server.listenGrpc();
    const transport = grpcTransport({ address });
    try {
      const ops = Array.from({ length: 50 }, () => new LongRunningOperation(server.create(), { transport }));
      const all = Promise.all(ops.map((op) => op.promise()));
      await new Promise((r) => setTimeout(r, 400)); // past the 250 ms probe
      for (const op of ops) server.complete(op.name);
      await all;
      const methods = server.calls.map((c) => c.method);
      expect(methods.filter((m) => m === 'GetOperation')).toHaveLength(0);
      // one probe that returned at its short timeout, then one WaitOperation per operation
      expect(methods.filter((m) => m === 'WaitOperation').length).toBe(51);
    } finally {
      transport.close();
      await close();
    }
  });
});

describe('bounds on calls in flight', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  test('GetOperation polls beyond limits.maxCalls wait in a queue; every operation resolves', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const slow: OperationsTransport = {
      ...server.transport,
      getOperation: async (name, o) => {
        await new Promise((r) => setTimeout(r, 50));
        return server.transport.getOperation(name, o);
      },
    };
    const g = gauge(slow);
    const transport = { ...g.transport, waitOperation: undefined, limits: { maxCalls: 5 } };
    const ops = Array.from({ length: 40 }, () => new LongRunningOperation(server.create(), { transport, polling: { initialDelayMs: 10 } }));
    const all = Promise.all(ops.map((op) => op.promise()));
    await jest.advanceTimersByTimeAsync(200);
    for (const op of ops) server.complete(op.name);
    await jest.advanceTimersByTimeAsync(5_000);
    await all;
    expect(g.peak.get).toBe(5);
  });

  test('WaitOperation calls are held at most limits.maxWaitCalls at once; the others poll until a slot frees', async () => {
    const server = new FakeOperationsServer();
    const g = gauge(server.transport);
    const transport = { ...g.transport, limits: { maxWaitCalls: 3 } };
    const ops = Array.from({ length: 20 }, () => new LongRunningOperation(server.create(), { transport, waitTimeoutMs: 10_000 }));
    const all = Promise.all(ops.map((op) => op.promise()));
    await jest.advanceTimersByTimeAsync(2_000);
    expect(g.peak.wait).toBe(3);
    expect(g.peak.get).toBeGreaterThan(0);
    for (const op of ops) server.complete(op.name);
    await jest.advanceTimersByTimeAsync(70_000);
    await all;
  });

  test('bad limits are refused with a TypeError naming them', () => {
    const server = new FakeOperationsServer();
    const transport = { ...server.transport, limits: { maxCalls: 0 } };
    expect(() => new LongRunningOperation(server.create(), { transport })).toThrow(/limits\.maxCalls/);
  });
});

describe('one listener per AbortSignal', () => {
  test('10,000 operations waiting on one signal add one listener to it, with no warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const server = new FakeOperationsServer({ waitOperation: false });
      const controller = new AbortController();
      const ops = Array.from({ length: 10_000 }, () => new LongRunningOperation(server.create(), { transport: server.transport, polling: { initialDelayMs: 60_000 } }));
      const waits = ops.map((op) => op.promise({ signal: controller.signal }).catch((e: unknown) => e));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      const reason = new Error('stop all');
      controller.abort(reason);
      const settled = await Promise.all(waits);
      expect(settled.every((e) => e === reason)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test("an object's signal shared by many operations is one listener too", () => {
    const server = new FakeOperationsServer();
    const controller = new AbortController();
    const ops = Array.from({ length: 1_000 }, () => new LongRunningOperation(server.create(), { transport: server.transport, signal: controller.signal }));
    const waits = ops.map((op) => op.promise().catch(() => undefined));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    return Promise.all(waits);
  });
});

describe('a mass abort', () => {
  test('aborting 1,500 waits at once rejects them at once, ends every transport call and frees every slot', async () => {
    const server = new FakeOperationsServer();
    const g = gauge(server.transport);
    const transport = { ...g.transport, limits: { maxWaitCalls: 2_000 } };
    // make the transport's WaitOperation support known, so every operation waits at once
    const first = new LongRunningOperation(server.create(), { transport });
    const p = first.promise();
    server.complete(first.name);
    await p;
    const controller = new AbortController();
    const ops = Array.from({ length: 1_500 }, () => new LongRunningOperation(server.create(), { transport, waitTimeoutMs: 60_000 }));
    const waits = ops.map((op) => op.promise({ signal: controller.signal }).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 20));
    expect(g.now.wait).toBe(1_500);
    const reason = new Error('enough');
    controller.abort(reason);
    expect((await Promise.all(waits)).every((e) => e === reason)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(g.aborted.wait).toBe(1_500);
    expect(g.now.wait).toBe(0);
    // the transport still works for everybody else
    const after = new LongRunningOperation(server.create(), { transport });
    const q = after.promise();
    server.complete(after.name);
    await q;
  });
});

describe('a server that never answers', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  test('WaitOperation mode ends with a typed error within the retry budget, never silently', async () => {
    const silent: OperationsTransport = {
      getOperation: () => new Promise(() => undefined),
      waitOperation: () => new Promise(() => undefined),
      cancelOperation: async () => undefined,
      deleteOperation: async () => undefined,
      listOperations: async () => ({ operations: [], nextPageToken: '' }),
    };
    const op = new LongRunningOperation('operations/silent', { transport: silent, rpcTimeoutMs: 1_000, waitTimeoutMs: 5_000, retry: { retries: 3, maxDelayMs: 1_000 } });
    const p = op.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(60_000);
    const err = await p;
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(Code.DEADLINE_EXCEEDED);
    expect((err as RpcError).message).toMatch(/operations\/silent/);
  });

  test('over real gRPC to a socket that accepts and never answers: a typed error, no hang, nothing left open', async () => {
    jest.useRealTimers();
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const { port } = tcp.address() as net.AddressInfo;
    const transport = grpcTransport({ address: `127.0.0.1:${port}` });
    try {
      const op = new LongRunningOperation('operations/silent', { transport, rpcTimeoutMs: 200, waitTimeoutMs: 200, retry: { retries: 2, initialDelayMs: 10, maxDelayMs: 20 } });
      const err = await op.promise().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect([Code.DEADLINE_EXCEEDED, Code.UNAVAILABLE]).toContain((err as RpcError).code);
    } finally {
      transport.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(r));
    }
    useFakeTime();
  });
});

describe('long timeouts (beyond setTimeout’s 2^31-1 ms)', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });
  const DAY = 86_400_000;

  test('promise({ timeoutMs: 30 days }) waits 30 days, not 1 ms', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create(), { transport: server.transport, polling: { initialDelayMs: 10 * DAY, maxDelayMs: 10 * DAY } });
    const p = op.promise({ timeoutMs: 30 * DAY }).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(29 * DAY);
    expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(DAY);
    expect((await p) as Error).toMatchObject({ name: 'OperationTimeoutError' });
  });

  test('polling delays of 40 days and a WaitOperation timeout of 30 days are not cut short', async () => {
    const server = new FakeOperationsServer();
    const { transport, now } = gauge(server.transport);
    const op = new LongRunningOperation('operations/long', { transport, waitTimeoutMs: 30 * DAY, rpcTimeoutMs: 30 * DAY });
    server.create({ name: 'operations/long' });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1_000); // past the probe
    await jest.advanceTimersByTimeAsync(25 * DAY);
    expect(now.wait).toBe(1); // still the one 30-day WaitOperation
    expect(server.calls.length).toBeLessThan(5);
    server.complete('operations/long');
    await jest.advanceTimersByTimeAsync(0);
    await p;
  });
});

describe('a server that renames the operation', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => jest.useRealTimers());

  test('the operation follows the name the server returns, and later calls use it', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const real = server.create({ name: 'projects/123456/locations/us/operations/9' });
    const names: string[] = [];
    const transport: OperationsTransport = {
      ...server.transport,
      waitOperation: undefined,
      getOperation: (name, o) => {
        names.push(name);
        return server.transport.getOperation(real.name, o);
      },
    };
    const op = new LongRunningOperation('projects/my-project/locations/us/operations/9', { transport, polling: { initialDelayMs: 100 } });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(0);
    expect(op.name).toBe(real.name);
    await jest.advanceTimersByTimeAsync(100);
    server.complete(real.name);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(p).resolves.toBeUndefined();
    expect(names[0]).toBe('projects/my-project/locations/us/operations/9');
    expect(names.slice(1).every((n) => n === real.name)).toBe(true);
    expect(JSON.parse(JSON.stringify(op)).name).toBe(real.name);
  });
});

describe('progress at once', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => jest.useRealTimers());

  test('built from a name with a metadata listener: a GetOperation first, then WaitOperation', async () => {
    const server = new FakeOperationsServer();
    const created: OperationResource = server.create({ metadata: registry.encode('test.v1.Progress', { percent: 18 }) });
    const op = new LongRunningOperation<unknown, { percent: number }>(created.name, { transport: server.transport, decode: registry });
    const seen: number[] = [];
    op.on('metadata', (m) => seen.push(m.percent));
    const p = op.promise();
    await flush();
    expect(server.calls.map((c) => c.method)).toEqual(['GetOperation', 'WaitOperation']);
    expect(seen).toEqual([18]);
    server.complete(created.name);
    await jest.advanceTimersByTimeAsync(0);
    await p;
  });
});
