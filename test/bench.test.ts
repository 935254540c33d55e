/**
 * The benchmark keeps working: `bench/run.ts --smoke` (tiny sizes, real
 * loopback server and client processes) runs to the end and produces
 * well-formed output. Its timings are printed, never asserted.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface RunOutput {
  stdout: string;
  stderr: string;
}

function runSmoke(outDir: string): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), '--smoke', '--out', outDir],
      { cwd: ROOT, env: { ...process.env, METADATA_SERVER_DETECTION: 'none' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`bench --smoke failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

describe('bench (smoke mode)', () => {
  let outDir: string;
  let output: RunOutput;
  let results: Record<string, any>;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(os.tmpdir(), 'longrunning-bench-test-'));
    output = await runSmoke(outDir);
    results = JSON.parse(readFileSync(path.join(outDir, 'latest.json'), 'utf8'));
  }, 60_000);

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('describes the machine it ran on', () => {
    const env = results.environment;
    expect(env.mode).toBe('smoke');
    expect(env.node).toBe(process.version);
    expect(typeof env.cpu).toBe('string');
    expect(env.loadAvgStart).toHaveLength(3);
    expect(env.loadAvgEnd).toHaveLength(3);
    expect(isNumber(env.seed)).toBe(true);
    expect(output.stdout).toContain(`Node ${process.version}`);
    expect(output.stdout).toMatch(/load average/);
  });

  it('prints a markdown table for every scenario and the targets', () => {
    for (const heading of ['### 1.', '### 2.', '### 3.', '### 4.', '### Scale:', '### Progress:', '### Targets']) expect(output.stdout).toContain(heading);
    const tableRows = output.stdout.split('\n').filter((line) => line.startsWith('|'));
    expect(tableRows.length).toBeGreaterThan(20);
    for (const client of [
      'longrunning (defaults)',
      'google-gax Operation (defaults)',
      'longrunning, `polling: { followProgress: false }`',
      'longrunning via `fromGaxOperation` (the gax Operation a generated client returns)',
    ]) {
      expect(output.stdout).toContain(`| ${client} |`);
    }
  });

  it('measured every operation of scenarios 1 and 2 for every client, without errors', () => {
    for (const key of ['scenario1', 'scenario2']) {
      const scenario = results[key];
      // Scenario 2 also runs ours through fromGaxOperation.
      expect(scenario.aggregates.map((a: { variant: string }) => a.variant)).toEqual(key === 'scenario1' ? ['ours', 'gax'] : ['ours', 'ours-gax-operation', 'gax']);
      for (const a of scenario.aggregates) {
        expect(a.errors).toBe(0);
        expect(a.latencyMs.n).toBe(a.operations);
        for (const q of ['p50', 'p90', 'p99', 'max', 'mean']) expect(isNumber(a.latencyMs[q])).toBe(true);
        expect(a.rpcsPerOp).toBeGreaterThanOrEqual(1);
      }
      for (const run of scenario.runs) expect(run.latencies).toHaveLength(run.n);
    }
  });

  it('measured heap, RSS, event-loop delay and CPU in scenario 3', () => {
    const aggs = results.scenario3.aggregates;
    expect(aggs.length).toBe(3);
    for (const a of aggs) {
      expect(a.errors).toBe(0);
      expect(isNumber(a.heapBytesPerOp)).toBe(true);
      expect(a.rssLoadedBytes).toBeGreaterThan(0);
      expect(isNumber(a.loopDelayMs.p99)).toBe(true);
      expect(a.clientCpuMicrosPerRpc).toBeGreaterThan(0);
    }
  });

  it('ran the scale scenario for ours (with and without WaitOperation) and gax, every operation settled', () => {
    const runs = results.scale.runs;
    // ours with and without WaitOperation on the server; gax (which never calls it) once
    expect(runs.map((r: any) => `${r.variant} ${r.serverWaitOperation}`).sort()).toEqual(['gax false', 'ours false', 'ours true']);
    expect(results.scale.failures).toEqual([]);
    for (const r of runs) {
      expect(r.rejected).toBe(0);
      expect(r.neverSettled).toBe(0);
      expect(r.latencyMs.n).toBe(r.n);
      expect(isNumber(r.allResolvedMs)).toBe(true);
      expect(r.clientCpuMicrosPerOp).toBeGreaterThan(0);
      expect(isNumber(r.holdLoopDelay.p99)).toBe(true);
    }
  });

  it('started operations sharing one AbortSignal without MaxListenersExceededWarning, and the abort reached them all', () => {
    const abortRuns = results.scale.abortRuns;
    expect(abortRuns.map((r: any) => r.withSignal).sort()).toEqual([false, true]);
    for (const r of abortRuns) {
      expect(r.maxListenersWarnings).toBe(0);
      expect(isNumber(r.startMs)).toBe(true);
      if (r.withSignal) expect(r.abortedAfter).toBe(r.n);
    }
  });

  it('measured the three progress shapes for ours, ours without followProgress, and gax', () => {
    for (const shape of ['linear', 'steps', 'slowstart']) {
      const aggs = results.progress.shapes[shape].aggregates;
      expect(aggs.map((a: any) => a.variant)).toEqual(['ours', 'ours-no-progress', 'gax']);
      for (const a of aggs) {
        expect(a.errors).toBe(0);
        expect(a.latencyMs.n).toBe(a.operations);
        expect(a.rpcsPerOp).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('decoded the same 10 KB metadata on every path in scenario 4', () => {
    const summary = results.scenario4.summary;
    expect(summary.map((d: { variant: string }) => d.variant)).toEqual(['ours', 'gax', 'gax-plain']);
    for (const d of summary) {
      expect(d.operationBytes).toBeGreaterThan(10 * 1024);
      expect(d.changing.pollsPerSec).toBeGreaterThan(0);
      expect(d.unchanged.pollsPerSec).toBeGreaterThan(0);
      expect(d.changing.check).toBe(summary[0].changing.check);
      expect(d.unchanged.check).toBe(summary[0].unchanged.check);
    }
  });

  it('lists every target with a yes/no verdict, and draws the latency chart', () => {
    expect(results.targets.length).toBeGreaterThanOrEqual(20);
    for (const t of results.targets) expect(typeof t.met).toBe('boolean');
    const svgPath = path.join(outDir, 'latest.svg');
    expect(existsSync(svgPath)).toBe(true);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(5); // panel 1: ours, gax; panel 2: ours, ours through fromGaxOperation, gax
  });
});
