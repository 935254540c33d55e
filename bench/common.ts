/**
 * Shared pieces of the benchmark: the cross-process clock, the seeded
 * schedule, the payloads (Video Intelligence progress and result messages,
 * as a real generated client sees them), statistics, and the messages the
 * orchestrator, the server process and the client processes exchange.
 * @module
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { TypeRegistry } from '../src/codec/registry.js';
import type { AnyMessage } from '../src/types.js';

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/**
 * Milliseconds on a clock every process on this machine shares (wall-clock
 * origin of the process plus its monotonic offset), so a completion stamped by
 * the server process and a settlement stamped by a client process compare.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves at absolute time `at` (on {@link now}'s clock). */
export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())));
}

// ---------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------

export { seededRandom } from '../src/testing/random.js';
import { seededRandom } from '../src/testing/random.js';

/** `n` durations in milliseconds, uniform in [minMs, maxMs), from `seed`. */
export function uniformDurations(n: number, minMs: number, maxMs: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round(minMs + random() * (maxMs - minMs)));
}

// ---------------------------------------------------------------------------
// Payloads: the Video Intelligence API's own schemas (a real GAPIC client's)
// ---------------------------------------------------------------------------

const VIDEO_PKG = 'google.cloud.videointelligence.v1';
/** Metadata type of AnnotateVideo operations. */
export const PROGRESS_TYPE = `${VIDEO_PKG}.AnnotateVideoProgress`;
/** Response type of AnnotateVideo operations. */
export const RESPONSE_TYPE = `${VIDEO_PKG}.AnnotateVideoResponse`;

/** The protos.json the generated VideoIntelligenceServiceClient loads. */
export function videoProtosJson(): Record<string, unknown> {
  return JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')) as Record<string, unknown>;
}

let root: protobuf.Root | undefined;
/** A protobufjs root over the video schemas (for our TypeRegistry and for encoding payloads). */
export function videoRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(videoProtosJson());
    root.resolveAll();
  }
  return root;
}

let registry: TypeRegistry | undefined;
/** Our registry over the video schemas. */
export function videoRegistry(): TypeRegistry {
  return (registry ??= TypeRegistry.fromRoot(videoRoot()));
}

function progressEntry(i: number, percent: number): Record<string, unknown> {
  return {
    inputUri: `gs://bench-bucket/videos/clip-${String(i).padStart(5, '0')}.mp4`,
    progressPercent: percent,
    startTime: '2024-05-01T12:00:00Z',
    updateTime: `2024-05-01T12:${String(Math.floor(percent / 2) % 60).padStart(2, '0')}:30.125Z`,
    feature: 'LABEL_DETECTION',
    segment: { startTimeOffset: `${i}s`, endTimeOffset: `${i + 5}.500s` },
  };
}

/** A small AnnotateVideoProgress (one input), as most operations carry. */
export function smallProgress(percent: number): AnyMessage {
  return videoRegistry().encode(PROGRESS_TYPE, { annotationProgress: [progressEntry(0, percent)] });
}

/** An AnnotateVideoProgress of at least `minBytes` encoded bytes (many inputs). */
export function largeProgress(minBytes: number, percent: number): AnyMessage {
  const entries: Record<string, unknown>[] = [];
  for (let i = 0; ; i++) {
    entries.push(progressEntry(i, percent));
    const any = videoRegistry().encode(PROGRESS_TYPE, { annotationProgress: entries });
    if ((any.value?.byteLength ?? 0) >= minBytes) return any;
  }
}

/** A small AnnotateVideoResponse: one label on one input. */
export function smallResponse(): AnyMessage {
  return videoRegistry().encode(RESPONSE_TYPE, {
    annotationResults: [
      {
        inputUri: 'gs://bench-bucket/videos/clip-00000.mp4',
        segmentLabelAnnotations: [
          {
            entity: { entityId: '/m/01yrx', description: 'cat', languageCode: 'en-US' },
            segments: [{ segment: { startTimeOffset: '0s', endTimeOffset: '5.500s' }, confidence: 0.5 }],
          },
        ],
      },
    ],
  });
}

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

/** The q-quantile (0..1) of `sorted` (ascending), linear interpolation. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summary of a sample. */
export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Summarizes `values` (any order). */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean,
  };
}

/**
 * Large number arrays (50k+ entries) between processes go through a file: an IPC
 * message of several hundred KB with `serialization: 'advanced'` was lost here
 * (the child exited before the parent saw it). Small ones stay inline.
 */
export type NumberArray = number[] | { file: string; length: number };

