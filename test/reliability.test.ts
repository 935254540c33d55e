/**
 * Reliability under faults, on real loopback sockets: each fault of the
 * fault layer on its own (gRPC and HTTP), a small soak run with every fault
 * at once, an abort storm, and regression tests for the bugs the soak found.
 * Everything asserts outcomes and cleanliness, never timing.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  Code,
  LongRunningOperation,
  RpcError,
  grpcTransport,
  memoryTransport,
  restTransport,
  type CallOptions,
  type GrpcTransport,
  type OperationOptions,
  type OperationsTransport,
} from '../src/index.js';
import { FakeOperationsServer, FaultProxy, FaultyOperationsService, FaultyServer, type FaultRates } from '../src/testing/index.js';
import { encodeOperation } from '../src/transports/grpc.js';
import { formatReport, runSoak, type SoakReport } from './soak/soak.js';
import { progress, registry, result } from './support/protos.js';
import { activeResources, leakedSince } from './support/transports.js';

process.env.METADATA_SERVER_DETECTION = 'none';

type Result = { uri: string; sizeBytes: string; kind: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `condition` holds; throws naming `what` otherwise. Not a timing assertion: only a guard against hanging. */
async function until(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > limitMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

/** Waits until nothing is left open compared with `before` (sockets and timers close asynchronously). */
async function expectNoLeak(before: Record<string, number>): Promise<void> {
  for (let i = 0; i < 50 && Object.keys(leakedSince(before)).length > 0; i++) await sleep(100);
  expect(leakedSince(before)).toEqual({});
}

const CHANNEL_OPTIONS = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.min_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 200,
};
const CLIENT = {
  decode: registry,
  polling: { initialDelayMs: 5, maxDelayMs: 50 },
  retry: { retries: 60 },
  progressIntervalMs: 100,
} satisfies Partial<OperationOptions>;

interface Rig {
  fake: FakeOperationsServer;
  server: FaultyServer;
  transport: OperationsTransport;
  close(): Promise<void>;
}

async function rig(protocol: 'grpc' | 'http', faults: FaultRates = {}): Promise<Rig> {
  const fake = new FakeOperationsServer({ types: registry });
  const server = await FaultyServer.start(fake.service, { protocol, registry, seed: 11, faults });
  let grpc: GrpcTransport | undefined;
  const transport =
    protocol === 'grpc'
      ? (grpc = grpcTransport({ address: server.address, registry, channelOptions: CHANNEL_OPTIONS }))
      : restTransport({ baseUrl: server.baseUrl });
  return {
    fake,
    server,
    transport,
    close: async () => {
      grpc?.close();
      await server.close();
      await fake.close();
    },
  };
}

const waitCalls = (fake: FakeOperationsServer) => fake.calls.filter((c) => c.method === 'WaitOperation').length;

