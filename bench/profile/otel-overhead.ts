/**
 * What OpenTelemetry support costs when nobody traces: operations per second
 * on the in-memory fake (each one `promise()` → one GetOperation → done),
 * in three modes, each in its own child process, the processes interleaved
 * (none, api, provider, none, api, …) so load on the machine hits all alike:
 *
 *   none      @opentelemetry/api never loaded (the library's one check finds no registry)
 *   api       @opentelemetry/api loaded, a context manager registered, no tracer provider
 *   provider  a real SDK provider with an in-memory exporter (what tracing costs when on)
 *
 * Prints the median of each mode and the ratios to `none`. A program that
 * prints numbers, never a test.
 *
 * Run: node --import tsx bench/profile/otel-overhead.ts [--rounds 5] [--n 20000]
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

type Mode = 'none' | 'api' | 'provider';
const MODES: Mode[] = ['none', 'api', 'provider'];

function arg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** One measurement in this process: ops/s of `n` operations, 100 at a time, after a warm-up. */
async function child(mode: Mode, n: number): Promise<void> {
  if (mode !== 'none') {
    const api = await import('@opentelemetry/api');
    const { AsyncHooksContextManager } = await import('@opentelemetry/context-async-hooks');
    api.context.setGlobalContextManager(new AsyncHooksContextManager().enable());
    if (mode === 'provider') {
      const sdk = await import('@opentelemetry/sdk-trace-base');
      const exporter = new sdk.InMemorySpanExporter();
      api.trace.setGlobalTracerProvider(new sdk.BasicTracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor(exporter)] }));
      setInterval(() => exporter.reset(), 100).unref(); // keep memory flat
    }
  }
  const { LongRunningOperation } = await import('../../src/index.js');
  const { FakeOperationsServer } = await import('../../src/testing/index.js');
  const fake = new FakeOperationsServer({ waitOperation: false });
  const batch = async (count: number): Promise<void> => {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const { name } = fake.create();
      fake.complete(name);
      ops.push(new LongRunningOperation(name, { transport: fake.transport, waitOperation: 'never' }).promise());
      fake.calls.length = 0;
    }
    await Promise.all(ops);
  };
  for (let i = 0; i < 30; i++) await batch(100); // warm-up
  const started = performance.now();
  for (let done = 0; done < n; done += 100) await batch(100);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ mode, opsPerSecond: n / seconds }) + '\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parent(rounds: number, n: number): void {
  const results: Record<Mode, number[]> = { none: [], api: [], provider: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of MODES) {
      const out = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', mode, '--n', String(n)], { encoding: 'utf8', env: process.env });
      if (out.status !== 0) throw new Error(`child ${mode} failed: ${out.stderr}`);
      const line = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { opsPerSecond: number };
      results[mode].push(line.opsPerSecond);
    }
  }
  const base = median(results.none);
  console.log(`operations/s on the in-memory fake, ${n} operations per process, median of ${rounds} interleaved rounds`);
  for (const mode of MODES) {
    const m = median(results[mode]);
    const all = results[mode].map((v) => Math.round(v)).join(' ');
    console.log(`  ${mode.padEnd(9)} ${Math.round(m).toString().padStart(7)} ops/s  (ratio to none ${(m / base).toFixed(3)})  runs: ${all}`);
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  void child(process.argv[childIndex + 1] as Mode, arg('--n', 20_000));
} else {
  parent(arg('--rounds', 5), arg('--n', 20_000));
}
