/**
 * The published package, as consumers get it. Once per run: build into a
 * scratch copy of the package, `npm pack`, lint the tarball (publint,
 * @arethetypeswrong/cli), and install it into one scratch consumer project
 * (with TypeScript and Jest from the warm npm cache). Then the consumer
 * USES the library — a FakeOperationsServer from `longrunning/testing` on
 * loopback gRPC, an operation waited for with `longrunning`, a retried
 * UNAVAILABLE (the bundled p-retry), a failure, a shared error class — from:
 * CommonJS `require`, ESM `import`, TypeScript (`module: nodenext`, both .cts
 * and .mts, and `moduleResolution: bundler`), and a Jest test with Jest's
 * default configuration (no transforms); and the tarball's `lro` bin waits
 * for an operation served by this test. The same consumer type-checks every
 * ```ts block of README.md (strict, module nodenext) and runs the
 * self-contained ones, and type-checks and runs the examples copied into it,
 * as a user who copies them does. It runs on whichever Node runs the suite
 * (.ci/run: Node 20 and Node 24).
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TypeRegistry } from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const ROOT = path.resolve(__dirname, '..');
const NODE = process.execPath;
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** npm and node for children: the Node running this suite first on PATH, no inherited npm_* settings. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS' && !key.startsWith('JEST_')) env[key] = value;
  }
  env.PATH = `${path.dirname(NODE)}${path.delimiter}${process.env.PATH ?? ''}`;
  env.METADATA_SERVER_DETECTION = 'none';
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  env.NO_COLOR = '1';
  return env;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: ExecFileOptions = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { env: childEnv(), maxBuffer: 32 * 1024 * 1024, timeout: 80_000, ...options, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(file: string, args: string[], options: ExecFileOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result.stdout;
}

const npm = (args: string[], cwd: string) => ok('npm', args, { cwd });
const installedVersion = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

// ---------------------------------------------------------------------------
// The consumers. Each one prints one JSON line describing what happened.
// ---------------------------------------------------------------------------

/** The flow every JavaScript consumer runs (plain JS; the imports differ). */
const FLOW_JS = `
async function main(kind) {
  const registry = TypeRegistry.default();
  const server = new FakeOperationsServer();
  const listener = await server.listenGrpc();
  const transport = grpcTransport({ address: listener.address });
  try {
    const created = server.create({ metadata: registry.encode('google.protobuf.StringValue', { value: 'half-way' }) });
    server.failNext('WaitOperation', { code: Code.UNAVAILABLE, message: 'flaky' });
    const op = new LongRunningOperation(created, { transport, polling: { initialDelayMs: 5, maxDelayMs: 50 } });
    const metadata = [];
    op.on('metadata', (m) => metadata.push(m));
    setTimeout(() => server.complete(created.name, registry.encode('google.protobuf.StringValue', { value: 'hello from ' + kind })), 50);
    const result = await op.promise({ timeoutMs: 15000 });

    const failing = server.create();
    server.fail(failing.name, { code: Code.FAILED_PRECONDITION, message: 'nope' });
    const failure = await new LongRunningOperation(failing.name, { transport }).promise().catch((e) => e);
    const notFound = await server.transport.getOperation('operations/missing').catch((e) => e);
    return {
      kind,
      result,
      metadata,
      failure: failure instanceof OperationFailedError ? failure.name + ' ' + failure.code : String(failure),
      sharedErrorClass: notFound instanceof RpcError && notFound.code === Code.NOT_FOUND,
      waitCalls: server.calls.filter((c) => c.method === 'WaitOperation' && c.name === created.name).length,
    };
  } finally {
    transport.close();
    await listener.close();
  }
}
`;

const CJS = `'use strict';
const { Code, LongRunningOperation, OperationFailedError, RpcError, TypeRegistry, grpcTransport } = require('longrunning');
const { FakeOperationsServer } = require('longrunning/testing');
${FLOW_JS}
main('cjs').then((out) => {
  out.loadedEsm = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](p-retry|is-network-error)[\\\\/]/.test(f));
  out.resolved = require.resolve('longrunning');
  console.log(JSON.stringify(out));
}, (err) => { console.error(err); process.exit(1); });
`;

const ESM = `import { Code, LongRunningOperation, OperationFailedError, RpcError, TypeRegistry, grpcTransport } from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';
${FLOW_JS}
const out = await main('esm');
out.resolved = import.meta.resolve('longrunning');
console.log(JSON.stringify(out));
`;

