/**
 * One client run, in its own process (forked by bench/run.ts with
 * --expose-gc), so its CPU, heap and event-loop numbers are its own.
 *
 * watch job: at t0 creates `n` operations (as the resources their start calls
 * returned) and waits for all of them; stamps each settlement on the shared
 * clock; measures CPU, event-loop delay, and heap (forced GC) at `heapAt`.
 *
 * decode job: the per-poll path from Operation wire bytes (10 KB metadata Any)
 * to decoded metadata, no network: each library's own gRPC deserializer, then
 * its own unpacking and metadata decoder.
 * @module
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import * as path from 'node:path';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import * as gax from 'google-gax';
import type * as protobuf from 'protobufjs';
import { encodeOperation } from '../src/transports/grpc.js';
import type { OperationsTransport } from '../src/types.js';
import { gaxClientOptions, gaxDecoders, makeClient, oursRegistry } from './clients.js';
import { lib } from './library.js';
import {
  WARMUP_NAME,
  largeProgress,
  packNumbers,
  now,
  sleepUntil,
  smallProgress,
  type ClientCommand,
  type ClientReply,
  type DecodeJob,
  type DecodeResult,
  type DecodeTiming,
  type AbortJob,
  type AbortResult,
  type ScaleJob,
  type ScaleResult,
  type WatchJob,
  type WatchResult,
} from './common.js';

function send(reply: ClientReply, then?: () => void): void {
  process.send?.(reply, undefined, undefined, then ? () => then() : undefined);
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run the client with --expose-gc');
  collect();
  collect();
}

function nextCommand(): Promise<ClientCommand> {
  return new Promise((resolve) => process.once('message', (m: ClientCommand) => resolve(m)));
}

// ---------------------------------------------------------------------------
// watch
// ---------------------------------------------------------------------------

async function watchJob(job: WatchJob): Promise<WatchResult> {
  const client = makeClient(job.variant, job.port);
  await client.warmUp(WARMUP_NAME);
  const initialMetadata = smallProgress(0);
  send({ type: 'ready' });
  const go = await nextCommand();
  if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);
  const { t0, heapAt } = go;

  await sleepUntil(t0 - 150);
  gc();
  const heapBaseline = process.memoryUsage().heapUsed;
  await sleepUntil(t0);

  const settledAt = new Array<number>(job.n).fill(NaN);
  let errors = 0;
  let firstError: string | undefined;
  let pending = job.n;
  let last = t0;
  let allSettled!: () => void;
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // GC pauses (PerformanceObserver); the forced GC of the heap measurement is left out afterwards, by its time window.
  const gcEntries: { start: number; ms: number; major: boolean }[] = [];
  const forcedWindows: [number, number][] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      gcEntries.push({ start: entry.startTime, ms: entry.duration, major: kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const cpuStart = process.cpuUsage();
  const start = now();

  for (let i = 0; i < job.n; i++) {
    client.watch(`operations/${job.run}-${i}`, initialMetadata).then(
      () => {
        last = settledAt[i] = now();
        if (--pending === 0) allSettled();
      },
      (err: unknown) => {
        last = settledAt[i] = now();
        errors++;
        firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (--pending === 0) allSettled();
      },
    );
  }

  let heapLoaded: number | undefined;
  let rssLoaded: number | undefined;
  let gcCpuMicros = 0;
  const heapTimer =
    heapAt === undefined
      ? undefined
      : setTimeout(() => {
          loop.disable(); // the forced GC is ours, not the library's: out of the delay, CPU and GC figures
          const before = process.cpuUsage();
          const forcedFrom = performance.now();
          gc();
          forcedWindows.push([forcedFrom, performance.now()]);
          const spent = process.cpuUsage(before);
          gcCpuMicros = spent.user + spent.system;
          const usage = process.memoryUsage();
          heapLoaded = usage.heapUsed;
          rssLoaded = usage.rss;
          loop.enable();
        }, Math.max(0, heapAt - now()));

  let deadlineTimer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (deadlineTimer = setTimeout(resolve, Math.max(0, t0 + job.deadlineMs - now()))))]);
  clearTimeout(deadlineTimer);
  if (heapTimer) clearTimeout(heapTimer);
  const cpu = process.cpuUsage(cpuStart);
  loop.disable();
  await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver the last entries
  gcObserver.disconnect();
  const gcStats = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMaxMs: 0 };
  for (const e of gcEntries) {
    if (forcedWindows.some(([from, to]) => e.start >= from && e.start <= to)) continue;
    gcStats.count++;
    gcStats.totalMs += e.ms;
    gcStats.maxMs = Math.max(gcStats.maxMs, e.ms);
    if (e.major) {
      gcStats.majorCount++;
      gcStats.majorMaxMs = Math.max(gcStats.majorMaxMs, e.ms);
    }
  }
  const wallMs = (pending === 0 ? last : now()) - start;
  if (pending > 0) {
    errors += pending;
    firstError ??= `${pending} operations still pending at the bench deadline`;
  }
  client.close();
  const ms = (ns: number) => ns / 1e6;
  return {
    kind: 'watch',
    settledAt,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    wallMs,
    cpuMicros: cpu.user + cpu.system - gcCpuMicros,
    loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    gc: gcStats,
    heapBaseline,
    ...(heapLoaded !== undefined ? { heapLoaded, rssLoaded } : {}),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

// ---------------------------------------------------------------------------
// scale
// ---------------------------------------------------------------------------

async function scaleJob(job: ScaleJob): Promise<ScaleResult> {
  const client = makeClient(job.variant, job.port);
  await client.warmUp(WARMUP_NAME);
  const initialMetadata = smallProgress(0);
  let warnings = 0;
  process.on('warning', () => warnings++);
  send({ type: 'ready' });
  const go = await nextCommand();
  if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);
  const { t0 } = go;

  await sleepUntil(t0 - 300);
  gc();
  const heapBaseline = process.memoryUsage().heapUsed;
  if (process.env.LONGRUNNING_BENCH_HEAPSNAPSHOT) writeHeapSnapshot(path.join(process.env.LONGRUNNING_BENCH_HEAPSNAPSHOT, `${job.run}-baseline.heapsnapshot`));
  await sleepUntil(t0);

  const settledAt = new Array<number>(job.n).fill(NaN);
  let rejected = 0;
  let firstError: string | undefined;
  let pending = job.n;
  let allSettled!: () => void;
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const cpuStart = process.cpuUsage();

  // Created evenly over createMs, in 100 slices (a slice runs late if the previous one took long).
  const slices = Math.min(100, job.n);
  for (let k = 0; k < slices; k++) {
    await sleepUntil(t0 + (k * job.createMs) / slices);
    const to = Math.round(((k + 1) * job.n) / slices);
    for (let i = Math.round((k * job.n) / slices); i < to; i++) {
      const index = i;
      client.watch(`operations/${job.run}-${index}`, initialMetadata).then(
        () => {
          settledAt[index] = now();
          if (--pending === 0) allSettled();
        },
        (err: unknown) => {
          settledAt[index] = now();
          rejected++;
          firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          if (--pending === 0) allSettled();
        },
      );
    }
  }
  const createdAt = now();
  const createdMs = createdAt - t0;

  // Holding: event-loop delay from creation done to `held` (then the server completes everything).
  const hold = monitorEventLoopDelay({ resolution: 10 });
  hold.enable();
  let gcCpuMicros = 0;
  let heapLoaded: number | undefined;
  let rssLoaded: number | undefined;
  let pendingAtHeap = 0;
  await sleepUntil(createdAt + job.heapAfterMs);
  {
    hold.disable(); // the forced GC is the bench's, not the library's
    const before = process.cpuUsage();
    gc();
    const spent = process.cpuUsage(before);
    gcCpuMicros = spent.user + spent.system;
    const usage = process.memoryUsage();
    heapLoaded = usage.heapUsed;
    rssLoaded = usage.rss;
    pendingAtHeap = pending;
    // Diagnosis: LONGRUNNING_BENCH_HEAPSNAPSHOT=<dir> writes the heap at this moment (for bench/profile tools).
    if (process.env.LONGRUNNING_BENCH_HEAPSNAPSHOT) writeHeapSnapshot(path.join(process.env.LONGRUNNING_BENCH_HEAPSNAPSHOT, `${job.run}.heapsnapshot`));
    hold.enable();
  }
  await sleepUntil(createdAt + job.holdMs);
  hold.disable();
  send({ type: 'held' });

  let deadlineTimer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (deadlineTimer = setTimeout(resolve, job.resolveDeadlineMs)))]);
  clearTimeout(deadlineTimer);
  const cpu = process.cpuUsage(cpuStart);
  const neverSettled = pending;
  client.close();
  const ms = (ns: number) => ns / 1e6;
  return {
    kind: 'scale',
    settledAt: packNumbers(settledAt, `${job.run}-settled`),
    rejected,
    ...(firstError !== undefined ? { firstError } : {}),
    neverSettled,
    createdMs,
    pendingAtHeap,
    heapBaseline,
    ...(heapLoaded !== undefined ? { heapLoaded, rssLoaded } : {}),
    holdLoopDelay: { p50: ms(hold.percentile(50)), p99: ms(hold.percentile(99)), max: ms(hold.max) },
    cpuMicros: cpu.user + cpu.system - gcCpuMicros,
    warnings,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

// ---------------------------------------------------------------------------
// abort: start cost with one shared AbortSignal
// ---------------------------------------------------------------------------

/** A transport whose calls never answer until `close()` fails them all (a non-retried error ends every wait). */
function silentTransport(): OperationsTransport & { close(): void } {
  const hanging = new Set<(err: Error) => void>();
  let closed = false;
  const hang = (options?: { signal?: AbortSignal }) =>
    new Promise<never>((_, reject) => {
      if (closed) return reject(new Error('transport closed'));
      const signal = options?.signal;
      const fail = (err: Error) => {
        hanging.delete(fail);
        reject(err);
      };
      hanging.add(fail);
      if (signal?.aborted) fail(signal.reason as Error);
      else signal?.addEventListener('abort', () => fail(signal.reason as Error), { once: true });
    });
  return {
    getOperation: (_name, options) => hang(options),
    cancelOperation: async () => undefined,
    deleteOperation: async () => undefined,
    listOperations: async () => ({ operations: [], nextPageToken: '' }),
    close() {
      closed = true;
      for (const fail of [...hanging]) fail(new Error('transport closed'));
    },
  };
}

