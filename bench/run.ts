/**
 * `npm run bench`: longrunning side by side with google-gax's `Operation`,
 * against one loopback gRPC Operations server in its own process, each client
 * run in a fresh process of its own, clients alternating.
 *
 *   1. 200 operations done at uniform random times in 0.2–3 s, server with
 *      WaitOperation: done→resolved latency and RPCs per operation.
 *   2. The same on a server without WaitOperation: ours (defaults) vs gax (defaults).
 *   3. 10,000 concurrent operations lasting 10–20 s on one client: heap per
 *      operation (forced GC), RSS, event-loop delay p99, client CPU per RPC.
 *   4. Decoding a 10 KB metadata Any per poll: throughput of each library's path.
 *   scale. 1k–100k pending operations on one transport, all completed at one
 *      moment, server with and without WaitOperation: rejected / never settled,
 *      heap per pending operation, event-loop delay while holding, CPU per
 *      operation, all complete → all resolved; and 50,000 operations sharing one
 *      AbortSignal (start cost, MaxListenersExceededWarning).
 *   progress. 200 operations on a polling-only server whose metadata reports
 *      progress (linear, 10 % steps, slow start): ours, ours without
 *      followProgress, gax.
 *
 * Prints markdown tables (stdout; progress goes to stderr), writes
 * `<out>/latest.json` and `<out>/latest.svg`. Timings are never asserted anywhere.
 *
 * Options: --smoke (tiny sizes, for CI; writes to a temp dir unless --out),
 * --seed N, --out DIR, --only 1,2,3,4,scale,progress, --sizes 1000,10000
 * (scale sizes), --scale-rounds N.
 * @module
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { latencyChart, type Series } from './chart.js';
import { buildLibrary } from './library.js';
import {
  NO_PROGRESS_OPTIONS,
  now,
  summarize,
  uniformDurations,
  unpackNumbers,
  type AbortResult,
  type ClientReply,
  type DecodeResult,
  type ProgressShape,
  type ScaleResult,
  type DecodeVariant,
  type ServerReply,
  type Summary,
  type Variant,
  type WatchResult,
} from './common.js';

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
/** Node flags of every child: TypeScript through tsx, and global.gc for heap measurements. */
/** Node options of every child (LONGRUNNING_BENCH_CHILD_ARGS adds some for a diagnosis, e.g. '--trace-gc'). */
const CHILD_EXEC_ARGV = ['--import', 'tsx', '--expose-gc', ...(process.env.LONGRUNNING_BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? [])];
/** Where the library bundle the clients load is built (node_modules/.cache: ignored by git, resolves dependencies). */
let libBundle = path.join(ROOT, 'node_modules', '.cache', 'longrunning-bench', `lib-${process.pid}.cjs`);

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

interface Sizes {
  s1: { n: number; minMs: number; maxMs: number; rounds: number };
  s2: { n: number; minMs: number; maxMs: number; rounds: number };
  s3: { n: number; minMs: number; maxMs: number; heapAtMs: number; deadlineMs: number };
  s4: { iterations: number; metadataBytes: number; rounds: number };
  /**
   * Scale: `sizes` operations on one transport, created over `createMs`; heap measured heapAfterMs after
   * the last creation; holdMs after it the server completes them all at one moment.
   */
  scale: { sizes: number[]; createMs: number; heapAfterMs: number; holdMs: number; rounds: number; resolveDeadlineMs: number };
  /** Start cost of n operations sharing one AbortSignal vs none. */
  abort: { n: number; rounds: number };
  /** Progress-aware polling: n operations of minMs–maxMs, progress updated every everyMs. */
  progress: { n: number; minMs: number; maxMs: number; rounds: number; everyMs: number; shapes: ProgressShape[] };
}

const FULL: Sizes = {
  s1: { n: 200, minMs: 200, maxMs: 3_000, rounds: 2 },
  s2: { n: 200, minMs: 200, maxMs: 3_000, rounds: 2 },
  s3: { n: 10_000, minMs: 10_000, maxMs: 20_000, heapAtMs: 8_000, deadlineMs: 150_000 },
  s4: { iterations: 20_000, metadataBytes: 10 * 1024, rounds: 3 },
  scale: { sizes: [1_000, 10_000, 50_000, 100_000], createMs: 1_000, heapAfterMs: 1_000, holdMs: 3_000, rounds: 1, resolveDeadlineMs: 120_000 },
  abort: { n: 50_000, rounds: 3 },
  progress: { n: 200, minMs: 200, maxMs: 3_000, rounds: 2, everyMs: 50, shapes: ['linear', 'steps', 'slowstart'] },
};

const SMOKE: Sizes = {
  s1: { n: 10, minMs: 50, maxMs: 300, rounds: 1 },
  s2: { n: 10, minMs: 50, maxMs: 300, rounds: 1 },
  s3: { n: 100, minMs: 600, maxMs: 900, heapAtMs: 400, deadlineMs: 10_000 },
  s4: { iterations: 300, metadataBytes: 10 * 1024, rounds: 1 },
  scale: { sizes: [300], createMs: 200, heapAfterMs: 200, holdMs: 500, rounds: 1, resolveDeadlineMs: 20_000 },
  abort: { n: 2_000, rounds: 1 },
  progress: { n: 10, minMs: 200, maxMs: 600, rounds: 1, everyMs: 50, shapes: ['linear', 'steps', 'slowstart'] },
};

/** Scenario names `--only` takes (the numbered ones also as numbers). */
const SCENARIOS = ['1', '2', '3', '4', 'scale', 'progress'];

