/**
 * The debug log (google-logging-utils, GOOGLE_SDK_NODE_LOGGING) as a user
 * sees it: stderr of a child process (TypeScript sources through tsx), with
 * and without the variable; and `lro wait --verbose` against a loopback gRPC
 * server. No timing is asserted: durations and delays are only checked to be
 * numbers.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { FakeOperationsServer } from '../src/testing/index.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const ROOT = path.resolve(__dirname, '..');
const CHILD = path.join(__dirname, 'support', 'log-child.ts');
const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], logging: string | undefined): Promise<Output> {
  const env: NodeJS.ProcessEnv = { ...process.env, METADATA_SERVER_DETECTION: 'none', NO_COLOR: '1' };
  for (const key of ['GOOGLE_SDK_NODE_LOGGING', 'NODE_OPTIONS', 'LRO_GRPC', 'LRO_REST', 'LRO_PROFILE']) delete env[key];
  if (logging !== undefined) env.GOOGLE_SDK_NODE_LOGGING = logging;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

interface Line {
  severity: string;
  message: string;
  other: Record<string, unknown>;
}

/** google-logging-utils' Node backend: `PID [namespace|SEVERITY] message {"other":{…}}`. */
function parse(stderr: string): Line[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('[longrunning|'))
    .map((l) => {
      const m = /^\d+ \[longrunning\|(\w+)\] (.*?) (\{.*\})$/.exec(l);
      if (!m) throw new Error(`not a log line: ${l}`);
      return { severity: m[1], message: m[2], other: (JSON.parse(m[3]) as { other: Record<string, unknown> }).other };
    });
}

describe('GOOGLE_SDK_NODE_LOGGING', () => {
  test.each(['longrunning', '*', 'gax,longrunning'])('%s: one line per sleep, RPC and retry, on stderr', async (value) => {
    const out = await run([CHILD], value);
    expect(out.stdout).toBe('done\n');
    expect(out.code).toBe(0);
    const lines = parse(out.stderr);
    expect(lines.map((l) => [l.severity, l.other.event, l.other.outcome])).toEqual([
      ['DEBUG', 'sleep', undefined],
      ['WARNING', 'rpc', 'UNAVAILABLE'],
      ['WARNING', 'retry', undefined],
      ['DEBUG', 'rpc', 'ok'],
    ]);
    const [sleep, failed, retry, ok] = lines;
    expect(sleep.other).toMatchObject({ operation: 'operations/log-1', delayMs: 5, next: 'GetOperation' });
    expect(sleep.message).toBe('operations/log-1: sleep 5 ms before GetOperation');
    expect(failed.other).toMatchObject({ method: 'GetOperation', operation: 'operations/log-1', code: 14 });
    expect(failed.other.durationMs).toEqual(expect.any(Number));
    expect(failed.message).toMatch(/^GetOperation operations\/log-1 UNAVAILABLE in \d+ ms: .*flaky/);
    expect(retry.other).toMatchObject({ method: 'GetOperation', operation: 'operations/log-1', attempt: 1, code: 14 });
    expect(retry.other.delayMs).toEqual(expect.any(Number));
    expect(ok.other).toMatchObject({ method: 'GetOperation', operation: 'operations/log-1', outcome: 'ok' });
    expect(ok.message).toMatch(/^GetOperation operations\/log-1 ok in \d+ ms$/);
  });

  test.each([undefined, '', 'gax', 'longrunningx'])('%p: silent', async (value) => {
    const out = await run([CHILD], value);
    expect(out.stdout).toBe('done\n');
    expect(out.stderr).toBe('');
  });
});

describe('lro --verbose', () => {
  let fake: FakeOperationsServer;
  let address: string;
  beforeAll(async () => {
    fake = new FakeOperationsServer();
    address = (await fake.listenGrpc()).address;
  });
  afterAll(() => fake.close());

  test('logs each call of wait and get to stderr, once; without it, no log line', async () => {
    const { name } = fake.create();
    const waiting = run([CLI, 'wait', name, '--grpc', address, '--plaintext', '--quiet', '--verbose', '--no-wait-operation', '--poll-interval', '100ms'], undefined);
    // Complete once the CLI has polled at least twice (the first read, then the loop's polls).
    for (let i = 0; fake.calls.filter((c) => c.name === name).length < 2 && i < 4000; i++) await new Promise((r) => setTimeout(r, 5));
    fake.complete(name);
    const verbose = await waiting;
    expect(verbose.code).toBe(0);
    const rpcs = parse(verbose.stderr).filter((l) => l.other.event === 'rpc');
    // One line per call the server saw: nothing logged twice, nothing left out.
    expect(rpcs.map((l) => [l.other.method, l.other.operation, l.other.outcome])).toEqual(
      fake.calls.filter((c) => c.name === name).map((c) => [c.method, name, 'ok']),
    );

    const get = await run([CLI, 'get', name, '--grpc', address, '--plaintext', '--verbose'], undefined);
    expect(get.code).toBe(0);
    expect(parse(get.stderr).map((l) => [l.other.method, l.other.outcome])).toEqual([['GetOperation', 'ok']]);

    const quiet = await run([CLI, 'wait', name, '--grpc', address, '--plaintext', '--quiet'], undefined);
    expect(quiet.code).toBe(0);
    expect(parse(quiet.stderr)).toEqual([]);
  });
});