describe('fault layer', () => {
  test('the same seed injects the same faults; rates are validated; close() ends delayed calls', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const fake = new FakeOperationsServer();
      const { name } = fake.create();
      const faulty = new FaultyOperationsService(fake.service, { seed, unavailable: 0.3, resourceExhausted: 0.2 });
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) {
        seen.push(
          await faulty.getOperation(name).then(
            () => 'ok',
            (e: RpcError) => `${e.code}${e.details.length > 0 ? '+RetryInfo' : ''}`,
          ),
        );
      }
      return seen;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(new Set(a)).toEqual(new Set(['ok', String(Code.UNAVAILABLE), `${Code.RESOURCE_EXHAUSTED}+RetryInfo`]));
    expect(await run(6)).not.toEqual(a);

    const fake = new FakeOperationsServer();
    expect(() => new FaultyOperationsService(fake.service, { unavailable: 2 })).toThrow(TypeError);
    expect(() => new FaultyOperationsService(fake.service, { latencyMs: [5, 1] })).toThrow(TypeError);
    const faulty = new FaultyOperationsService(fake.service, { latency: 1, latencyMs: 60_000 });
    const { name } = fake.create();
    const delayed = faulty.getOperation(name).catch((e: unknown) => e);
    const abandoned = faulty.getOperation(name, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(await abandoned).toBeInstanceOf(DOMException); // a latency spike honours the client's cancel
    faulty.configure({ latency: 0, waitHangs: 1 });
    const hanging = faulty.waitOperation!(name, 50, { signal: AbortSignal.abort() }).catch((e: unknown) => e); // a hang ignores it
    faulty.close();
    expect(await delayed).toMatchObject({ code: Code.UNAVAILABLE });
    expect(await hanging).toMatchObject({ code: Code.UNAVAILABLE });
    expect(faulty.stats).toMatchObject({ latencySpikes: 2, waitHung: 1 });
    await expect(faulty.getOperation(name)).resolves.toMatchObject({ name }); // after close: no faults
  });

  test('FaultProxy forwards bytes, cuts live connections on command, resets new ones while the server is down', async () => {
    const before = activeResources();
    const fake = new FakeOperationsServer();
    const listener = await fake.listenHttp();
    const proxy = await FaultProxy.listen({ target: listener.port });
    try {
      const t = restTransport({ baseUrl: proxy.baseUrl });
      const { name } = fake.create();
      expect(await t.getOperation(name)).toMatchObject({ name, done: false });
      const waiting = t.waitOperation!(name, 10_000).catch((e: unknown) => e);
      await until(() => waitCalls(fake) === 1, 'the WaitOperation');
      expect(proxy.cutAll()).toBeGreaterThan(0);
      expect(await waiting).toMatchObject({ name: 'RpcError', code: Code.UNAVAILABLE });
      await listener.close();
      expect(await t.getOperation(name).catch((e: unknown) => e)).toMatchObject({ code: Code.UNAVAILABLE });
      expect(proxy.stats.cut).toBeGreaterThan(0);
      expect(proxy.stats.refused).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await fake.close();
    }
    await expectNoLeak(before);
  });
});

describe.each(['grpc', 'http'] as const)('%s: one fault at a time, the result is never lost', (protocol) => {
  let r: Rig;
  afterEach(async () => {
    await r?.close();
  });

  async function completes(options: Partial<OperationOptions<Result>> = {}, before?: () => Promise<void>): Promise<void> {
    const { name } = r.fake.create({ metadata: progress(1) });
    const op = new LongRunningOperation<Result>(name, { transport: r.transport, ...CLIENT, waitTimeoutMs: 300, ...options });
    const settled = op.promise();
    await before?.();
    r.fake.complete(name, result('gs://b/o', '9007199254740993', 'AUDIO'));
    await expect(settled).resolves.toEqual({ uri: 'gs://b/o', sizeBytes: '9007199254740993', kind: 'AUDIO' });
  }

  test('UNAVAILABLE, and RESOURCE_EXHAUSTED with RetryInfo, are retried', async () => {
    r = await rig(protocol, { unavailable: 0.4, resourceExhausted: 0.3, retryDelayMs: [0, 20] });
    await completes({ waitTimeoutMs: 50 }, () => until(() => r.server.service.stats.unavailable >= 2 && r.server.service.stats.resourceExhausted >= 2, 'both faults'));
  });

  test('latency spikes', async () => {
    r = await rig(protocol, { latency: 1, latencyMs: [10, 40] });
    await completes({ waitTimeoutMs: 50 }, () => until(() => r.server.service.stats.latencySpikes >= 3, 'three spikes'));
  });

  test('a WaitOperation that returns at once, not done, is called again', async () => {
    r = await rig(protocol, { waitReturnsEarly: 1 });
    await completes({}, () => until(() => r.server.service.stats.waitReturnedEarly >= 3, 'three early returns'));
  });

  test('a WaitOperation that hangs past its deadline is given up and called again', async () => {
    r = await rig(protocol, { waitHangs: 1, hangPastDeadlineMs: 2_000 });
    await completes({ waitTimeoutMs: 100 }, async () => {
      await until(() => r.server.service.stats.waitHung === 1, 'a hanging WaitOperation');
      r.server.service.configure({ waitHangs: 0 });
      await until(() => waitCalls(r.fake) >= 2, 'the WaitOperation after the hung one');
    });
  });

  test('connections cut in the middle of a WaitOperation', async () => {
    r = await rig(protocol);
    await completes({ waitTimeoutMs: 10_000 }, async () => {
      for (let cut = 1; cut <= 3; cut++) {
        await until(() => waitCalls(r.fake) === cut, `WaitOperation #${cut}`);
        r.server.cut();
      }
      await until(() => waitCalls(r.fake) === 4, 'the WaitOperation after the cuts');
    });
    expect(r.server.proxy.stats.cut).toBeGreaterThanOrEqual(3);
  });

  test('the server stopped and restarted on the same port in the middle of a WaitOperation', async () => {
    r = await rig(protocol);
    const port = r.server.serverPort;
    await completes({ waitTimeoutMs: 10_000 }, async () => {
      for (let restart = 1; restart <= 2; restart++) {
        await until(() => waitCalls(r.fake) === restart, `WaitOperation #${restart}`);
        await r.server.restart(150); // in-flight calls are ended by the shutdown, new connections refused meanwhile
      }
      await until(() => waitCalls(r.fake) === 3, 'the WaitOperation after the restarts');
    });
    expect(r.server.restarts).toBe(2);
    expect(r.server.serverPort).toBe(port);
  });
});

