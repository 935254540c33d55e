/**
 * Completion pushed by Pub/Sub (issue 15): the real @google-cloud/pubsub
 * client pulling from a loopback fake Subscriber service (test/support/pubsub-server.ts),
 * operations on a FakeOperationsServer behind the real gRPC transport.
 * No timing assertions: the safety interval only decides what happens, never how fast.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { PubSub, type Subscription } from '@google-cloud/pubsub';
import {
  DecodeError,
  InvalidOperationError,
  OperationsClient,
  grpcTransport,
  pubsubNotifications,
  type AnyMessage,
  type GrpcTransport,
  type OperationResource,
  type PubSubNotifications,
} from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { TypeRegistry, anyFromJson } from '../src/codec/registry.js';
import { encodeOperation } from '../src/transports/grpc.js';
import { operationToJson } from '../src/transports/rest/json.js';
import { startPubSubServer, type FakePubSub } from './support/pubsub-server.js';

const SUBSCRIPTION = 'projects/test-project/subscriptions/operations';
const registry = TypeRegistry.default();
const struct = (value: Record<string, unknown>): AnyMessage => anyFromJson({ '@type': 'type.googleapis.com/google.protobuf.Struct', value });
const progress = (percent: number) => struct({ progressPercent: percent });
const json = (resource: OperationResource) => JSON.stringify(operationToJson(resource, registry));

let operations: FakeOperationsServer;
let grpcListener: { address: string; close(): Promise<void> };
let transport: GrpcTransport;
let pubsubServer: FakePubSub;
let pubsub: PubSub;
let subscription: Subscription;
let adapters: PubSubNotifications[];

async function setUp(options: { redeliver?: boolean } = {}): Promise<void> {
  operations = new FakeOperationsServer();
  grpcListener = await operations.listenGrpc();
  transport = grpcTransport({ address: grpcListener.address });
  pubsubServer = await startPubSubServer(options);
  pubsub = new PubSub(pubsubServer.clientOptions());
  subscription = pubsub.subscription(SUBSCRIPTION, { streamingOptions: { maxStreams: 1 } });
  adapters = [];
}

afterEach(async () => {
  for (const adapter of adapters) await adapter.close();
  await subscription.close();
  await pubsub.close();
  transport.close();
  await grpcListener.close();
  await pubsubServer.close();
});

function client(): OperationsClient {
  return new OperationsClient({ transport, decode: registry });
}

function attach(c: OperationsClient, options: Parameters<typeof pubsubNotifications>[2] = {}): PubSubNotifications {
  const adapter = pubsubNotifications(c, subscription, options);
  adapters.push(adapter);
  return adapter;
}

const reads = () => operations.calls.filter((c) => c.method === 'GetOperation' || c.method === 'WaitOperation');

describe('pubsubNotifications with the real @google-cloud/pubsub client', () => {
  beforeEach(() => setUp());

  test('an operation resolves from the published JSON Operation, with no GetOperation or WaitOperation', async () => {
    const c = client();
    attach(c); // default safety interval: minutes, so nothing polls during the test
    const op = c.wrap(operations.create({ metadata: progress(10) }));
    const result = op.promise();
    const response = struct({ rows: 42 });
    const id = pubsubServer.publish(SUBSCRIPTION, json({ name: op.name, done: true, response }));
    await expect(result).resolves.toEqual({ rows: 42 });
    await expect(pubsubServer.settled(id)).resolves.toBe('ack');
    expect(reads()).toEqual([]);
    expect(pubsubServer.calls.filter((c) => c.method === 'StreamingPull')).toHaveLength(1);
  });

  test('binary google.longrunning.Operation bytes, as the message attributes say', async () => {
    const c = client();
    attach(c);
    const op = c.get(operations.create().name); // from a name: polls at once (a poll not done), then the safety interval
    const events: string[] = [];
    op.on('metadata', (m) => events.push(`metadata ${JSON.stringify(m)}`));
    op.on('done', () => events.push('done'));
    const result = op.promise();
    const bytes = encodeOperation({ name: op.name, done: true, metadata: progress(100), response: struct({ ok: true }) }, registry);
    const id = pubsubServer.publish(SUBSCRIPTION, bytes, { googclient_schemaencoding: 'BINARY' });
    await expect(result).resolves.toEqual({ ok: true });
    await expect(pubsubServer.settled(id)).resolves.toBe('ack');
    expect(events).toEqual(['metadata {"progressPercent":100}', 'done']);
    expect(operations.calls.filter((c) => c.method === 'WaitOperation')).toEqual([]);
  });

  test('a duplicated or reordered message never un-finishes an operation', async () => {
    const c = client();
    attach(c);
    const op = c.wrap(operations.create());
    const done: unknown[] = [];
    op.on('done', (s) => done.push(s.response));
    const result = op.promise();
    const final = { name: op.name, done: true, metadata: progress(100), response: struct({ rows: 1 }) };
    const first = pubsubServer.publish(SUBSCRIPTION, json(final));
    await expect(result).resolves.toEqual({ rows: 1 });
    const duplicate = pubsubServer.publish(SUBSCRIPTION, json(final));
    const older = pubsubServer.publish(SUBSCRIPTION, json({ name: op.name, done: false, metadata: progress(40) }));
    for (const id of [first, duplicate, older]) await expect(pubsubServer.settled(id)).resolves.toBe('ack');
    expect(op.done).toBe(true);
    expect(op.metadata).toEqual({ progressPercent: 100 });
    expect(done).toEqual([{ rows: 1 }]);
    await expect(op.promise()).resolves.toEqual({ rows: 1 });
    expect(c.notify(json({ name: op.name, done: false }))).toBe(false); // no longer watched
    expect(reads()).toEqual([]);
  });

  test('a lost message is recovered by the safety poll (GetOperation only, no WaitOperation)', async () => {
    const c = client();
    attach(c, { safetyIntervalMs: 20 });
    const created = operations.create();
    const op = c.wrap(created);
    const result = op.promise();
    operations.complete(created.name, struct({ recovered: true })); // the service's message never arrives
    await expect(result).resolves.toEqual({ recovered: true });
    expect(reads().length).toBeGreaterThan(0);
    expect(reads().every((call) => call.method === 'GetOperation')).toBe(true);
  });

  test('an operation already waiting when the source attaches moves to the safety schedule', async () => {
    const c = client();
    const created = operations.create();
    const op = c.wrap(created);
    const result = op.promise();
    // Its loop holds a WaitOperation open (the server supports it) until the attach restarts it.
    while (!operations.calls.some((call) => call.method === 'WaitOperation')) await new Promise((r) => setImmediate(r));
    attach(c, { safetyIntervalMs: 20 });
    const before = operations.calls.length;
    operations.complete(created.name, struct({ late: true }));
    await expect(result).resolves.toEqual({ late: true });
    const after = operations.calls.slice(before).filter((call) => call.method !== 'CancelOperation');
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((call) => call.method === 'GetOperation')).toBe(true);
  });

  test('a malformed message is dropped with a typed error; other operations are unaffected', async () => {
    const c = client();
    const errors: Error[] = [];
    attach(c, { onError: (err) => errors.push(err) });
    const a = c.wrap(operations.create());
    const b = c.wrap(operations.create());
    const aResult = a.promise();
    const bResult = b.promise();
    const notJson = pubsubServer.publish(SUBSCRIPTION, '{"name": "operations/');
    const both = pubsubServer.publish(
      SUBSCRIPTION,
      JSON.stringify({ name: a.name, done: true, error: { code: 5, message: 'gone' }, response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }),
    );
    const unknownType = pubsubServer.publish(SUBSCRIPTION, JSON.stringify({ name: a.name, done: true, response: { '@type': 'type.googleapis.com/no.such.Type', x: 1 } }));
    const good = pubsubServer.publish(SUBSCRIPTION, json({ name: b.name, done: true, response: struct({ b: 1 }) }));
    await expect(bResult).resolves.toEqual({ b: 1 });
    for (const id of [notJson, both, unknownType, good]) await expect(pubsubServer.settled(id)).resolves.toBe('ack');
    expect(errors.map((e) => e.constructor)).toEqual([InvalidOperationError, InvalidOperationError, DecodeError]);
    expect(errors[1]!.message).toContain(a.name);
    expect((errors[2] as DecodeError).typeUrl).toBe('type.googleapis.com/no.such.Type');
    expect(a.done).toBe(false); // still pending: its safety poll goes on
    const aid = pubsubServer.publish(SUBSCRIPTION, json({ name: a.name, done: true, response: struct({ a: 1 }) }));
    await expect(aResult).resolves.toEqual({ a: 1 });
    await expect(pubsubServer.settled(aid)).resolves.toBe('ack');
  });

  test('messages naming no watched operation are acked by default, nacked with unknown: "nack"', async () => {
    const c = client();
    attach(c, { unknown: 'nack' });
    const id = pubsubServer.publish(SUBSCRIPTION, json({ name: 'operations/elsewhere', done: true }));
    await expect(pubsubServer.settled(id)).resolves.toBe('nack');
  });

  test('close() removes the listeners, stops the pull stream and restores the normal schedule', async () => {
    const c = client();
    const errorListeners = subscription.listenerCount('error');
    const adapter = attach(c, { safetyIntervalMs: 600_000 });
    const created = operations.create();
    const op = c.wrap(created);
    const result = op.promise();
    while (pubsubServer.openStreams() === 0) await new Promise((r) => setImmediate(r));
    expect(subscription.listenerCount('message')).toBe(1);
    await adapter.close();
    await adapter.close(); // idempotent
    expect(subscription.listenerCount('message')).toBe(0);
    expect(subscription.listenerCount('error')).toBe(errorListeners);
    while (pubsubServer.openStreams() > 0) await new Promise((r) => setImmediate(r)); // pubsub closes its stream with the last listener
    // Detached: the operation polls on the normal schedule again (a 10-minute safety poll would time this test out).
    operations.complete(created.name, struct({ normal: true }));
    await expect(result).resolves.toEqual({ normal: true });
  });
});

describe('pubsubNotifications with malformed: "nack"', () => {
  beforeEach(() => setUp({ redeliver: false }));

  test('a malformed message is nacked and reported', async () => {
    const c = client();
    const errors: Error[] = [];
    attach(c, { malformed: 'nack', onError: (err) => errors.push(err) });
    const id = pubsubServer.publish(SUBSCRIPTION, new Uint8Array([0xff, 0xfe, 0x00]));
    await expect(pubsubServer.settled(id)).resolves.toBe('nack');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidOperationError);
  });
});

describe('OperationsClient#notify', () => {
  const memory = () => {
    const server = new FakeOperationsServer();
    return { server, client: new OperationsClient({ transport: server.transport, decode: registry }) };
  };

  test('takes the wire model, proto3 JSON objects and text, and bytes', async () => {
    const { server, client: c } = memory();
    c.attachNotifications();
    const ops = [0, 1, 2, 3].map(() => c.wrap(server.create()));
    const results = ops.map((op) => op.promise());
    expect(c.notify({ name: ops[0]!.name, done: true, response: struct({ n: 0 }) })).toBe(true);
    expect(c.notify({ name: ops[1]!.name, done: true, response: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { n: 1 } } })).toBe(true);
    expect(c.notify(json({ name: ops[2]!.name, done: true, response: struct({ n: 2 }) }))).toBe(true);
    expect(c.notify(encodeOperation({ name: ops[3]!.name, done: true, response: struct({ n: 3 }) }, registry))).toBe(true);
    await expect(Promise.all(results)).resolves.toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    expect(server.calls).toEqual([]);
  });

  test('returns false for operations it does not watch', () => {
    const { server, client: c } = memory();
    const done = c.wrap({ name: 'operations/finished', done: true });
    expect(c.notify({ name: done.name, done: true })).toBe(false);
    expect(c.notify({ name: server.create().name, done: true })).toBe(false); // exists on the server, never made by this client
  });

  test('reordered not-done messages do not move progress back', () => {
    const { server, client: c } = memory();
    const op = c.wrap(server.create());
    const seen: unknown[] = [];
    op.on('metadata', (m) => seen.push((m as { progressPercent: number }).progressPercent));
    for (const percent of [50, 25, 75, 75, 60]) expect(c.notify({ name: op.name, done: false, metadata: progress(percent) })).toBe(true);
    expect(seen).toEqual([50, 75]);
    expect(op.metadata).toEqual({ progressPercent: 75 });
  });

  test('bad input gets typed errors and leaves the operation pending', async () => {
    const { server, client: c } = memory();
    const op = c.wrap(server.create());
    const bad: unknown[] = [
      'not json',
      '[]',
      42,
      null,
      { name: 7, done: true },
      { done: true },
      { name: op.name, done: 'yes' },
      { name: op.name, done: false, response: struct({}) },
      new Uint8Array([0x0a, 0xff]),
      'x'.repeat(10 * 1024 * 1024 + 1),
    ];
    for (const input of bad) expect(() => c.notify(input as string)).toThrow(InvalidOperationError);
    expect(() => c.notify({ name: op.name, done: true, response: { typeUrl: 'type.googleapis.com/no.such.Type', value: new Uint8Array([1]) } })).toThrow(DecodeError);
    expect(op.done).toBe(false);
    expect(c.notify({ name: op.name, done: true, response: struct({ fine: true }) })).toBe(true);
    await expect(op.promise()).resolves.toEqual({ fine: true });
  });

  test('follows an operation the server renamed', async () => {
    const { client: c } = memory();
    const transport = {
      getOperation: async () => ({ name: 'operations/123', done: false }),
      cancelOperation: async () => undefined,
      deleteOperation: async () => undefined,
      listOperations: async () => ({ operations: [], nextPageToken: '' }),
    };
    const renaming = new OperationsClient({ transport, decode: registry });
    const op = renaming.get('operations/by-id');
    await op.poll();
    expect(op.name).toBe('operations/123');
    expect(renaming.notify({ name: 'operations/123', done: true, response: struct({ renamed: true }) })).toBe(true);
    await expect(op.promise()).resolves.toEqual({ renamed: true });
    expect(c.notify({ name: 'operations/123', done: true })).toBe(false);
  });

  test('attachNotifications validates its interval', () => {
    const { client: c } = memory();
    expect(() => c.attachNotifications({ safetyIntervalMs: -1 })).toThrow(TypeError);
    expect(() => pubsubNotifications(c, {} as never)).toThrow(TypeError);
  });
});