interface Args {
  smoke: boolean;
  /** Directory for a V8 CPU profile of every client process (node --cpu-prof), if asked. */
  cpuProf?: string;
  /** A prebuilt library bundle to measure instead of bundling src/ (to A/B a proposed change). */
  lib?: string;
  /** Only these clients (variants), for focused runs; targets need both ours and gax. */
  clients?: Set<string>;
  /** Only redraw `<out>/latest.svg` from `<out>/latest.json`. */
  replot?: boolean;
  seed: number;
  out: string;
  only: Set<string>;
  /** Scale sizes (--sizes 1000,10000). */
  sizes?: number[];
  /** Rounds of the scale scenario (--scale-rounds N). */
  scaleRounds?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { smoke: false, seed: 20240501, out: '', only: new Set(SCENARIOS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--smoke') args.smoke = true;
    else if (a === '--seed') args.seed = Number(value());
    else if (a === '--out') args.out = value();
    else if (a === '--only') {
      args.only = new Set(value().split(',').map((x) => x.trim()));
      for (const x of args.only) if (!SCENARIOS.includes(x)) throw new Error(`--only: unknown scenario ${x} (${SCENARIOS.join(', ')})`);
    } else if (a === '--sizes') {
      args.sizes = value().split(',').map((x) => Number(x.replace(/k$/i, '000')));
      if (!args.sizes.every((x) => Number.isInteger(x) && x > 0)) throw new Error('--sizes takes positive integers (1000,10k,…)');
    } else if (a === '--scale-rounds') args.scaleRounds = Number(value());
    else if (a === '--cpu-prof') args.cpuProf = path.join(BENCH_DIR, 'results');
    else if (a === '--lib') args.lib = path.resolve(value());
    else if (a === '--clients') args.clients = new Set(value().split(','));
    else if (a === '--replot') args.replot = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: tsx bench/run.ts [--smoke] [--seed N] [--out DIR] [--only 1,2,3,4,scale,progress] [--sizes 1000,10000,50000,100000] [--scale-rounds N] [--cpu-prof] [--lib BUNDLE.cjs] [--clients ours,gax,ours-no-progress,ours-gax-operation,gax-plain] [--replot]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.seed)) throw new Error('--seed must be an integer');
  args.out ||= args.smoke ? path.join(os.tmpdir(), 'longrunning-bench-smoke') : path.join(BENCH_DIR, 'results');
  return args;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

/**
 * Set from --cpu-prof: client processes write `<dir>/<run>/*.cpuprofile`, one file per thread (tsx's loader
 * thread has its own; bench/profile/summarize.ts takes the one with the most samples).
 */
let cpuProfileDir: string | undefined;

function spawnChild(file: string, profileName?: string, extraEnv: Record<string, string> = {}, extraArgv: string[] = []): ChildProcess {
  const profile = cpuProfileDir && profileName ? ['--cpu-prof', `--cpu-prof-dir=${path.join(cpuProfileDir, profileName)}`] : [];
  return fork(path.join(BENCH_DIR, file), [], {
    cwd: ROOT,
    execArgv: [...CHILD_EXEC_ARGV, ...extraArgv, ...profile],
    serialization: 'advanced', // NaN and typed values survive
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', LONGRUNNING_BENCH_LIB: libBundle, ...extraEnv },
  });
}

/** The next message from `child` that `accept` takes; rejects if the child exits first or after `timeoutMs`. */
function nextMessage<M, T>(child: ChildProcess, accept: (m: M) => T | undefined, what: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: M): void => {
      if ((m as { type?: string }).type === 'failed') {
        cleanup();
        reject(new Error(`${what}: child failed: ${(m as { error?: string }).error}`));
        return;
      }
      const value = accept(m);
      if (value !== undefined) {
        cleanup();
        resolve(value);
      }
    };
    // A large message can still be in the channel when 'exit' fires: give it a moment before giving up.
    let exitTimer: NodeJS.Timeout | undefined;
    const onExit = (code: number | null): void => {
      exitTimer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: child exited (${code}) before answering`));
      }, 2000);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      clearTimeout(exitTimer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface Server {
  child: ChildProcess;
  port: number;
}

async function startServer(): Promise<Server> {
  const child = spawnChild('server.ts');
  const port = await nextMessage<ServerReply, number>(child, (m) => (m.type === 'listening' ? m.port : undefined), 'server start', 30_000);
  return { child, port };
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

/** What one watch run measured. */
interface WatchRun {
  scenario: number | string;
  variant: Variant;
  serverWaitOperation: boolean;
  round: number;
  n: number;
  /** settled − completed, ms, one per settled operation. */
  latencies: number[];
  errors: number;
  firstError?: string;
  rpcs: number;
  calls: Record<string, number>;
  perOpMax: number;
  clientCpuMicros: number;
  serverCpuMicros: number;
  wallMs: number;
  loopDelay: WatchResult['loopDelay'];
  gc: WatchResult['gc'];
  heapBaseline: number;
  heapLoaded?: number;
  rssLoaded?: number;
  maxRssBytes: number;
}

async function watchRun(
  server: Server,
  opts: {
    scenario: number | string;
    variant: Variant;
    round: number;
    durationsMs: number[];
    waitOperation: boolean;
    heapAtMs?: number;
    deadlineMs: number;
    progress?: ProgressShape;
    progressEveryMs?: number;
  },
): Promise<WatchRun> {
  const n = opts.durationsMs.length;
  const run = `s${opts.scenario}-${opts.variant}-${opts.waitOperation ? 'wait' : 'poll'}-r${opts.round}`;
  const client = spawnClient(run);
  let ok = false;
  try {
    client.send({ type: 'job', job: { kind: 'watch', variant: opts.variant, port: server.port, run, n, deadlineMs: opts.deadlineMs } });
    await nextMessage<ClientReply, true>(client, (m) => (m.type === 'ready' ? true : undefined), `${run} client start`, 60_000);
    const t0 = now() + 400 + n / 20; // room to create the operations on the server, and for the client's baseline GC
    server.child.send({
      type: 'arm',
      run,
      waitOperation: opts.waitOperation,
      t0,
      durationsMs: opts.durationsMs,
      ...(opts.progress ? { progress: opts.progress, progressEveryMs: opts.progressEveryMs } : {}),
    });
    await nextMessage<ServerReply, true>(server.child, (m) => (m.type === 'armed' && m.run === run ? true : undefined), `${run} arm`, 30_000);
    if (now() > t0 - 160) log(`warning: ${run} armed late (${(now() - t0 + 160).toFixed(0)} ms)`);
    client.send({ type: 'go', t0, ...(opts.heapAtMs !== undefined ? { heapAt: t0 + opts.heapAtMs } : {}) });
    const result = await nextMessage<ClientReply, WatchResult>(
      client,
      (m) => (m.type === 'result' && m.result.kind === 'watch' ? m.result : undefined),
      `${run} result`,
      opts.deadlineMs + 60_000,
    );
    server.child.send({ type: 'stats', run });
    const stats = await nextMessage<ServerReply, Extract<ServerReply, { type: 'stats' }>>(
      server.child,
      (m) => (m.type === 'stats' && m.run === run ? m : undefined),
      `${run} stats`,
      30_000,
    );
    const completedAt = unpackNumbers(stats.completedAt);
    const perOp = unpackNumbers(stats.perOp);
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const l = result.settledAt[i] - completedAt[i];
      if (Number.isFinite(l)) latencies.push(l);
    }
    const rpcs = Object.values(stats.calls).reduce((s, c) => s + c, 0);
    ok = true;
    return {
      scenario: opts.scenario,
      variant: opts.variant,
      serverWaitOperation: opts.waitOperation,
      round: opts.round,
      n,
      latencies,
      errors: result.errors,
      ...(result.firstError !== undefined ? { firstError: result.firstError } : {}),
      rpcs,
      calls: stats.calls,
      perOpMax: perOp.reduce((m, c) => Math.max(m, c), 0),
      clientCpuMicros: result.cpuMicros,
      serverCpuMicros: stats.cpuMicros,
      wallMs: result.wallMs,
      loopDelay: result.loopDelay,
      gc: result.gc,
      heapBaseline: result.heapBaseline,
      ...(result.heapLoaded !== undefined ? { heapLoaded: result.heapLoaded, rssLoaded: result.rssLoaded } : {}),
      maxRssBytes: result.maxRssBytes,
    };
  } finally {
    await releaseClient(client, ok);
  }
}

/**
 * Smoke mode only: one client process runs job after job (CI time goes to the
 * runs, not to Node, tsx and google-gax starting up ~30 times). Full runs give
 * every client run a fresh process, so its heap, CPU and event loop are its own.
 */
let reuseClients = false;
let idleClient: ChildProcess | undefined;

function spawnClient(profileName?: string, extraArgv: string[] = []): ChildProcess {
  if (!reuseClients || cpuProfileDir) return spawnChild('client.ts', profileName, {}, extraArgv);
  const idle = idleClient;
  idleClient = undefined;
  if (idle && idle.connected && idle.exitCode === null && idle.signalCode === null) return idle;
  return spawnChild('client.ts', profileName, { LONGRUNNING_BENCH_REUSE: '1' });
}

/** After a run: the process exits (full runs), or waits for the next job (smoke) when the run went well. */
async function releaseClient(client: ChildProcess, ok: boolean): Promise<void> {
  if (reuseClients && ok && !cpuProfileDir && client.connected && client.exitCode === null) {
    idleClient = client;
    return;
  }
  if (reuseClients && client.exitCode === null) client.kill();
  await exited(client);
}

function dropIdleClient(): void {
  idleClient?.kill();
  idleClient = undefined;
}

/** What one scale run measured. */
interface ScaleRun {
  variant: Variant;
  serverWaitOperation: boolean;
  round: number;
  n: number;
  rejected: number;
  neverSettled: number;
  firstError?: string;
  createdMs: number;
  pendingAtHeap: number;
  heapBytesPerOp?: number;
  rssLoadedBytes?: number;
  holdLoopDelay: ScaleResult['holdLoopDelay'];
  clientCpuMicrosPerOp: number;
  /** Last settlement − first completion (the server completes all at one moment). */
  allResolvedMs: number;
  /** How long the server took to complete them all (last − first completion stamp). */
  completionSpreadMs: number;
  latencyMs: Summary;
  rpcsPerOp: number;
  calls: Record<string, number>;
  serverCpuMicrosPerOp: number;
  warnings: number;
  maxRssBytes: number;
}

async function scaleRun(server: Server, size: Sizes['scale'], opts: { variant: Variant; waitOperation: boolean; n: number; round: number }): Promise<ScaleRun> {
  const { n } = opts;
  const run = `scale-${n}-${opts.variant}-${opts.waitOperation ? 'wait' : 'poll'}-r${opts.round}`;
  // 50k+ pending gax operations outgrow V8's default old-space limit: room for them (scale runs that large only).
  const client = spawnClient(run, n >= 50_000 ? ['--max-old-space-size=8192'] : []);
  let ok = false;
  try {
    client.send({
      type: 'job',
      job: { kind: 'scale', variant: opts.variant, port: server.port, run, n, createMs: size.createMs, heapAfterMs: size.heapAfterMs, holdMs: size.holdMs, resolveDeadlineMs: size.resolveDeadlineMs },
    });
    await nextMessage<ClientReply, true>(client, (m) => (m.type === 'ready' ? true : undefined), `${run} client start`, 60_000);
    const t0 = now() + 600 + n / 15; // room for the server to create the operations and for the client's baseline GC
    server.child.send({ type: 'arm', run, waitOperation: opts.waitOperation, t0, durationsMs: new Array<number>(n).fill(0), manual: true });
    await nextMessage<ServerReply, true>(server.child, (m) => (m.type === 'armed' && m.run === run ? true : undefined), `${run} arm`, 60_000);
    if (now() > t0 - 310) log(`warning: ${run} armed late (${(now() - t0 + 310).toFixed(0)} ms)`);
    client.send({ type: 'go', t0 });
    // Creation can run late (a client that cannot keep up): the hold starts when the last operation exists.
    await nextMessage<ClientReply, true>(client, (m) => (m.type === 'held' ? true : undefined), `${run} held`, 900_000);
    server.child.send({ type: 'complete', run });
    const result = await nextMessage<ClientReply, ScaleResult>(
      client,
      (m) => (m.type === 'result' && m.result.kind === 'scale' ? m.result : undefined),
      `${run} result`,
      size.resolveDeadlineMs + 60_000,
    );
    server.child.send({ type: 'stats', run });
    const stats = await nextMessage<ServerReply, Extract<ServerReply, { type: 'stats' }>>(
      server.child,
      (m) => (m.type === 'stats' && m.run === run ? m : undefined),
      `${run} stats`,
      60_000,
    );
    const completedAt = unpackNumbers(stats.completedAt);
    unpackNumbers(stats.perOp);
    const settledAt = unpackNumbers(result.settledAt);
    const latencies: number[] = [];
    let firstCompleted = Infinity;
    let lastCompleted = -Infinity;
    let lastSettled = -Infinity;
    for (let i = 0; i < n; i++) {
      const c = completedAt[i];
      if (Number.isFinite(c)) {
        firstCompleted = Math.min(firstCompleted, c);
        lastCompleted = Math.max(lastCompleted, c);
      }
      const l = settledAt[i] - c;
      if (Number.isFinite(l)) latencies.push(l);
      if (Number.isFinite(settledAt[i])) lastSettled = Math.max(lastSettled, settledAt[i]);
    }
    const rpcs = Object.values(stats.calls).reduce((sum, c) => sum + c, 0);
    ok = true;
    return {
      variant: opts.variant,
      serverWaitOperation: opts.waitOperation,
      round: opts.round,
      n,
      rejected: result.rejected,
      neverSettled: result.neverSettled,
      ...(result.firstError !== undefined ? { firstError: result.firstError } : {}),
      createdMs: result.createdMs,
      pendingAtHeap: result.pendingAtHeap,
      ...(result.heapLoaded !== undefined ? { heapBytesPerOp: (result.heapLoaded - result.heapBaseline) / n, rssLoadedBytes: result.rssLoaded } : {}),
      holdLoopDelay: result.holdLoopDelay,
      clientCpuMicrosPerOp: result.cpuMicros / n,
      // Not "all resolved" when some never settled or were rejected (a timeout is not a resolution).
      allResolvedMs: result.neverSettled > 0 || result.rejected > 0 ? NaN : lastSettled - firstCompleted,
      completionSpreadMs: lastCompleted - firstCompleted,
      latencyMs: summarize(latencies),
      rpcsPerOp: rpcs / n,
      calls: stats.calls,
      serverCpuMicrosPerOp: stats.cpuMicros / n,
      warnings: result.warnings,
      maxRssBytes: result.maxRssBytes,
    };
  } finally {
    await releaseClient(client, ok);
  }
}

async function abortRun(size: Sizes['abort'], withSignal: boolean, round: number): Promise<AbortResult> {
  const client = spawnClient(`abort-${withSignal ? 'signal' : 'none'}-r${round}`);
  let ok = false;
  try {
    client.send({ type: 'job', job: { kind: 'abort', n: size.n, withSignal } });
    await nextMessage<ClientReply, true>(client, (m) => (m.type === 'ready' ? true : undefined), `abort start`, 60_000);
    client.send({ type: 'go', t0: now() });
    const answer = await nextMessage<ClientReply, AbortResult>(client, (m) => (m.type === 'result' && m.result.kind === 'abort' ? m.result : undefined), `abort run`, 120_000);
    ok = true;
    return answer;
  } finally {
    await releaseClient(client, ok);
  }
}

async function decodeRun(variant: DecodeVariant, sizes: Sizes['s4'], round: number): Promise<DecodeResult> {
  const client = spawnClient(`s4-${variant}-r${round}`);
  let ok = false;
  try {
    client.send({ type: 'job', job: { kind: 'decode', variant, iterations: sizes.iterations, metadataBytes: sizes.metadataBytes } });
    await nextMessage<ClientReply, true>(client, (m) => (m.type === 'ready' ? true : undefined), `decode ${variant} start`, 60_000);
    client.send({ type: 'go', t0: now() });
    const answer = await nextMessage<ClientReply, DecodeResult>(
      client,
      (m) => (m.type === 'result' && m.result.kind === 'decode' ? m.result : undefined),
      `decode ${variant}`,
      300_000,
    );
    ok = true;
    return answer;
  } finally {
    await releaseClient(client, ok);
  }
}

// ---------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------

interface Aggregate {
  variant: Variant;
  label: string;
  serverWaitOperation: boolean;
  operations: number;
  latencyMs: Summary;
  rpcsPerOp: number;
  rpcsByMethod: Record<string, number>;
  maxRpcsForOneOp: number;
  errors: number;
  firstError?: string;
  clientCpuMsTotal: number;
  clientCpuMicrosPerRpc: number;
  clientCpuMicrosPerOp: number;
  serverCpuMicrosPerRpc: number;
  wallMs: number;
  loopDelayMs?: WatchResult['loopDelay'];
  gc?: WatchResult['gc'];
  heapBytesPerOp?: number;
  heapLoadedBytes?: number;
  rssLoadedBytes?: number;
  maxRssBytes?: number;
}

const DECODE_LABELS: Record<DecodeVariant, string> = {
  ours: 'longrunning: grpc deserializer → poll() → TypeRegistry (plain objects)',
  gax: 'google-gax: stub deserializer → Operation.getOperation() → descriptor decoder (protobufjs messages)',
  'gax-plain': 'google-gax, then toObject({ longs: String, enums: String }) for plain objects (context)',
};

const LABELS: Record<Variant, string> = {
  ours: 'longrunning (defaults)',
  gax: 'google-gax Operation (defaults)',
  'ours-no-progress': 'longrunning, `polling: { followProgress: false }`',
  'ours-gax-operation': 'longrunning via `fromGaxOperation` (the gax Operation a generated client returns)',
};

function aggregate(runs: WatchRun[], label?: string): Aggregate {
  const first = runs[0];
  const operations = runs.reduce((s, r) => s + r.n, 0);
  const rpcs = runs.reduce((s, r) => s + r.rpcs, 0);
  const byMethod: Record<string, number> = {};
  for (const r of runs) for (const [m, c] of Object.entries(r.calls)) byMethod[m] = (byMethod[m] ?? 0) + c / operations;
  const clientCpu = runs.reduce((s, r) => s + r.clientCpuMicros, 0);
  const serverCpu = runs.reduce((s, r) => s + r.serverCpuMicros, 0);
  const agg: Aggregate = {
    variant: first.variant,
    label: label ?? LABELS[first.variant],
    serverWaitOperation: first.serverWaitOperation,
    operations,
    latencyMs: summarize(runs.flatMap((r) => r.latencies)),
    rpcsPerOp: rpcs / operations,
    rpcsByMethod: Object.fromEntries(Object.entries(byMethod).map(([m, v]) => [m, round(v, 3)])),
    maxRpcsForOneOp: Math.max(...runs.map((r) => r.perOpMax)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    clientCpuMsTotal: clientCpu / 1000,
    clientCpuMicrosPerRpc: clientCpu / Math.max(1, rpcs),
    clientCpuMicrosPerOp: clientCpu / Math.max(1, operations),
    serverCpuMicrosPerRpc: serverCpu / Math.max(1, rpcs),
    wallMs: Math.max(...runs.map((r) => r.wallMs)),
  };
  const firstError = runs.find((r) => r.firstError)?.firstError;
  if (firstError) agg.firstError = firstError;
  if (runs.length === 1) {
    agg.loopDelayMs = first.loopDelay;
    agg.gc = first.gc;
    if (first.heapLoaded !== undefined) {
      agg.heapBytesPerOp = (first.heapLoaded - first.heapBaseline) / first.n;
      agg.heapLoadedBytes = first.heapLoaded;
      agg.rssLoadedBytes = first.rssLoaded;
    }
    agg.maxRssBytes = first.maxRssBytes;
  }
  return agg;
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Alternates the order of `items` from round to round (rotation), so no client always runs first. */
function rotated<T>(items: readonly T[], roundIndex: number): T[] {
  const k = roundIndex % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) < 10) return `${v.toFixed(2)} ms`;
  if (Math.abs(v) < 1000) return `${v.toFixed(0)} ms`;
  return `${(v / 1000).toFixed(2)} s`;
}

function kb(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${(v / 1024).toFixed(2)} KB`;
}

function mb(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${(v / 1024 / 1024).toFixed(0)} MB`;
}

function num(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function methodMix(a: Aggregate): string {
  const short: Record<string, string> = { WaitOperation: 'Wait', GetOperation: 'Get' };
  return Object.entries(a.rpcsByMethod)
    .map(([m, v]) => `${num(v, 2)} ${short[m] ?? m}`)
    .join(' + ');
}

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface Environment {
  date: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGB: number;
  loadAvgStart: number[];
  loadAvgEnd?: number[];
  versions: Record<string, string>;
  library: string;
  seed: number;
  mode: 'full' | 'smoke';
  command: string;
}

function environment(args: Args): Environment {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: round(os.totalmem() / 2 ** 30, 1),
    loadAvgStart: os.loadavg().map((v) => round(v)),
    versions: {
      longrunning: (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      'google-gax': packageVersion('google-gax'),
      '@grpc/grpc-js': packageVersion('@grpc/grpc-js'),
      protobufjs: packageVersion('protobufjs'),
    },
    library: args.lib ? `prebuilt bundle ${args.lib}` : 'src/ bundled with esbuild (CommonJS, node20), as the package is built',
    seed: args.seed,
    mode: args.smoke ? 'smoke' : 'full',
    command: args.smoke ? 'npm run bench:smoke' : `npm run bench${args.seed !== 20240501 ? ` -- --seed ${args.seed}` : ''}`,
  };
}

function describeEnvironment(env: Environment): string {
  const load = (l: number[] | undefined) => (l ? l.map((v) => v.toFixed(2)).join(' / ') : '?');
  return [
    `Node ${env.node} · ${env.platform} · ${env.cores} × ${env.cpu} · ${env.memoryGB} GB`,
    `load average (1/5/15 min): ${load(env.loadAvgStart)} at start, ${load(env.loadAvgEnd)} at end`,
    `longrunning ${env.versions.longrunning} · google-gax ${env.versions['google-gax']} · @grpc/grpc-js ${env.versions['@grpc/grpc-js']} · protobufjs ${env.versions.protobufjs}`,
    `ours measured as: ${env.library}`,
    `seed ${env.seed} · ${env.mode} sizes · \`${env.command}\` · ${env.date}`,
  ].join('  \n');
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

interface Target {
  id: string;
  target: string;
  measured: string;
  met: boolean;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.replot) {
    const file = path.join(args.out, 'latest.json');
    writeChart(JSON.parse(readFileSync(file, 'utf8')) as ResultsFile, args.out);
    log(`redrew ${path.join(args.out, 'latest.svg')} from ${file}`);
    return;
  }
  const base = args.smoke ? SMOKE : FULL;
  const sizes: Sizes = {
    ...base,
    scale: { ...base.scale, ...(args.sizes ? { sizes: args.sizes } : {}), ...(args.scaleRounds ? { rounds: args.scaleRounds } : {}) },
  };
  reuseClients = args.smoke;
  const env = environment(args);
  cpuProfileDir = args.cpuProf;
  const wanted = (variant: string): boolean => !args.clients || args.clients.has(variant);
  const started = now();
  log(`${env.mode} run, seed ${env.seed}, load ${env.loadAvgStart.join(' ')}; results go to ${args.out}`);