describe('soak, small', () => {
  const clean = (report: SoakReport) => {
    if (!report.ok) console.error(formatReport(report));
    return {
      resolvedCorrectly: report.resolvedCorrectly,
      resolvedWrongly: report.resolvedWrongly,
      neverResolved: report.neverResolved,
      unhandledRejections: report.unhandledRejections,
      handlesLeaked: report.handlesLeaked,
      rpcsAfterAbort: report.rpcsAfterAbort,
      rpcsAfterSettle: report.rpcsAfterSettle,
      callsInFlightAtEnd: report.callsInFlightAtEnd,
      massAbortsWrong: report.massAborts.wrong,
      closedMidFlightWrong: report.closedMidFlight.wrong,
      samples: report.samples,
    };
  };
  const expected = (n: number) => ({
    resolvedCorrectly: n,
    resolvedWrongly: 0,
    neverResolved: 0,
    unhandledRejections: 0,
    handlesLeaked: 0,
    rpcsAfterAbort: 0,
    rpcsAfterSettle: 0,
    callsInFlightAtEnd: 0,
    massAbortsWrong: 0,
    closedMidFlightWrong: 0,
    samples: [],
  });

  test('gRPC: 400 operations with every fault on, cuts, restarts, GOAWAYs, silent spells, mass aborts and close() mid-flight', async () => {
    const report = await runSoak({
      operations: 400,
      concurrency: 150,
      protocol: 'grpc',
      seed: 101,
      cutEveryMs: 300,
      restartEveryMs: 1_000,
      goawayEveryMs: 700,
      silentEveryMs: 600, // often, so some calls always arrive during a spell
      silentMs: 300,
      massAbortEveryMs: 1_500,
      massAbortSize: 1_200,
      closeMidFlight: 500,
      maxDurationMs: 120_000,
    });
    expect(clean(report)).toEqual(expected(400));
    expect(report.aborted).toBeGreaterThan(0);
    expect(report.faults.goaways).toBeGreaterThan(0);
    expect(report.faults.unanswered).toBeGreaterThan(0);
    expect(report.massAborts.batches).toBeGreaterThan(0);
    expect(report.closedMidFlight.waits).toBe(500);
  }, 150_000);

  test('HTTP: 250 operations with every fault on, cuts and restarts', async () => {
    const report = await runSoak({ operations: 250, concurrency: 100, protocol: 'http', seed: 202, cutEveryMs: 300, restartEveryMs: 1_000, maxDurationMs: 120_000 });
    expect(clean(report)).toEqual(expected(250));
  }, 150_000);
});