/** TypeScript: the same flow, typed, plus compile-time checks of the public types. */
const TS_FLOW = (kind: string) => `
import { Code, LongRunningOperation, OperationFailedError, OperationsClient, RpcError, TypeRegistry, grpcTransport, restProfiles, restTransport } from 'longrunning';
import type { OperationResource, OperationSnapshot, OperationsTransport, ResumeToken } from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';

/** Compile-time only: the public types are what the docs say. */
function typeChecks(op: LongRunningOperation<string, { percent: number }>, transport: OperationsTransport): void {
  const pending: Promise<string> = op.promise({ timeoutMs: 1000, signal: AbortSignal.timeout(2000) });
  // @ts-expect-error promise() resolves with the response type
  const wrong: Promise<number> = op.promise();
  op.on('metadata', (m) => m.percent.toFixed());
  // @ts-expect-error metadata is typed
  op.on('metadata', (m) => m.nope);
  const token: ResumeToken = op.toJSON();
  LongRunningOperation.resume(token, { transport });
  const snapshot: Promise<OperationSnapshot<string, { percent: number }>> = op.poll();
  const client = new OperationsClient({ transport, decode: TypeRegistry.default() });
  const listed: AsyncIterable<LongRunningOperation> = client.list({ filter: 'done=false' });
  const rest: OperationsTransport = restTransport({ baseUrl: 'http://127.0.0.1:1', profile: restProfiles.cloudStorage });
  const resource: OperationResource = { name: 'operations/1', done: false };
  void [pending, wrong, snapshot, listed, rest, resource];
}

export async function main(): Promise<Record<string, unknown>> {
  const registry = TypeRegistry.default();
  const server = new FakeOperationsServer();
  const listener = await server.listenGrpc();
  const transport = grpcTransport({ address: listener.address });
  try {
    const created = server.create({ metadata: registry.encode('google.protobuf.StringValue', { value: 'half-way' }) });
    server.failNext('WaitOperation', { code: Code.UNAVAILABLE, message: 'flaky' });
    const op = new LongRunningOperation<string, string>(created, { transport, polling: { initialDelayMs: 5, maxDelayMs: 50 } });
    const metadata: string[] = [];
    op.on('metadata', (m) => metadata.push(m));
    setTimeout(() => server.complete(created.name, registry.encode('google.protobuf.StringValue', { value: 'hello from ${kind}' })), 50);
    const result: string = await op.promise({ timeoutMs: 15000 });
    const failing = server.create();
    server.fail(failing.name, { code: Code.FAILED_PRECONDITION, message: 'nope' });
    const failure: unknown = await new LongRunningOperation(failing.name, { transport }).promise().catch((e: unknown) => e);
    const notFound: unknown = await server.transport.getOperation('operations/missing').catch((e: unknown) => e);
    void typeChecks;
    return {
      kind: '${kind}',
      result,
      metadata,
      failure: failure instanceof OperationFailedError ? failure.name + ' ' + failure.code : String(failure),
      sharedErrorClass: notFound instanceof RpcError && notFound.code === Code.NOT_FOUND,
      waitCalls: server.calls.filter((c) => c.method === 'WaitOperation' && c.name === created.name).length,
    };
  } finally {
    transport.close();
    await listener.close();
  }
}

main().then((out) => console.log(JSON.stringify(out)), (err: unknown) => { console.error(err); process.exit(1); });
`;

const TS_COMMON = { target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], lib: ['es2022', 'dom'] };

const JEST_TEST = `'use strict';
const { Code, LongRunningOperation, OperationCancelledError, TypeRegistry, grpcTransport } = require('longrunning');
const { FakeOperationsServer } = require('longrunning/testing');

process.env.METADATA_SERVER_DETECTION = 'none';

test('waits for an operation over loopback gRPC, with the CommonJS build and no transforms', async () => {
  const registry = TypeRegistry.default();
  const server = new FakeOperationsServer();
  const { address, close } = await server.listenGrpc();
  const transport = grpcTransport({ address });
  try {
    const created = server.create();
    server.failNext('WaitOperation', { code: Code.UNAVAILABLE });
    const op = new LongRunningOperation(created, { transport, polling: { initialDelayMs: 5, maxDelayMs: 50 } });
    setTimeout(() => server.complete(created.name, registry.encode('google.protobuf.StringValue', { value: 'hello from jest' })), 50);
    await expect(op.promise({ timeoutMs: 15000 })).resolves.toBe('hello from jest');

    const other = server.create();
    const watched = new LongRunningOperation(other.name, { transport, polling: { initialDelayMs: 5, maxDelayMs: 50 } });
    const outcome = watched.promise();
    await watched.cancel();
    await expect(outcome).rejects.toBeInstanceOf(OperationCancelledError);
  } finally {
    transport.close();
    await close();
  }
});
`;