  if (args.lib) libBundle = args.lib;
  else await buildLibrary(libBundle);
  const server = await startServer();
  log(`server on 127.0.0.1:${server.port} (pid ${server.child.pid})`);
  const results: Record<string, unknown> = {};
  const aggregates: { s1?: Aggregate[]; s2?: Aggregate[]; s3?: Aggregate[] } = {};
  let scaleRuns: ScaleRun[] | undefined;
  const scaleFailures: string[] = [];
  let abortRuns: AbortResult[] | undefined;
  const progressAggs: Partial<Record<ProgressShape, Aggregate[]>> = {};
  let s4: { variant: string; label: string; operationBytes: number; changing: { pollsPerSec: number; mbPerSec: number; check: string }; unchanged: { pollsPerSec: number; mbPerSec: number; check: string } }[] | undefined;

  try {
    // ---- 1 and 2: 200 operations, 0.2–3 s ----
    for (const scenario of [1, 2] as const) {
      if (!args.only.has(String(scenario))) continue;
      const size = scenario === 1 ? sizes.s1 : sizes.s2;
      // Scenario 2 also measures ours through fromGaxOperation, on the Operation a generated client returns.
      const variants = (scenario === 1 ? (['ours', 'gax'] as Variant[]) : (['ours', 'ours-gax-operation', 'gax'] as Variant[])).filter(wanted);
      if (variants.length === 0) continue;
      const durations = uniformDurations(size.n, size.minMs, size.maxMs, args.seed + scenario);
      const runs: WatchRun[] = [];
      for (let r = 0; r < size.rounds; r++) {
        for (const variant of rotated(variants, r)) {
          log(`scenario ${scenario}, round ${r + 1}/${size.rounds}: ${variant}`);
          runs.push(
            await watchRun(server, {
              scenario,
              variant,
              round: r + 1,
              durationsMs: durations,
              waitOperation: scenario === 1,
              deadlineMs: size.maxMs + 30_000,
            }),
          );
        }
      }
      const aggs = variants.map((v) => aggregate(runs.filter((run) => run.variant === v)));
      aggregates[scenario === 1 ? 's1' : 's2'] = aggs;
      results[`scenario${scenario}`] = { size, runs: runs.map((r) => ({ ...r, latencies: r.latencies.map((l) => round(l, 3)) })), aggregates: aggs };
    }

    // ---- 3: 10,000 concurrent operations, 10–20 s ----
    if (args.only.has('3')) {
      const size = sizes.s3;
      const durations = uniformDurations(size.n, size.minMs, size.maxMs, args.seed + 3);
      const plan: { variant: Variant; waitOperation: boolean; label: string }[] = [
        { variant: 'ours', waitOperation: true, label: 'longrunning (defaults)' },
        { variant: 'gax', waitOperation: true, label: 'google-gax Operation (defaults)' },
        { variant: 'ours', waitOperation: false, label: 'longrunning (defaults), server without WaitOperation' },
      ];
      const aggs: Aggregate[] = [];
      const runs: WatchRun[] = [];
      for (const p of plan.filter((q) => wanted(q.variant))) {
        log(`scenario 3: ${p.label} (${size.n} operations)`);
        const run = await watchRun(server, {
          scenario: 3,
          variant: p.variant,
          round: 1,
          durationsMs: durations,
          waitOperation: p.waitOperation,
          heapAtMs: size.heapAtMs,
          deadlineMs: size.deadlineMs,
        });
        runs.push(run);
        aggs.push(aggregate([run], p.label));
      }
      if (aggs.length > 0) aggregates.s3 = aggs;
      results.scenario3 = { size, runs: runs.map((r) => ({ ...r, latencies: undefined })), aggregates: aggs };
    }

    // ---- 4: decoding a 10 KB metadata Any per poll ----
    if (args.only.has('4')) {
      const size = sizes.s4;
      const variants = (['ours', 'gax', 'gax-plain'] as DecodeVariant[]).filter(wanted);
      const byVariant: Record<DecodeVariant, DecodeResult[]> = { ours: [], gax: [], 'gax-plain': [] };
      for (let r = 0; r < size.rounds; r++) {
        for (const variant of rotated(variants, r)) {
          log(`scenario 4, round ${r + 1}/${size.rounds}: ${variant}`);
          byVariant[variant].push(await decodeRun(variant, size, r + 1));
        }
      }
      const median = (xs: number[]) => summarize(xs).p50;
      s4 = variants.map((variant) => {
        const rs = byVariant[variant];
        const rate = (pick: (d: DecodeResult) => number) => median(rs.map((d) => d.iterations / (pick(d) / 1000)));
        const changing = rate((d) => d.changing.ms);
        const unchanged = rate((d) => d.unchanged.ms);
        const opBytes = rs[0].operationBytes;
        return {
          variant,
          label: DECODE_LABELS[variant],
          operationBytes: opBytes,
          changing: { pollsPerSec: changing, mbPerSec: (changing * opBytes) / 1e6, check: rs[0].changing.check },
          unchanged: { pollsPerSec: unchanged, mbPerSec: (unchanged * opBytes) / 1e6, check: rs[0].unchanged.check },
        };
      });
      results.scenario4 = { size, rounds: byVariant, summary: s4 };
    }

    // ---- scale: 1k…100k pending operations on one transport, all completed together ----
    if (args.only.has('scale')) {
      const size = sizes.scale;
      const variants = (['ours', 'gax'] as Variant[]).filter(wanted);
      scaleRuns = [];
      // gax never calls WaitOperation: what the server offers changes nothing for it, so it runs once per
      // size (server without WaitOperation) and is the reference for both of our modes.
      const plan: { variant: Variant; waitOperation: boolean }[] = [];
      if (variants.includes('ours')) plan.push({ variant: 'ours', waitOperation: false }, { variant: 'ours', waitOperation: true });
      if (variants.includes('gax')) plan.splice(1, 0, { variant: 'gax', waitOperation: false });
      for (const n of size.sizes) {
        for (let r = 0; r < size.rounds; r++) {
          for (const p of rotated(plan, r)) {
            log(`scale: ${n} operations, ${p.variant}, server ${p.waitOperation ? 'with' : 'without'} WaitOperation, round ${r + 1}/${size.rounds}`);
            try {
              scaleRuns.push(await scaleRun(server, size, { ...p, n, round: r + 1 }));
              // Long runs: what is measured so far survives an interrupted bench.
              mkdirSync(args.out, { recursive: true });
              writeFileSync(path.join(args.out, 'scale-partial.json'), JSON.stringify({ environment: env, size, runs: scaleRuns }, null, 2) + '\n');
            } catch (err) {
              log(`scale: ${n} ${p.variant} ${p.waitOperation ? 'wait' : 'poll'} failed: ${err instanceof Error ? err.message : String(err)}`);
              scaleFailures.push(`${n.toLocaleString('en-US')} operations, ${LABELS[p.variant]}, server ${p.waitOperation ? 'with' : 'without'} WaitOperation: ${err instanceof Error ? err.message : String(err)}`);
            }
          }
        }
      }
      if (wanted('ours')) {
        abortRuns = [];
        for (let r = 0; r < sizes.abort.rounds; r++) {
          for (const withSignal of r % 2 === 0 ? [false, true] : [true, false]) {
            log(`scale: ${sizes.abort.n} operations ${withSignal ? 'sharing one AbortSignal' : 'without a signal'}, round ${r + 1}/${sizes.abort.rounds}`);
            abortRuns.push(await abortRun(sizes.abort, withSignal, r + 1));
          }
        }
      }
      results.scale = { size, abortSize: sizes.abort, runs: scaleRuns, failures: scaleFailures, abortRuns };
    }

    // ---- progress: polling-only server whose metadata reports progress ----
    if (args.only.has('progress')) {
      const size = sizes.progress;
      const variants = (['ours', 'ours-no-progress', 'gax'] as Variant[]).filter(wanted);
      const durations = uniformDurations(size.n, size.minMs, size.maxMs, args.seed + 10);
      const byShape: Record<string, { runs: WatchRun[]; aggregates: Aggregate[] }> = {};
      for (const shape of size.shapes) {
        const runs: WatchRun[] = [];
        for (let r = 0; r < size.rounds; r++) {
          for (const variant of rotated(variants, r)) {
            log(`progress (${shape}), round ${r + 1}/${size.rounds}: ${variant}`);
            runs.push(
              await watchRun(server, {
                scenario: `progress-${shape}`,
                variant,
                round: r + 1,
                durationsMs: durations,
                waitOperation: false,
                deadlineMs: size.maxMs + 30_000,
                progress: shape,
                progressEveryMs: size.everyMs,
              }),
            );
          }
        }
        const aggs = variants.map((v) => aggregate(runs.filter((run) => run.variant === v)));
        progressAggs[shape] = aggs;
        byShape[shape] = { runs: runs.map((r) => ({ ...r, latencies: r.latencies.map((l) => round(l, 3)) })), aggregates: aggs };
      }
      results.progress = { size, shapes: byShape };
    }
  } finally {
    dropIdleClient();
    server.child.send({ type: 'exit' });
    await exited(server.child);
    if (!args.lib) rmSync(libBundle, { force: true });
  }
  env.loadAvgEnd = os.loadavg().map((v) => round(v));