describe('abort storm', () => {
  test('thousands of waiters aborted at random moments: no RPC after an operation lost its last waiter, nothing left open', async () => {
    const before = activeResources();
    const fake = new FakeOperationsServer({ types: registry });
    // Server side: count calls still running in the backend (WaitOperations parked in the fake).
    let backendInFlight = 0;
    const counted = <T>(p: Promise<T>): Promise<T> => {
      backendInFlight++;
      return p.finally(() => backendInFlight--);
    };
    const backend: OperationsTransport = {
      getOperation: (n, o) => counted(fake.service.getOperation(n, o)),
      waitOperation: (n, t, o) => counted(fake.service.waitOperation!(n, t, o)),
      cancelOperation: (n, o) => counted(fake.service.cancelOperation(n, o)),
      deleteOperation: (n, o) => counted(fake.service.deleteOperation(n, o)),
      listOperations: (q, o) => counted(fake.service.listOperations(q, o)),
    };
    const server = await FaultyServer.start(backend, {
      protocol: 'grpc',
      registry,
      seed: 3,
      faults: { unavailable: 0.05, latency: 0.05, latencyMs: [5, 50], waitReturnsEarly: 0.1 },
    });
    const grpc = grpcTransport({ address: server.address, registry, channelOptions: CHANNEL_OPTIONS });
    try {
      // Client side: every call is checked against the operation's waiters.
      const abandoned = new Set<string>();
      const violations: string[] = [];
      let clientInFlight = 0;
      const check = <T>(method: string, name: string, call: () => Promise<T>): Promise<T> => {
        if (abandoned.has(name)) violations.push(`${method} ${name}`);
        clientInFlight++;
        return call().finally(() => clientInFlight--);
      };
      const transport: OperationsTransport = {
        getOperation: (n, o) => check('GetOperation', n, () => grpc.getOperation(n, o)),
        waitOperation: (n, t, o?: CallOptions) => check('WaitOperation', n, () => grpc.waitOperation(n, t, o)),
        cancelOperation: (n, o) => check('CancelOperation', n, () => grpc.cancelOperation(n, o)),
        deleteOperation: (n, o) => check('DeleteOperation', n, () => grpc.deleteOperation(n, o)),
        listOperations: (q, o) => check('ListOperations', q.name, () => grpc.listOperations(q, o)),
      };

      let seed = 99;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const settledAll: Promise<void>[] = [];
      const aborts: Promise<void>[] = [];
      let waiters = 0;
      let abortedWithReason = 0;
      const OPS = 500;
      for (let i = 0; i < OPS; i++) {
        const { name } = fake.create({ name: `operations/storm-${i}` });
        const op = new LongRunningOperation<Result>(name, { transport, ...CLIENT, waitTimeoutMs: 2_000 });
        if (random() < 0.3) op.on('metadata', () => undefined);
        const count = 2 + Math.floor(random() * 5);
        let left = count;
        waiters += count;
        if (random() < 0.2) setTimeout(() => fake.complete(name, result(`gs://storm/${i}`, i + 1)), random() * 300);
        for (let w = 0; w < count; w++) {
          const controller = new AbortController();
          const reason = new Error(`abort ${i}.${w}`);
          const useUpdates = random() < 0.25;
          const settled = useUpdates
            ? (async () => {
                for await (const _ of op.updates({ signal: controller.signal })) void _;
              })()
            : op.promise({ signal: controller.signal });
          settledAll.push(
            settled.then(
              () => {
                // Only an operation that was done before the abort may resolve.
                if (!fake.get(name)?.done) violations.push(`${name} resolved without being done`);
              },
              (err: unknown) => {
                if (err === reason) abortedWithReason++;
                else violations.push(`${name} rejected with ${String(err)}`);
              },
            ),
          );
          const delay = random() * 400;
          aborts.push(
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (--left === 0) abandoned.add(name); // marked before the abort: an RPC caused by the abort itself counts
                controller.abort(reason);
                resolve();
              }, delay),
            ),
          );
        }
      }
      await Promise.all([...settledAll, ...aborts]);
      expect(waiters).toBeGreaterThanOrEqual(2_000);
      expect(abortedWithReason).toBeGreaterThan(waiters / 2);
      expect(violations).toEqual([]);
      expect(abandoned.size).toBe(OPS);
      await until(() => clientInFlight === 0 && backendInFlight === 0, 'every call to end on both sides');
      await sleep(100); // nothing new may start
      expect(violations).toEqual([]);
    } finally {
      grpc.close();
      await server.close();
      await fake.close();
    }
    await expectNoLeak(before);
  }, 60_000);
});

