/**
 * Loopback tests of the gRPC transport against the grpc-js test server,
 * both real sockets on 127.0.0.1.
 */
import * as grpc from '@grpc/grpc-js';
import { builtinType } from '../src/codec/protos.js';
import { RpcError } from '../src/errors.js';
import { FakeOperationsServer } from '../src/testing/fake-server.js';
import { serveGrpc, type GrpcTestServer, type ServedCall } from '../src/testing/grpc-server.js';
import {
  decodeOperation,
  encodeOperation,
  grpcTransport,
  msToDuration,
  durationToMs,
  operationsServiceDefinition,
  type GrpcTransport,
} from '../src/transports/grpc.js';
import {
  Code,
  type CallOptions,
  type ListOperationsRequest,
  type ListOperationsResponse,
  type OperationResource,
  type OperationsTransport,
} from '../src/types.js';

const TYPE_PREFIX = 'type.googleapis.com/';

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function encodeMessage(typeName: string, fields: Record<string, unknown>): Uint8Array {
  const type = builtinType(typeName);
  return type.encode(type.fromObject(fields)).finish();
}

/** One recorded backend call. */
interface BackendCall {
  method: string;
  name: string;
  timeoutMs?: number;
  options?: CallOptions;
  request?: ListOperationsRequest;
}

/**
 * A scripted backend: each method runs the handler the test put in place,
 * and every call is recorded with the options it got.
 */
class ScriptedBackend implements OperationsTransport {
  readonly calls: BackendCall[] = [];
  get: (name: string, options?: CallOptions) => Promise<OperationResource> = async (name) => ({ name, done: false });
  wait: (name: string, timeoutMs: number, options?: CallOptions) => Promise<OperationResource> = async (name) => ({
    name,
    done: true,
  });
  cancel: (name: string, options?: CallOptions) => Promise<void> = async () => {};
  remove: (name: string, options?: CallOptions) => Promise<void> = async () => {};
  list: (request: ListOperationsRequest, options?: CallOptions) => Promise<ListOperationsResponse> = async () => ({
    operations: [],
    nextPageToken: '',
  });

  getOperation(name: string, options?: CallOptions): Promise<OperationResource> {
    this.calls.push({ method: 'GetOperation', name, options });
    return this.get(name, options);
  }
  waitOperation(name: string, timeoutMs: number, options?: CallOptions): Promise<OperationResource> {
    this.calls.push({ method: 'WaitOperation', name, timeoutMs, options });
    return this.wait(name, timeoutMs, options);
  }
  cancelOperation(name: string, options?: CallOptions): Promise<void> {
    this.calls.push({ method: 'CancelOperation', name, options });
    return this.cancel(name, options);
  }
  deleteOperation(name: string, options?: CallOptions): Promise<void> {
    this.calls.push({ method: 'DeleteOperation', name, options });
    return this.remove(name, options);
  }
  listOperations(request: ListOperationsRequest, options?: CallOptions): Promise<ListOperationsResponse> {
    this.calls.push({ method: 'ListOperations', name: request.name, request, options });
    return this.list(request, options);
  }
}

