/**
 * The `lro` CLI, spawned for real (TypeScript sources through tsx) against
 * FakeOperationsServer on loopback gRPC and HTTP; terminal behaviour under a
 * pseudo-terminal from util-linux `script`. (The built bin from the packed
 * tarball is exercised by test/package.test.ts.)
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
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
    // the first line is the state before waiting (one GetOperation), however far the ticker has got by then
    expect(run.stderr.split('\n')[0]).toMatch(new RegExp(`^${op.name}: (0% queued|[1-9]0% exporting) \\(\\d+s\\)$`));
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
      expect(methods.slice(0, 2)).toEqual(['GetOperation', 'WaitOperation']);
      expect(methods.filter((m) => m === 'WaitOperation')).toHaveLength(1);
      expect(methods.filter((m) => m === 'GetOperation').length).toBeGreaterThanOrEqual(1);
    } finally {
      await close();
    }
  });

  test('wait --timeout exits 3 and leaves the operation running; nothing is cancelled', async () => {
    const op = server.create();
    // long enough for the first GetOperation to come back on a loaded machine, so the server was reached
    const run = await lro('wait', op.name, '--grpc', grpcAddress, '--timeout', '3s', '--poll-interval', '100ms');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`timed out after 3s waiting for ${op.name}`);
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
    expect(missing.stderr).toBe('lro: NOT_FOUND: operation operations/does-not-exist not found\n'); // said once, no cause appended
    const missingRest = await lro('get', 'operations/does-not-exist', '--rest', baseUrl);
    expect(missingRest.code).toBe(4);
    expect(missingRest.stderr).toMatch(/^lro: NOT_FOUND: [^\n]*not found\n$/);

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

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A loopback TCP server that accepts connections and never says a word (a server that never answers). */
async function silentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), silent.close(() => resolve()))),
  };
}

