/**
 * google-gax integration, real loopback sockets only: gaxTransport over a real
 * gax OperationsClient (gRPC and REST fallback), and fromGaxOperation over the
 * real generated VideoIntelligenceServiceClient.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { readFileSync } from 'node:fs';
import { VideoIntelligenceServiceClient, protos } from '@google-cloud/video-intelligence';
import * as gax from 'google-gax';
import { main as runGapicExample, type VideoProgress, type VideoResult } from '../examples/gapic-client.js';
import { TypeRegistry } from '../src/codec/registry.js';
import {
  DecodeError,
  InvalidOperationError,
  OperationCancelledError,
  OperationFailedError,
  RpcError,
} from '../src/errors.js';
import { LongRunningOperation } from '../src/operation.js';
import { fromGaxOperation } from '../src/gax-operation.js';
import { FakeOperationsServer } from '../src/testing/fake-server.js';
import { serveGrpc, type ServedCall } from '../src/testing/grpc-server.js';
import {
  anyFromGax,
  gaxTransport,
  operationFromGax,
  type GaxTransport,
  rpcErrorFromGax,
  type GaxOperation,
  type GaxOperationsClient,
} from '../src/transports/gax.js';
import { Code, type CallOptions, type OperationResource, type OperationsTransport } from '../src/types.js';
import { progress, registry as testRegistry, result } from './support/protos.js';
import {
  LABEL,
  PROGRESS_TYPE,
  RESPONSE_TYPE,
  START_TIME,
  fakeAuth,
  loopbackClientOptions,
  progressJson,
  responseJson,
  startVideoServer,
  videoRegistry,
  videoRoot,
  type FakeAuth,
  type VideoServer,
} from './support/video-server.js';

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';
const FAST = { polling: { initialDelayMs: 10, maxDelayMs: 40 } };
const INPUT_URI = 'gs://cloud-samples-data/video/cat.mp4';
const LABEL_DETECTION = protos.google.cloud.videointelligence.v1.Feature.LABEL_DETECTION;

/** A real google-gax OperationsClient (gRPC) on a loopback port. */
function grpcOperationsClient(port: number, auth: FakeAuth = fakeAuth()): gax.OperationsClient {
  const options = loopbackClientOptions(port, auth);
  return gax.lro({ auth: options.auth }).operationsClient(options);
}

/** Polls until `predicate` holds (for waiting on server-side events). */
async function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

// ---------------------------------------------------------------------------
// a. gaxTransport over a real gax OperationsClient
// ---------------------------------------------------------------------------

