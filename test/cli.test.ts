/**
 * The `lro` CLI, spawned for real (TypeScript sources through tsx) against
 * FakeOperationsServer on loopback gRPC and HTTP; terminal behaviour under a
 * pseudo-terminal from util-linux `script`. (The built bin from the packed
 * tarball is exercised by test/package.test.ts.)
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { Code, TypeRegistry, restProfiles, type AnyMessage } from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { progressOf, progressText } from '../src/cli/progress.js';
import { decodeRaw, formatRaw } from '../src/cli/render.js';
import { parseDuration } from '../src/cli/program.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const ROOT = path.resolve(__dirname, '..');
const CLI = [process.execPath, '--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')];

const PROTO = `
syntax = "proto3";
package demo.v1;
import "google/protobuf/timestamp.proto";
message ExportProgress { int32 progress_percent = 1; string stage = 2; google.protobuf.Timestamp start_time = 3; }
message ExportResult { string uri = 1; int64 rows = 2; }
`;
const registry = TypeRegistry.fromRoot(protobuf.parse(PROTO).root);
const progress = (percent: number, stage: string): AnyMessage => registry.encode('demo.v1.ExportProgress', { progressPercent: percent, stage });
const result = (uri: string): AnyMessage => registry.encode('demo.v1.ExportResult', { uri, rows: '1234567' });

let tmp: string;
let protoFile: string;
let server: FakeOperationsServer;
let grpcAddress: string;
let baseUrl: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lro-cli-'));
  protoFile = path.join(tmp, 'export.proto');
  fs.writeFileSync(protoFile, PROTO);
  server = new FakeOperationsServer({ types: registry });
  grpcAddress = (await server.listenGrpc()).address;
  baseUrl = (await server.listenHttp(restProfiles.standard)).baseUrl;
});

afterAll(async () => {
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Spawned {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when stdout+stderr so far match. */
  waitFor(pattern: RegExp): Promise<void>;
  done: Promise<Run>;
}

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, METADATA_SERVER_DETECTION: 'none', NO_COLOR: '1' };
  for (const key of ['LRO_GRPC', 'LRO_REST', 'LRO_PROFILE', 'NODE_OPTIONS']) delete e[key];
  return e;
}

function start(file: string, args: string[]): Spawned {
  const child = spawn(file, args, { cwd: ROOT, env: env(), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(stdout + stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), check()));
  child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), check()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    done,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        void done.then((r) => reject(new Error(`exited (${r.code}) before ${pattern}:\n${r.stdout}\n${r.stderr}`)));
      }),
  };
}

const lroSpawn = (...args: string[]) => start(CLI[0], [...CLI.slice(1), ...args]);
const lro = (...args: string[]) => lroSpawn(...args).done;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The CLI under a pseudo-terminal: stdout and stderr are a TTY; the output is what the terminal received. */
const lroPty = (...args: string[]) => start('script', ['-qfec', [...CLI, ...args].map(shellQuote).join(' '), '/dev/null']);
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');

const methodsFor = (name: string) => server.calls.filter((c) => c.name === name).map((c) => c.method);

