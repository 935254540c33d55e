/**
 * gRPC transport resilience over real loopback sockets (127.0.0.1 only): a
 * pending metadata provider, calls lost with their HTTP/2 session (GOAWAY),
 * paced cancellation on the wire, close() with thousands of calls in flight.
 */
import { setMaxListeners } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { LongRunningOperation, RpcError, grpcTransport, type GrpcTransport } from '../src/index.js';
import { FakeOperationsServer, FaultProxy, HTTP2_FRAME, type Http2FrameRecord } from '../src/testing/index.js';
import { encodeOperation } from '../src/transports/grpc.js';
import { Code } from '../src/types.js';
import { activeResources, leakedSince } from './support/transports.js';
import { until } from './support/loopback.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function expectNoLeak(before: Record<string, number>): Promise<void> {
  for (let i = 0; i < 100 && Object.keys(leakedSince(before)).length > 0; i++) await sleep(100);
  expect(leakedSince(before)).toEqual({});
}

const isReset = (f: Http2FrameRecord) => f.from === 'client' && f.type === HTTP2_FRAME.RST_STREAM;
const isGoaway = (f: Http2FrameRecord) => f.from === 'server' && f.type === HTTP2_FRAME.GOAWAY;

/** The fake server on loopback gRPC behind a frame-recording proxy. */
async function rig() {
  const fake = new FakeOperationsServer();
  const listener = await fake.listenGrpc();
  const proxy = await FaultProxy.listen({ target: listener.port, http2: true });
  return {
    fake,
    proxy,
    close: async () => {
      await proxy.close();
      await fake.close();
    },
  };
}

const waitsAtServer = (fake: FakeOperationsServer) => fake.calls.filter((c) => c.method === 'WaitOperation').length;

describe('a pending metadata provider', () => {
  test('does not hold a call past its signal or its timeoutMs', async () => {
    const fake = new FakeOperationsServer();
    const listener = await fake.listenGrpc();
    const created = fake.create();
    let calls = 0;
    const t = grpcTransport({ address: listener.address, metadata: () => (calls++, new Promise<Record<string, string>>(() => undefined)) });
    try {
      const controller = new AbortController();
      const aborted = t.getOperation(created.name, { signal: controller.signal });
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);

      const timedOut = await t.waitOperation(created.name, 60_000, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(RpcError);
      expect(timedOut).toMatchObject({ code: Code.DEADLINE_EXCEEDED });
      expect((timedOut as RpcError).message).toMatch(/metadata provider was pending/);

      const closing = t.getOperation(created.name);
      t.close();
      await expect(closing).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
      expect(calls).toBe(3);
      expect(fake.calls).toEqual([]); // nothing reached the server
    } finally {
      t.close();
      await fake.close();
    }
  });
});

