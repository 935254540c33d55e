/**
 * REST transport resilience over real loopback sockets (127.0.0.1 only):
 * bodies cut mid-way, failing header providers, Retry-After, the cap on
 * `:wait` long-polls, and ListOperations partial success.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LongRunningOperation, RpcError, restTransport, type Clock, type OperationResource, type OperationsTransport } from '../src/index.js';
import { systemClock } from '../src/watch/clock.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { serveHttp } from '../src/testing/http-server.js';
import { Code, type CallOptions } from '../src/types.js';
import { answerShortBody, rawHttpServer, until, type RawAnswer } from './support/loopback.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function rawHttp(answers: RawAnswer[]) {
  const server = await rawHttpServer(answers);
  closers.push(server.close);
  return server;
}

const DONE_BODY = JSON.stringify({ name: 'operations/cut', done: true, response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } });
const answerDone = (socket: net.Socket) =>
  socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${DONE_BODY.length}\r\n\r\n${DONE_BODY}`);
/** Chunked encoding with a chunk size that is not hex. */
const answerBadChunks = (socket: net.Socket) => {
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"nam\r\nZZ\r\nxx\r\n');
  setTimeout(() => socket.destroy(), 5);
};

async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

const FAST = { polling: { initialDelayMs: 1, maxDelayMs: 5 }, waitOperation: 'never' as const };

describe('a response body cut mid-way', () => {
  test.each([
    ['Content-Length larger than what arrives', answerShortBody],
    ['malformed chunked encoding', answerBadChunks],
  ])('%s → RpcError UNAVAILABLE with the network error as cause', async (_label, answer) => {
    const { baseUrl } = await rawHttp([answer]);
    const err = await rpcError(restTransport({ baseUrl }).getOperation('operations/cut'));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toMatch(/GetOperation operations\/cut: the response body from GET http:\/\/127\.0\.0\.1:\d+\/v1\/operations\/cut was cut off/);
    expect((err.cause as Error).name).toBe('TypeError'); // undici's own "terminated", kept as the cause
    expect((err.cause as Error).message).toBe('terminated');
  });

  test('promise() retries it and resolves with the true result', async () => {
    const { baseUrl, requests } = await rawHttp([answerShortBody, answerBadChunks, answerDone]);
    const op = new LongRunningOperation('operations/cut', { transport: restTransport({ baseUrl }), ...FAST });
    await expect(op.promise()).resolves.toEqual({});
    expect(requests()).toBe(3);
  });

  test('an error status whose body is cut keeps the status the server chose', async () => {
    const { baseUrl } = await rawHttp([
      (socket) => {
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 300\r\n\r\n{"error":');
        setTimeout(() => socket.destroy(), 5);
      },
    ]);
    expect((await rpcError(restTransport({ baseUrl }).getOperation('operations/cut'))).code).toBe(Code.NOT_FOUND);
  });
});

describe('the headers provider', () => {
  test.each([
    ['throws', () => {
      throw new Error('token refresh failed');
    }],
    ['rejects', () => Promise.reject(new Error('token refresh failed'))],
  ])('that %s fails the call with RpcError UNAVAILABLE, like grpcTransport metadata()', async (_label, headers) => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp();
    closers.push(() => fake.close());
    const created = fake.create();
    const err = await rpcError(restTransport({ baseUrl, headers }).getOperation(created.name));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe('UNAVAILABLE: headers provider failed: token refresh failed');
    expect(err.cause).toEqual(new Error('token refresh failed'));
    expect(fake.calls).toEqual([]); // nothing was sent
  });

  test('headers that are not valid HTTP fail with INVALID_ARGUMENT and never show the value', async () => {
    const t = restTransport({ baseUrl: 'http://127.0.0.1:1', headers: () => ({ authorization: 'Bearer secret\u0000' }) });
    const err = await rpcError(t.getOperation('operations/x'));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).not.toContain('secret');
  });

  test('a provider failure is retried while waiting', async () => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp();
    closers.push(() => fake.close());
    const created = fake.create();
    fake.complete(created.name);
    let calls = 0;
    const headers = () => {
      if (++calls < 3) throw new Error('not yet');
      return { authorization: 'Bearer t' };
    };
    const op = LongRunningOperation.resume(JSON.stringify({ kind: 'longrunning.operation', version: 1, name: created.name }), {
      transport: restTransport({ baseUrl, headers }),
      ...FAST,
    });
    await expect(op.promise()).resolves.toBeUndefined();
    expect(calls).toBe(3);
    expect(fake.calls.map((c) => c.method)).toEqual(['GetOperation']);
  });
});