describe('gaxTransport over a gRPC google-gax OperationsClient', () => {
  let fake: FakeOperationsServer;
  let listener: { address: string; port: number; close(): Promise<void> };
  let client: gax.OperationsClient;
  let transport: OperationsTransport;
  let auth: FakeAuth;

  beforeEach(async () => {
    fake = new FakeOperationsServer();
    listener = await fake.listenGrpc();
    auth = fakeAuth();
    client = grpcOperationsClient(listener.port, auth);
    transport = gaxTransport(client);
  });

  afterEach(async () => {
    client.close();
    await fake.close();
  });

  it('gets running, succeeded and failed operations as OperationResources', async () => {
    const running = fake.create({ metadata: progress(10, 'upload') });
    const succeeded = fake.create();
    fake.complete(succeeded.name, result('gs://bucket/out', 42));
    const failed = fake.create();
    const errorInfo = TypeRegistry.default().encode('google.rpc.ErrorInfo', { reason: 'QUOTA', domain: 'example.com' });
    fake.fail(failed.name, { code: Code.RESOURCE_EXHAUSTED, message: 'out of quota', details: [errorInfo] });

    expect(await transport.getOperation(running.name)).toEqual({ name: running.name, done: false, metadata: progress(10, 'upload') });
    expect(await transport.getOperation(succeeded.name)).toEqual({ name: succeeded.name, done: true, response: result('gs://bucket/out', 42) });
    expect(await transport.getOperation(failed.name)).toEqual({
      name: failed.name,
      done: true,
      error: { code: Code.RESOURCE_EXHAUSTED, message: 'out of quota', details: [errorInfo] },
    });
    // Plain Uint8Arrays, not Buffers viewing the received frame.
    const resource = await transport.getOperation(running.name);
    expect(Object.getPrototypeOf(resource.metadata!.value)).toBe(Uint8Array.prototype);
    // The fake auth client was asked for the universe domain only: no credential lookup.
    expect(auth.calls.every((c) => c === 'getUniverseDomain')).toBe(true);
  });

  it('cancels and deletes', async () => {
    const op = fake.create();
    await expect(transport.cancelOperation(op.name)).resolves.toBeUndefined();
    expect((await transport.getOperation(op.name)).error).toMatchObject({ code: Code.CANCELLED });
    await expect(transport.deleteOperation(op.name)).resolves.toBeUndefined();
    const err = await rejection(transport.getOperation(op.name));
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: Code.NOT_FOUND, rawMessage: `operation ${op.name} not found` });
  });

  it('lists one page at a time, reading nextPageToken from the raw response', async () => {
    const names = Array.from({ length: 5 }, () => fake.create().name);
    fake.complete(names[1]!);
    const seen: string[] = [];
    const tokens: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await transport.listOperations({ name: 'operations', pageSize: 2, ...(pageToken ? { pageToken } : {}) });
      expect(page.operations.length).toBeLessThanOrEqual(2);
      seen.push(...page.operations.map((o) => o.name));
      tokens.push(page.nextPageToken);
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    expect(seen).toEqual(names);
    expect(tokens).toHaveLength(3);
    expect(tokens[2]).toBe('');
    expect(fake.calls.filter((c) => c.method === 'ListOperations')).toHaveLength(3);

    const done = await transport.listOperations({ name: 'operations', filter: 'done=true' });
    expect(done).toEqual({ operations: [{ name: names[1], done: true }], nextPageToken: '' });
  });

  it('calls WaitOperation through the gRPC stub: blocks until done, or returns not done at its timeout', async () => {
    expect(typeof transport.waitOperation).toBe('function');
    const op = fake.create();
    const early = await transport.waitOperation!(op.name, 50);
    expect(early).toEqual({ name: op.name, done: false });

    setTimeout(() => fake.complete(op.name, result('gs://bucket/done')), 50);
    const started = Date.now();
    const finished = await transport.waitOperation!(op.name, 10_000);
    expect(finished).toEqual({ name: op.name, done: true, response: result('gs://bucket/done') });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(2);
  });

  it('maps errors to RpcError with the canonical code and decoded details', async () => {
    const op = fake.create();
    fake.failNext('GetOperation', {
      code: Code.PERMISSION_DENIED,
      message: 'caller lacks permission',
      details: [
        { '@type': ERROR_INFO, reason: 'IAM_PERMISSION_DENIED', domain: 'example.com', metadata: { permission: 'ops.get' } },
        { '@type': RETRY_INFO, retryDelay: '2s' },
      ],
    });
    const err = (await rejection(transport.getOperation(op.name))) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.rawMessage).toBe('caller lacks permission');
    expect(err.message).toBe('PERMISSION_DENIED: caller lacks permission');
    expect(err.details).toEqual([
      { '@type': ERROR_INFO, reason: 'IAM_PERMISSION_DENIED', domain: 'example.com', metadata: { permission: 'ops.get' } },
      { '@type': RETRY_INFO, retryDelay: '2s' },
    ]);

    fake.failNext('WaitOperation', { code: Code.UNAVAILABLE, message: 'try later' });
    await expect(transport.waitOperation!(op.name, 1_000)).rejects.toMatchObject({ name: 'RpcError', code: Code.UNAVAILABLE });
    fake.failNext('ListOperations', { code: Code.INVALID_ARGUMENT, message: 'bad filter' });
    await expect(transport.listOperations({ name: 'operations' })).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    fake.failNext('CancelOperation', { code: Code.UNIMPLEMENTED });
    await expect(transport.cancelOperation(op.name)).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    fake.failNext('DeleteOperation', { code: Code.FAILED_PRECONDITION });
    await expect(transport.deleteOperation(op.name)).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
  });

  it("turns gax's own retrying off by default (one RPC per call), on with gaxRetries", async () => {
    const op = fake.create();
    fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'blip' });
    await expect(transport.getOperation(op.name)).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(fake.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(1);

    const retrying = gaxTransport(client, { gaxRetries: true });
    fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'blip' });
    await expect(retrying.getOperation(op.name)).resolves.toEqual({ name: op.name, done: false });
    expect(fake.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(3);
  });

  it('rejects at once with the reason of an already aborted signal, making no call', async () => {
    const op = fake.create();
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    const before = fake.calls.length;
    await expect(transport.getOperation(op.name, { signal })).rejects.toBe(reason);
    await expect(transport.waitOperation!(op.name, 1_000, { signal })).rejects.toBe(reason);
    await expect(transport.cancelOperation(op.name, { signal })).rejects.toBe(reason);
    await expect(transport.deleteOperation(op.name, { signal })).rejects.toBe(reason);
    await expect(transport.listOperations({ name: 'operations' }, { signal })).rejects.toBe(reason);
    const plain = AbortSignal.abort();
    await expect(transport.getOperation(op.name, { signal: plain })).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.calls.length).toBe(before);
    expect(fake.get(op.name)).toEqual({ name: op.name, done: false });
  });

  it('aborting a WaitOperation mid-call rejects with the reason and never cancels the operation', async () => {
    const op = fake.create();
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const waiting = transport.waitOperation!(op.name, 10_000, { signal: controller.signal });
    await until(() => fake.calls.some((c) => c.method === 'WaitOperation'), 'the WaitOperation to arrive');
    const started = Date.now();
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.calls.some((c) => c.method === 'CancelOperation')).toBe(false);
    expect(fake.get(op.name)?.done).toBe(false);
  });

  it('leaves waitOperation undefined when asked to', () => {
    expect(gaxTransport(client, { waitOperation: false }).waitOperation).toBeUndefined();
  });

  it('a LongRunningOperation on gaxTransport waits with WaitOperation and reports progress', async () => {
    const created = fake.create({ metadata: progress(10) });
    const op = new LongRunningOperation<{ uri: string }, { percent: number }>(created, {
      transport,
      decode: testRegistry,
      progressIntervalMs: 250,
      ...FAST,
    });
    const percents: number[] = [];
    op.on('metadata', (m) => percents.push(m.percent));
    const done = op.promise({ timeoutMs: 20_000 });

    // Each change lands while a WaitOperation is blocked on the server.
    for (const percent of [30, 60]) {
      const waits = fake.calls.filter((c) => c.method === 'WaitOperation').length;
      await until(() => fake.calls.filter((c) => c.method === 'WaitOperation').length > waits, 'the next WaitOperation');
      fake.update(created.name, { metadata: progress(percent) });
    }
    const waits = fake.calls.filter((c) => c.method === 'WaitOperation').length;
    await until(() => fake.calls.filter((c) => c.method === 'WaitOperation').length > waits, 'the next WaitOperation');
    fake.complete(created.name, result('gs://bucket/video.mp4', 7), { metadata: progress(100) });

    await expect(done).resolves.toEqual({ uri: 'gs://bucket/video.mp4', sizeBytes: '7', kind: 'VIDEO' });
    expect(percents).toEqual([30, 60, 100]);
    expect(fake.calls.every((c) => c.method === 'WaitOperation')).toBe(true);
  });

  it('falls back to polling when the server has no WaitOperation, and remembers it per transport', async () => {
    const polling = new FakeOperationsServer({ waitOperation: false });
    const pollListener = await polling.listenGrpc();
    const pollClient = grpcOperationsClient(pollListener.port);
    try {
      const pollTransport = gaxTransport(pollClient);
      const first = polling.create({ metadata: progress(5) });
      const op = new LongRunningOperation<{ uri: string }, { percent: number }>(first, { transport: pollTransport, decode: testRegistry, ...FAST });
      const percents: number[] = [];
      op.on('metadata', (m) => percents.push(m.percent));
      const done = op.promise({ timeoutMs: 20_000 });
      await until(() => polling.calls.filter((c) => c.method === 'GetOperation').length >= 1, 'the first poll');
      polling.update(first.name, { metadata: progress(50) });
      await until(() => polling.calls.filter((c) => c.method === 'GetOperation').length >= 3, 'more polls');
      polling.complete(first.name, result('gs://bucket/a'), { metadata: progress(100) });
      await expect(done).resolves.toMatchObject({ uri: 'gs://bucket/a' });
      expect(percents[0]).toBe(5);
      expect(percents).toContain(50);
      expect(percents.at(-1)).toBe(100);
      expect(polling.calls[0]).toEqual({ method: 'WaitOperation', name: first.name });
      expect(polling.calls.slice(1).every((c) => c.method === 'GetOperation')).toBe(true);

      // A second operation on the same transport goes straight to polling.
      const second = polling.create();
      polling.complete(second.name, result('gs://bucket/b'));
      const before = polling.calls.length;
      await expect(new LongRunningOperation(second.name, { transport: pollTransport, decode: testRegistry }).promise()).resolves.toMatchObject({
        uri: 'gs://bucket/b',
      });
      expect(polling.calls.slice(before).map((c) => c.method)).toEqual(['GetOperation']);
    } finally {
      pollClient.close();
      await polling.close();
    }
  });

  it('rejects calls on a closed client with FAILED_PRECONDITION', async () => {
    const op = fake.create();
    await transport.getOperation(op.name); // the stub exists
    client.close();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(transport.getOperation(op.name)).rejects.toMatchObject({ name: 'RpcError', code: Code.FAILED_PRECONDITION });
    await expect(transport.waitOperation!(op.name, 100)).rejects.toMatchObject({ name: 'RpcError', code: Code.FAILED_PRECONDITION });
  });
});

