/**
 * The polling schedule on the injected clock: the measured default, the
 * schedule a generated client carries (adopted by fromGaxOperation), the
 * caller's `polling` winning over it, progress-aware timing (linear, steps,
 * stalls, regressions, no progress field), the user hook, and the limits.
 */
import { VideoIntelligenceServiceClient, protos } from '@google-cloud/video-intelligence';
import * as gax from 'google-gax';
import {
  LongRunningOperation,
  PollingLimitError,
  fromGaxOperation,
  type GaxOperation,
  type GaxOperationsClient,
  type OperationResource,
} from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { registry, useFakeTime } from './support/protos.js';
import { fakeAuth, startVideoServer, type VideoServer } from './support/video-server.js';

process.env.METADATA_SERVER_DETECTION = 'none';

/** Milliseconds after the start at which the server got each GetOperation. */
function pollTimes(server: FakeOperationsServer): number[] {
  const start = Date.now();
  const times: number[] = [];
  const push = server.calls.push.bind(server.calls);
  server.calls.push = (...items) => {
    for (const item of items) if (item.method === 'GetOperation') times.push(Date.now() - start);
    return push(...items);
  };
  return times;
}

const progressAny = (percent: number) => registry.encode('test.v1.Progress', { percent });

describe('the default schedule', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  test('110 ms ×1.21, exact (no jitter), first poll after the initial delay', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const op = new LongRunningOperation(server.create(), { transport: server.transport });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(2_000);
    await p;
    // delays 110, 133, 161, 195, 236, 285 (rounded)
    expect(times.slice(0, 6)).toEqual([110, 243, 404, 599, 835, 1120]);
  });

  test('the delay grows to maxDelayMs and stays there', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const op = new LongRunningOperation(server.create(), { transport: server.transport, polling: { initialDelayMs: 1_000, multiplier: 3, maxDelayMs: 5_000 } });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(20_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(5_000);
    await p;
    expect(times.slice(0, 5)).toEqual([1_000, 4_000, 9_000, 14_000, 19_000]);
  });
});

describe('options written inline for each operation', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  test('share what equal values make, and each operation polls on its own values (also after the caller changed an object it passed)', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const start = Date.now();
    const polled = new Map<string, number[]>();
    const push = server.calls.push.bind(server.calls);
    server.calls.push = (...items) => {
      for (const item of items) if (item.method === 'GetOperation') polled.set(item.name, [...(polled.get(item.name) ?? []), Date.now() - start]);
      return push(...items);
    };
    const polling = { initialDelayMs: 100, multiplier: 1 };
    const a = new LongRunningOperation(server.create(), { transport: server.transport, polling });
    const b = new LongRunningOperation(server.create(), { transport: server.transport, polling: { ...polling } });
    polling.initialDelayMs = 300; // the caller reuses its object with another value
    const c = new LongRunningOperation(server.create(), { transport: server.transport, polling: { ...polling } });
    const d = new LongRunningOperation(server.create(), { transport: server.transport, polling: { initialDelayMs: 100, multiplier: 1 }, retry: { codes: [14, 8] } });
    const waits = [a, b, c, d].map((op) => op.promise());
    await jest.advanceTimersByTimeAsync(650);
    for (const op of [a, b, c, d]) server.complete(op.name);
    await jest.advanceTimersByTimeAsync(1_000);
    await Promise.all(waits);
    expect(polled.get(a.name)!.slice(0, 6)).toEqual([100, 200, 300, 400, 500, 600]);
    expect(polled.get(b.name)!.slice(0, 6)).toEqual([100, 200, 300, 400, 500, 600]);
    expect(polled.get(c.name)!.slice(0, 2)).toEqual([300, 600]);
    expect(polled.get(d.name)!.slice(0, 6)).toEqual([100, 200, 300, 400, 500, 600]);
  });
});