describe('bugs the soak found', () => {
  test('a CANCELLED the client did not cause (a server shutting down) is retried; the client’s own abort is not', async () => {
    const fake = new FakeOperationsServer({ types: registry });
    const { name } = fake.create();
    fake.failNext('WaitOperation', { code: Code.CANCELLED, message: 'server is going away' }, 3);
    const op = new LongRunningOperation<Result>(name, { transport: fake.transport, ...CLIENT, waitTimeoutMs: 50 });
    const settled = op.promise();
    await until(() => waitCalls(fake) >= 4, 'the retried WaitOperation');
    fake.complete(name, result('gs://b/c', 3));
    await expect(settled).resolves.toMatchObject({ uri: 'gs://b/c', sizeBytes: '3' });

    const second = fake.create();
    const controller = new AbortController();
    const reason = new Error('stop');
    const aborted = new LongRunningOperation(second, { transport: fake.transport, ...CLIENT }).promise({ signal: controller.signal });
    await until(() => fake.calls.some((c) => c.name === second.name), 'the first call');
    const calls = fake.calls.length;
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    await sleep(50);
    expect(fake.calls.length).toBe(calls);
    await fake.close();
  });

  test('a poll that gets no answer within its deadline (a lost SYN, a stalled server) is retried: GetOperation is idempotent', async () => {
    const fake = new FakeOperationsServer({ waitOperation: false, types: registry });
    const { name } = fake.create();
    let polls = 0;
    const stalling: OperationsTransport = {
      ...fake.service,
      getOperation: (n, options) => {
        if (++polls > 2) return fake.service.getOperation(n, options);
        // The first two polls never get an answer; only the client's deadline ends them.
        return new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason), { once: true }));
      },
    };
    const op = new LongRunningOperation<Result>(name, { transport: memoryTransport(stalling), ...CLIENT, waitOperation: 'never', rpcTimeoutMs: 50 });
    const settled = op.promise();
    await until(() => polls >= 3, 'the poll after two stalled ones');
    fake.complete(name, result('gs://b/d', 4));
    await expect(settled).resolves.toMatchObject({ uri: 'gs://b/d', sizeBytes: '4' });
    await fake.close();
  });

  test('grpcTransport: a stream reset with NO_ERROR before any status is UNAVAILABLE (as in gRPC core), so the loop retries it', async () => {
    const before = activeResources();
    let requests = 0;
    const h2 = http2.createServer();
    h2.on('stream', (stream) => {
      requests++;
      stream.on('data', () => undefined);
      stream.on('end', () => {
        if (requests === 1) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          stream.close(http2.constants.NGHTTP2_NO_ERROR);
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
        const message = Buffer.from(encodeOperation({ name: 'operations/h2', done: true }));
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        message.copy(frame, 5);
        stream.end(frame);
      });
    });
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const sessions = new Set<http2.ServerHttp2Session>();
    h2.on('session', (s) => sessions.add(s));
    const t = grpcTransport({ address: `127.0.0.1:${(h2.address() as AddressInfo).port}` });
    try {
      const err = await t.getOperation('operations/h2').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: Code.UNAVAILABLE });
      expect((err as RpcError).message).toMatch(/RST_STREAM with code 0/);
      requests = 0;
      const op = new LongRunningOperation('operations/h2', { transport: t, waitOperation: 'never', ...CLIENT });
      await expect(op.promise()).resolves.toBeUndefined();
      expect(requests).toBe(2);
    } finally {
      t.close();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => h2.close(() => resolve()));
    }
    await expectNoLeak(before);
  });
});
