/**
 * The soak run: thousands of operations watched over loopback gRPC (or HTTP)
 * while the fault layer injects UNAVAILABLE, RESOURCE_EXHAUSTED with
 * RetryInfo, latency spikes, early and hanging WaitOperations, cut
 * connections and server restarts on the same port. Every operation ends on
 * the server with a known outcome; each waiter's settled value is checked
 * against it. Shared by `npm run soak` (test/soak/run.ts) and the smaller runs
 * of the test suite (test/reliability.test.ts).
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import {
  Code,
  RpcError,
  LongRunningError,
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  grpcTransport,
  restProfiles,
  restTransport,
  type CallOptions,
  type GrpcTransport,
  type OperationOptions,
  type OperationResource,
  type OperationsTransport,
} from '../../src/index.js';
import { FakeOperationsServer, FaultyServer, seededRandom, type FaultRates } from '../../src/testing/index.js';
import { systemClock } from '../../src/watch/clock.js';
import { timersOf } from '../../src/watch/timers.js';
import { progress, registry, result } from '../support/protos.js';

/**
 * Options of {@link runSoak}.
 *
 * @example
 * ```ts
 * const options: Partial<SoakOptions> = { operations: 500, protocol: 'http', seed: 7 };
 * ```
 */
export interface SoakOptions {
  /** Operations to run. */
  operations: number;
  /** Operations in flight at once. */
  concurrency: number;
  protocol: 'grpc' | 'http';
  seed: number;
  /** Hard bound of the whole run; operations still pending then count as never resolved. */
  maxDurationMs: number;
  /** Client transports (gRPC channels with their own connection) the operations are spread over. */
  channels: number;
  /** Server-side lifetime of an operation, uniformly random in [min, max] ms. */
  lifetimeMs: readonly [number, number];
  /** Share of operations the client aborts at a random moment. */
  abortShare: number;
  /** Fault rates; `false` turns every fault off. */
  faults: FaultRates | false;
  /** Mean gap between random connection cuts (none when 0). */
  cutEveryMs: number;
  /** Mean gap between server restarts (none when 0). */
  restartEveryMs: number;
  /** How long a settled-but-not-yet operation may take after its end before it counts as never resolved. */
  settleTimeoutMs: number;
  /** Mean gap between GOAWAY(INTERNAL_ERROR) frames to every client connection, mid-wait (gRPC only; none when 0). */
  goawayEveryMs: number;
  /** Mean gap between spells in which the server answers nothing (none when 0); each lasts `silentMs`. */
  silentEveryMs: number;
  silentMs: number;
  /** Mean gap between mass aborts: `massAbortSize` extra waits on one signal, aborted together (none when 0). */
  massAbortEveryMs: number;
  massAbortSize: number;
  /** Waits pending on a transport of their own when it is closed at the end (none when 0). */
  closeMidFlight: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * What {@link runSoak} found; `ok` when every check passed.
 *
 * @example
 * ```ts
 * if (!report.ok) console.error(formatReport(report));
 * ```
 */
export interface SoakReport {
  ok: boolean;
  operations: number;
  /** Operations whose every waiter settled with exactly what the server ended it with (or the abort reason). */
  resolvedCorrectly: number;
  resolvedWrongly: number;
  neverResolved: number;
  unhandledRejections: number;
  /** Handles (sockets, timers, …) open after everything was closed, beyond those open before the run. */
  handlesLeaked: number;
  leakedHandles: Record<string, number>;
  /** Transport calls for an operation started after every waiter of it was aborted. */
  rpcsAfterAbort: number;
  /** Transport calls for an operation started after it settled, and calls still in flight at the end. */
  rpcsAfterSettle: number;
  callsInFlightAtEnd: number;
  outcomes: Record<string, number>;
  /** Extra waits aborted together on one signal, and those that did not reject with its reason within a second. */
  massAborts: { batches: number; waits: number; wrong: number; slowestMs: number };
  /** Waits pending when their transport was closed, those that did not reject with a typed error, and how long the last took. */
  closedMidFlight: { waits: number; wrong: number; slowestMs: number };
  waiters: number;
  aborted: number;
  rpcs: Record<string, number>;
  faults: Record<string, number>;
  durationMs: number;
  config: Record<string, unknown>;
  node: string;
  samples: string[];
}

/**
 * The defaults of `npm run soak`: 10,000 operations over gRPC, every fault on.
 *
 * @example
 * ```ts
 * await runSoak({ ...DEFAULT_SOAK, operations: 1_000 });
 * ```
 */
export const DEFAULT_SOAK: SoakOptions = {
  operations: 10_000,
  concurrency: 400,
  protocol: 'grpc',
  seed: 20_240_601,
  maxDurationMs: 5 * 60_000,
  channels: 4,
  lifetimeMs: [0, 1_200],
  abortShare: 0.2,
  faults: {
    unavailable: 0.04,
    resourceExhausted: 0.02,
    retryDelayMs: [0, 60],
    latency: 0.05,
    latencyMs: [20, 250],
    waitReturnsEarly: 0.05,
    waitHangs: 0.01,
    hangPastDeadlineMs: 300,
    cutDuringWait: 0.002,
  },
  cutEveryMs: 1_500,
  restartEveryMs: 2_500,
  settleTimeoutMs: 60_000,
  goawayEveryMs: 3_000,
  silentEveryMs: 5_000,
  silentMs: 300,
  massAbortEveryMs: 10_000,
  massAbortSize: 1_500,
  closeMidFlight: 2_000,
};

/** Client settings: fast polling, and a retry budget that outlasts a server restart. */
const CLIENT = {
  polling: { initialDelayMs: 10, multiplier: 1.5, maxDelayMs: 250 },
  retry: { retries: 60, initialDelayMs: 10, maxDelayMs: 500 },
  waitTimeoutMs: 400,
  progressIntervalMs: 100,
  rpcTimeoutMs: 3_000,
} satisfies Partial<OperationOptions>;

type Ending = 'success' | 'failure' | 'serverCancel' | 'clientCancel' | 'empty';
type Start = 'resource' | 'name' | 'token';
type Result = { uri: string; sizeBytes: string; kind: string };

interface OpState {
  name: string;
  /** Every waiter aborted (set just before the abort is signalled). */
  aborted: boolean;
  /** Whether the server had ended the operation when it was aborted. */
  doneAtAbort: boolean;
  /** Every waiter settled. */
  settled: boolean;
  payload?: Result;
  details?: unknown[];
}

interface Counters {
  rpcs: Record<string, number>;
  inFlight: number;
  rpcsAfterAbort: number;
  rpcsAfterSettle: number;
  samples: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or 'late' after `ms`, whichever comes first; the timer is cleared either way. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Counts calls per method and checks none starts for an aborted or settled operation. */
function recording(inner: OperationsTransport, states: Map<string, OpState>, counters: Counters): OperationsTransport {
  const track = <T>(method: string, name: string, call: () => Promise<T>): Promise<T> => {
    counters.rpcs[method] = (counters.rpcs[method] ?? 0) + 1;
    const state = states.get(name);
    // A CancelOperation is the user's own request (cancel() called before the abort); the
    // engine may start it from its queue later. Only the watch loop's calls must stop.
    if (state?.aborted && method !== 'CancelOperation') {
      counters.rpcsAfterAbort++;
      note(counters, `${method} ${name} started after its abort`);
    } else if (state?.settled && method !== 'CancelOperation') {
      counters.rpcsAfterSettle++;
      note(counters, `${method} ${name} started after it settled`);
    }
    counters.inFlight++;
    let promise: Promise<T>;
    try {
      promise = call();
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise.finally(() => {
      counters.inFlight--;
    });
  };
  const transport: OperationsTransport = {
    getOperation: (name, o) => track('GetOperation', name, () => inner.getOperation(name, o)),
    cancelOperation: (name, o) => track('CancelOperation', name, () => inner.cancelOperation(name, o)),
    deleteOperation: (name, o) => track('DeleteOperation', name, () => inner.deleteOperation(name, o)),
    listOperations: (r, o) => track('ListOperations', r.name, () => inner.listOperations(r, o)),
  };
  if (inner.waitOperation) {
    const wait = inner.waitOperation.bind(inner);
    transport.waitOperation = (name: string, t: number, o?: CallOptions) => track('WaitOperation', name, () => wait(name, t, o));
  }
  return transport;
}

function note(counters: { samples: string[] }, line: string): void {
  if (counters.samples.length < 20) counters.samples.push(line);
}

function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

function leakedSince(before: Record<string, number>): Record<string, number> {
  const leaked: Record<string, number> = {};
  for (const [kind, n] of Object.entries(activeResources())) if (n > (before[kind] ?? 0)) leaked[kind] = n - (before[kind] ?? 0);
  return leaked;
}

/**
 * Deep equality of plain data. Through JSON first: under Jest, values the fake
 * server copied with structuredClone come from another realm, whose arrays and
 * objects isDeepStrictEqual would call different.
 */
function same(a: unknown, b: unknown): boolean {
  const plain = (x: unknown): unknown => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));
  return isDeepStrictEqual(plain(a), plain(b));
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-error ${String(err)}`;
}

/**
 * Runs the soak and returns its report. Closes everything it opened, then
 * measures what is left. Never throws for a failed check: the report says.
 *
 * @example
 * ```ts
 * const report = await runSoak({ operations: 300, concurrency: 100 });
 * expect(report.ok).toBe(true);
 * ```
 */
export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULT_SOAK, ...partial };
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const handlesBefore = activeResources();
  let unhandled = 0;
  const unhandledSamples: string[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled++;
    if (unhandledSamples.length < 5) unhandledSamples.push(`unhandled: ${describeError(reason)}`);
  };
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);

  const fake = new FakeOperationsServer({ types: registry });
  const faulty = await FaultyServer.start(fake.service, {
    protocol: o.protocol,
    registry,
    seed: o.seed,
    faults: o.faults === false ? {} : o.faults,
    cutEveryMs: o.cutEveryMs > 0 ? o.cutEveryMs : undefined,
    restartEveryMs: o.restartEveryMs > 0 ? o.restartEveryMs : undefined,
    goawayEveryMs: o.goawayEveryMs > 0 && o.protocol === 'grpc' ? o.goawayEveryMs : undefined,
    downMs: [50, 250],
  });
  const grpcChannels: GrpcTransport[] = [];
  const raw: OperationsTransport[] = [];
  for (let c = 0; c < Math.max(1, o.channels); c++) {
    if (o.protocol === 'grpc') {
      const t = grpcTransport({
        address: faulty.address,
        registry,
        channelOptions: {
          'grpc.use_local_subchannel_pool': 1, // a connection per channel, so a cut hits only part of the traffic
          'grpc.initial_reconnect_backoff_ms': 50,
          'grpc.min_reconnect_backoff_ms': 50,
          'grpc.max_reconnect_backoff_ms': 500,
        },
      });
      grpcChannels.push(t);
      raw.push(t);
    } else {
      raw.push(restTransport({ baseUrl: faulty.baseUrl, profile: restProfiles.standard }));
    }
  }
  const states = new Map<string, OpState>();
  const counters: Counters = { rpcs: {}, inFlight: 0, rpcsAfterAbort: 0, rpcsAfterSettle: 0, samples: [] };
  const transports = raw.map((t) => recording(t, states, counters));
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const chaos = seededRandom(o.seed + 77);
  /** Calls `fn` at random times, mean gap `meanMs`, until teardown clears the timers. */
  let chaosOn = true;
  /** The first time at half the mean (so even a short run sees it), then at random gaps. */
  const every = (meanMs: number, fn: () => void, first = true): void => {
    if (!(meanMs > 0)) return;
    later(first ? meanMs / 2 : -Math.log(1 - chaos()) * meanMs, () => {
      if (!chaosOn) return;
      fn();
      every(meanMs, fn, false);
    });
  };
  every(o.silentEveryMs, () => faulty.service.silence(o.silentMs));
  const massAborts = { batches: 0, waits: 0, wrong: 0, slowestMs: 0 };
  /** Bound on the time from an abort or close() to the last rejection (measured and reported; only a hang beyond it fails). */
  const SETTLE_BOUND_MS = 10_000;
  const massAbortRuns: Promise<void>[] = [];
  every(o.massAbortEveryMs, () => {
    // Many waits on one signal, aborted together: one listener on the signal, and the
    // wire cancels paced, so neither the session nor any other operation suffers.
    const transport = raw[massAborts.batches % raw.length];
    massAborts.batches++;
    const controller = new AbortController();
    const reason = new Error('mass abort');
    const waits = Array.from({ length: o.massAbortSize }, () => {
      const op = new LongRunningOperation(fake.create(), { transport, ...CLIENT });
      return op.promise({ signal: controller.signal }).then(
        () => 'resolved',
        (err: unknown) => (err === reason ? 'aborted' : describeError(err)),
      );
    });
    massAborts.waits += waits.length;
    let abortedAt = 0;
    later(100, () => {
      abortedAt = Date.now();
      controller.abort(reason);
    });
    massAbortRuns.push(
      within(Promise.all(waits), 100 + SETTLE_BOUND_MS).then((results) => {
        if (abortedAt > 0) massAborts.slowestMs = Math.max(massAborts.slowestMs, Date.now() - abortedAt);
        if (results === 'late') {
          massAborts.wrong += waits.length;
          note(counters, `mass abort: ${waits.length} waits not all rejected within ${SETTLE_BOUND_MS} ms of the abort`);
        } else {
          const bad = results.filter((r) => r !== 'aborted');
          massAborts.wrong += bad.length;
          if (bad.length > 0) note(counters, `mass abort: ${bad.length} waits settled otherwise: ${bad[0]}`);
        }
      }),
    );
  });
  const outcomes: Record<string, number> = {};
  let correct = 0;
  let wrong = 0;
  let never = 0;
  let waitersTotal = 0;
  let abortedTotal = 0;
  const deadline = started + o.maxDurationMs;
  let overtime = false;

  const runOne = async (i: number): Promise<void> => {
    const r = seededRandom((o.seed ^ 0x9e3779b9) + i * 7919);
    const name = `operations/soak-${i}`;
    const pick = <T extends string>(table: [T, number][]): T => {
      let x = r();
      for (const [v, w] of table) if ((x -= w) < 0) return v;
      return table[table.length - 1][0];
    };
    const ending = pick<Ending>([['success', 0.45], ['failure', 0.2], ['serverCancel', 0.07], ['clientCancel', 0.1], ['empty', 0.18]]);
    const start = pick<Start>([['resource', 0.6], ['name', 0.25], ['token', 0.15]]);
    const lifetime = r() < 0.05 ? 0 : o.lifetimeMs[0] + r() * (o.lifetimeMs[1] - o.lifetimeMs[0]);
    const abortAt = r() < o.abortShare ? r() * lifetime * 1.3 : undefined;
    const abortVia = r() < 0.5 ? 'object' : 'wait';
    const waiterCount = 1 + Math.floor(r() * 3);
    const withMetadataListener = r() < 0.3;
    const withUpdates = r() < 0.1;
    const polling = r() < 0.25; // GetOperation polling instead of WaitOperation
    const state: OpState = { name, aborted: false, doneAtAbort: false, settled: false };
    states.set(name, state);
    fake.create({ name, metadata: progress(0, 'queued') });
    const created = fake.get(name)!;

    const abort = abortAt !== undefined ? new AbortController() : undefined;
    const options: OperationOptions<Result> = {
      transport: transports[i % transports.length],
      decode: registry,
      ...CLIENT,
      ...(polling ? { waitOperation: 'never' as const } : {}),
      ...(abort && abortVia === 'object' ? { signal: abort.signal } : {}),
    };
    let op: LongRunningOperation<Result>;
    if (start === 'resource') op = new LongRunningOperation<Result>(created, options);
    else if (start === 'name') op = new LongRunningOperation<Result>(name, options);
    else op = LongRunningOperation.resume(JSON.stringify(new LongRunningOperation<Result>(created, options)), options) as LongRunningOperation<Result>;
    if (withMetadataListener) op.on('metadata', () => undefined);

    // Server side: progress, then the end.
    const updates = Math.floor(r() * 3);
    for (let u = 1; u <= updates; u++) {
      later((lifetime * u) / (updates + 1), () => {
        if (!fake.get(name)?.done) fake.update(name, { metadata: progress(Math.round((100 * u) / (updates + 1)), 'working') });
      });
    }
    const end = (): void => {
      if (fake.get(name)?.done) return; // cancelled by the client already
      switch (ending) {
        case 'success':
        case 'clientCancel': {
          const kind = r() < 0.5 ? 'VIDEO' : 'AUDIO';
          const payload = { uri: `gs://soak/${i}/out-✓`, sizeBytes: String(9_007_199_254_740_993n + BigInt(i)), kind };
          state.payload = payload;
          fake.complete(name, result(payload.uri, payload.sizeBytes, kind), { metadata: progress(100, 'done') });
          break;
        }
        case 'failure': {
          const code = 2 + Math.floor(r() * 15); // 2..16, never CANCELLED
          const detail = registry.encode('google.rpc.ErrorInfo', { reason: `R${i}`, domain: 'soak.example.com', metadata: { op: name } });
          fake.fail(name, { code, message: `failed ✗ ${i}`, details: [detail] });
          break;
        }
        case 'serverCancel':
          fake.fail(name, { code: Code.CANCELLED, message: 'cancelled by an admin' });
          break;
        case 'empty':
          fake.complete(name);
          break;
      }
    };
    later(lifetime, end);
    if (ending === 'clientCancel') {
      later(r() * lifetime, () => {
        void (async () => {
          for (let attempt = 0; attempt < 10 && !state.aborted && !op.done; attempt++) {
            try {
              await op.cancel({ timeoutMs: 2_000 });
              return;
            } catch {
              await sleep(20);
            }
          }
        })();
      });
    }

    // Client side: the waiters.
    type Settled = { kind: 'value'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'pending' };
    const waiters: { what: string; promise: Promise<unknown>; settled: Settled }[] = [];
    const waitSignal = abort && abortVia === 'wait' ? abort.signal : undefined;
    for (let w = 0; w < waiterCount; w++) {
      const entry: (typeof waiters)[number] = { what: 'promise()', promise: op.promise(waitSignal ? { signal: waitSignal } : {}), settled: { kind: 'pending' } };
      waiters.push(entry);
    }
    if (withUpdates) {
      const iterate = async (): Promise<unknown> => {
        let last: unknown;
        for await (const s of op.updates(waitSignal ? { signal: waitSignal } : {})) last = s;
        return last;
      };
      waiters.push({ what: 'updates()', promise: iterate(), settled: { kind: 'pending' } });
    }
    waitersTotal += waiters.length;
    const all = Promise.all(
      waiters.map((w) =>
        w.promise.then(
          (value) => void (w.settled = { kind: 'value', value }),
          (error: unknown) => void (w.settled = { kind: 'error', error }),
        ),
      ),
    ).then(() => {
      state.settled = true;
    });
    const reason = new Error(`soak abort ${i}`);
    if (abort && abortAt !== undefined) {
      abortedTotal++;
      later(abortAt, () => {
        state.doneAtAbort = fake.get(name)?.done === true;
        state.aborted = true;
        abort.abort(reason);
      });
    }

    // Wait for every waiter: the end, plus the settle bound, at most until the run's deadline.
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      watchdog = setTimeout(() => resolve('timeout'), Math.max(0, Math.min(lifetime + o.settleTimeoutMs, deadline - Date.now())));
    });
    const finished = await Promise.race([all.then(() => 'ok' as const), timedOut]);
    clearTimeout(watchdog);
    if (finished === 'timeout') {
      if (Date.now() >= deadline) overtime = true;
      never++;
      outcomes.never = (outcomes.never ?? 0) + 1;
      note(counters, `${name} (${ending}, ${start}) never resolved: ${waiters.filter((w) => w.settled.kind === 'pending').length} waiter(s) pending`);
      if (process.env.SOAK_DEBUG) {
        // The loop's state, for a hang hunt: SOAK_DEBUG=1 npm run soak
        const loop = (op as unknown as { loop?: Record<string, unknown> & { engine?: { waitSupport: string; load: unknown } } }).loop;
        console.error('never resolved:', name, JSON.stringify({ phase: loop?.phase, forceGet: loop?.forceGet, probing: loop?.probing, waitSupport: loop?.engine?.waitSupport, load: loop?.engine?.load, sleeping: loop?.timer !== undefined }));
      }
      return;
    }

    // Check each waiter against what the server ended the operation with.
    const final = fake.get(name)!;
    const problems: string[] = [];
    const expected = describeExpected(final, state);
    for (const w of waiters) {
      const s = w.settled;
      if (state.aborted && s.kind === 'error' && s.error === reason) continue;
      if (state.aborted && !state.doneAtAbort) {
        problems.push(`${w.what} was aborted before the end but settled with ${s.kind === 'error' ? describeError(s.error) : JSON.stringify(s.kind === 'value' ? s.value : null)}`);
        continue;
      }
      const problem = w.what === 'updates()' ? checkUpdates(s, final, expected) : checkPromise(s, final, expected);
      if (problem) problems.push(`${w.what}: ${problem}`);
    }
    const label = state.aborted ? (problems.length === 0 && waiters.every((w) => w.settled.kind === 'error' && w.settled.error === reason) ? 'aborted' : `aborted-late:${expected.label}`) : expected.label;
    outcomes[label] = (outcomes[label] ?? 0) + 1;
    if (problems.length === 0) correct++;
    else {
      wrong++;
      note(counters, `${name} (${ending}, ${start}, ${waiters.length} waiters): ${problems.join('; ')}`);
    }
  };

  // The pool.
  let next = 0;
  let settledOps = 0;
  const progressTimer = setInterval(() => {
    log(
      `  ${settledOps}/${o.operations} settled, ${correct} correct, ${wrong} wrong, ${never} never; ` +
        `${Object.values(counters.rpcs).reduce((a, b) => a + b, 0)} RPCs, ${faulty.restarts} restarts, ${faulty.proxy.stats.cut} cuts (${Math.round((Date.now() - started) / 1000)} s)`,
    );
  }, 5_000);
  const worker = async (): Promise<void> => {
    while (next < o.operations && Date.now() < deadline) {
      const i = next++;
      await runOne(i);
      settledOps++;
      // Keep the fake's call log from growing without bound.
      if (fake.calls.length > 10_000) fake.calls.splice(0, fake.calls.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, o.operations)) }, worker));
  clearInterval(progressTimer);
  const notStarted = o.operations - next;
  if (notStarted > 0) {
    overtime = true;
    never += notStarted;
    outcomes.notStarted = notStarted;
  }

  chaosOn = false;
  await Promise.all(massAbortRuns);

  // close() mid-flight: waits pending on a transport of their own all reject, typed, within a second.
  const closedMidFlight = { waits: 0, wrong: 0, slowestMs: 0 };
  if (o.closeMidFlight > 0 && o.protocol === 'grpc') {
    const own = grpcTransport({ address: faulty.address, registry });
    const waits = Array.from({ length: o.closeMidFlight }, () =>
      new LongRunningOperation(fake.create(), { transport: own, ...CLIENT }).promise().then(
        () => 'resolved',
        (err: unknown) => (err instanceof RpcError && err.code === Code.FAILED_PRECONDITION ? 'closed' : describeError(err)),
      ),
    );
    closedMidFlight.waits = waits.length;
    await sleep(300);
    const closedAt = Date.now();
    own.close();
    const results = await within(Promise.all(waits), SETTLE_BOUND_MS);
    closedMidFlight.slowestMs = Date.now() - closedAt;
    if (results === 'late') {
      closedMidFlight.wrong = waits.length;
      note(counters, `close(): ${waits.length} waits not all rejected within ${SETTLE_BOUND_MS} ms`);
    } else {
      const bad = results.filter((r) => r !== 'closed');
      closedMidFlight.wrong = bad.length;
      if (bad.length > 0) note(counters, `close(): ${bad.length} waits settled otherwise: ${bad[0]}`);
    }
  }

  // Teardown: everything closed, then see what is left.
  faulty.calm();
  const callsInFlightAtEnd = counters.inFlight;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const t of grpcChannels) t.close();
  await faulty.close();
  await fake.close();
  let leaked = leakedSince(handlesBefore);
  for (let k = 0; k < 50 && Object.keys(leaked).length > 0; k++) {
    await sleep(100);
    leaked = leakedSince(handlesBefore);
  }
  if (process.env.SOAK_DEBUG && Object.keys(leaked).length > 0) {
    // What is still open, for a leak hunt: SOAK_DEBUG=1 npm run soak
    const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
    for (const h of handles) console.error('open handle:', inspect(h, { depth: 0 }));
    console.error('active resources:', process.getActiveResourcesInfo().join(', '), '; entries in the timer queue:', timersOf(systemClock).size);
  }
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);

  const handlesLeaked = Object.values(leaked).reduce((a, b) => a + b, 0);
  const report: SoakReport = {
    ok: false,
    operations: o.operations,
    resolvedCorrectly: correct,
    resolvedWrongly: wrong,
    neverResolved: never,
    unhandledRejections: unhandled,
    handlesLeaked,
    leakedHandles: leaked,
    rpcsAfterAbort: counters.rpcsAfterAbort,
    rpcsAfterSettle: counters.rpcsAfterSettle,
    callsInFlightAtEnd,
    outcomes,
    massAborts,
    closedMidFlight,
    waiters: waitersTotal,
    aborted: abortedTotal,
    rpcs: counters.rpcs,
    faults: {
      ...faulty.service.stats,
      connectionsCut: faulty.proxy.stats.cut,
      connectionsRefusedWhileDown: faulty.proxy.stats.refused,
      serverRestarts: faulty.restarts,
      goaways: faulty.goaways,
    },
    durationMs: Date.now() - started,
    config: {
      protocol: o.protocol,
      seed: o.seed,
      concurrency: o.concurrency,
      channels: o.channels,
      lifetimeMs: o.lifetimeMs,
      abortShare: o.abortShare,
      faults: o.faults,
      cutEveryMs: o.cutEveryMs,
      restartEveryMs: o.restartEveryMs,
      goawayEveryMs: o.goawayEveryMs,
      silentEveryMs: o.silentEveryMs,
      silentMs: o.silentMs,
      massAbortEveryMs: o.massAbortEveryMs,
      massAbortSize: o.massAbortSize,
      closeMidFlight: o.closeMidFlight,
      client: CLIENT,
      overtime,
    },
    node: process.version,
    samples: [...unhandledSamples, ...counters.samples],
  };
  report.ok =
    report.resolvedCorrectly === o.operations &&
    wrong === 0 &&
    never === 0 &&
    massAborts.wrong === 0 &&
    closedMidFlight.wrong === 0 &&
    unhandled === 0 &&
    handlesLeaked === 0 &&
    report.rpcsAfterAbort === 0 &&
    report.rpcsAfterSettle === 0 &&
    callsInFlightAtEnd === 0;
  return report;
}