  // ---- report ----
  const out: string[] = [];
  out.push(`## longrunning vs google-gax: waiting for operations`, '', describeEnvironment(env), '');
  const targets: Target[] = [];
  const find = (aggs: Aggregate[] | undefined, v: Variant, wait?: boolean) => aggs?.find((a) => a.variant === v && (wait === undefined || a.serverWaitOperation === wait));

  if (aggregates.s1) {
    const s = sizes.s1;
    out.push(`### 1. ${s.n} operations done at uniform random times in ${s.minMs / 1000}–${s.maxMs / 1000} s, server with WaitOperation (${s.rounds} round${s.rounds > 1 ? 's' : ''} pooled)`, '');
    out.push(
      table(
        ['client', 'done→resolved p50', 'p90', 'p99', 'max', 'RPCs / operation'],
        aggregates.s1.map((a) => [a.label, ms(a.latencyMs.p50), ms(a.latencyMs.p90), ms(a.latencyMs.p99), ms(a.latencyMs.max), `${num(a.rpcsPerOp)} (${methodMix(a)})`]),
      ),
      '',
    );
    const o = find(aggregates.s1, 'ours');
    const g = find(aggregates.s1, 'gax');
    if (o && g) {
    const ratio = g.latencyMs.p50 / Math.max(o.latencyMs.p50, 1e-3);
    targets.push(
      { id: '1', target: 'ours p50 ≤ 2 ms', measured: ms(o.latencyMs.p50), met: o.latencyMs.p50 <= 2 },
      { id: '1', target: 'ours p99 ≤ 20 ms', measured: ms(o.latencyMs.p99), met: o.latencyMs.p99 <= 20 },
      { id: '1', target: "ours p50 ≥ 50× lower than gax's", measured: `${num(ratio, 0)}× (gax p50 ${ms(g.latencyMs.p50)})`, met: ratio >= 50 },
      { id: '1', target: 'ours ≤ 1.5 RPCs / operation', measured: num(o.rpcsPerOp), met: o.rpcsPerOp <= 1.5 },
    );
    }
  }
  if (aggregates.s2) {
    const s = sizes.s2;
    out.push(`### 2. The same ${s.n} operations, server without WaitOperation (${s.rounds} round${s.rounds > 1 ? 's' : ''} pooled)`, '');
    out.push(
      table(
        ['client', 'done→resolved p50', 'p90', 'p99', 'max', 'RPCs / operation'],
        aggregates.s2.map((a) => [a.label, ms(a.latencyMs.p50), ms(a.latencyMs.p90), ms(a.latencyMs.p99), ms(a.latencyMs.max), `${num(a.rpcsPerOp)} (${methodMix(a)})`]),
      ),
      '',
      `All with their defaults; ours through \`fromGaxOperation\` polls through the gax Operation's own OperationsClient (gax's generic backoffSettings say nothing about the service, so our schedule applies). Ours: one WaitOperation probe per transport (UNIMPLEMENTED here, so every operation polls), first poll 110 ms after the resource the start call returned, then ×1.21 up to 60 s, exact delays. gax: a poll at once, then 100 ms ×1.3 up to 60 s.`,
      '',
    );
    const g = find(aggregates.s2, 'gax');
    for (const [variant, id] of [['ours', '2'], ['ours-gax-operation', '2 (fromGaxOperation)']] as const) {
      const o = find(aggregates.s2, variant);
      if (o && g) targets.push(
        { id, target: "RPCs / operation ≤ gax's", measured: `${num(o.rpcsPerOp)} vs ${num(g.rpcsPerOp)}`, met: o.rpcsPerOp <= g.rpcsPerOp },
        { id, target: "p50 ≤ gax's", measured: `${ms(o.latencyMs.p50)} vs ${ms(g.latencyMs.p50)}`, met: o.latencyMs.p50 <= g.latencyMs.p50 },
        { id, target: "p99 ≤ 0.9× gax's", measured: `${num(o.latencyMs.p99 / g.latencyMs.p99)}× (${ms(o.latencyMs.p99)} vs ${ms(g.latencyMs.p99)})`, met: o.latencyMs.p99 <= 0.9 * g.latencyMs.p99 },
      );
    }
  }
  if (aggregates.s3) {
    const s = sizes.s3;
    out.push(`### 3. ${s.n.toLocaleString('en-US')} concurrent operations lasting ${s.minMs / 1000}–${s.maxMs / 1000} s on one client`, '');
    out.push(
      table(
        ['client', 'heap / operation', 'RSS', 'event-loop delay p99', 'longest GC pause', 'client CPU / RPC', 'RPCs / operation', 'client CPU / operation', 'done→resolved p50 / p99', 'errors'],
        aggregates.s3.map((a) => [
          a.label,
          kb(a.heapBytesPerOp),
          mb(a.rssLoadedBytes),
          ms(a.loopDelayMs?.p99),
          a.gc ? `${ms(a.gc.maxMs)} (${a.gc.majorCount} major)` : '—',
          `${num(a.clientCpuMicrosPerRpc, 0)} µs`,
          num(a.rpcsPerOp),
          `${num(a.clientCpuMicrosPerOp, 0)} µs`,
          `${ms(a.latencyMs.p50)} / ${ms(a.latencyMs.p99)}`,
          String(a.errors),
        ]),
      ),
      '',
      `Heap and RSS at ${s.heapAtMs / 1000} s, every operation pending, after a forced GC, minus the heap before the first operation; event-loop delay from perf_hooks.monitorEventLoopDelay (10 ms resolution) and GC pauses from a PerformanceObserver over the whole run, the forced GC excluded; CPU is the client process's user + system time over the run divided by the RPCs the server received.`,
      '',
    );
    const o = find(aggregates.s3, 'ours', true);
    const g = find(aggregates.s3, 'gax');
    if (o && g) targets.push(
      { id: '3', target: 'heap / operation ≤ 2 KB', measured: kb(o.heapBytesPerOp), met: (o.heapBytesPerOp ?? Infinity) <= 2048 },
      { id: '3', target: "heap / operation ≤ gax's", measured: `${kb(o.heapBytesPerOp)} vs ${kb(g.heapBytesPerOp)}`, met: (o.heapBytesPerOp ?? Infinity) <= (g.heapBytesPerOp ?? -Infinity) },
      { id: '3', target: 'event-loop delay p99 ≤ 20 ms', measured: ms(o.loopDelayMs?.p99), met: (o.loopDelayMs?.p99 ?? Infinity) <= 20 },
      { id: '3', target: "client CPU / RPC ≤ gax's", measured: `${num(o.clientCpuMicrosPerRpc, 0)} µs vs ${num(g.clientCpuMicrosPerRpc, 0)} µs`, met: o.clientCpuMicrosPerRpc <= g.clientCpuMicrosPerRpc },
    );
  }
  if (s4 && s4.length > 0) {
    const s = sizes.s4;
    out.push(`### 4. Decoding a ${s.metadataBytes / 1024} KB metadata Any per poll (${s.iterations.toLocaleString('en-US')} polls, median of ${s.rounds})`, '');
    out.push(
      table(
        ['path', 'polls/s, metadata changes every poll', 'MB/s', 'polls/s, same metadata', 'decoded'],
        s4.map((d) => [d.label, num(d.changing.pollsPerSec, 0), num(d.changing.mbPerSec, 1), num(d.unchanged.pollsPerSec, 0), d.changing.check]),
      ),
      '',
      `One poll = one ${s4[0].operationBytes}-byte Operation message from the wire to decoded metadata, in process (no socket).`,
      '',
    );
    const o = s4.find((d) => d.variant === 'ours');
    const g = s4.find((d) => d.variant === 'gax');
    if (o && g) targets.push(
      { id: '4', target: "decode throughput ≥ gax's (metadata changes every poll)", measured: `${num(o.changing.pollsPerSec, 0)} vs ${num(g.changing.pollsPerSec, 0)} polls/s`, met: o.changing.pollsPerSec >= g.changing.pollsPerSec },
      { id: '4', target: "decode throughput ≥ gax's (same metadata)", measured: `${num(o.unchanged.pollsPerSec, 0)} vs ${num(g.unchanged.pollsPerSec, 0)} polls/s`, met: o.unchanged.pollsPerSec >= g.unchanged.pollsPerSec },
    );
  }
  if (scaleRuns && scaleRuns.length > 0) {
    const s = sizes.scale;
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
    // gax ran once per size (it polls whatever the server offers): its runs are the reference of both tables.
    const pick = (v: Variant, wait: boolean, n: number) => scaleRuns!.filter((r) => r.variant === v && (v === 'gax' || r.serverWaitOperation === wait) && r.n === n);
    const med = (rs: ScaleRun[], f: (r: ScaleRun) => number | undefined) => {
      const xs = rs.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return xs.length ? summarize(xs).p50 : NaN;
    };
    out.push(
      `### Scale: pending operations on one transport (one gRPC channel), all completed by the server at one moment (${s.rounds} round${s.rounds > 1 ? 's' : ''}${s.rounds > 1 ? ', medians' : ''})`,
      '',
      `Each client creates the operations evenly over ${s.createMs / 1000} s (the resource a start call returned, then promise(); "created in" says when the last one was, as a client that cannot keep up runs late), holds them ${s.holdMs / 1000} s after the last, then the server completes all of them in one loop. gax never calls WaitOperation, so it runs once per size (server without WaitOperation) and is the reference in both tables. Heap: forced GC ${s.heapAfterMs / 1000} s after the last creation, every operation pending, minus the heap before the first. Event-loop delay: monitorEventLoopDelay (10 ms resolution) from the last creation to the completion, the forced GC excluded. CPU: client user + system from the first creation to the last settlement, the forced GC excluded. "complete → all resolved": last settlement − first completion stamp (the server's own loop over all of them is in it: "server spread").`,
      '',
    );
    for (const wait of [false, true]) {
      const rows: string[][] = [];
      const ratioRows: string[][] = [];
      for (const n of s.sizes) {
        for (const v of ['ours', 'gax'] as Variant[]) {
          const rs = pick(v, wait, n);
          if (rs.length === 0) continue;
          const sum = (f: (r: ScaleRun) => number) => rs.reduce((acc, r) => acc + f(r), 0);
          rows.push([
            n.toLocaleString('en-US'),
            LABELS[v],
            String(sum((r) => r.rejected)),
            String(sum((r) => r.neverSettled)),
            `${Math.min(...rs.map((r) => r.pendingAtHeap)).toLocaleString('en-US')}`,
            kb(med(rs, (r) => r.heapBytesPerOp)),
            mb(med(rs, (r) => r.rssLoadedBytes)),
            ms(med(rs, (r) => r.holdLoopDelay.p99)),
            `${num(med(rs, (r) => r.clientCpuMicrosPerOp), 0)} µs`,
            ms(med(rs, (r) => r.allResolvedMs)),
            ms(med(rs, (r) => r.completionSpreadMs)),
            num(med(rs, (r) => r.rpcsPerOp), 1),
            ms(med(rs, (r) => r.createdMs)),
          ]);
        }
        const o = pick('ours', wait, n);
        const g = pick('gax', wait, n);
        if (o.length && g.length) {
          ratioRows.push([
            n.toLocaleString('en-US'),
            num(ratio(med(o, (r) => r.heapBytesPerOp), med(g, (r) => r.heapBytesPerOp))),
            num(ratio(med(o, (r) => r.clientCpuMicrosPerOp), med(g, (r) => r.clientCpuMicrosPerOp))),
            num(ratio(med(o, (r) => r.allResolvedMs), med(g, (r) => r.allResolvedMs))),
            num(ratio(med(o, (r) => r.holdLoopDelay.p99), med(g, (r) => r.holdLoopDelay.p99))),
            num(ratio(med(o, (r) => r.rpcsPerOp), med(g, (r) => r.rpcsPerOp))),
          ]);
          const id = `scale ${n.toLocaleString('en-US')} ${wait ? 'wait' : 'poll'}`;
          const oh = med(o, (r) => r.heapBytesPerOp);
          const gh = med(g, (r) => r.heapBytesPerOp);
          const oRej = o.reduce((acc, r) => acc + r.rejected + r.neverSettled, 0);
          targets.push(
            { id, target: 'no operation rejected or left unsettled', measured: `${o.reduce((acc, r) => acc + r.rejected, 0)} rejected, ${o.reduce((acc, r) => acc + r.neverSettled, 0)} never settled`, met: oRej === 0 },
            wait
              ? { id, target: "heap / pending operation ≤ 0.8× gax's", measured: `${kb(oh)} vs ${kb(gh)} (${num(ratio(oh, gh))}×)`, met: ratio(oh, gh) <= 0.8 }
              : { id, target: 'heap / pending operation ≤ 2 KB', measured: `${kb(oh)} (gax ${kb(gh)})`, met: oh <= 2048 },
            { id, target: 'event-loop delay p99 while holding ≤ 50 ms', measured: `${ms(med(o, (r) => r.holdLoopDelay.p99))} (gax ${ms(med(g, (r) => r.holdLoopDelay.p99))})`, met: med(o, (r) => r.holdLoopDelay.p99) <= 50 },
            { id, target: "client CPU / operation ≤ gax's", measured: `${num(med(o, (r) => r.clientCpuMicrosPerOp), 0)} µs vs ${num(med(g, (r) => r.clientCpuMicrosPerOp), 0)} µs`, met: med(o, (r) => r.clientCpuMicrosPerOp) <= med(g, (r) => r.clientCpuMicrosPerOp) },
            { id, target: "all complete → all resolved ≤ gax's", measured: `${ms(med(o, (r) => r.allResolvedMs))} vs ${ms(med(g, (r) => r.allResolvedMs))}`, met: med(o, (r) => r.allResolvedMs) <= med(g, (r) => r.allResolvedMs) },
          );
        }
      }
      if (rows.length === 0) continue;
      out.push(`#### Server ${wait ? 'with WaitOperation (gax has none: it polls either way)' : 'without WaitOperation (both poll)'}`, '');
      out.push(
        table(
          ['operations', 'client', 'rejected', 'never settled', 'pending at heap', 'heap / pending op', 'RSS', 'loop delay p99 (holding)', 'client CPU / op', 'complete → all resolved', 'server spread', 'RPCs / op', 'created in'],
          rows,
        ),
        '',
      );
      if (ratioRows.length > 0) {
        out.push(table(['operations', 'heap ours/gax', 'CPU / op ours/gax', 'all resolved ours/gax', 'loop delay p99 ours/gax', 'RPCs ours/gax'], ratioRows), '');
      }
    }
  }
  for (const f of scaleFailures) out.push(`> scale run failed: ${f}`, '');
  if (abortRuns && abortRuns.length > 0) {
    const med = (xs: number[]) => summarize(xs).p50;
    const none = abortRuns.filter((r) => !r.withSignal);
    const shared = abortRuns.filter((r) => r.withSignal);
    const n = sizes.abort.n;
    out.push(`### Scale: ${n.toLocaleString('en-US')} operations sharing one AbortSignal (ours; ${sizes.abort.rounds} round${sizes.abort.rounds > 1 ? 's' : ''}, alternating, medians)`, '');
    const row = (label: string, rs: AbortResult[]) => [
      label,
      ms(med(rs.map((r) => r.syncMs))),
      ms(med(rs.map((r) => r.startMs))),
      String(rs.reduce((acc, r) => acc + r.maxListenersWarnings, 0)),
      String(rs.reduce((acc, r) => acc + r.warnings, 0)),
      rs[0].withSignal ? `${Math.min(...rs.map((r) => r.abortedAfter)).toLocaleString('en-US')} / ${n.toLocaleString('en-US')}` : '—',
    ];
    out.push(
      table(['', 'create + promise() (sync)', '… + one macrotask', 'MaxListenersExceededWarning', "process 'warning' events", 'settled after abort()'], [row('no signal', none), row('one shared AbortSignal', shared)]),
      '',
      `A fresh client process per measurement, JIT warmed on 2,000 operations of another transport first; the transport never answers (the measurement ends before any poll is due), so this is the start cost alone.`,
      '',
    );
    if (none.length && shared.length) {
      const r = med(shared.map((x) => x.startMs)) / med(none.map((x) => x.startMs));
      const warnings = shared.reduce((acc, x) => acc + x.maxListenersWarnings, 0);
      targets.push(
        { id: 'scale signal', target: `${n.toLocaleString('en-US')} operations on one AbortSignal start within 1.2× of no signal`, measured: `${num(r)}×`, met: r <= 1.2 },
        { id: 'scale signal', target: 'no MaxListenersExceededWarning', measured: String(warnings), met: warnings === 0 },
      );
    }
  }
  const shapes = Object.keys(progressAggs) as ProgressShape[];
  if (shapes.length > 0) {
    const s = sizes.progress;
    out.push(
      `### Progress: ${s.n} operations of ${s.minMs / 1000}–${s.maxMs / 1000} s on a server without WaitOperation, metadata reporting progress (${s.rounds} round${s.rounds > 1 ? 's' : ''} pooled)`,
      '',
      `The server updates each operation's \`AnnotateVideoProgress.annotationProgress[0].progressPercent\` (an int32) every ${s.everyMs} ms: linear (∝ elapsed time), steps (10 % steps), slow start (∝ elapsed²). Ratios are to google-gax in the same run.`,
      '',
    );
    const SHAPE_LABELS: Record<ProgressShape, string> = { linear: 'linear', steps: '10 % steps', slowstart: 'slow start (x²)' };
    const rows: string[][] = [];
    for (const shape of shapes) {
      const aggs = progressAggs[shape]!;
      const g = aggs.find((a) => a.variant === 'gax');
      for (const a of aggs) {
        rows.push([
          SHAPE_LABELS[shape],
          a.label,
          ms(a.latencyMs.p50),
          ms(a.latencyMs.p99),
          num(a.rpcsPerOp),
          g ? `${num(a.latencyMs.p50 / g.latencyMs.p50)}×` : '—',
          g ? `${num(a.latencyMs.p99 / g.latencyMs.p99)}×` : '—',
          g ? `${num(a.rpcsPerOp / g.rpcsPerOp)}×` : '—',
          String(a.errors),
        ]);
      }
      const o = aggs.find((a) => a.variant === 'ours');
      const np = aggs.find((a) => a.variant === 'ours-no-progress');
      if (shape === 'linear' && o && g) {
        targets.push(
          { id: 'progress linear', target: "p50 ≤ 0.25× gax's", measured: `${num(o.latencyMs.p50 / g.latencyMs.p50)}× (${ms(o.latencyMs.p50)} vs ${ms(g.latencyMs.p50)})`, met: o.latencyMs.p50 <= 0.25 * g.latencyMs.p50 },
          { id: 'progress linear', target: "RPCs / operation ≤ 0.6× gax's", measured: `${num(o.rpcsPerOp / g.rpcsPerOp)}× (${num(o.rpcsPerOp)} vs ${num(g.rpcsPerOp)})`, met: o.rpcsPerOp <= 0.6 * g.rpcsPerOp },
        );
      } else if (o && np) {
        targets.push(
          { id: `progress ${shape}`, target: 'p50 ≤ ours without followProgress', measured: `${ms(o.latencyMs.p50)} vs ${ms(np.latencyMs.p50)}`, met: o.latencyMs.p50 <= np.latencyMs.p50 },
          { id: `progress ${shape}`, target: 'p99 ≤ ours without followProgress', measured: `${ms(o.latencyMs.p99)} vs ${ms(np.latencyMs.p99)}`, met: o.latencyMs.p99 <= np.latencyMs.p99 },
        );
      }
    }
    out.push(table(['shape', 'client', 'done→resolved p50', 'p99', 'RPCs / op', 'p50 / gax', 'p99 / gax', 'RPCs / gax', 'errors'], rows), '');
  }
  if (targets.length > 0) {
    out.push(`### Targets (ours, default configuration)${args.smoke ? ' — smoke sizes: not meaningful' : ''}`, '');
    out.push(table(['#', 'target', 'measured', 'met'], targets.map((t) => [t.id, t.target, t.measured, t.met ? 'yes' : '**no**'])), '');
  }
  const errors = [...(aggregates.s1 ?? []), ...(aggregates.s2 ?? []), ...(aggregates.s3 ?? []), ...Object.values(progressAggs).flat()].filter((a) => a.errors > 0);
  for (const a of errors) out.push(`> ${a.label}: ${a.errors} operations failed or timed out (${a.firstError})`, '');
  out.push(`Total bench time ${ms(now() - started)}.`);
  const report = out.join('\n');
  console.log(report);