/** A backend call that never settles on its own; it rejects when its signal aborts, and says so. */
function hangUntilAborted(options: CallOptions | undefined, onAbort: (reason: unknown) => void): Promise<never> {
  return new Promise((_resolve, reject) => {
    const signal = options?.signal;
    if (!signal) return; // would hang forever; tests always get a signal from the server
    signal.addEventListener(
      'abort',
      () => {
        onAbort(signal.reason);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A promise plus its resolve function. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('grpcTransport ↔ serveGrpc over loopback', () => {
  let backend: ScriptedBackend;
  let server: GrpcTestServer;
  let transport: GrpcTransport;
  let served: ServedCall[];

  beforeEach(async () => {
    backend = new ScriptedBackend();
    served = [];
    server = await serveGrpc(backend, { onCall: (call) => void served.push(call) });
    transport = grpcTransport({ address: server.address });
  });

  afterEach(async () => {
    transport.close();
    await server.close();
  });

  test('listens on an ephemeral loopback port', () => {
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  test('GetOperation: Any bytes round trip, absent fields stay absent', async () => {
    const metadata = { typeUrl: `${TYPE_PREFIX}example.Progress`, value: bytes(8, 42, 0, 255) };
    const response = { typeUrl: `${TYPE_PREFIX}example.Result`, value: bytes(1, 2, 3) };
    backend.get = async (name) => ({ name, done: true, metadata, response });

    const op = await transport.getOperation('operations/1');
    expect(op).toEqual({ name: 'operations/1', done: true, metadata, response });
    expect(op.metadata!.value).toBeInstanceOf(Uint8Array);
    expect(backend.calls.map((c) => [c.method, c.name])).toEqual([['GetOperation', 'operations/1']]);

    backend.get = async (name) => ({ name, done: false });
    const running = await transport.getOperation('operations/2');
    expect(running).toEqual({ name: 'operations/2', done: false });
    expect('metadata' in running).toBe(false);
    expect('error' in running).toBe(false);
    expect('response' in running).toBe(false);
  });

  test('GetOperation: an empty Any value survives as an empty Uint8Array', async () => {
    const empty = { typeUrl: `${TYPE_PREFIX}google.protobuf.Empty`, value: new Uint8Array() };
    backend.get = async (name) => ({ name, done: true, response: empty });
    expect(await transport.getOperation('operations/empty')).toEqual({ name: 'operations/empty', done: true, response: empty });
  });

  test('GetOperation: a validate-only result (empty name, done) is returned as given', async () => {
    backend.get = async () => ({ name: '', done: true });
    expect(await transport.getOperation('operations/v')).toEqual({ name: '', done: true });
  });

  test('GetOperation: operation error with binary details round trips', async () => {
    const detail = {
      typeUrl: `${TYPE_PREFIX}google.rpc.ErrorInfo`,
      value: encodeMessage('google.rpc.ErrorInfo', { reason: 'QUOTA', domain: 'example.com' }),
    };
    backend.get = async (name) => ({ name, done: true, error: { code: 8, message: 'out of quota', details: [detail] } });
    const op = await transport.getOperation('operations/failed');
    expect(op).toEqual({ name: 'operations/failed', done: true, error: { code: 8, message: 'out of quota', details: [detail] } });
  });

  test('GetOperation: a JSON-form Any from the backend reaches the client as binary', async () => {
    backend.get = async (name) => ({
      name,
      done: true,
      response: { typeUrl: `${TYPE_PREFIX}google.rpc.ErrorInfo`, json: { reason: 'R', domain: 'd.example' } },
    });
    const op = await transport.getOperation('operations/json');
    expect(op.response!.typeUrl).toBe(`${TYPE_PREFIX}google.rpc.ErrorInfo`);
    const decoded = builtinType('google.rpc.ErrorInfo').toObject(builtinType('google.rpc.ErrorInfo').decode(op.response!.value!));
    expect(decoded).toMatchObject({ reason: 'R', domain: 'd.example' });
  });

  test('GetOperation: a JSON-form Any of an unknown type → INTERNAL with a message', async () => {
    backend.get = async (name) => ({ name, done: true, response: { typeUrl: `${TYPE_PREFIX}nowhere.Unknown`, json: { a: 1 } } });
    const err = await transport.getOperation('operations/unknown').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(Code.INTERNAL);
    expect((err as RpcError).rawMessage).toMatch(/operations\/unknown/);
  });

  test('WaitOperation: timeout is sent as Duration and the deadline exceeds it', async () => {
    backend.wait = async (name) => ({ name, done: true });
    const op = await transport.waitOperation('operations/w', 2_000);
    expect(op).toEqual({ name: 'operations/w', done: true });
    const call = backend.calls[0]!;
    expect(call.method).toBe('WaitOperation');
    expect(call.timeoutMs).toBe(2_000);
    // default grace: max(1000, 10%) → deadline ≈ 3000 ms when the call arrives
    expect(call.options!.timeoutMs).toBeGreaterThan(2_000);
    expect(call.options!.timeoutMs).toBeLessThanOrEqual(3_000);
    expect(call.options!.signal).toBeInstanceOf(AbortSignal);
    expect(served[0]!.deadlineMs).toBeGreaterThan(2_000);
  });

  test('WaitOperation: fractional timeouts and a large grace', async () => {
    const graceful = grpcTransport({ address: server.address, waitDeadlineGraceMs: 5_000 });
    try {
      await graceful.waitOperation('operations/w', 1_500);
      expect(backend.calls[0]!.timeoutMs).toBe(1_500);
      expect(backend.calls[0]!.options!.timeoutMs).toBeGreaterThan(6_000);
    } finally {
      graceful.close();
    }
  });

  test('WaitOperation: an explicit timeoutMs sets the RPC deadline', async () => {
    await transport.waitOperation('operations/w', 10_000, { timeoutMs: 20_000 });
    expect(backend.calls[0]!.timeoutMs).toBe(10_000);
    expect(backend.calls[0]!.options!.timeoutMs).toBeGreaterThan(15_000);
    expect(backend.calls[0]!.options!.timeoutMs).toBeLessThanOrEqual(20_000);
  });

  test('WaitOperation: a backend without waitOperation → UNIMPLEMENTED', async () => {
    const plain: OperationsTransport = {
      getOperation: async (name) => ({ name, done: false }),
      cancelOperation: async () => {},
      deleteOperation: async () => {},
      listOperations: async () => ({ operations: [], nextPageToken: '' }),
    };
    const other = await serveGrpc(plain);
    const client = grpcTransport({ address: other.address });
    try {
      const err = await client.waitOperation('operations/x', 1_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(Code.UNIMPLEMENTED);
      // the rest of the service still works
      await expect(client.getOperation('operations/x')).resolves.toEqual({ name: 'operations/x', done: false });
    } finally {
      client.close();
      await other.close();
    }
  });

  test('WaitOperation: the client deadline expiring → DEADLINE_EXCEEDED, backend signal aborted', async () => {
    const aborted = deferred<unknown>();
    backend.wait = (_name, _timeout, options) => hangUntilAborted(options, aborted.resolve);
    const err = await transport.waitOperation('operations/slow', 100, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(Code.DEADLINE_EXCEEDED);
    await aborted.promise;
  });

  test('CancelOperation and DeleteOperation reach the backend', async () => {
    await expect(transport.cancelOperation('operations/c')).resolves.toBeUndefined();
    await expect(transport.deleteOperation('operations/d')).resolves.toBeUndefined();
    expect(backend.calls.map((c) => [c.method, c.name])).toEqual([
      ['CancelOperation', 'operations/c'],
      ['DeleteOperation', 'operations/d'],
    ]);
    // Get/Cancel/Delete/List get the default 60 s deadline
    expect(backend.calls[0]!.options!.timeoutMs).toBeGreaterThan(50_000);
    expect(backend.calls[0]!.options!.timeoutMs).toBeLessThanOrEqual(60_000);
  });

  test('ListOperations: request fields and the page pass through', async () => {
    const a: OperationResource = { name: 'operations/a', done: false, metadata: { typeUrl: `${TYPE_PREFIX}x.M`, value: bytes(9) } };
    const b: OperationResource = { name: 'operations/b', done: true, error: { code: 1, message: 'cancelled', details: [] } };
    backend.list = async () => ({ operations: [a, b], nextPageToken: 'page-2' });
    const page = await transport.listOperations({ name: 'operations', filter: 'done=false', pageSize: 2, pageToken: 'page-1' });
    expect(page).toEqual({ operations: [a, b], nextPageToken: 'page-2' });
    expect(backend.calls[0]!.request).toEqual({ name: 'operations', filter: 'done=false', pageSize: 2, pageToken: 'page-1' });

    backend.list = async () => ({ operations: [], nextPageToken: '' });
    expect(await transport.listOperations({ name: 'operations' })).toEqual({ operations: [], nextPageToken: '' });
    expect(backend.calls[1]!.request).toEqual({ name: 'operations' });
  });

  test('an RpcError with ErrorInfo + RetryInfo details → RpcError with decoded details', async () => {
    backend.get = async () => {
      throw new RpcError(Code.UNAVAILABLE, 'try later', {
        details: [
          {
            '@type': `${TYPE_PREFIX}google.rpc.ErrorInfo`,
            reason: 'BACKEND_BUSY',
            domain: 'ops.example.com',
            metadata: { zone: 'z1' },
          },
          { '@type': `${TYPE_PREFIX}google.rpc.RetryInfo`, retryDelay: '1.500s' },
        ],
      });
    };
    const err = await transport.getOperation('operations/busy').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    const rpc = err as RpcError;
    expect(rpc.code).toBe(Code.UNAVAILABLE);
    expect(rpc.rawMessage).toBe('try later');
    expect(rpc.message).toBe('UNAVAILABLE: try later');
    expect(rpc.cause).toBeDefined();
    expect(rpc.details).toEqual([
      {
        '@type': `${TYPE_PREFIX}google.rpc.ErrorInfo`,
        reason: 'BACKEND_BUSY',
        domain: 'ops.example.com',
        metadata: { zone: 'z1' },
      },
      { '@type': `${TYPE_PREFIX}google.rpc.RetryInfo`, retryDelay: '1.500s' },
    ]);
  });

  test('a detail kept as raw base64 travels as binary Any with those bytes', async () => {
    const raw = Buffer.from([1, 2, 3, 250]).toString('base64');
    backend.get = async () => {
      throw new RpcError(Code.FAILED_PRECONDITION, 'opaque detail', {
        details: [{ '@type': `${TYPE_PREFIX}vendor.Opaque`, value: raw }],
      });
    };
    const err = (await transport.getOperation('operations/opaque').catch((e: unknown) => e)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.details).toEqual([{ '@type': `${TYPE_PREFIX}vendor.Opaque`, value: raw }]);
  });

  test('an RpcError without details → no details; other rejections → INTERNAL', async () => {
    backend.get = async () => {
      throw new RpcError(Code.NOT_FOUND, 'no such operation');
    };
    const notFound = (await transport.getOperation('operations/none').catch((e: unknown) => e)) as RpcError;
    expect(notFound).toBeInstanceOf(RpcError);
    expect(notFound.code).toBe(Code.NOT_FOUND);
    expect(notFound.rawMessage).toBe('no such operation');
    expect(notFound.details).toEqual([]);

    backend.cancel = async () => {
      throw new TypeError('boom');
    };
    const internal = (await transport.cancelOperation('operations/x').catch((e: unknown) => e)) as RpcError;
    expect(internal).toBeInstanceOf(RpcError);
    expect(internal.code).toBe(Code.INTERNAL);
    expect(internal.rawMessage).toMatch(/boom/);
  });

  test('abort before the call: rejects with the reason, the backend is never called', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(transport.getOperation('operations/1', { signal: controller.signal })).rejects.toBe(reason);
    await expect(transport.waitOperation('operations/1', 1_000, { signal: controller.signal })).rejects.toBe(reason);
    await expect(transport.listOperations({ name: 'operations' }, { signal: controller.signal })).rejects.toBe(reason);
    // default reason: an AbortError DOMException
    const plain = new AbortController();
    plain.abort();
    const err = await transport.cancelOperation('operations/1', { signal: plain.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(err).not.toBeInstanceOf(RpcError);
    // the server saw nothing at all
    await transport.getOperation('operations/probe');
    expect(backend.calls.map((c) => c.name)).toEqual(['operations/probe']);
  });

  test('abort mid-call: the backend signal fires and the client rejects promptly with the reason', async () => {
    const entered = deferred();
    const backendAborted = deferred<unknown>();
    backend.wait = (_name, _timeout, options) => {
      entered.resolve();
      return hangUntilAborted(options, backendAborted.resolve);
    };
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const pending = transport.waitOperation('operations/long', 30_000, { signal: controller.signal });
    await entered.promise;
    const started = Date.now();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(500);
    const serverSide = await backendAborted.promise;
    expect(serverSide).toBeInstanceOf(RpcError);
    expect((serverSide as RpcError).code).toBe(Code.CANCELLED);
  });

  test('a signal that is never aborted leaves no listener behind', async () => {
    const controller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((type: string, listener: EventListener, opts?: AddEventListenerOptions) => {
      added.push(listener);
      add(type, listener, opts);
    }) as typeof controller.signal.addEventListener;
    controller.signal.removeEventListener = ((type: string, listener: EventListener) => {
      removed.push(listener);
      remove(type, listener);
    }) as typeof controller.signal.removeEventListener;

    await transport.getOperation('operations/1', { signal: controller.signal });
    backend.get = async () => {
      throw new RpcError(Code.NOT_FOUND, 'gone');
    };
    await expect(transport.getOperation('operations/2', { signal: controller.signal })).rejects.toBeInstanceOf(RpcError);
    expect(added).toHaveLength(2);
    expect(removed).toEqual(added);
  });

  test('metadata reaches the server: static record, Metadata and async function', async () => {
    const withRecord = grpcTransport({ address: server.address, metadata: { authorization: 'Bearer static', 'x-goog-user-project': 'p1' } });
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer from-metadata');
    md.set('x-trace-bin', Buffer.from([1, 2, 3]));
    const withMetadata = grpcTransport({ address: server.address, metadata: md });
    let n = 0;
    const withFunction = grpcTransport({
      address: server.address,
      metadata: async () => ({ authorization: `Bearer token-${++n}` }),
    });
    try {
      await withRecord.getOperation('operations/a');
      await withMetadata.deleteOperation('operations/b');
      await withFunction.listOperations({ name: 'operations' });
      await withFunction.waitOperation('operations/c', 100);
      expect(served.map((c) => [c.method, c.name, c.metadata.get('authorization')[0]])).toEqual([
        ['GetOperation', 'operations/a', 'Bearer static'],
        ['DeleteOperation', 'operations/b', 'Bearer from-metadata'],
        ['ListOperations', 'operations', 'Bearer token-1'],
        ['WaitOperation', 'operations/c', 'Bearer token-2'],
      ]);
      expect(served[0]!.metadata.get('x-goog-user-project')).toEqual(['p1']);
      expect(served[1]!.metadata.get('x-trace-bin')).toEqual([Buffer.from([1, 2, 3])]);
      // the caller's Metadata object is not modified by the calls
      expect(md.get('authorization')).toEqual(['Bearer from-metadata']);
    } finally {
      withRecord.close();
      withMetadata.close();
      withFunction.close();
    }
  });

  test('onCall can reject a call (auth check) before the backend sees it', async () => {
    const guarded = await serveGrpc(backend, {
      onCall: (call) => {
        if (call.metadata.get('authorization')[0] !== 'Bearer ok') throw new RpcError(Code.UNAUTHENTICATED, 'bad token');
      },
    });
    const bad = grpcTransport({ address: guarded.address, metadata: { authorization: 'Bearer nope' } });
    const good = grpcTransport({ address: guarded.address, metadata: { authorization: 'Bearer ok' } });
    try {
      const err = (await bad.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
      expect(err.code).toBe(Code.UNAUTHENTICATED);
      expect(backend.calls).toHaveLength(0);
      await expect(good.getOperation('operations/1')).resolves.toEqual({ name: 'operations/1', done: false });
    } finally {
      bad.close();
      good.close();
      await guarded.close();
    }
  });

  test('a failing metadata provider → RpcError, no call made', async () => {
    const failing = grpcTransport({
      address: server.address,
      metadata: () => {
        throw new Error('no token');
      },
    });
    try {
      const err = (await failing.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(Code.UNAVAILABLE);
      expect(err.rawMessage).toMatch(/no token/);
      expect(backend.calls).toHaveLength(0);
    } finally {
      failing.close();
    }
  });

  test('invalid metadata → RpcError INVALID_ARGUMENT, no call made', async () => {
    const invalid = grpcTransport({ address: server.address, metadata: { 'bad header name': 'x' } });
    try {
      const err = (await invalid.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(backend.calls).toHaveLength(0);
    } finally {
      invalid.close();
    }
  });

  test('a closed transport rejects with RpcError', async () => {
    const closing = grpcTransport({ address: server.address });
    closing.close();
    const err = (await closing.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
  });

  test('server restart on the same port: the same transport reconnects', async () => {
    await transport.getOperation('operations/before');
    const port = server.port;
    await server.close();
    const down = (await transport.getOperation('operations/down', { timeoutMs: 2_000 }).catch((e: unknown) => e)) as RpcError;
    expect(down).toBeInstanceOf(RpcError);
    expect([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]).toContain(down.code);
    server = await serveGrpc(backend, { port });
    expect(server.port).toBe(port);
    // without waitForReady a call may still fail fast (UNAVAILABLE) while the
    // channel backs off; with it, the call waits for the reconnect.
    const patient = grpcTransport({ address: server.address, waitForReady: true });
    const reconnecting = grpcTransport({ address: server.address, waitForReady: true });
    try {
      await expect(patient.getOperation('operations/patient', { timeoutMs: 10_000 })).resolves.toEqual({
        name: 'operations/patient',
        done: false,
      });
      // a waitForReady transport whose server goes away and comes back
      await reconnecting.getOperation('operations/r1');
      await server.close();
      const later = reconnecting.getOperation('operations/r2', { timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      server = await serveGrpc(backend, { port });
      await expect(later).resolves.toEqual({ name: 'operations/r2', done: false });
    } finally {
      patient.close();
      reconnecting.close();
    }
    // the plain transport recovers too once its reconnect backoff has passed
    let result: OperationResource | undefined;
    for (let i = 0; i < 50 && !result; i++) {
      result = await transport.getOperation('operations/after').catch(async (err: unknown) => {
        expect((err as RpcError).code).toBe(Code.UNAVAILABLE);
        await new Promise((resolve) => setTimeout(resolve, 100));
        return undefined;
      });
    }
    expect(result).toEqual({ name: 'operations/after', done: false });
  });

  test('server.close() aborts in-flight backend calls and releases the port', async () => {
    const entered = deferred();
    const backendAborted = deferred<unknown>();
    backend.get = (_name, options) => {
      entered.resolve();
      return hangUntilAborted(options, backendAborted.resolve);
    };
    const pending = transport.getOperation('operations/hang').catch((e: unknown) => e);
    await entered.promise;
    await server.close();
    await backendAborted.promise;
    const err = (await pending) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect([Code.UNAVAILABLE, Code.CANCELLED, Code.INTERNAL]).toContain(err.code);
    // the port is free again
    server = await serveGrpc(backend, { port: server.port });
    await server.close();
    await server.close(); // idempotent
  });
});

describe('grpcTransport ↔ FakeOperationsServer.listenGrpc', () => {
  test('create, wait, complete, list, cancel, delete over real gRPC', async () => {
    const fake = new FakeOperationsServer();
    const listener = await fake.listenGrpc();
    const transport = grpcTransport({ address: listener.address });
    try {
      const progress = { typeUrl: `${TYPE_PREFIX}example.Progress`, value: bytes(8, 10) };
      const created = fake.create({ metadata: progress });
      expect(await transport.getOperation(created.name)).toEqual({ name: created.name, done: false, metadata: progress });

      const waiting = transport.waitOperation(created.name, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const result = { typeUrl: `${TYPE_PREFIX}example.Result`, value: bytes(1, 2) };
      fake.complete(created.name, result);
      expect(await waiting).toEqual({ name: created.name, done: true, metadata: progress, response: result });

      const other = fake.create();
      await transport.cancelOperation(other.name);
      expect((await transport.getOperation(other.name)).error).toMatchObject({ code: Code.CANCELLED });

      const page = await transport.listOperations({ name: 'operations' });
      expect(page.operations.map((o) => o.name).sort()).toEqual([created.name, other.name].sort());

      await transport.deleteOperation(created.name);
      const gone = (await transport.getOperation(created.name).catch((e: unknown) => e)) as RpcError;
      expect(gone).toBeInstanceOf(RpcError);
      expect(gone.code).toBe(Code.NOT_FOUND);

      fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'try again' });
      const injected = (await transport.getOperation(other.name).catch((e: unknown) => e)) as RpcError;
      expect(injected.code).toBe(Code.UNAVAILABLE);
      expect(fake.calls.map((c) => c.method)).toContain('WaitOperation');
    } finally {
      transport.close();
      await fake.close();
    }
  });

  test('a server without WaitOperation answers UNIMPLEMENTED', async () => {
    const fake = new FakeOperationsServer({ waitOperation: false });
    const listener = await fake.listenGrpc();
    const transport = grpcTransport({ address: listener.address });
    try {
      const op = fake.create();
      const err = (await transport.waitOperation(op.name, 1_000).catch((e: unknown) => e)) as RpcError;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(Code.UNIMPLEMENTED);
    } finally {
      transport.close();
      await listener.close();
    }
  });
});

describe('grpcTransport error trailers', () => {
  /** A bare grpc-js server whose GetOperation fails with the given trailer. */
  async function failingServer(trailer: Buffer): Promise<{ address: string; close(): Promise<void> }> {
    const server = new grpc.Server();
    server.addService(operationsServiceDefinition, {
      GetOperation: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        const metadata = new grpc.Metadata();
        metadata.set('grpc-status-details-bin', trailer);
        callback({ code: Code.ABORTED, details: 'conflict', metadata });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return {
      address: `127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    };
  }

  test('a garbage grpc-status-details-bin trailer → RpcError with empty details', async () => {
    const server = await failingServer(Buffer.from([0xff, 0xff, 0xff, 0x07, 0x01]));
    const transport = grpcTransport({ address: server.address });
    try {
      const err = (await transport.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(Code.ABORTED);
      expect(err.rawMessage).toBe('conflict');
      expect(err.details).toEqual([]);
    } finally {
      transport.close();
      await server.close();
    }
  });

  test('a detail of an unknown type stays as raw base64', async () => {
    const status = builtinType('google.rpc.Status');
    const trailer = Buffer.from(
      status
        .encode(
          status.fromObject({
            code: Code.ABORTED,
            message: 'conflict',
            details: [{ typeUrl: `${TYPE_PREFIX}vendor.Thing`, value: Buffer.from([7, 7]) }],
          }),
        )
        .finish(),
    );
    const server = await failingServer(trailer);
    const transport = grpcTransport({ address: server.address });
    try {
      const err = (await transport.getOperation('operations/1').catch((e: unknown) => e)) as RpcError;
      expect(err.details).toEqual([{ '@type': `${TYPE_PREFIX}vendor.Thing`, value: Buffer.from([7, 7]).toString('base64') }]);
    } finally {
      transport.close();
      await server.close();
    }
  });
});

describe('closing releases everything', () => {
  test('after transport.close() and server.close() no socket or server handle is left', async () => {
    const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
    const before = tcpHandles().length;
    const server = await serveGrpc(new ScriptedBackend());
    const transport = grpcTransport({ address: server.address });
    await transport.getOperation('operations/1');
    await transport.waitOperation('operations/1', 1_000);
    expect(tcpHandles().length).toBeGreaterThan(before);
    transport.close();
    await server.close();
    for (let i = 0; i < 20 && tcpHandles().length > before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(tcpHandles().length).toBe(before);
  });
});

describe('Operation message helpers', () => {
  test('encodeOperation / decodeOperation round trip', () => {
    const resources: OperationResource[] = [
      { name: 'operations/1', done: false },
      { name: 'operations/2', done: false, metadata: { typeUrl: `${TYPE_PREFIX}a.B`, value: bytes(1) } },
      { name: 'operations/3', done: true, response: { typeUrl: `${TYPE_PREFIX}a.C`, value: bytes(2, 3) } },
      {
        name: 'operations/4',
        done: true,
        error: { code: 1, message: 'cancelled', details: [{ typeUrl: `${TYPE_PREFIX}a.D`, value: bytes() }] },
      },
      { name: '', done: true },
    ];
    for (const resource of resources) {
      expect(decodeOperation(encodeOperation(resource))).toEqual(resource);
    }
  });

  test('Duration conversions', () => {
    expect(msToDuration(2_500)).toEqual({ seconds: 2, nanos: 500_000_000 });
    expect(msToDuration(-5)).toEqual({ seconds: 0, nanos: 0 });
    expect(durationToMs({ seconds: 2, nanos: 500_000_000 })).toBe(2_500);
    expect(durationToMs({ seconds: '3' })).toBe(3_000);
    const duration = builtinType('google.protobuf.Duration');
    expect(durationToMs(duration.decode(duration.encode({ seconds: 90, nanos: 1_000_000 }).finish()) as never)).toBe(90_001);
  });
});
