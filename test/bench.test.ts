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
    for (const heading of ['### 1.', '### 2.', '### 3.', '### 4.', '### Targets']) expect(output.stdout).toContain(heading);
    const tableRows = output.stdout.split('\n').filter((line) => line.startsWith('|'));
    expect(tableRows.length).toBeGreaterThan(20);
    for (const client of ['longrunning (defaults)', 'google-gax Operation (defaults)', "longrunning at gax's RPC budget"]) {
      expect(output.stdout).toContain(`| ${client} |`);
    }
  });

  it('measured every operation of scenarios 1 and 2 for every client, without errors', () => {
    for (const key of ['scenario1', 'scenario2']) {
      const scenario = results[key];
      expect(scenario.aggregates.length).toBe(key === 'scenario1' ? 2 : 3);
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
    expect(results.targets.length).toBeGreaterThanOrEqual(10);
    for (const t of results.targets) expect(typeof t.met).toBe('boolean');
    const svgPath = path.join(outDir, 'latest.svg');
    expect(existsSync(svgPath)).toBe(true);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(5); // 2 clients in panel 1, 3 in panel 2
  });
});