describe('gaxTransport deadlines and mid-call aborts (scripted backend behind serveGrpc)', () => {
  /** A backend whose calls hang until their signal aborts; records what each call got. */
  class HangingBackend implements OperationsTransport {
    readonly seen: { method: string; timeoutMs?: number; options?: CallOptions; aborted?: unknown }[] = [];
    private hang(method: string, options?: CallOptions, timeoutMs?: number): Promise<never> {
      const entry: { method: string; timeoutMs?: number; options?: CallOptions; aborted?: unknown } = { method, options };
      if (timeoutMs !== undefined) entry.timeoutMs = timeoutMs;
      this.seen.push(entry);
      return new Promise<never>((_, reject) => {
        options?.signal?.addEventListener('abort', () => {
          entry.aborted = options.signal!.reason;
          reject(options.signal!.reason);
        });
      });
    }
    getOperation(_name: string, options?: CallOptions): Promise<OperationResource> {
      return this.hang('GetOperation', options);
    }
    async waitOperation(name: string, timeoutMs: number, options?: CallOptions): Promise<OperationResource> {
      if (name === 'operations/answer') {
        this.seen.push({ method: 'WaitOperation', timeoutMs, ...(options ? { options } : {}) });
        return { name, done: true };
      }
      return this.hang('WaitOperation', options, timeoutMs);
    }
    cancelOperation(_name: string, options?: CallOptions): Promise<void> {
      return this.hang('CancelOperation', options);
    }
    deleteOperation(_name: string, options?: CallOptions): Promise<void> {
      return this.hang('DeleteOperation', options);
    }
    listOperations(): Promise<never> {
      return this.hang('ListOperations');
    }
  }

  let backend: HangingBackend;
  let server: Awaited<ReturnType<typeof serveGrpc>>;
  let client: gax.OperationsClient;
  let transport: GaxTransport;
  const served: ServedCall[] = [];

  beforeEach(async () => {
    backend = new HangingBackend();
    served.length = 0;
    server = await serveGrpc(backend, { onCall: (call) => void served.push(call) });
    client = grpcOperationsClient(server.port);
    transport = gaxTransport(client);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('timeoutMs becomes the gax timeout: DEADLINE_EXCEEDED when it passes', async () => {
    const started = Date.now();
    await expect(transport.getOperation('operations/slow', { timeoutMs: 150 })).rejects.toMatchObject({
      name: 'RpcError',
      code: Code.DEADLINE_EXCEEDED,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(served[0]!.deadlineMs).toBeGreaterThan(0);
    expect(served[0]!.deadlineMs).toBeLessThanOrEqual(150);
  });

  it('WaitOperation sends its timeout and a longer RPC deadline', async () => {
    await expect(transport.waitOperation!('operations/answer', 2_000)).resolves.toEqual({ name: 'operations/answer', done: true });
    expect(backend.seen[0]).toMatchObject({ method: 'WaitOperation', timeoutMs: 2_000 });
    expect(served[0]!.deadlineMs).toBeGreaterThan(2_000);
    expect(served[0]!.deadlineMs).toBeLessThanOrEqual(3_000);

    await transport.waitOperation!('operations/answer', 2_000, { timeoutMs: 5_000 });
    expect(served[1]!.deadlineMs).toBeGreaterThan(4_000);
    expect(served[1]!.deadlineMs).toBeLessThanOrEqual(5_000);
  });

  it('close() rejects every call in flight at once with FAILED_PRECONDITION, cancels them on the wire, and refuses later calls', async () => {
    const waits = Array.from({ length: 20 }, (_, i) => transport.waitOperation!(`operations/slow-${i}`, 30_000).catch((err: unknown) => err));
    const get = transport.getOperation('operations/slow-get').catch((err: unknown) => err);
    const op = new LongRunningOperation('operations/slow-op', { transport, waitOperation: 'never' });
    const watched = op.promise().catch((err: unknown) => err);
    await until(() => backend.seen.length === 22, 'every call to reach the server');
    const closedAt = Date.now();
    transport.close();
    const outcomes = await Promise.all([...waits, get, watched]);
    expect(Date.now() - closedAt).toBeLessThan(1_000);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ name: 'RpcError', code: Code.FAILED_PRECONDITION, message: expect.stringContaining('closed') });
    // Cancelled on the wire, not left to run until their deadlines.
    await until(() => backend.seen.every((s) => s.aborted !== undefined), 'the server to see every call cancelled');
    await expect(transport.getOperation('operations/later')).rejects.toMatchObject({ name: 'RpcError', code: Code.FAILED_PRECONDITION });
    await expect(transport.waitOperation!('operations/later', 1_000)).rejects.toMatchObject({ name: 'RpcError', code: Code.FAILED_PRECONDITION });
    expect(backend.seen).toHaveLength(22);
  });

  it.each(['getOperation', 'cancelOperation', 'deleteOperation', 'waitOperation'] as const)(
    'aborting %s mid-call cancels the gax call on the wire and rejects with the reason',
    async (method) => {
      const controller = new AbortController();
      const reason = new Error(`abort ${method}`);
      const pending =
        method === 'waitOperation'
          ? transport.waitOperation!('operations/slow', 30_000, { signal: controller.signal })
          : transport[method]('operations/slow', { signal: controller.signal });
      await until(() => backend.seen.length === 1, `${method} to reach the server`);
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await until(() => backend.seen[0]!.aborted !== undefined, 'the server to see the cancellation');
      expect(backend.seen[0]!.aborted).toMatchObject({ code: Code.CANCELLED });
    },
  );
});

describe('gaxTransport over the REST fallback OperationsClient', () => {
  it('maps REST answers and errors, has no WaitOperation, and polls instead', async () => {
    const fake = new FakeOperationsServer();
    const http = await fake.listenHttp();
    const url = new URL(http.baseUrl);
    const auth = fakeAuth();
    // The generated clients give the fallback their services' HTTP rules; these are the standard ones.
    const protoJson = gax.protobufFromJSON(
      JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')),
    );
    const client = gax.fallback
      .lro({
        auth: auth as never,
        protoJson,
        httpRules: [
          { selector: 'google.longrunning.Operations.GetOperation', get: '/v1/{name=operations/**}' },
          { selector: 'google.longrunning.Operations.ListOperations', get: '/v1/{name=operations}' },
          { selector: 'google.longrunning.Operations.CancelOperation', post: '/v1/{name=operations/**}:cancel', body: '*' },
          { selector: 'google.longrunning.Operations.DeleteOperation', delete: '/v1/{name=operations/**}' },
        ],
      })
      .operationsClient({ servicePath: '127.0.0.1', port: Number(url.port), protocol: 'http', universeDomain: 'googleapis.com' });
    try {
      const transport = gaxTransport(client);
      const registry = TypeRegistry.default();
      const duration = registry.encode('google.protobuf.Duration', { value: '1.500s' });
      const a = fake.create({ metadata: duration });
      expect(await transport.getOperation(a.name)).toEqual({ name: a.name, done: false, metadata: duration });

      fake.create();
      const page = await transport.listOperations({ name: 'operations', pageSize: 1 });
      expect(page.operations.map((o) => o.name)).toEqual([a.name]);
      expect(page.nextPageToken).not.toBe('');

      fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'later', details: [{ '@type': RETRY_INFO, retryDelay: '2s' }] });
      await expect(transport.getOperation(a.name)).rejects.toMatchObject({
        name: 'RpcError',
        code: Code.UNAVAILABLE,
        rawMessage: 'later',
        details: [{ '@type': RETRY_INFO, retryDelay: '2s' }],
      });
      await expect(transport.getOperation('operations/none')).rejects.toMatchObject({ code: Code.NOT_FOUND });

      // No WaitOperation over REST: UNIMPLEMENTED without any request, so the loop polls.
      const requests = auth.calls.filter((c) => c === 'fetch').length;
      await expect(transport.waitOperation!(a.name, 1_000)).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
      expect(auth.calls.filter((c) => c === 'fetch').length).toBe(requests);

      const op = new LongRunningOperation(a.name, { transport, ...FAST });
      const done = op.promise({ timeoutMs: 20_000 });
      await until(() => fake.calls.filter((c) => c.method === 'GetOperation').length >= 4, 'a poll');
      fake.complete(a.name, registry.encode('google.protobuf.Duration', { value: '3s' }));
      await expect(done).resolves.toBe('3s');
      expect(fake.calls.some((c) => c.method === 'WaitOperation')).toBe(false);

      await transport.cancelOperation(fake.create().name);
      await transport.deleteOperation(a.name);
      expect(fake.get(a.name)).toBeUndefined();
    } finally {
      client.close();
      await fake.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Conversions and errors, without sockets
// ---------------------------------------------------------------------------

describe('gax message and error conversions', () => {
  it('reads both Any spellings, base64 bytes, JSON Anys, and the result oneof', () => {
    const bytes = new Uint8Array([8, 1]);
    expect(anyFromGax({ type_url: 'type.googleapis.com/x.Y', value: Buffer.from(bytes) })).toEqual({ typeUrl: 'type.googleapis.com/x.Y', value: bytes });
    expect(anyFromGax({ typeUrl: 'type.googleapis.com/x.Y', value: 'CAE=' })).toEqual({ typeUrl: 'type.googleapis.com/x.Y', value: bytes });
    expect(anyFromGax({ type_url: 'type.googleapis.com/x.Y', value: null })).toEqual({ typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array() });
    expect(anyFromGax({ '@type': RETRY_INFO, retryDelay: '1s' })).toEqual({ typeUrl: RETRY_INFO, json: { retryDelay: '1s' } });
    expect(
      operationFromGax({ name: 'operations/1', done: true, metadata: null, error: { code: 5, message: 'gone', details: [] }, response: null, result: 'error' }),
    ).toEqual({ name: 'operations/1', done: true, error: { code: 5, message: 'gone', details: [] } });
  });

  it('passes malformed input on, for the operation to reject with a typed error', () => {
    const client = { getOperation: jest.fn(), cancelOperation: jest.fn(), deleteOperation: jest.fn(), listOperations: jest.fn() };
    const bad = { latestResponse: { name: 'operations/1', done: true, response: { type_url: 42, value: 'x' } }, longrunningDescriptor: { operationsClient: client } };
    expect(() => fromGaxOperation(bad as unknown as GaxOperation)).toThrow(InvalidOperationError);
    const both = {
      latestResponse: { name: 'operations/2', done: true, error: { code: 2, message: 'x', details: [] }, response: { type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) } },
      longrunningDescriptor: { operationsClient: client },
    };
    expect(() => fromGaxOperation(both)).toThrow(/both error and response/);
    expect(client.getOperation).not.toHaveBeenCalled();
  });

  it('maps gax errors without a code or with a string code', () => {
    expect(rpcErrorFromGax(new Error('boom'))).toMatchObject({ code: Code.UNKNOWN, rawMessage: 'boom' });
    expect(rpcErrorFromGax(Object.assign(new Error('x'), { code: 'NOT_FOUND' }))).toMatchObject({ code: Code.NOT_FOUND });
    expect(rpcErrorFromGax('The client has already been closed.')).toMatchObject({ code: Code.UNKNOWN });
    expect(rpcErrorFromGax(new Error('Channel has been shut down'))).toMatchObject({ code: Code.FAILED_PRECONDITION });
    const garbage = { code: 3, details: 'bad', metadata: { get: () => [Buffer.from([0xff, 0xff, 0xff])] } };
    expect(rpcErrorFromGax(garbage)).toMatchObject({ code: 3, rawMessage: 'bad', details: [] });
  });

  it("maps google-gax 6's UNAVAILABLE for a 2xx body its fallback cannot decode to INTERNAL, and nothing else", () => {
    // gax 6 wraps the decoder's own error: new GoogleError(err.message), code 14, cause err.
    const undecodable = (cause: Error) => Object.assign(new Error(cause.message), { code: Code.UNAVAILABLE, cause });
    expect(rpcErrorFromGax(undecodable(new SyntaxError(`Unexpected token '<', "<html>" is not valid JSON`)))).toMatchObject({ code: Code.INTERNAL });
    expect(rpcErrorFromGax(undecodable(new Error('googleProtobufAnyFromProto3JSON: cannot find type google.rpc.ErrorInfo')))).toMatchObject({
      code: Code.INTERNAL,
      rawMessage: 'googleProtobufAnyFromProto3JSON: cannot find type google.rpc.ErrorInfo',
    });
    // Requests that got no answer stay UNAVAILABLE: a lost connection, a system error, an HTTP 503.
    const fetchFailed = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(rpcErrorFromGax(undecodable(fetchFailed))).toMatchObject({ code: Code.UNAVAILABLE });
    expect(rpcErrorFromGax(undecodable(Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' })))).toMatchObject({ code: Code.UNAVAILABLE });
    expect(rpcErrorFromGax(Object.assign(undecodable(new Error('unavailable')), { httpStatusCode: 503 }))).toMatchObject({ code: Code.UNAVAILABLE });
    expect(rpcErrorFromGax(Object.assign(new Error('try later'), { code: Code.UNAVAILABLE }))).toMatchObject({ code: Code.UNAVAILABLE });
  });

  it('rejects things that are not gax objects', () => {
    expect(() => gaxTransport({} as GaxOperationsClient)).toThrow(TypeError);
    expect(() => fromGaxOperation({} as GaxOperation)).toThrow(TypeError);
  });

  it('fails with DecodeError when the client decoder rejects the bytes', async () => {
    const client = { getOperation: jest.fn(), cancelOperation: jest.fn(), deleteOperation: jest.fn(), listOperations: jest.fn() };
    const Progress = videoRoot.lookupType(PROGRESS_TYPE);
    const op = fromGaxOperation({
      latestResponse: { name: 'operations/1', done: true, metadata: { type_url: `type.googleapis.com/${PROGRESS_TYPE}`, value: Buffer.from([0x0a, 0xff]) } },
      longrunningDescriptor: { operationsClient: client, metadataDecoder: Progress.decode.bind(Progress) },
    });
    await expect(op.promise()).rejects.toBeInstanceOf(DecodeError);
  });
});

// ---------------------------------------------------------------------------
// b. The generated-client proof: VideoIntelligenceServiceClient + fromGaxOperation
// ---------------------------------------------------------------------------

describe('fromGaxOperation with the generated VideoIntelligenceServiceClient', () => {
  let server: VideoServer;
  let client: VideoIntelligenceServiceClient;
  let auth: FakeAuth;

  const expectedResponse = videoRegistry.decode(videoRegistry.encode(RESPONSE_TYPE, responseJson([INPUT_URI]))) as VideoResult;

  beforeEach(async () => {
    server = await startVideoServer();
    auth = fakeAuth();
    client = new VideoIntelligenceServiceClient(server.clientOptions(auth));
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('resolves with the decoded AnnotateVideoResponse and reports AnnotateVideoProgress', async () => {
    const [operation] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    expect(operation.name).toBe('projects/test-project/locations/us-east1/operations/1');

    const op = fromGaxOperation<VideoResult, VideoProgress>(operation, FAST);
    expect(op.name).toBe(operation.name);
    expect(op.metadata).toEqual(videoRegistry.decode(videoRegistry.encode(PROGRESS_TYPE, progressJson([INPUT_URI], 0))));
    const percents: number[] = [];
    const snapshots: VideoProgress[] = [];
    op.on('metadata', (metadata) => {
      snapshots.push(metadata);
      percents.push(metadata.annotationProgress[0]!.progressPercent);
    });
    const response = await op.promise({ timeoutMs: 20_000 });

    expect(percents).toEqual([25, 50, 75, 100]);
    expect(snapshots[0]!.annotationProgress[0]).toEqual({
      inputUri: INPUT_URI,
      progressPercent: 25,
      startTime: START_TIME,
      updateTime: '2024-05-01T12:00:30Z',
      feature: 'LABEL_DETECTION', // enums as names
    });
    // A plain proto3 JSON object, the same as TypeRegistry.fromRoot(the client's root) gives.
    expect(response).toEqual(expectedResponse);
    expect(Object.getPrototypeOf(response)).toBe(Object.prototype);
    expect(response.annotationResults[0]).toMatchObject({
      inputUri: INPUT_URI,
      segmentLabelAnnotations: [{ entity: LABEL, segments: [{ segment: { startTimeOffset: '0s', endTimeOffset: '5.500s' }, confidence: 0.5 }] }],
    });
    // WaitOperation through the gax stub (the server answers at once), never a poll.
    const methods = server.calls.map((c) => c.method);
    expect(methods[0]).toBe('AnnotateVideo');
    expect(methods.slice(1).every((m) => m === 'WaitOperation')).toBe(true);
    expect(server.calls.filter((c) => c.method === 'WaitOperation').every((c) => c.deadlineMs! > c.timeoutMs!)).toBe(true);
    // Nothing looked for credentials.
    expect(auth.calls.filter((c) => c !== 'getUniverseDomain')).toEqual([]);
  });

  it("works side by side with gax's own operation.promise()", async () => {
    const [operation] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    const op = fromGaxOperation<VideoResult, VideoProgress>(operation, FAST);
    const percents: number[] = [];
    op.on('metadata', (m) => percents.push(m.annotationProgress[0]!.progressPercent));

    const [ours, [gaxResponse, gaxMetadata]] = await Promise.all([op.promise({ timeoutMs: 20_000 }), operation.promise()]);
    expect(ours).toEqual(expectedResponse);
    // gax hands back protobufjs messages; same content.
    expect(gaxResponse.annotationResults?.[0]?.inputUri).toBe(INPUT_URI);
    expect(gaxResponse.annotationResults?.[0]?.segmentLabelAnnotations?.[0]?.entity?.description).toBe('cat');
    expect(gaxMetadata.annotationProgress?.[0]?.progressPercent).toBe(100);
    expect(percents.at(-1)).toBe(100);
    expect([...percents].sort((x, y) => x - y)).toEqual(percents);
  });

  it('one transport per client: after UNIMPLEMENTED, later operations poll straight away', async () => {
    await client.close();
    await server.close();
    server = await startVideoServer({ waitOperation: false });
    client = new VideoIntelligenceServiceClient(server.clientOptions());

    const [first] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    await expect(fromGaxOperation<VideoResult>(first, FAST).promise()).resolves.toEqual(expectedResponse);
    const [second] = await client.annotateVideo({ inputUri: 'gs://bucket/dog.mp4', features: [LABEL_DETECTION] });
    const response = await fromGaxOperation<VideoResult>(second, FAST).promise();
    expect(response.annotationResults[0]!.inputUri).toBe('gs://bucket/dog.mp4');
    expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
    expect(server.calls.filter((c) => c.method === 'GetOperation').length).toBeGreaterThanOrEqual(8);
  });

  it('an operation that fails rejects with OperationFailedError and decoded details', async () => {
    const [operation] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    server.fake.fail(operation.name!, {
      code: Code.PERMISSION_DENIED,
      message: 'cannot read the input video',
      details: [TypeRegistry.default().encode('google.rpc.ErrorInfo', { reason: 'BUCKET_ACCESS', domain: 'videointelligence.googleapis.com' })],
    });
    const err = (await rejection(fromGaxOperation(operation, FAST).promise())) as OperationFailedError;
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.details).toEqual([{ '@type': ERROR_INFO, reason: 'BUCKET_ACCESS', domain: 'videointelligence.googleapis.com', metadata: {} }]);
  });

  it('cancel() goes through the client’s OperationsClient', async () => {
    const [operation] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    const op = fromGaxOperation(operation, FAST);
    await op.cancel();
    await expect(op.promise()).rejects.toBeInstanceOf(OperationCancelledError);
    expect(server.calls.map((c) => c.method)).toContain('CancelOperation');
  });

  it('an already finished operation needs no RPC', async () => {
    const [operation] = await client.annotateVideo({ inputUri: INPUT_URI, features: [LABEL_DETECTION] });
    server.fake.complete(operation.name!, videoRegistry.encode(RESPONSE_TYPE, responseJson([INPUT_URI])));
    // The client's own helper re-reads the operation: a gax Operation that is already done.
    const finished = await client.checkAnnotateVideoProgress(operation.name!);
    expect(finished.done).toBe(true);
    const calls = server.calls.length;
    await expect(fromGaxOperation<VideoResult>(finished).promise()).resolves.toEqual(expectedResponse);
    expect(server.calls.length).toBe(calls);
  });
});

describe('examples/gapic-client.ts', () => {
  it('runs the README-style flow and exits cleanly', async () => {
    const lines: string[] = [];
    const { progress: percents, result: response } = await runGapicExample((line) => lines.push(line));
    expect(percents).toEqual([25, 50, 75, 100]);
    expect(response.annotationResults[0]!.segmentLabelAnnotations[0]!.entity.description).toBe('cat');
    expect(lines[0]).toMatch(/^started projects\/test-project\/locations\/us-east1\/operations\/\d+$/);
    expect(lines).toContain('progress 100%');
    expect(lines.at(-1)).toContain('cat');
  });
});