/** Packs `values` for a message: inline when small, else written to a temporary file. */
export function packNumbers(values: number[], tag: string): NumberArray {
  if (values.length <= 20_000) return values;
  const file = path.join(os.tmpdir(), `longrunning-bench-${process.pid}-${tag}-${Date.now()}.f64`);
  writeFileSync(file, Buffer.from(new Float64Array(values).buffer));
  return { file, length: values.length };
}

/** Unpacks what {@link packNumbers} made (and removes its file). */
export function unpackNumbers(packed: NumberArray): number[] {
  if (Array.isArray(packed)) return packed;
  const bytes = readFileSync(packed.file);
  rmSync(packed.file, { force: true });
  return Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, packed.length));
}

/** A name clients call once to open their channel before the clock starts; the server never counts it. */
export const WARMUP_NAME = 'operations/warmup';

// ---------------------------------------------------------------------------
// Messages between processes
// ---------------------------------------------------------------------------

/** Which client, configured how. */
export type Variant =
  | 'ours' // LongRunningOperation with its defaults
  | 'ours-no-progress' // ours with progress-aware polling off: `polling: { followProgress: false }`
  | 'ours-gax-operation' // ours through fromGaxOperation on the gax Operation a generated client returns
  | 'gax'; // google-gax Operation with its defaults, built as generated clients build it

/** Ours with progress-aware polling off (the schedule alone: 110 ms ×1.21 → 60 s, exact). */
export const NO_PROGRESS_OPTIONS = { polling: { followProgress: false } } as const;

/**
 * How the server moves an operation's reported progress (AnnotateVideoProgress
 * `annotationProgress[0].progressPercent`, an int32) from 0 to 100 over its
 * lifetime: `linear` (percent ∝ elapsed time), `steps` (10 % steps),
 * `slowstart` (percent ∝ elapsed², slow first, fast at the end).
 */
export type ProgressShape = 'linear' | 'steps' | 'slowstart';

/** The percentage (integer 0–100) of `shape` at `fraction` (0..1) of an operation's lifetime. */
export function progressAt(shape: ProgressShape, fraction: number): number {
  const f = Math.min(1, Math.max(0, fraction));
  if (shape === 'linear') return Math.floor(100 * f);
  if (shape === 'steps') return Math.floor(10 * f) * 10;
  return Math.floor(100 * f * f);
}

/** Orchestrator → server. */
export type ServerCommand =
  | {
      type: 'arm';
      run: string;
      waitOperation: boolean;
      t0: number;
      durationsMs: number[];
      /** Complete nothing on a timer: wait for a `complete` command (the scale scenario). */
      manual?: boolean;
      /** Report progress in the metadata, updated every `progressEveryMs` (default: none, 0 % until done). */
      progress?: ProgressShape;
      progressEveryMs?: number;
    }
  | { type: 'stats'; run: string }
  /** Complete every operation of the run now, in one loop. */
  | { type: 'complete'; run: string }
  | { type: 'exit' };

/** Server → orchestrator. */
export type ServerReply =
  | { type: 'listening'; port: number }
  | { type: 'armed'; run: string }
  | {
      type: 'stats';
      run: string;
      /** RPCs received for this run, by method. */
      calls: Record<string, number>;
      /** RPCs received per operation, by index. */
      perOp: NumberArray;
      /** When each operation was completed (on {@link now}'s clock), by index; NaN if not yet. */
      completedAt: NumberArray;
      /** Server CPU time spent during the run, microseconds. */
      cpuMicros: number;
    };

/** A watch job for a client process. */
export interface WatchJob {
  kind: 'watch';
  variant: Variant;
  port: number;
  run: string;
  n: number;
  /** Give up after this long past t0 (the bench must end). */
  deadlineMs: number;
}

/**
 * Decode paths: ours; google-gax as it is (protobufjs message instances);
 * google-gax plus the `toObject({ longs: String, enums: String })` a caller
 * needs for plain objects comparable to ours (context, not a target).
 */
export type DecodeVariant = 'ours' | 'gax' | 'gax-plain';

/** A decode job for a client process (no server). */
export interface DecodeJob {
  kind: 'decode';
  variant: DecodeVariant;
  /** Polls per measurement. */
  iterations: number;
  /** Encoded metadata size. */
  metadataBytes: number;
}

/**
 * A scale job: `n` operations on one transport (one channel), created evenly
 * over `createMs` from t0; `heapAfterMs` after the last creation a forced GC
 * and the heap (every operation pending), `holdMs` after it the client says
 * `held` and the orchestrator has the server complete them all at one moment;
 * event-loop delay over the hold (creation done → held).
 */