  // ---- files ----
  mkdirSync(args.out, { recursive: true });
  const json = { environment: env, targets, ...results };
  writeFileSync(path.join(args.out, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  rmSync(path.join(args.out, 'scale-partial.json'), { force: true });
  const charted = writeChart(json as unknown as ResultsFile, args.out);
  log(`wrote ${path.join(args.out, 'latest.json')}${charted ? ` and ${path.join(args.out, 'latest.svg')}` : ''}`);
}

/** What the chart needs from latest.json. */
interface ResultsFile {
  environment: Environment;
  scenario1?: { size: Sizes['s1']; runs: WatchRun[]; aggregates: Aggregate[] };
  scenario2?: { size: Sizes['s2']; runs: WatchRun[]; aggregates: Aggregate[] };
}

/** Draws `<dir>/latest.svg` from the results (also `--replot`: from an existing latest.json). Returns whether it drew one. */
function writeChart(results: ResultsFile, dir: string): boolean {
  const env = results.environment;
  const colors: Record<Variant, string> = { ours: '#1a73e8', gax: '#d93025', 'ours-no-progress': '#188038', 'ours-gax-operation': '#9334e6' };
  const seriesOf = (scenario: ResultsFile['scenario1']): Series[] =>
    (scenario?.aggregates ?? []).map((a) => ({
      label: `${a.label}: p50 ${ms(a.latencyMs.p50)} · p99 ${ms(a.latencyMs.p99)} · ${num(a.rpcsPerOp)} RPCs/op`,
      color: colors[a.variant],
      dashed: a.variant === 'ours-no-progress',
      values: scenario!.runs.filter((r) => r.variant === a.variant).flatMap((r) => r.latencies),
    }));
  const panels = [];
  const s1 = results.scenario1;
  const s2 = results.scenario2;
  if (s1?.aggregates.length) panels.push({ title: `1. server with WaitOperation (${s1.size.n} ops done in ${s1.size.minMs / 1000}–${s1.size.maxMs / 1000} s)`, series: seriesOf(s1) });
  if (s2?.aggregates.length) panels.push({ title: `2. server without WaitOperation (the same ${s2.size.n} ops)`, series: seriesOf(s2) });
  if (panels.length === 0) return false;
  const subtitle = `Node ${env.node}, ${env.cores} × ${env.cpu}, load ${env.loadAvgStart.join('/')}, seed ${env.seed}, ${env.mode} sizes: ${env.command}`;
  writeFileSync(path.join(dir, 'latest.svg'), latencyChart('Server completion → promise settled: longrunning vs google-gax', subtitle, panels));
  return true;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