async function abortJob(job: AbortJob): Promise<AbortResult> {
  let warnings = 0;
  let maxListenersWarnings = 0;
  process.on('warning', (w) => {
    warnings++;
    if (w.name === 'MaxListenersExceededWarning') maxListenersWarnings++;
  });
  const registry = oursRegistry();
  const metadata = smallProgress(0);
  const transports: ReturnType<typeof silentTransport>[] = [];
  const start = (n: number, signal: AbortSignal | undefined, prefix: string): Promise<unknown>[] => {
    const transport = silentTransport();
    transports.push(transport);
    const out: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const op = new lib.LongRunningOperation({ name: `operations/${prefix}-${i}`, done: false, metadata }, { transport, decode: registry });
      out.push(op.promise(signal ? { signal } : undefined).catch(() => undefined));
    }
    return out;
  };
  // Warm-up (JIT), the same in both modes: on a transport and a signal of its own, then aborted.
  const warm = new AbortController();
  start(Math.min(2000, job.n), warm.signal, 'warm');
  warm.abort();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  send({ type: 'ready' });
  const go = await nextCommand();
  if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);

  const controller = new AbortController();
  const t = performance.now();
  const promises = start(job.n, job.withSignal ? controller.signal : undefined, 'bench');
  const syncMs = performance.now() - t;
  await new Promise((resolve) => setImmediate(resolve));
  const startMs = performance.now() - t;
  let abortedAfter = 0;
  if (job.withSignal) {
    let settled = 0;
    for (const p of promises) void p.then(() => settled++);
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    abortedAfter = settled;
  }
  for (const transport of transports) transport.close(); // every wait ends (the process may run the next job)
  return { kind: 'abort', n: job.n, withSignal: job.withSignal, syncMs, startMs, warnings, maxListenersWarnings, abortedAfter };
}