describe('progress-aware polling', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  /** Sets the operation's progress as a function of time since the start (ms), every `stepMs`. */
  function drive(server: FakeOperationsServer, name: string, percentAt: (t: number) => number, stepMs = 10): () => void {
    const start = Date.now();
    const timer = setInterval(() => {
      const t = Date.now() - start;
      const p = Math.min(100, percentAt(t));
      if (p >= 100) {
        clearInterval(timer);
        server.complete(name, undefined, { metadata: progressAny(100) });
      } else {
        server.update(name, { metadata: progressAny(Math.floor(p)) });
      }
    }, stepMs);
    return () => clearInterval(timer);
  }

  async function run(percentAt: (t: number) => number, options: { followProgress?: boolean; stepMs?: number; defaults?: boolean } = {}) {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const op = new LongRunningOperation(server.create({ metadata: progressAny(0) }), {
      transport: server.transport,
      decode: registry,
      polling: options.defaults
        ? { followProgress: options.followProgress }
        : { initialDelayMs: 1_000, multiplier: 1.5, maxDelayMs: 60_000, followProgress: options.followProgress },
    });
    const stop = drive(server, op.name, percentAt, options.stepMs);
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(200_000);
    stop();
    await p;
    return { polls: times.length, last: times[times.length - 1] };
  }

  test('linear progress: the poll after two readings lands just after the extrapolated end', async () => {
    // 1 % per 300 ms: done at 30 s. The backoff alone polls at 1, 2.5, 4.75, 8.1, 13.2, 20.8, 32.2 s.
    const followed = await run((t) => t / 300);
    const plain = await run((t) => t / 300, { followProgress: false });
    expect(plain.last).toBeGreaterThan(32_000);
    expect(followed.last).toBeGreaterThanOrEqual(30_000);
    expect(followed.last).toBeLessThan(31_000); // at most the margin (2 % of what was left, doubled per miss) late
    expect(followed.polls).toBeLessThanOrEqual(plain.polls);
  });

  test('progress that stays on a line skips backoff polls; progress that speeds up never waits past the backoff', async () => {
    // The default schedule (110 ms ×1.21); 1 % per 30 ms: done at 3 s. The backoff alone polls 10 times by then.
    const linear = (t: number) => t / 30;
    const followed = await run(linear, { defaults: true, stepMs: 10 });
    const plain = await run(linear, { defaults: true, stepMs: 10, followProgress: false });
    expect(followed.last).toBeGreaterThanOrEqual(3_000);
    expect(followed.last).toBeLessThan(3_100);
    expect(plain.polls).toBeGreaterThanOrEqual(10);
    expect(followed.polls).toBeLessThanOrEqual(6);
    // x²: each reading is ahead of the line, so the estimate is never trusted past the backoff.
    const slowStart = (t: number) => 100 * (t / 3_000) ** 2;
    const fast = await run(slowStart, { defaults: true, stepMs: 10 });
    const slow = await run(slowStart, { defaults: true, stepMs: 10, followProgress: false });
    expect(fast.last).toBeLessThanOrEqual(slow.last);
    expect(fast.last).toBeGreaterThanOrEqual(3_000);
  });

  test('progress in steps: never later than the backoff', async () => {
    const stepped = (t: number) => Math.floor(t / 4_000) * 10; // 10 % every 4 s: done at 40 s
    const followed = await run(stepped);
    const plain = await run(stepped, { followProgress: false });
    expect(followed.last).toBeLessThanOrEqual(plain.last);
  });

  test('a stall falls back to the backoff; a regression starts the estimate over', async () => {
    // 0→50 % in 10 s, stalled until 60 s, then back to 10 % and on to 100 % at 80 s.
    const shape = (t: number) => (t < 10_000 ? t / 200 : t < 60_000 ? 50 : 10 + ((t - 60_000) / 20_000) * 90);
    const followed = await run(shape);
    const plain = await run(shape, { followProgress: false });
    expect(followed.last).toBeLessThanOrEqual(plain.last);
    expect(followed.last).toBeGreaterThanOrEqual(80_000);
  });

  test('metadata without a progress field polls on the schedule', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const noProgress = { typeUrl: 'type.googleapis.com/google.protobuf.Struct', json: { value: { stage: 'working' } } };
    const op = new LongRunningOperation(server.create({ metadata: noProgress }), {
      transport: server.transport,
      decode: registry,
      polling: { initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 8_000 },
    });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(16_000);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(8_000);
    await p;
    expect(times.slice(0, 4)).toEqual([1_000, 3_000, 7_000, 15_000]);
  });

  test('the nextDelay hook chooses the delay from the snapshot; a bad return value ends the wait with a TypeError', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const seen: number[] = [];
    const op = new LongRunningOperation(server.create(), {
      transport: server.transport,
      polling: {
        nextDelay: (snapshot, suggested) => {
          seen.push(suggested);
          return snapshot.polls < 3 ? 50 : undefined;
        },
      },
    });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(400);
    server.complete(op.name);
    await jest.advanceTimersByTimeAsync(1_000);
    await p;
    expect(times.slice(0, 5)).toEqual([50, 100, 150, 345, 581]);
    expect(seen.slice(0, 4)).toEqual([110, 133, 161, 195]);

    const bad = new LongRunningOperation(server.create(), { transport: server.transport, polling: { nextDelay: () => -1 } });
    const err = bad.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(0);
    expect(await err).toBeInstanceOf(TypeError);
  });
});