// ---------------------------------------------------------------------------

let work: string;
let tarball: string;
let consumer: string;
let packedFiles: string[];
const timings: Record<string, number> = {};

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings[label] = Date.now() - started;
  }
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'longrunning-package-'));
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
    if (fs.existsSync(path.join(ROOT, file))) fs.copyFileSync(path.join(ROOT, file), path.join(stage, file));
  }
  await timed('build', () => ok(NODE, [TSX, path.join(ROOT, 'scripts', 'build.ts'), '--out', path.join(stage, 'dist'), '--quiet'], { cwd: ROOT }));
  const packed = await timed('pack', () => npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage));
  const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);

  consumer = path.join(work, 'consumer');
  write(path.join(consumer, 'package.json'), JSON.stringify({ name: 'longrunning-consumer', private: true, type: 'commonjs', scripts: { test: 'jest' } }, null, 2));
  await timed('install', () =>
    npm(
      [
        'install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error',
        tarball,
        `typescript@${installedVersion('typescript')}`,
        `jest@${installedVersion('jest')}`,
        `@types/node@${installedVersion('@types/node')}`,
        // what the README's blocks and the examples import besides longrunning
        ...['tsx', 'protobufjs', 'cli-progress', '@types/cli-progress', '@google-cloud/video-intelligence', '@google-cloud/pubsub'].map((name) => `${name}@${installedVersion(name)}`),
      ],
      consumer,
    ),
  );
}, 180_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  if (Object.keys(timings).length > 0) console.log(`package checks on Node ${process.versions.node}: ${JSON.stringify(timings)}`);
});