// ---------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------

/** Two Operation messages (not done) whose 10 KB metadata differ (progress 50 % / 51 %). */
function wire(job: DecodeJob): { a: Buffer; b: Buffer } {
  const make = (percent: number) =>
    Buffer.from(encodeOperation({ name: 'operations/decode-bench', done: false, metadata: largeProgress(job.metadataBytes, percent) }));
  return { a: make(50), b: make(51) };
}

function describeProgress(progress: unknown): string {
  const entries = (progress as { annotationProgress?: { progressPercent?: number }[] } | null)?.annotationProgress ?? [];
  return `${entries.length} entries at ${entries[entries.length - 1]?.progressPercent}%`;
}

/** A poller over a sequence of wire messages: `poll()` goes through one, `metadata()` is what it decoded. */
interface Poller {
  poll(): Promise<void>;
  metadata(): unknown;
}

async function time(poller: Poller, iterations: number): Promise<DecodeTiming> {
  for (let k = 0; k < Math.min(1000, iterations); k++) await poller.poll(); // warm-up (JIT)
  const start = now();
  for (let k = 0; k < iterations; k++) await poller.poll();
  const ms = now() - start;
  return { ms, check: describeProgress(poller.metadata()) };
}

/**
 * Ours: the gRPC transport's path (its grpc-js response deserializer, then
 * the message → resource conversion) under `LongRunningOperation.poll()`
 * (validation, metadata decoding through the TypeRegistry, events).
 */
function oursPoller(frames: Buffer[]): Poller {
  const deserialize = lib.operationsServiceDefinition.GetOperation.responseDeserialize;
  let i = 0;
  const transport: OperationsTransport = {
    getOperation: async () => lib.operationFromMessage(deserialize(frames[i++ % frames.length])),
    cancelOperation: async () => undefined,
    deleteOperation: async () => undefined,
    listOperations: async () => ({ operations: [], nextPageToken: '' }),
  };
  const op = new lib.LongRunningOperation<unknown, unknown>('operations/decode-bench', { transport, decode: oursRegistry() });
  return {
    poll: async () => {
      await op.poll();
    },
    metadata: () => op.metadata,
  };
}

