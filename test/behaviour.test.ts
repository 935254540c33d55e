/**
 * One behaviour suite over every transport (memory, gRPC, gax, REST with every
 * profile), on real loopback sockets with real time and short delays.
 */
import {
  Code,
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  OperationsClient,
  RpcError,
  type OperationOptions,
} from '../src/index.js';
import { activeResources, leakedSince, transportFixtures, type Connected, type TransportFixture } from './support/transports.js';
import { gaxFixture } from './support/gax-fixture.js';
import { progress, registry, result } from './support/protos.js';

process.env.METADATA_SERVER_DETECTION = 'none';

type Progress = { percent: number; stage: string };
type Result = { uri: string; sizeBytes: string; kind: string };

const fast = { polling: { initialDelayMs: 10, maxDelayMs: 40 }, progressIntervalMs: 50, waitTimeoutMs: 2_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fixtures: TransportFixture[] = [...transportFixtures, gaxFixture];

describe.each(fixtures.map((f) => [f.label, f] as const))('%s', (_label, fixture) => {
  let conn: Connected;
  let n = 0;
  const nextName = () => fixture.opName(++n);
  const opts = (extra: Partial<OperationOptions<Result, Progress>> = {}): OperationOptions<Result, Progress> => ({
    transport: conn.transport,
    decode: registry,
    ...fast,
    ...extra,
  });

  afterEach(async () => {
    await conn?.close();
  });

  test('success with progress', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName(), metadata: progress(0, 'queued') });
    const op = new LongRunningOperation<Result, Progress>(created, opts());
    const seen: number[] = [];
    op.on('metadata', (m) => seen.push(m.percent));
    const p = op.promise();
    for (const pct of [25, 50, 75]) {
      await sleep(150); // three progress intervals (50 ms): room for a loaded machine
      server.update(created.name, { metadata: progress(pct, 'working') });
    }
    await sleep(150);
    server.complete(created.name, result('gs://bucket/out', '9007199254740993'), { metadata: progress(100, 'done') });
    await expect(p).resolves.toEqual({ uri: 'gs://bucket/out', sizeBytes: '9007199254740993', kind: 'VIDEO' });
    expect(seen[seen.length - 1]).toBe(100);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length); // never twice for the same metadata
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });

  test('failure with decoded details', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    const op = new LongRunningOperation<Result, Progress>(created, opts());
    const settled = op.promise().catch((e: unknown) => e);
    await sleep(30);
    server.fail(created.name, {
      code: Code.INVALID_ARGUMENT,
      message: 'input is not a video',
      details: [
        registry.encode('google.rpc.BadRequest', { fieldViolations: [{ field: 'input_uri', description: 'not a video' }] }),
        registry.encode('google.rpc.ErrorInfo', { reason: 'BAD_MEDIA', domain: 'media.example.com' }),
      ],
    });
    const err = (await settled) as OperationFailedError;
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.status.message).toBe('input is not a video');
    expect(err.details).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'input_uri', description: 'not a video', reason: '' }],
      },
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'BAD_MEDIA', domain: 'media.example.com', metadata: {} },
    ]);
  });

  test('cancel', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    const op = new LongRunningOperation<Result, Progress>(created, opts());
    const settled = op.promise().catch((e: unknown) => e);
    await sleep(30);
    if (!fixture.supports.cancel) {
      await expect(op.cancel()).rejects.toMatchObject({ name: 'RpcError', code: Code.UNIMPLEMENTED });
      server.complete(created.name);
      await expect(settled).resolves.toBeUndefined();
      return;
    }
    await op.cancel();
    const err = await settled;
    expect(err).toBeInstanceOf(OperationCancelledError);
    expect(server.calls.some((c) => c.method === 'CancelOperation' && c.name === created.name)).toBe(true);
  });

  test('delete', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    const op = new LongRunningOperation(created, opts());
    if (!fixture.supports.delete) {
      await expect(op.delete()).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
      expect(server.calls).toEqual([]);
      return;
    }
    await op.delete();
    expect(server.get(created.name)).toBeUndefined();
    await expect(op.poll()).rejects.toMatchObject({ name: 'RpcError', code: Code.NOT_FOUND });
  });

  test('list with pages', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const names = Array.from({ length: 7 }, () => server.create({ name: nextName() }).name);
    server.complete(names[2], result('two'));
    const client = new OperationsClient({ transport: conn.transport, decode: registry, ...fast });
    if (!fixture.supports.list) {
      await expect(client.list({ name: fixture.listName }).next()).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
      return;
    }
    const listed: string[] = [];
    for await (const op of client.list({ name: fixture.listName, pageSize: 3 })) listed.push(op.name);
    expect(listed).toEqual(names);
    expect(server.calls.filter((c) => c.method === 'ListOperations')).toHaveLength(3);
    const done: string[] = [];
    for await (const op of client.list({ name: fixture.listName, filter: 'done=true' })) done.push(`${op.name}:${op.done}`);
    expect(done).toEqual([`${names[2]}:true`]);
  });

  test('WaitOperation first, then fallback to polling', async () => {
    conn = await fixture.connect({ waitOperation: false });
    const { server } = conn;
    const created = server.create({ name: nextName() });
    const op = new LongRunningOperation(created, opts());
    const p = op.promise();
    await sleep(60);
    server.complete(created.name);
    await p;
    const methods = server.calls.map((c) => c.method);
    if (fixture.supports.wait) {
      expect(methods[0]).toBe('WaitOperation');
      expect(methods.filter((m) => m === 'WaitOperation')).toHaveLength(1);
    } else {
      expect(methods).not.toContain('WaitOperation');
    }
    expect(methods).toContain('GetOperation');
  });

  test('WaitOperation is used when the server has it', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    const op = new LongRunningOperation(created, opts());
    const p = op.promise();
    await sleep(50);
    server.complete(created.name);
    await p;
    const methods = server.calls.map((c) => c.method);
    expect(methods).toEqual(fixture.supports.wait ? ['WaitOperation'] : expect.arrayContaining(['GetOperation']));
  });

  test('abort mid-RPC leaves no socket or timer behind', async () => {
    const before = activeResources();
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    let serverSawAbort: Promise<void> | undefined;
    const service = server.service;
    const method = fixture.supports.wait ? 'waitOperation' : 'getOperation';
    const original = service[method]!.bind(service) as (...args: unknown[]) => Promise<never>;
    (service as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const options = args[args.length - 1] as { signal?: AbortSignal };
      serverSawAbort = new Promise((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
      if (method === 'getOperation') return new Promise(() => undefined); // hangs until aborted
      return original(...args);
    };
    const op = new LongRunningOperation(created, opts({ polling: { initialDelayMs: 1 } }));
    const ac = new AbortController();
    const p = op.promise({ signal: ac.signal });
    for (let i = 0; i < 100 && !serverSawAbort; i++) await sleep(10);
    expect(serverSawAbort).toBeDefined();
    ac.abort(new Error('user navigated away'));
    await expect(p).rejects.toThrow('user navigated away');
    await serverSawAbort; // the server saw the call cancelled
    const callsAfterAbort = server.calls.length;
    await sleep(100);
    expect(server.calls.length).toBe(callsAfterAbort); // no RPC after the abort
    expect(server.calls.some((c) => c.method === 'CancelOperation')).toBe(false);
    await conn.close();
    // Sockets and timers go at once; undici's own timer wheel may tick for up to a second
    // more, so wait a little before calling what is still there a leak.
    for (let i = 0; i < 30 && Object.keys(leakedSince(before)).length > 0; i++) await sleep(100);
    expect(leakedSince(before)).toEqual({});
  });

  test('an RPC failure reaches the caller as RpcError with its code', async () => {
    conn = await fixture.connect();
    const { server } = conn;
    const created = server.create({ name: nextName() });
    server.failNext('GetOperation', { code: Code.PERMISSION_DENIED, message: 'caller lacks permission' });
    const op = new LongRunningOperation(created, opts());
    const err = await op.poll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: Code.PERMISSION_DENIED });
  });
});