describe('limits: maxPolls and maxPollingMs', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => {
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  test('maxPolls ends the wait with PollingLimitError naming the limit and the operation; the operation can be awaited again', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const op = new LongRunningOperation(server.create({ name: 'operations/limited' }), { transport: server.transport, polling: { maxPolls: 3 } });
    const err = op.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(5_000);
    const e = (await err) as PollingLimitError;
    expect(e).toBeInstanceOf(PollingLimitError);
    expect(e).toMatchObject({ name: 'PollingLimitError', limit: 'maxPolls', value: 3, polls: 3, operationName: 'operations/limited' });
    expect(e.message).toMatch(/operations\/limited.*3 polls/);
    expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(3);
  });

  test('maxPollingMs: the last poll is at the limit, then PollingLimitError (not OperationTimeoutError)', async () => {
    const server = new FakeOperationsServer({ waitOperation: false });
    const times = pollTimes(server);
    const op = new LongRunningOperation(server.create(), { transport: server.transport, polling: { initialDelayMs: 1_000, multiplier: 2, maxPollingMs: 5_000 } });
    const err = op.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(await err).toMatchObject({ name: 'PollingLimitError', limit: 'maxPollingMs', value: 5_000 });
    expect(times).toEqual([1_000, 3_000, 5_000]);
  });

  test('bad limits are refused at construction', () => {
    const server = new FakeOperationsServer();
    expect(() => new LongRunningOperation('operations/x', { transport: server.transport, polling: { maxPolls: 0 } })).toThrow(/maxPolls/);
    expect(() => new LongRunningOperation('operations/x', { transport: server.transport, polling: { maxPollingMs: -1 } })).toThrow(/maxPollingMs/);
    expect(() => new LongRunningOperation('operations/x', { transport: server.transport, polling: { followProgress: 'yes' as never } })).toThrow(/followProgress/);
  });
});

describe('the schedule a generated client carries (fromGaxOperation)', () => {
  let server: VideoServer;
  let client: VideoIntelligenceServiceClient;
  const LABEL_DETECTION = protos.google.cloud.videointelligence.v1.Feature.LABEL_DETECTION;

  beforeEach(async () => {
    server = await startVideoServer();
    client = new VideoIntelligenceServiceClient(server.clientOptions(fakeAuth()));
  });
  afterEach(async () => {
    jest.useRealTimers();
    await client.close();
    await server.close();
  });

  /**
   * The real client's Operation, with its OperationsClient swapped for one
   * backed by an in-memory fake, so the schedule can run on fake timers.
   */
  async function adopt(callOptions?: gax.CallOptions): Promise<{ operation: GaxOperation; fake: FakeOperationsServer }> {
    const [operation] = await client.annotateVideo({ inputUri: 'gs://bucket/cat.mp4', features: [LABEL_DETECTION] }, callOptions);
    const fake = new FakeOperationsServer({ waitOperation: false });
    fake.create({ name: operation.name });
    const operationsClient: GaxOperationsClient = {
      getOperation: async ({ name }) => {
        const r: OperationResource = await fake.transport.getOperation(name);
        return [{ name: r.name, done: r.done }];
      },
      cancelOperation: async () => [{}],
      deleteOperation: async () => [{}],
      listOperations: async () => [[], null, {}],
    };
    const shaped = operation as unknown as GaxOperation & { backoffSettings: ReturnType<typeof gax.createBackoffSettings> };
    return {
      fake,
      operation: {
        latestResponse: shaped.latestResponse,
        backoffSettings: shaped.backoffSettings,
        longrunningDescriptor: { ...shaped.longrunningDescriptor, operationsClient },
      } as GaxOperation,
    };
  }

  async function timesOf(operation: GaxOperation, fake: FakeOperationsServer, options = {}): Promise<number[]> {
    useFakeTime();
    const times = pollTimes(fake);
    const op = fromGaxOperation(operation, options);
    const p = op.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(8_000);
    fake.complete(op.name);
    await jest.advanceTimersByTimeAsync(10_000);
    await p;
    return times;
  }

  test('backoffSettings chosen on the call (`longrunning` call option) are honoured', async () => {
    const { operation, fake } = await adopt({ longrunning: gax.createBackoffSettings(500, 2, 4_000, null, null, null, null) });
    expect((operation as unknown as { backoffSettings: ReturnType<typeof gax.createBackoffSettings> }).backoffSettings.initialRetryDelayMillis).toBe(500);
    expect((await timesOf(operation, fake)).slice(0, 4)).toEqual([500, 1_500, 3_500, 7_500]);
  });

  test("gax's generic default says nothing about the service: our measured default applies", async () => {
    const { operation, fake } = await adopt();
    expect((await timesOf(operation, fake)).slice(0, 4)).toEqual([110, 243, 404, 599]);
  });

  test("the caller's `polling` wins over the client's schedule", async () => {
    const { operation, fake } = await adopt({ longrunning: gax.createBackoffSettings(500, 2, 4_000, null, null, null, null) });
    expect((await timesOf(operation, fake, { polling: { initialDelayMs: 50, multiplier: 1 } })).slice(0, 3)).toEqual([50, 100, 150]);
  });

  test('totalTimeoutMillis becomes maxPollingMs: PollingLimitError', async () => {
    const { operation } = await adopt({ longrunning: gax.createBackoffSettings(500, 2, 4_000, null, null, null, 2_000) });
    useFakeTime();
    const op = fromGaxOperation(operation);
    const err = op.promise().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(await err).toMatchObject({ name: 'PollingLimitError', limit: 'maxPollingMs', value: 2_000 });
  });
});