export interface ScaleJob {
  kind: 'scale';
  variant: Variant;
  port: number;
  run: string;
  n: number;
  createMs: number;
  heapAfterMs: number;
  holdMs: number;
  /** Give up this long after `held`. */
  resolveDeadlineMs: number;
}

/** Result of a scale job. */
export interface ScaleResult {
  kind: 'scale';
  settledAt: NumberArray;
  /** Operations whose promise rejected. */
  rejected: number;
  firstError?: string;
  /** Operations still pending at the deadline. */
  neverSettled: number;
  /** When the last operation was created (and its promise() called), ms after t0. */
  createdMs: number;
  /** Operations pending when the heap was measured (n when every one was). */
  pendingAtHeap: number;
  /** Heap used after forced GC before any operation existed, and with every operation pending. */
  heapBaseline: number;
  heapLoaded?: number;
  rssLoaded?: number;
  /** Event-loop delay while holding (creation done → completion), forced GC excluded, ms. */
  holdLoopDelay: { p50: number; p99: number; max: number };
  /** Client CPU (user + system), t0 → last settlement, the forced GC left out, microseconds. */
  cpuMicros: number;
  /** Process 'warning' events during the run (MaxListenersExceededWarning and others). */
  warnings: number;
  maxRssBytes: number;
}

/**
 * Start cost with one shared AbortSignal: `n` operations created and
 * `promise()` called (with `{ signal }` when `withSignal`) on a transport whose
 * calls never answer (the measurement ends before the first poll is due).
 */
export interface AbortJob {
  kind: 'abort';
  n: number;
  withSignal: boolean;
}

/** Result of an abort job. */
export interface AbortResult {
  kind: 'abort';
  n: number;
  withSignal: boolean;
  /** Creating the operations and calling promise() on all, synchronously. */
  syncMs: number;
  /** The same plus the microtasks and immediates it queued (one setImmediate turn). */
  startMs: number;
  /** Process 'warning' events (any). */
  warnings: number;
  /** Of those, MaxListenersExceededWarning. */
  maxListenersWarnings: number;
  /** Operations that settled after the signal was aborted at the end (all: the signal reached every one). */
  abortedAfter: number;
}

export type ClientJob = WatchJob | DecodeJob | ScaleJob | AbortJob;

/** Orchestrator → client. */
export type ClientCommand =
  | { type: 'job'; job: ClientJob }
  /** Start: at `t0` create and watch every operation; at `heapAt` force a GC and measure the heap. */
  | { type: 'go'; t0: number; heapAt?: number; completeAt?: number };

/** Result of a watch job. */
export interface WatchResult {
  kind: 'watch';
  /** Settlement time of each operation (NaN if it never settled), by index. */
  settledAt: number[];
  errors: number;
  firstError?: string;
  /** From creating the first operation to the last settlement. */
  wallMs: number;
  /** Client CPU (user + system) over the same span, microseconds. */
  cpuMicros: number;
  /** Event-loop delay over the span (perf_hooks.monitorEventLoopDelay, 10 ms resolution), ms. */
  loopDelay: { p50: number; p99: number; max: number };
  /** GC pauses during the span (PerformanceObserver 'gc'), the forced GC left out; ms. */
  gc: { count: number; totalMs: number; maxMs: number; majorCount: number; majorMaxMs: number };
  /** Heap used after forced GC before any operation exists (module, channel and client set up). */
  heapBaseline: number;
  /** Heap used after forced GC at `heapAt`, with every operation pending. */
  heapLoaded?: number;
  /** RSS at `heapAt`. */
  rssLoaded?: number;
  /** Peak RSS of the process. */
  maxRssBytes: number;
}

/** One decode measurement. */
export interface DecodeTiming {
  ms: number;
  /** A digest of what was decoded last, to show both sides decoded the same message. */
  check: string;
}

/** Result of a decode job. */
export interface DecodeResult {
  kind: 'decode';
  iterations: number;
  /** Wire size of one Operation message. */
  operationBytes: number;
  /** The metadata changes at every poll (progress 50 %, 51 %, 50 %, …). */
  changing: DecodeTiming;
  /** The same metadata at every poll. */
  unchanged: DecodeTiming;
}

/** Client → orchestrator. */
export type ClientReply =
  | { type: 'ready' }
  /** Scale job: every operation created and held; the server may complete them. */
  | { type: 'held' }
  | { type: 'result'; result: WatchResult | DecodeResult | ScaleResult | AbortResult }
  | { type: 'failed'; error: string };