describe('Retry-After on 429 and 503', () => {
  async function answering(status: number, retryAfter: string | undefined, body?: unknown) {
    let n = 0;
    const server = http.createServer((_req, res) => {
      if (n++ === 0) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
        res.writeHead(status, headers);
        res.end(JSON.stringify(body ?? { error: { code: status, message: 'slow down', status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'operations/ra', done: true }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  test('seconds become a google.rpc.RetryInfo detail', async () => {
    const baseUrl = await answering(429, '7');
    const err = await rpcError(restTransport({ baseUrl }).getOperation('operations/ra'));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }]);
  });

  test('an HTTP-date becomes the delay until then', async () => {
    const baseUrl = await answering(503, new Date(Date.now() + 3_600_000).toUTCString());
    const err = await rpcError(restTransport({ baseUrl }).getOperation('operations/ra'));
    expect(err.code).toBe(Code.UNAVAILABLE);
    const delay = String(err.details[0]?.retryDelay);
    expect(err.details[0]?.['@type']).toBe('type.googleapis.com/google.rpc.RetryInfo');
    const seconds = Number(delay.replace(/s$/, ''));
    expect(seconds).toBeGreaterThan(3_500);
    expect(seconds).toBeLessThanOrEqual(3_600);
  });

  test('a RetryInfo in the body wins; other statuses and malformed values add nothing', async () => {
    const retryInfo = { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' };
    const withBody = await answering(429, '9', { error: { code: 429, message: 'q', status: 'RESOURCE_EXHAUSTED', details: [retryInfo] } });
    expect((await rpcError(restTransport({ baseUrl: withBody }).getOperation('operations/ra'))).details).toEqual([retryInfo]);
    const other = await answering(500, '9');
    expect((await rpcError(restTransport({ baseUrl: other }).getOperation('operations/ra'))).details).toEqual([]);
    const malformed = await answering(503, 'soon');
    expect((await rpcError(restTransport({ baseUrl: malformed }).getOperation('operations/ra'))).details).toEqual([]);
  });

  test('the watch loop waits as long as Retry-After asks (injected clock)', async () => {
    const baseUrl = await answering(429, '3');
    const slept: number[] = [];
    // A virtual clock: short sleeps (backoff, hints) pass at once by moving `now`; long ones (the RPC deadline) run on real time.
    let virtual = 0;
    const clock: Clock = {
      now: () => virtual,
      random: () => 0.5,
      sleep: (ms, signal) => {
        slept.push(ms);
        if (ms >= 10_000) return systemClock.sleep(ms, signal);
        virtual += ms;
        return Promise.resolve();
      },
    };
    const op = LongRunningOperation.resume(JSON.stringify({ kind: 'longrunning.operation', version: 1, name: 'operations/ra' }), {
      transport: restTransport({ baseUrl }),
      waitOperation: 'never',
      polling: { initialDelayMs: 1, maxDelayMs: 60_000 }, // hints are clamped to maxDelayMs
      clock,
    });
    await expect(op.promise()).resolves.toBeUndefined();
    expect(slept.filter((ms) => ms < 10_000)).toEqual([3_000]);
  });
});

describe('maxLongPolls', () => {
  /** The fake's service, counting the `:wait` requests in flight at the server. */
  function counting(fake: FakeOperationsServer) {
    const stats = { current: 0, max: 0, total: 0 };
    const service: OperationsTransport = {
      ...fake.service,
      getOperation: (name, o) => fake.service.getOperation(name, o),
      cancelOperation: (name, o) => fake.service.cancelOperation(name, o),
      deleteOperation: (name, o) => fake.service.deleteOperation(name, o),
      listOperations: (r, o) => fake.service.listOperations(r, o),
      waitOperation: async (name: string, timeoutMs: number, o?: CallOptions): Promise<OperationResource> => {
        stats.total++;
        stats.max = Math.max(stats.max, ++stats.current);
        try {
          return await fake.service.waitOperation!(name, timeoutMs, o);
        } finally {
          stats.current--;
        }
      },
    };
    return { service, stats };
  }

  test('100 operations: never more than the cap of :wait requests at the server, and every one resolves', async () => {
    const fake = new FakeOperationsServer();
    const { service, stats } = counting(fake);
    const listener = await serveHttp(service);
    closers.push(() => listener.close(), () => fake.close());
    const transport = restTransport({ baseUrl: listener.baseUrl, maxLongPolls: 4 });
    const created = Array.from({ length: 100 }, () => fake.create());
    const ops = created.map(
      (c) => new LongRunningOperation(c, { transport, polling: { initialDelayMs: 5, maxDelayMs: 40 }, waitTimeoutMs: 10_000 }),
    );
    const results = ops.map((op) => op.promise());
    await until(() => new Set(fake.calls.map((c) => c.name)).size === 100 && stats.current === 4, 'every operation to be watched');
    created.forEach((c, i) => fake.complete(c.name, { typeUrl: 'type.googleapis.com/google.protobuf.StringValue', value: Uint8Array.of(10, 1, 48 + (i % 10)) }));
    const values = await Promise.all(results);
    expect(values).toEqual(created.map((_, i) => String(i % 10)));
    expect(stats.max).toBe(4);
    expect(fake.calls.some((c) => c.method === 'GetOperation')).toBe(true);
  });

  test('the default cap is 8; 0 never long-polls; a bad value is a TypeError', async () => {
    const fake = new FakeOperationsServer();
    const { service, stats } = counting(fake);
    const listener = await serveHttp(service);
    closers.push(() => listener.close(), () => fake.close());
    const created = Array.from({ length: 12 }, () => fake.create());
    const t = restTransport({ baseUrl: listener.baseUrl });
    const answers = created.map((c) => t.waitOperation!(c.name, 10_000));
    await until(() => fake.calls.length === 12, 'all twelve calls');
    expect(stats.current).toBe(8);
    expect(fake.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(4);
    for (const c of created) fake.complete(c.name);
    expect((await Promise.all(answers)).filter((op) => op.done)).toHaveLength(8);

    const never = restTransport({ baseUrl: listener.baseUrl, maxLongPolls: 0 });
    await never.waitOperation!(created[0].name, 10_000);
    expect(stats.total).toBe(8);
    expect(() => restTransport({ baseUrl: listener.baseUrl, maxLongPolls: -1 })).toThrow(TypeError);
  });
});

describe('ListOperations partial success', () => {
  test('returnPartialSuccess travels as a query parameter and unreachable comes back', async () => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp();
    closers.push(() => fake.close());
    const a = fake.create();
    const t = restTransport({ baseUrl });
    expect(await t.listOperations({ name: 'operations' })).toEqual({ operations: [a], nextPageToken: '' });
    fake.setUnreachable(['projects/p/locations/eu', 'projects/p/locations/asia']);
    expect((await rpcError(t.listOperations({ name: 'operations' }))).code).toBe(Code.UNAVAILABLE);
    expect(await t.listOperations({ name: 'operations', returnPartialSuccess: true })).toEqual({
      operations: [a],
      nextPageToken: '',
      unreachable: ['projects/p/locations/eu', 'projects/p/locations/asia'],
    });
    await expect(t.listOperations({ name: 'operations', returnPartialSuccess: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
  });
});