type GaxDeserialize = (bytes: Buffer) => unknown;

/** google-gax's Operations stub response deserializer (proto-loader: toObject with defaults, longs and enums as strings). */
async function gaxDeserializer(): Promise<GaxDeserialize> {
  const opts = gaxClientOptions(1); // the stub is built but never called: no socket is opened
  const gaxGrpc = new gax.GrpcClient(opts);
  const operationsClient = gax.lro({ auth: gaxGrpc.auth, grpc: gaxGrpc.grpc }).operationsClient(opts);
  type Stub = { constructor: { service: Record<string, { responseDeserialize: GaxDeserialize }> } };
  const stub = await (operationsClient as unknown as { operationsStub: Promise<Stub> }).operationsStub;
  operationsClient.close();
  return stub.constructor.service.GetOperation.responseDeserialize;
}

/**
 * google-gax: its stub's deserializer, then Operation.getOperation →
 * _unpackResponse → the LongrunningDescriptor's metadata decoder (what each
 * poll of its polling loop runs).
 */
function gaxPoller(frames: Buffer[], deserialize: GaxDeserialize, plain: boolean): Poller {
  let i = 0;
  const operationsClient = {
    getOperationInternal() {
      // What the real stub call resolves with once the bytes arrive: [deserialized Operation].
      const promise = Promise.resolve([deserialize(frames[i++ % frames.length])]) as Promise<unknown[]> & { cancel(): void };
      promise.cancel = () => undefined;
      return promise;
    },
  };
  const types = gaxDecoders();
  const descriptor = new gax.LongrunningDescriptor(operationsClient as never, types.response.decode.bind(types.response), types.metadata.decode.bind(types.metadata));
  const operation = new gax.Operation({ name: 'operations/decode-bench', done: false } as never, descriptor, gax.createDefaultBackoffSettings());
  let converted: unknown;
  const toPlain = (m: unknown) => types.metadata.toObject(m as protobuf.Message, { longs: String, enums: String });
  return {
    poll: () =>
      new Promise<void>((resolve, reject) =>
        operation.getOperation((err: unknown, _result: unknown, metadata: unknown) => {
          if (err) return reject(err as Error);
          if (plain) converted = toPlain(metadata);
          resolve();
        }),
      ),
    metadata: () => (plain ? converted : operation.metadata),
  };
}

async function decodeJob(job: DecodeJob): Promise<DecodeResult> {
  const { a, b } = wire(job);
  const deserialize = job.variant === 'ours' ? undefined : await gaxDeserializer();
  const poller = (frames: Buffer[]) => (deserialize ? gaxPoller(frames, deserialize, job.variant === 'gax-plain') : oursPoller(frames));
  send({ type: 'ready' });
  const go = await nextCommand();
  if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);
  const changing = await time(poller([a, b]), job.iterations);
  const unchanged = await time(poller([a]), job.iterations);
  return { kind: 'decode', iterations: job.iterations, operationBytes: a.byteLength, changing, unchanged };
}

// ---------------------------------------------------------------------------

/** Smoke runs reuse one process for job after job (bench/run.ts); full runs give every job a fresh one. */
const reuse = process.env.LONGRUNNING_BENCH_REUSE === '1';

async function main(): Promise<void> {
  // tsx turned source maps on. grpc-js builds an Error stack for every failed call (a WaitOperation probe's
  // UNIMPLEMENTED, say), and Node would then parse every loaded module's source map in the middle of a
  // measurement (11 MB of heap in a 10,000-operation scale run): a cost of this bench's loader, not of a client.
  process.setSourceMapsEnabled(false);
  for (;;) {
    const first = await nextCommand();
    if (first.type !== 'job') throw new Error(`expected a job, got ${first.type}`);
    const job = first.job;
    const result =
      job.kind === 'watch' ? await watchJob(job) : job.kind === 'scale' ? await scaleJob(job) : job.kind === 'abort' ? await abortJob(job) : await decodeJob(job);
    if (!reuse) {
      // Operations a job left behind (never settled, never answered) must not keep the process alive.
      // The message is handed to the channel, not yet read by the parent: exit a little later (a large result
      // read after the exit event would be lost to the parent's 'child exited before answering').
      send({ type: 'result', result }, () => setTimeout(() => process.exit(0), 3000));
      return;
    }
    send({ type: 'result', result });
  }
}

main().then(
  () => {
    process.disconnect?.();
    // Operations a job left behind (never settled, or never answered) must not keep the process alive.
    setTimeout(() => process.exit(0), 1000).unref();
  },
  (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.disconnect?.();
    setTimeout(() => process.exit(1), 1000).unref();
  },
);