/** Advances an operation's progress in the background until stopped. */
function ticker(name: string, stage = 'exporting', everyMs = 100): { stop(): void } {
  let pct = 0;
  const timer = setInterval(() => {
    pct = Math.min(pct + 10, 90);
    if (server.get(name)?.done === false) server.update(name, { metadata: progress(pct, stage) });
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}

describe('lro against the fake server', () => {
  test('util-linux script is available for the pseudo-terminal tests', () => {
    expect(() => execFileSync('script', ['--version'], { stdio: 'pipe' })).not.toThrow();
  });

  test('get: text and --json, payloads decoded with --proto, error details with the bundled google.rpc types', async () => {
    const op = server.create({ metadata: progress(40, 'importing') });
    const info = registry.encode('google.rpc.ErrorInfo', { reason: 'SCHEMA_MISMATCH', domain: 'demo.example.com' });
    server.fail(op.name, { code: Code.FAILED_PRECONDITION, message: 'wrong column type', details: [info] });

    const text = await lro('get', op.name, '--grpc', grpcAddress, '--proto', protoFile);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${op.name}\n  state     failed`);
    expect(text.stdout).toContain('metadata  demo.v1.ExportProgress {"progressPercent":40,"stage":"importing"}');
    expect(text.stdout).toContain('error     FAILED_PRECONDITION (9): wrong column type');
    expect(text.stdout).toContain('google.rpc.ErrorInfo {"reason":"SCHEMA_MISMATCH","domain":"demo.example.com","metadata":{}}');

    const json = await lro('get', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      name: op.name,
      done: true,
      metadata: { '@type': 'type.googleapis.com/demo.v1.ExportProgress', progressPercent: 40, stage: 'importing' },
      error: {
        code: 9,
        message: 'wrong column type',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SCHEMA_MISMATCH', domain: 'demo.example.com', metadata: {} }],
      },
    });
  });

  test('get: a payload of an unknown type shows its type URL and raw fields (base64 in --json)', async () => {
    const op = server.create({ metadata: progress(7, 'queued') });
    const text = await lro('get', op.name, '--grpc', grpcAddress);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/metadata {2}demo\.v1\.ExportProgress \(\d+ bytes, unknown type; --proto FILE decodes it\) raw \{1: 7, 2: "queued"\}/);
    const json = await lro('get', op.name, '--grpc', grpcAddress, '--json');
    const decoded = JSON.parse(json.stdout) as { metadata: { '@type': string; value: string } };
    expect(decoded.metadata['@type']).toBe('type.googleapis.com/demo.v1.ExportProgress');
    expect(Buffer.from(decoded.metadata.value, 'base64')).toEqual(Buffer.from(progress(7, 'queued').value!));
  });

  test('wait (not a TTY): plain progress lines on stderr, the response on stdout, exit 0', async () => {
    const op = server.create({ metadata: progress(0, 'queued') });
    const tick = ticker(op.name);
    const child = lroSpawn('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--poll-interval', '100ms');
    await child.waitFor(/[1-9]0% exporting/);
    tick.stop();
    server.complete(op.name, result('gs://demo/export.csv'));
    const run = await child.done;
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toMatch(new RegExp(`^${op.name}: running \\(\\d+s\\)$`));
    expect(run.stderr).toMatch(new RegExp(`^${op.name}: [1-9]0% exporting`, 'm'));
    expect(run.stderr).not.toMatch(/\x1b\[/); // no terminal control codes in a pipe
    expect(run.stdout).toBe(`${op.name}: succeeded\n  response  demo.v1.ExportResult {"uri":"gs://demo/export.csv","rows":"1234567"}\n`);
  });

  test('wait --json: the final operation as proto3 JSON; a failed operation exits 1', async () => {
    const op = server.create();
    const child = lroSpawn('wait', op.name, '--grpc', grpcAddress, '--json', '--poll-interval', '100ms');
    await child.waitFor(/running/);
    const info = registry.encode('google.rpc.ErrorInfo', { reason: 'QUOTA', domain: 'demo.example.com' });
    server.fail(op.name, { code: Code.RESOURCE_EXHAUSTED, message: 'out of quota', details: [info] });
    const run = await child.done;
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      name: op.name,
      done: true,
      error: { code: 8, message: 'out of quota', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'QUOTA', domain: 'demo.example.com', metadata: {} }] },
    });
  });

  test('cancel: CancelOperation on the server; a waiting lro then reports the cancellation and exits 1', async () => {
    const op = server.create({ metadata: progress(50, 'reindexing') });
    const waiting = lroSpawn('wait', op.name, '--grpc', grpcAddress, '--poll-interval', '100ms');
    await waiting.waitFor(/running/);
    const cancel = await lro('cancel', op.name, '--grpc', grpcAddress);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`cancel requested for ${op.name}`);
    const run = await waiting.done;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${op.name}: cancelled\n  error     CANCELLED (1)`);
    expect(methodsFor(op.name).filter((m) => m === 'CancelOperation')).toHaveLength(1);
  });

  test('wait on a server without WaitOperation falls back to polling GetOperation', async () => {
    const legacy = new FakeOperationsServer({ waitOperation: false });
    const { address, close } = await legacy.listenGrpc();
    try {
      const op = legacy.create();
      const child = lroSpawn('wait', op.name, '--grpc', address, '--poll-interval', '100ms');
      await child.waitFor(/running/);
      setTimeout(() => legacy.complete(op.name, registry.encode('google.protobuf.StringValue', { value: 'ok' })), 200);
      const run = await child.done;
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${op.name}: succeeded\n  response  google.protobuf.StringValue "ok"\n`);
      const methods = legacy.calls.map((c) => c.method);
      // progress at once: a GetOperation first, then the one WaitOperation probe, then polling
      expect(methods.filter((m) => m === 'WaitOperation')).toHaveLength(1);
      expect(methods.filter((m) => m === 'GetOperation').length).toBeGreaterThanOrEqual(1);
    } finally {
      await close();
    }
  });

  test('wait --timeout exits 3 and leaves the operation running; nothing is cancelled', async () => {
    const op = server.create();
    const run = await lro('wait', op.name, '--grpc', grpcAddress, '--timeout', '300ms', '--poll-interval', '100ms');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`timed out after 300ms waiting for ${op.name}`);
    expect(server.get(op.name)?.done).toBe(false);
    expect(methodsFor(op.name)).not.toContain('CancelOperation');
  });

  test('Ctrl-C (SIGINT) stops waiting with exit 130 and never cancels the server operation', async () => {
    const op = server.create({ metadata: progress(10, 'copying') });
    const child = lroSpawn('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--poll-interval', '100ms');
    await child.waitFor(/10% copying/);
    child.child.kill('SIGINT');
    const run = await child.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain(`interrupted; stopped waiting for ${op.name}`);
    expect(server.get(op.name)?.done).toBe(false);
    expect(methodsFor(op.name)).not.toContain('CancelOperation');
  });

  test('REST: wait with --profile cloudStorage, and list with --filter and --page-size over several pages', async () => {
    const storage = new FakeOperationsServer({ types: registry });
    const { baseUrl: storageUrl, close } = await storage.listenHttp(restProfiles.cloudStorage);
    try {
      const name = 'projects/_/buckets/media/operations/restore-1';
      storage.create({ name, metadata: progress(30, 'restoring') });
      for (let i = 2; i <= 5; i++) storage.create({ name: `projects/_/buckets/media/operations/restore-${i}` });
      storage.complete('projects/_/buckets/media/operations/restore-5');
      const child = lroSpawn('wait', name, '--rest', storageUrl, '--profile', 'cloudStorage', '--poll-interval', '100ms');
      await child.waitFor(/30% restoring/); // REST payloads arrive as JSON: progress is read without --proto
      storage.complete(name, result('gs://media/restored'));
      const run = await child.done;
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${name}: succeeded`);
      expect(run.stdout).toContain('"uri":"gs://media/restored"');

      const list = await lro('list', 'projects/_/buckets/media', '--rest', storageUrl, '--profile', 'cloudStorage', '--filter', 'done=false', '--page-size', '2', '--json');
      expect(list.code).toBe(0);
      const names = (JSON.parse(list.stdout) as { name: string; done: boolean }[]).map((o) => [o.name, o.done]);
      expect(names).toEqual([2, 3, 4].map((i) => [`projects/_/buckets/media/operations/restore-${i}`, false]));
      expect(storage.calls.filter((c) => c.method === 'ListOperations')).toHaveLength(2);
    } finally {
      await close();
    }
  });

  test('list (text) and delete over the standard REST profile', async () => {
    const op = server.create({ name: 'operations/to-delete' });
    const list = await lro('list', '--rest', baseUrl, '--limit', '100');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^operations\/to-delete {2}running\s*$/m);
    const del = await lro('delete', op.name, '--rest', baseUrl, '--profile', 'standard');
    expect(del.code).toBe(0);
    expect(del.stdout).toBe(`deleted ${op.name}\n`);
    expect(server.get(op.name)).toBeUndefined();
  });

  test('a failed call exits 4 with the canonical code; usage errors exit 2', async () => {
    const missing = await lro('get', 'operations/does-not-exist', '--grpc', grpcAddress);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('NOT_FOUND');

    const usage = await Promise.all([
      lro('get', 'operations/1'), // nowhere to connect
      lro('get', 'operations/1', '--grpc', grpcAddress, '--rest', baseUrl),
      lro('wait', 'operations/1', '--grpc', grpcAddress, '--timeout', 'soon'),
      lro('get', 'operations/1', '--rest', baseUrl, '--profile', 'nope'),
      lro('frobnicate'),
      lro(),
      lro('get', 'jobs/1', '--rest', baseUrl), // not a name the standard profile maps
    ]);
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(usage[6].stderr).toContain('/v1/{name=operations/**}');
    expect(usage[0].stderr).toContain('--grpc HOST:PORT or --rest URL');
    expect(usage[3].stderr).toContain('standard, cloudStorage, dialogflowCx, vision');
    expect(usage[5].stderr).toContain('Usage: lro');

    const help = await lro('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('lro under a pseudo-terminal', () => {
  test('wait draws a live progress bar from the metadata, then the outcome', async () => {
    const op = server.create({ metadata: progress(0, 'queued') });
    const tick = ticker(op.name);
    const child = lroPty('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--poll-interval', '100ms');
    await child.waitFor(/[1-9]0% .*exporting/);
    tick.stop();
    server.complete(op.name, result('gs://demo/tty.csv'));
    const run = await child.done;
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\x1b[?25l'); // cursor hidden while drawing…
    expect(run.stdout).toContain('\x1b[?25h'); // …and shown again
    expect(run.stdout).toMatch(/█+░+ +[1-9]0% /); // a partly filled bar
    const screen = stripAnsi(run.stdout);
    expect(screen).toMatch(/█{30} 100% /);
    expect(screen).toContain(`${op.name}: succeeded`);
  });

  test('wait shows a spinner when the metadata has no percentage', async () => {
    const op = server.create();
    const child = lroPty('wait', op.name, '--grpc', grpcAddress, '--poll-interval', '100ms');
    await child.waitFor(/⠙/);
    server.complete(op.name);
    const run = await child.done;
    expect(run.code).toBe(0);
    expect(stripAnsi(run.stdout)).toMatch(new RegExp(`⠋ ${op.name}`));
    expect(stripAnsi(run.stdout)).toContain(`${op.name}: done`);
  });

  test('Ctrl-C typed at the terminal stops waiting (exit 130), restores the cursor, and cancels nothing', async () => {
    const op = server.create({ metadata: progress(20, 'copying') });
    const child = lroPty('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--poll-interval', '100ms');
    await child.waitFor(/20% /);
    child.child.stdin.write('\x03'); // the terminal's interrupt character
    const run = await child.done;
    expect(run.code).toBe(130);
    expect(run.stdout.lastIndexOf('\x1b[?25h')).toBeGreaterThan(run.stdout.lastIndexOf('\x1b[?25l'));
    expect(stripAnsi(run.stdout)).toContain('interrupted; stopped waiting');
    expect(server.get(op.name)?.done).toBe(false);
    expect(methodsFor(op.name)).not.toContain('CancelOperation');
  });
});

describe('the demo (npm start) under a pseudo-terminal', () => {
  test('draws one live progress bar per operation, then the four outcomes, and exits 0', async () => {
    const child = start('script', ['-qfec', [process.execPath, '--import', 'tsx', path.join(ROOT, 'examples', 'demo.ts')].map(shellQuote).join(' '), '/dev/null']);
    const run = await child.done;
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\x1b[?25l');
    const screen = stripAnsi(run.stdout);
    for (const label of ['export', 'import', 'reindex', 'legacy']) expect(screen).toMatch(new RegExp(`${label} +[█░]{30} +\\d+% `));
    expect(screen).toMatch(/export +█{30} 100% ✔ succeeded/);
    expect(screen).toContain('reindex: cancelled (code 1)');
    expect(screen).toContain('import: failed with 9');
    expect(screen).toMatch(/legacy server saw 1 WaitOperation/);
  });
});

describe('reading progress from arbitrary metadata', () => {
  test.each([
    [{ progressPercent: 40, stage: 'exporting' }, { percent: 40, label: 'exporting' }],
    [{ progress_percent: '55' }, { percent: 55 }],
    [{ percentComplete: 12.5, state: 'RUNNING' }, { percent: 12.5, label: 'RUNNING' }],
    [{ progress: { progressPercent: 70 } }, { percent: 70 }], // Spanner-style nesting
    [{ annotationProgress: [{ progressPercent: 20 }, { progressPercent: 60 }] }, { percent: 40 }], // one per input, averaged
    [{ progressDocuments: { completedWork: '25', estimatedWork: '100' } }, { percent: 25 }], // Firestore-style counters
    [{ workCompleted: 3, workEstimated: 4 }, { percent: 75 }],
    [{ createTime: '2024-01-01T00:00:00Z', state: 'PROCESSING' }, { label: 'PROCESSING' }],
    [{ percentDone: 250 }, { percent: 100 }],
    ['not an object', {}],
  ])('%j → %j', (metadata, expected) => {
    expect(progressOf(metadata)).toEqual(expected);
  });

  test('progress text', () => {
    expect(progressText({ percent: 40, label: 'exporting' })).toBe('40% exporting');
    expect(progressText({})).toBe('');
  });

  test('raw protobuf fields of an unknown type, like protoc --decode_raw', () => {
    const raw = decodeRaw(registry.encode('demo.v1.ExportProgress', { progressPercent: 40, stage: 'x', startTime: '1970-01-01T00:00:05Z' }).value!);
    expect(formatRaw(raw!)).toBe('{1: 40, 2: "x", 3: {1: 5}}');
    expect(decodeRaw(new Uint8Array([0x08]))).toBeUndefined(); // truncated varint
  });

  test('durations', () => {
    expect([parseDuration('1500ms'), parseDuration('30s'), parseDuration('2m'), parseDuration('1h'), parseDuration('5')]).toEqual([1500, 30_000, 120_000, 3_600_000, 5000]);
    expect(() => parseDuration('soon')).toThrow(/duration/);
  });
});