test('the tarball holds the ESM and CommonJS builds with types, the CLI and no sources', () => {
  for (const file of [
    'package.json', 'README.md', 'CHANGELOG.md',
    'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/package.json', 'dist/esm/testing/index.js', 'dist/esm/testing/index.d.ts',
    'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'dist/cjs/testing/index.js', 'dist/cjs/testing/index.d.ts',
    'dist/cjs/cli/main.js', 'dist/THIRD_PARTY_LICENSES.txt',
  ]) {
    expect(packedFiles).toContain(file);
  }
  expect(packedFiles.filter((f) => /^(src|test|bench|examples|scripts)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

test('publint and @arethetypeswrong/cli find no problems in the tarball', async () => {
  const [publint, attw] = await timed('lint', () =>
    Promise.all([
      run(NODE, [path.join(ROOT, 'node_modules', 'publint', 'src', 'cli.js'), 'run', '--strict', tarball], { cwd: work }),
      run(NODE, [path.join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--format', 'json'], { cwd: work }),
    ]),
  );
  expect({ code: publint.code, out: publint.stdout + publint.stderr }).toEqual({ code: 0, out: expect.stringContaining('All good') });
  const report = JSON.parse(attw.stdout) as { analysis: { problems: unknown[] } };
  expect(report.analysis.problems).toEqual([]);
  expect(attw.code).toBe(0);
}, 60_000);

const expectedFlow = (kind: string) => ({
  kind,
  result: `hello from ${kind}`,
  metadata: ['half-way'],
  failure: 'OperationFailedError 9',
  sharedErrorClass: true,
  waitCalls: expect.any(Number),
});

test('CommonJS require() and ESM import both wait for an operation served by longrunning/testing', async () => {
  write(path.join(consumer, 'cjs.cjs'), CJS);
  write(path.join(consumer, 'esm.mjs'), ESM);
  const [cjs, esm] = await timed('cjs+esm', () => Promise.all([ok(NODE, ['cjs.cjs'], { cwd: consumer }), ok(NODE, ['esm.mjs'], { cwd: consumer })]));
  const fromCjs = JSON.parse(cjs.trim());
  expect(fromCjs).toEqual({ ...expectedFlow('cjs'), loadedEsm: [], resolved: expect.stringMatching(/dist[\\/]cjs[\\/]index\.js$/) });
  expect(fromCjs.waitCalls).toBeGreaterThanOrEqual(2); // UNAVAILABLE, retried
  const fromEsm = JSON.parse(esm.trim());
  expect(fromEsm).toEqual({ ...expectedFlow('esm'), resolved: expect.stringMatching(/dist\/esm\/index\.js$/) });
  expect(fromEsm.waitCalls).toBeGreaterThanOrEqual(2);
}, 60_000);

test('TypeScript consumers compile and run: module nodenext (.cts and .mts) and moduleResolution bundler', async () => {
  const nodenext = path.join(consumer, 'ts-nodenext');
  write(path.join(nodenext, 'main.cts'), TS_FLOW('nodenext-cjs'));
  write(path.join(nodenext, 'main.mts'), TS_FLOW('nodenext-esm'));
  write(path.join(nodenext, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...TS_COMMON, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', rootDir: '.' }, include: ['main.cts', 'main.mts'] }));
  const bundler = path.join(consumer, 'ts-bundler');
  write(path.join(bundler, 'main.ts'), TS_FLOW('bundler'));
  write(path.join(bundler, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...TS_COMMON, module: 'esnext', moduleResolution: 'bundler', outDir: 'out', rootDir: '.' }, include: ['main.ts'] }));
  write(path.join(bundler, 'out', 'package.json'), JSON.stringify({ type: 'module' }));
  const tsc = path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  await timed('tsc', () => Promise.all([ok(NODE, [tsc, '-p', nodenext]), ok(NODE, [tsc, '-p', bundler])]));
  const outputs = await timed('ts-run', () =>
    Promise.all([
      ok(NODE, [path.join(nodenext, 'out', 'main.cjs')], { cwd: consumer }),
      ok(NODE, [path.join(nodenext, 'out', 'main.mjs')], { cwd: consumer }),
      ok(NODE, [path.join(bundler, 'out', 'main.js')], { cwd: consumer }),
    ]),
  );
  expect(outputs.map((o) => JSON.parse(o.trim()))).toEqual([expectedFlow('nodenext-cjs'), expectedFlow('nodenext-esm'), expectedFlow('bundler')]);
}, 60_000);

test('a Jest 30 test in the consumer passes with Jest’s default configuration (no transforms)', async () => {
  write(path.join(consumer, '__tests__', 'longrunning.test.js'), JEST_TEST);
  const jest = path.join(consumer, 'node_modules', 'jest', 'bin', 'jest.js');
  const result = await timed('jest', () => run(NODE, [jest, '--ci', '--colors=false', '__tests__'], { cwd: consumer }));
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('1 passed') });
  expect(fs.existsSync(path.join(consumer, 'jest.config.js'))).toBe(false);
}, 60_000);

test('the tarball’s lro bin waits for an operation over gRPC and prints it as JSON', async () => {
  const registry = TypeRegistry.default();
  const server = new FakeOperationsServer();
  const { address, close } = await server.listenGrpc();
  try {
    const created = server.create({ metadata: registry.encode('google.protobuf.Struct', { value: { progressPercent: 50 } }) });
    const lro = path.join(consumer, 'node_modules', '.bin', 'lro');
    const version = await ok(lro, ['--version']);
    expect(version.trim()).toBe(rootPackage.version);
    const waiting = timed('lro', () => run(lro, ['wait', created.name, '--grpc', address, '--json', '--poll-interval', '100ms', '--timeout', '30s'], { cwd: consumer }));
    setTimeout(() => server.complete(created.name, registry.encode('google.protobuf.StringValue', { value: 'done by lro' })), 300);
    const result = await waiting;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      name: created.name,
      done: true,
      metadata: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { progressPercent: 50 } },
      response: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: 'done by lro' },
    });
    expect(result.stderr).toContain(`${created.name}: 50%`);
  } finally {
    await close();
  }
}, 60_000);

// ---------------------------------------------------------------------------
// README blocks and examples, in the consumer project
// ---------------------------------------------------------------------------

/** The ```ts blocks of README.md, with the line each starts on. */
function readmeBlocks(): { line: number; code: string }[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks: { line: number; code: string }[] = [];
  for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    blocks.push({ line: text.slice(0, match.index).split('\n').length, code: match[1] });
  }
  return blocks;
}

/** A block that needs nothing it does not create: no placeholders, no service on the internet. */
const selfContained = (code: string) => !/\bdeclare\b|new VideoIntelligenceServiceClient|https?:\/\/|:443\b/.test(code);