describe('lro messages: what went wrong, in plain words', () => {
  test('an unreachable gRPC server: the connection error without a dangling "Resolution note:", exit 4', async () => {
    const port = await closedPort();
    const run = await lro('get', 'operations/1', '--grpc', `127.0.0.1:${port}`);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`lro: UNAVAILABLE: cannot connect to gRPC 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(run.stderr).toContain('is the server running');
    expect(run.stderr).not.toContain('Resolution note');
    expect(run.stderr).not.toContain('Last error: Error:');
  });

  test('an unreachable REST server: the network cause (ECONNREFUSED, or what fetch said) is shown, exit 4', async () => {
    const port = await closedPort();
    const refused = await lro('get', 'operations/1', '--rest', `http://127.0.0.1:${port}`);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`request to http://127.0.0.1:${port}/v1/operations/1 failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(refused.stderr).toContain('is the server running');
    // Port 1 is one fetch refuses to call at all; the transport's message alone said "failed (Error)".
    const badPort = await lro('get', 'operations/1', '--rest', 'http://127.0.0.1:1');
    expect(badPort.code).toBe(4);
    expect(badPort.stderr).toMatch(/request to http:\/\/127\.0\.0\.1:1\/v1\/operations\/1 failed(: | \()bad port/);
    expect(badPort.stderr).not.toContain('(Error)');
  });

  test('--timeout against a server that never answers says so, and not that the operation may still be running (exit 3)', async () => {
    const silent = await silentServer();
    try {
      const [wait, get] = await Promise.all([
        lro('wait', 'operations/1', '--grpc', silent.address, '--timeout', '1s'),
        lro('get', 'operations/1', '--grpc', silent.address, '--timeout', '1s'),
      ]);
      expect(wait.code).toBe(3);
      expect(wait.stderr).toContain(`lro: timed out after 1s: gRPC ${silent.address} did not answer GetOperation operations/1; nothing is known about the operation`);
      expect(wait.stderr).not.toMatch(/still running|may still be running/);
      expect(wait.stderr).not.toMatch(/operations\/1: running/); // no progress line for an operation never seen
      expect(get.code).toBe(3);
      expect(get.stderr).toContain(`lro: DEADLINE_EXCEEDED: gRPC ${silent.address} did not answer in time (Deadline exceeded after`);
      expect(get.stderr).not.toContain('LB pick');
    } finally {
      await silent.close();
    }
  });

  test('--timeout after the server was reached: the operation was still running, with the progress last seen', async () => {
    const op = server.create({ metadata: progress(18, 'copying') });
    const run = await lro('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--timeout', '500ms', '--poll-interval', '100ms');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`lro: timed out after 500ms waiting for ${op.name}; it was still running when last seen (18% copying); lro wait ${op.name} waits again`);
  });

  test('wait shows the progress so far after one GetOperation, before any WaitOperation returns', async () => {
    // Default --poll-interval (5s): the first WaitOperation would not return before --timeout 2s.
    const op = server.create({ metadata: progress(18, 'copying') });
    const run = await lro('wait', op.name, '--grpc', grpcAddress, '--proto', protoFile, '--timeout', '2s');
    expect(run.code).toBe(3);
    expect(run.stderr.split('\n')[0]).toMatch(new RegExp(`^${op.name}: 18% copying \\(\\d+s\\)$`));
    expect(methodsFor(op.name)[0]).toBe('GetOperation');
    expect(methodsFor(op.name)).toContain('WaitOperation');
  });

  test('names are checked before anything is sent over gRPC too (exit 2, no call)', async () => {
    const names = ['', 'operations/a b', 'operations//1', 'operations/1/'];
    const runs = await Promise.all([
      lro('get', '', '--grpc', grpcAddress),
      lro('wait', 'operations/a b', '--grpc', grpcAddress),
      lro('cancel', 'operations//1', '--grpc', grpcAddress),
      lro('delete', 'operations/1/', '--grpc', grpcAddress),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(runs[0].stderr).toContain('lro: operation name is empty');
    expect(runs[1].stderr).toContain('lro: operation name "operations/a b" contains whitespace or a control character');
    expect(runs[2].stderr).toContain('has an empty path segment');
    expect(runs[3].stderr).toContain('has an empty path segment');
    expect(server.calls.filter((c) => names.includes(c.name))).toEqual([]);
  });

  test('a method the REST profile lacks is a usage error (exit 2) and sends nothing', async () => {
    const vision = new FakeOperationsServer();
    const { baseUrl: visionUrl, close } = await vision.listenHttp(restProfiles.vision);
    try {
      const op = vision.create({ name: 'projects/p/locations/l/operations/1' });
      const run = await lro('cancel', op.name, '--rest', visionUrl, '--profile', 'vision');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('lro: the REST profile vision has no HTTP binding for CancelOperation, so lro cancel cannot work over it; nothing was sent');
      const list = await lro('list', 'projects/p/locations/l', '--rest', visionUrl, '--profile', 'vision');
      expect(list.code).toBe(2);
      expect(list.stderr).toContain('no HTTP binding for ListOperations');
      expect(vision.calls).toEqual([]);
    } finally {
      await close();
    }
  });

  test('lro <command> --help lists the global options too', async () => {
    const help = await lro('wait', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--poll-interval <duration>');
    expect(help.stdout).toContain('Global Options:');
    for (const option of ['--grpc <host:port>', '--rest <url>', '--profile <name>', '--header <name: value>', '--timeout <duration>', '--json', '--proto <file>']) {
      expect(help.stdout).toContain(option);
    }
  });

  test('compound durations such as 1m30s are accepted', async () => {
    const op = server.create();
    server.complete(op.name);
    const run = await lro('wait', op.name, '--grpc', grpcAddress, '--timeout', '1m30s');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${op.name}: done\n`);
    const bad = await lro('wait', op.name, '--grpc', grpcAddress, '--timeout', '1m30');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a duration such as 30s, 5m, 1m30s');
  });

  test('--tls to a plaintext port explains the mismatch instead of printing a raw OpenSSL error', async () => {
    const run = await lro('get', 'operations/1', '--grpc', grpcAddress, '--tls', '--timeout', '10s');
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`lro: UNAVAILABLE: TLS handshake with gRPC ${grpcAddress} (TLS) failed: the server does not speak TLS on that port`);
    expect(run.stderr).toContain('use --plaintext');
    expect(run.stderr).not.toMatch(/ssl3_get_record|deps\/openssl|Resolution note|DeprecationWarning/);
  });

  test('https:// to a plaintext HTTP port, and --grpc to an HTTP/1 port, are explained too', async () => {
    const port = new URL(baseUrl).port;
    const https = await lro('get', 'operations/1', '--rest', `https://127.0.0.1:${port}`);
    expect(https.code).toBe(4);
    expect(https.stderr).toBe(
      `lro: UNAVAILABLE: GetOperation operations/1: TLS handshake with REST https://127.0.0.1:${port} (standard) failed: the server does not speak TLS on that port (OpenSSL: wrong version number)\n` +
        '  for a plaintext port use an http:// URL\n',
    );
    const grpcToHttp = await lro('get', 'operations/1', '--grpc', `127.0.0.1:${port}`, '--timeout', '10s');
    expect(grpcToHttp.code).toBe(4);
    expect(grpcToHttp.stderr).toBe(
      `lro: UNAVAILABLE: cannot connect to gRPC 127.0.0.1:${port}: Protocol error\n` +
        `  gRPC 127.0.0.1:${port} answered, but not in HTTP/2: is it a gRPC port? (a REST/JSON service takes --rest URL)\n`,
    );
  });

  test('list prints aligned columns', async () => {
    const own = new FakeOperationsServer({ types: registry });
    const { address, close } = await own.listenGrpc();
    try {
      own.create({ name: 'operations/a', metadata: progress(18, 'copying') });
      own.create({ name: 'operations/a-much-longer-name' });
      own.complete('operations/a-much-longer-name');
      own.create({ name: 'operations/bb' });
      own.fail('operations/bb', { code: Code.FAILED_PRECONDITION, message: 'bad input' });
      const run = await lro('list', '--grpc', address, '--proto', protoFile);
      expect(run.code).toBe(0);
      // name column 29 wide (the longest name), state column 7 wide ("running"), two spaces between
      expect(run.stdout).toBe(
        'operations/a                   running  18% copying\n' +
          'operations/a-much-longer-name  done\n' +
          'operations/bb                  failed   FAILED_PRECONDITION: bad input\n',
      );
    } finally {
      await close();
    }
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
    expect([parseDuration('1m30s'), parseDuration('1h15m'), parseDuration('2s500ms'), parseDuration('1.5m'), parseDuration(' 10m ')]).toEqual([90_000, 4_500_000, 2500, 90_000, 600_000]);
    for (const bad of ['soon', '1m30', '30x', 'm', '', '-5s', '1m 30s']) expect(() => parseDuration(bad)).toThrow(/duration/);
    expect(() => parseDuration('0s')).toThrow(/positive/);
    expect(() => parseDuration('30d')).toThrow(/at most 24 days/);
  });
});
