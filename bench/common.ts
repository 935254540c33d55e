/**
 * Shared pieces of the benchmark: the cross-process clock, the seeded
 * schedule, the payloads (Video Intelligence progress and result messages,
 * as a real generated client sees them), statistics, and the messages the
 * orchestrator, the server process and the client processes exchange.
 * @module
 */
import { readFileSync } from 'node:fs';
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

/** A name clients call once to open their channel before the clock starts; the server never counts it. */
export const WARMUP_NAME = 'operations/warmup';

// ---------------------------------------------------------------------------
// Messages between processes
// ---------------------------------------------------------------------------

/** Which client, configured how. */
export type Variant =
  | 'ours' // LongRunningOperation with its defaults
  | 'ours-gax-budget' // ours, polling tuned to spend google-gax's RPC budget
  | 'gax'; // google-gax Operation with its defaults, built as generated clients build it

/**
 * Ours configured to spend no more RPCs than google-gax's default schedule
 * (poll at once, then 100 ms ×1.3, no jitter) on a server without WaitOperation:
 * no WaitOperation probe, no poll at once (the start call just returned the
 * state), and the budget that saves spent on a slightly denser schedule.
 */
export const GAX_BUDGET_OPTIONS = {
  waitOperation: 'never',
  polling: { initialDelayMs: 100, multiplier: 1.25, maxDelayMs: 60_000, jitter: false },
} as const;

/** Orchestrator → server. */
export type ServerCommand =
  | { type: 'arm'; run: string; waitOperation: boolean; t0: number; durationsMs: number[] }
  | { type: 'stats'; run: string }
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
      perOp: number[];
      /** When each operation was completed (on {@link now}'s clock), by index; NaN if not yet. */
      completedAt: number[];
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

export type ClientJob = WatchJob | DecodeJob;

/** Orchestrator → client. */
export type ClientCommand =
  | { type: 'job'; job: ClientJob }
  /** Start: at `t0` create and watch every operation; at `heapAt` force a GC and measure the heap. */
  | { type: 'go'; t0: number; heapAt?: number };

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
export type ClientReply = { type: 'ready' } | { type: 'result'; result: WatchResult | DecodeResult } | { type: 'failed'; error: string };