interface Expected {
  label: string;
  value?: Result;
  code?: number;
  message?: string;
  details?: unknown[];
}

function describeExpected(final: OperationResource, state: OpState): Expected {
  if (final.error) {
    const label = final.error.code === Code.CANCELLED ? 'cancelled' : 'failed';
    const details = final.error.details.map((d) => registry.toJson(d));
    return { label, code: final.error.code, message: final.error.message, details };
  }
  if (final.response) return { label: 'succeeded', value: state.payload };
  return { label: 'empty' };
}

function checkPromise(s: { kind: string; value?: unknown; error?: unknown }, final: OperationResource, expected: Expected): string | undefined {
  if (s.kind === 'pending') return 'still pending';
  if (expected.code !== undefined) {
    if (s.kind !== 'error') return `resolved with ${JSON.stringify(s.value)} but the server failed it with code ${expected.code}`;
    const err = s.error;
    const cancelled = expected.code === Code.CANCELLED;
    if (cancelled && !(err instanceof OperationCancelledError)) return `expected OperationCancelledError, got ${describeError(err)}`;
    if (!cancelled && (!(err instanceof OperationFailedError) || err instanceof OperationCancelledError)) return `expected OperationFailedError, got ${describeError(err)}`;
    const failed = err as OperationFailedError;
    if (failed.code !== expected.code) return `code ${failed.code}, expected ${expected.code}`;
    if (failed.status.message !== expected.message) return `message ${JSON.stringify(failed.status.message)}, expected ${JSON.stringify(expected.message)}`;
    if (!same(failed.details, expected.details)) return `details ${JSON.stringify(failed.details)}, expected ${JSON.stringify(expected.details)}`;
    return undefined;
  }
  if (s.kind !== 'value') return `rejected with ${describeError(s.error)}${s.error instanceof LongRunningError ? '' : ' (not a LongRunningError)'}, expected ${final.response ? 'a response' : 'undefined'}`;
  if (!same(s.value, expected.value)) return `resolved with ${JSON.stringify(s.value)}, expected ${JSON.stringify(expected.value)}`;
  return undefined;
}