describe('a call lost with its connection is UNAVAILABLE', () => {
  /** A raw HTTP/2 server speaking gRPC framing: `answer` decides what each stream gets. */
  async function rawGrpc(answer: (stream: http2.ServerHttp2Stream, session: http2.ServerHttp2Session, n: number) => void) {
    let n = 0;
    const sessions = new Set<http2.ServerHttp2Session>();
    const server = http2.createServer();
    server.on('session', (s) => sessions.add(s));
    server.on('stream', (stream) => {
      const i = n++;
      stream.on('error', () => undefined);
      stream.on('data', () => undefined);
      stream.on('end', () => answer(stream, stream.session as http2.ServerHttp2Session, i));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      requests: () => n,
      close: async () => {
        for (const s of sessions) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  function respondDone(stream: http2.ServerHttp2Stream, name: string): void {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    const message = Buffer.from(encodeOperation({ name, done: true }));
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    stream.end(frame);
  }

  test('GOAWAY(INTERNAL_ERROR) from the server mid-call → UNAVAILABLE with the grpc-js error as cause; the loop retries it', async () => {
    const before = activeResources();
    const server = await rawGrpc((stream, session, n) => {
      if (n === 0) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR, 0);
        return;
      }
      respondDone(stream, 'operations/goaway');
    });
    const t = grpcTransport({ address: server.address });
    try {
      const err = await t.waitOperation('operations/goaway', 10_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: Code.UNAVAILABLE });
      expect((err as RpcError).message).toMatch(/Session closed with error code 2/);
      expect((err as RpcError).cause).toMatchObject({ code: Code.INTERNAL });

      const op = new LongRunningOperation('operations/goaway', { transport: t, polling: { initialDelayMs: 1, maxDelayMs: 5 } });
      await expect(op.promise()).resolves.toBeUndefined();
    } finally {
      t.close();
      await server.close();
    }
    await expectNoLeak(before);
  });

  test('a real INTERNAL status sent by the server stays INTERNAL', async () => {
    const server = await rawGrpc((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': 'boom' }, { endStream: true });
    });
    const t = grpcTransport({ address: server.address });
    try {
      await expect(t.getOperation('operations/x')).rejects.toMatchObject({ code: Code.INTERNAL, rawMessage: 'boom' });
    } finally {
      t.close();
      await server.close();
    }
  });

  test('end to end: operations waiting on the fake server when its session is GOAWAY’d all resolve with their true results', async () => {
    const r = await rig();
    const t = grpcTransport({ address: r.proxy.address });
    try {
      const created = Array.from({ length: 30 }, () => r.fake.create());
      const ops = created.map((c) => new LongRunningOperation(c, { transport: t, polling: { initialDelayMs: 1, maxDelayMs: 20 }, retry: { retries: 20 } }));
      const results = ops.map((op) => op.promise());
      await until(() => waitsAtServer(r.fake) >= 30, 'every operation to be waiting');
      expect(r.proxy.goaway(2)).toBe(1);
      await until(() => waitsAtServer(r.fake) >= 60, 'every operation to wait again');
      created.forEach((c, i) => r.fake.complete(c.name, { typeUrl: 'type.googleapis.com/google.protobuf.StringValue', value: Uint8Array.of(10, 1, 97 + (i % 26)) }));
      expect(await Promise.all(results)).toEqual(created.map((_, i) => String.fromCharCode(97 + (i % 26))));
    } finally {
      t.close();
      await r.close();
    }
  });
});

describe('paced cancellation', () => {
  test('1,500 aborted WaitOperations reject at once, their resets are paced, and the session survives', async () => {
    const r = await rig();
    const t = grpcTransport({ address: r.proxy.address });
    try {
      const unrelated = r.fake.create();
      const survivor = t.waitOperation(unrelated.name, 60_000);
      const created = Array.from({ length: 1_500 }, () => r.fake.create());
      const controller = new AbortController();
      setMaxListeners(2_000, controller.signal); // one listener per call, on purpose
      const settled: unknown[] = [];
      const calls = created.map((c) =>
        t.waitOperation(c.name, 60_000, { signal: controller.signal }).then(
          () => settled.push('resolved'),
          (e: unknown) => settled.push(e),
        ),
      );
      await until(() => waitsAtServer(r.fake) >= 1_501, 'every WaitOperation to reach the server');
      const reason = new Error('stop waiting');
      controller.abort(reason);
      for (let i = 0; i < 5; i++) await Promise.resolve();
      expect(settled).toHaveLength(1_500); // all at once, before any reset went out
      expect(settled.every((e) => e === reason)).toBe(true);
      await Promise.all(calls);

      await until(() => r.proxy.frames.filter(isReset).length >= 500, 'the first resets');
      await sleep(200);
      r.fake.complete(unrelated.name);
      await expect(survivor).resolves.toMatchObject({ name: unrelated.name, done: true });
      await expect(t.getOperation(unrelated.name)).resolves.toMatchObject({ done: true });
      // Not all at once: after the burst the rest follow at the sustained rate (exact limits: cancel-pacer.test.ts).
      expect(r.proxy.frames.filter(isReset).length).toBeLessThan(1_500);
      expect(r.proxy.frames.filter(isGoaway)).toEqual([]);
    } finally {
      t.close();
      await r.close();
    }
  });

  test('a call that ends by itself before its turn is not cancelled', async () => {
    const r = await rig();
    const t = grpcTransport({ address: r.proxy.address, cancelPacing: { burst: 1, perSecond: 1 } });
    try {
      const [a, b] = [r.fake.create(), r.fake.create()];
      const controller = new AbortController();
      const calls = [a, b].map((c) => t.waitOperation(c.name, 60_000, { signal: controller.signal }).catch((e: unknown) => e));
      await until(() => waitsAtServer(r.fake) >= 2, 'both calls');
      controller.abort();
      await Promise.all(calls);
      await until(() => r.proxy.frames.filter(isReset).length >= 1, 'the first reset');
      r.fake.complete(a.name);
      r.fake.complete(b.name); // the second one answers before its reset is due
      await sleep(1_500);
      expect(r.proxy.frames.filter(isReset)).toHaveLength(1);
    } finally {
      t.close();
      await r.close();
    }
  });

  test('cancelPacing is validated', () => {
    expect(() => grpcTransport({ address: '127.0.0.1:1', cancelPacing: { burst: 0 } })).toThrow(TypeError);
    expect(() => grpcTransport({ address: '127.0.0.1:1', cancelPacing: { perSecond: Number.NaN } })).toThrow(TypeError);
  });
});

describe('close()', () => {
  test('2,000 pending WaitOperations reject at once with FAILED_PRECONDITION; resets are paced, no GOAWAY; nothing is left open', async () => {
    const before = activeResources();
    const r = await rig();
    const t: GrpcTransport = grpcTransport({ address: r.proxy.address });
    const created = Array.from({ length: 2_000 }, () => r.fake.create());
    const settled: unknown[] = [];
    const calls = created.map((c) =>
      t.waitOperation(c.name, 60_000).then(
        () => settled.push('resolved'),
        (e: unknown) => settled.push(e),
      ),
    );
    await until(() => waitsAtServer(r.fake) >= 2_000, 'every WaitOperation to reach the server');
    t.close();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(settled).toHaveLength(2_000);
    expect(settled.every((e) => e instanceof RpcError && e.code === Code.FAILED_PRECONDITION)).toBe(true);
    await Promise.all(calls);
    await expect(t.getOperation(created[0].name)).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });

    await until(() => r.proxy.frames.filter(isReset).length >= 500, 'the first resets');
    await sleep(300);
    expect(r.proxy.frames.filter(isReset).length).toBeLessThan(2_000);
    expect(r.proxy.frames.filter(isGoaway)).toEqual([]);
    // The server ends the rest (its WaitOperations time out or it shuts down): then nothing of the transport remains.
    await r.close();
    await expectNoLeak(before);
  });

  test('a transport closed with nothing in flight releases its channel', async () => {
    const before = activeResources();
    const fake = new FakeOperationsServer();
    const listener = await fake.listenGrpc();
    const t = grpcTransport({ address: listener.address });
    const created = fake.create();
    await t.getOperation(created.name);
    t.close();
    t.close(); // idempotent
    await fake.close();
    await expectNoLeak(before);
  });
});