const STRICT_NODENEXT = { target: 'es2022', lib: ['es2022', 'dom'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: true, types: ['node'], noEmit: true };

test('every ts block of README.md compiles against the packed package (strict, module nodenext), each on its own', async () => {
  const blocks = readmeBlocks();
  expect(blocks.length).toBeGreaterThanOrEqual(9);
  const dir = path.join(consumer, 'readme');
  const files = blocks.map((block, i) => {
    const file = `block-${String(i).padStart(2, '0')}.mts`;
    write(path.join(dir, file), block.code);
    return file;
  });
  write(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: STRICT_NODENEXT, files }));
  const tsc = path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await timed('readme-tsc', () => run(NODE, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir }));
  // Point each error at its README line.
  const errors = (result.stdout + result.stderr).replace(/block-(\d+)\.mts\((\d+),(\d+)\)/g, (_m, i: string, line: string) => `README.md:${blocks[Number(i)].line + Number(line)}`);
  expect(errors).toBe('');
  expect(result.code).toBe(0);
}, 90_000);

test('the self-contained README blocks run: the first operation, and the testing block', async () => {
  const blocks = readmeBlocks();
  const runnable = blocks.map((block, i) => ({ ...block, i })).filter((block) => selfContained(block.code));
  expect(runnable.map((b) => b.code.includes('FakeOperationsServer'))).toEqual(runnable.map(() => true));
  expect(runnable.length).toBeGreaterThanOrEqual(3); // first operation, testing, faults
  const tsx = path.join(consumer, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const dir = path.join(consumer, 'readme-run');
  const outputs = await timed('readme-run', () =>
    Promise.all(
      runnable.map((block) => {
        const file = path.join(dir, `block-${block.i}.mts`);
        write(file, block.code);
        return run(NODE, [tsx, file], { cwd: consumer });
      }),
    ),
  );
  for (const [n, out] of outputs.entries()) {
    expect({ line: runnable[n].line, code: out.code, stderr: out.stderr }).toEqual({ line: runnable[n].line, code: 0, stderr: '' });
  }
  // The first block of the README is the first operation: it prints the progress, then the result.
  expect(runnable[0].i).toBe(0);
  expect(outputs[0].stdout).toBe("progress { progressPercent: 40 }\nresult done!\n");
}, 90_000);

test('the examples, copied into a project that installed the tarball, type-check and run', async () => {
  const dir = path.join(consumer, 'examples');
  const copied = ['grpc.ts', 'rest-cloud-storage.ts', 'demo.ts', 'gapic-client.ts', 'video-stand-in.ts'];
  for (const file of copied) {
    const text = fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8');
    // Nothing from this repository: packages, or a sibling example file copied with it.
    const relative = [...text.matchAll(/from '(\.{1,2}\/[^']*)'/g)].map((m) => m[1]);
    expect(relative.filter((spec) => !copied.includes(spec.replace(/^\.\//, '').replace(/\.js$/, '.ts')))).toEqual([]);
    write(path.join(dir, file), text);
  }
  const runs = ['grpc.ts', 'rest-cloud-storage.ts', 'demo.ts', 'gapic-client.ts'];
  write(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: STRICT_NODENEXT, files: copied }));
  const tsc = path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  const tsx = path.join(consumer, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const [checked, grpc, rest, demo, gapic] = await timed('examples', () =>
    Promise.all([
      run(NODE, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir }),
      ...runs.map((file) => run(NODE, [tsx, path.join(dir, file)], { cwd: dir })),
    ]),
  );
  expect({ code: checked.code, out: checked.stdout + checked.stderr }).toEqual({ code: 0, out: '' });
  expect({ code: grpc.code, stderr: grpc.stderr }).toEqual({ code: 0, stderr: '' });
  expect(grpc.stdout).toMatch(/^progress: \d+%$/m);
  expect(grpc.stdout.trimEnd().split('\n').pop()).toBe('built registry.example.com/app:1.2.3 (73400320 bytes)');
  expect({ code: rest.code, stderr: rest.stderr }).toEqual({ code: 0, stderr: '' });
  expect(rest.stdout).toContain('done: {"objectsRestored":1000,"status":"OK"}');
  expect(rest.stdout).toContain('listed projects/_/buckets/media-archive/operations/restore-2024-01 done=true');
  expect({ code: demo.code, stderr: demo.stderr }).toEqual({ code: 0, stderr: '' });
  expect(demo.stdout).toContain('export: succeeded → gs://demo/export.csv (1234567 rows)');
  expect(demo.stdout).toContain('reindex: cancelled (code 1)');
  expect({ code: gapic.code, stderr: gapic.stderr }).toEqual({ code: 0, stderr: '' });
  expect(gapic.stdout).toMatch(/^started projects\/test-project\/locations\/us-east1\/operations\/\d+\nprogress 25%\nprogress 50%\nprogress 75%\nprogress 100%\n/);
  expect(gapic.stdout).toContain('gs://cloud-samples-data/video/cat.mp4: cat (0s–5.500s, confidence 0.5)');
}, 90_000);