function checkUpdates(s: { kind: string; value?: unknown; error?: unknown }, final: OperationResource, expected: Expected): string | undefined {
  if (s.kind === 'pending') return 'still pending';
  if (s.kind === 'error') return `threw ${describeError(s.error)}`;
  const last = s.value as { done?: boolean; response?: unknown; error?: OperationFailedError } | undefined;
  if (!last?.done) return 'ended without a terminal snapshot';
  if (expected.code !== undefined) return last.error?.code === expected.code ? undefined : `last snapshot error ${last.error?.code}, expected ${expected.code}`;
  return same(last.response, expected.value) ? undefined : `last snapshot response ${JSON.stringify(last.response)}, expected ${JSON.stringify(expected.value)}`;
}

/**
 * The report as text, one check per line.
 *
 * @example
 * ```ts
 * console.log(formatReport(await runSoak()));
 * ```
 */
export function formatReport(report: SoakReport): string {
  const check = (label: string, n: number, good: (n: number) => boolean) => `  ${good(n) ? 'ok  ' : 'FAIL'} ${label.padEnd(34)} ${n}`;
  const lines = [
    `soak: ${report.operations} operations over ${String(report.config.protocol)} in ${(report.durationMs / 1000).toFixed(1)} s (node ${report.node}, seed ${String(report.config.seed)})`,
    check('resolved correctly', report.resolvedCorrectly, (n) => n === report.operations),
    check('resolved wrongly', report.resolvedWrongly, (n) => n === 0),
    check('never resolved', report.neverResolved, (n) => n === 0),
    check('unhandled rejections', report.unhandledRejections, (n) => n === 0),
    check('handles still open at the end', report.handlesLeaked, (n) => n === 0),
    check('RPCs sent after an abort', report.rpcsAfterAbort, (n) => n === 0),
    check('RPCs sent after settling', report.rpcsAfterSettle, (n) => n === 0),
    check('calls in flight at the end', report.callsInFlightAtEnd, (n) => n === 0),
    `  outcomes: ${Object.entries(report.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  waiters: ${report.waiters}; operations aborted by the client: ${report.aborted}`,
    `  mass aborts: ${report.massAborts.batches} batches, ${report.massAborts.waits} waits, ${report.massAborts.wrong} wrong, last rejection ${report.massAborts.slowestMs} ms after the abort`,
    `  close() mid-flight: ${report.closedMidFlight.waits} waits, ${report.closedMidFlight.wrong} wrong, last rejection ${report.closedMidFlight.slowestMs} ms after close()`,
    `  RPCs: ${Object.entries(report.rpcs).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  faults: ${Object.entries(report.faults).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  if (report.handlesLeaked > 0) lines.push(`  leaked: ${JSON.stringify(report.leakedHandles)}`);
  if (report.samples.length > 0) lines.push('  samples:', ...report.samples.map((s) => `    ${s}`));
  lines.push(report.ok ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
