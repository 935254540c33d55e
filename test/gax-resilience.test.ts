/**
 * google-gax transport correctness and resilience, real loopback sockets
 * only: the same metadata on every RPC (WaitOperation included), calls lost
 * with their connection, and REST fallback requests gax cannot build.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VideoIntelligenceServiceClient, protos } from '@google-cloud/video-intelligence';
import * as gax from 'google-gax';
import { LongRunningOperation, RpcError, fromGaxOperation, gaxTransport, type GaxOperationsClient } from '../src/index.js';
import { FakeOperationsServer, FaultProxy, HTTP2_FRAME, serveGrpc, type ServedCall } from '../src/testing/index.js';
import { Code } from '../src/types.js';
import { answerShortBody, rawHttpServer, until } from './support/loopback.js';
import { fakeAuth, loopbackClientOptions, startVideoServer, type VideoServer } from './support/video-server.js';

const FAST = { polling: { initialDelayMs: 5, maxDelayMs: 20 } };
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function grpcClient(port: number): gax.OperationsClient {
  const options = loopbackClientOptions(port, fakeAuth());
  const client = gax.lro({ auth: options.auth }).operationsClient(options);
  closers.push(() => client.close());
  return client;
}

function fallbackClient(port: number, httpRules: { selector: string; [verb: string]: string }[]): gax.OperationsClient {
  const protoJson = gax.protobufFromJSON(
    JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')),
  );
  const client = gax.fallback
    .lro({ auth: fakeAuth() as never, protoJson, httpRules })
    .operationsClient({ servicePath: '127.0.0.1', port, protocol: 'http', universeDomain: 'googleapis.com' });
  closers.push(() => client.close());
  return client;
}

/** gaxTransport over a real gax OperationsClient → a frame-recording HTTP/2 proxy → the fake gRPC server. */
async function behindProxy() {
  const fake = new FakeOperationsServer();
  const listener = await fake.listenGrpc();
  const proxy = await FaultProxy.listen({ target: listener.port, http2: true });
  closers.push(() => fake.close(), () => proxy.close());
  return { fake, proxy, transport: gaxTransport(grpcClient(proxy.port) as unknown as GaxOperationsClient) };
}

const header = (call: ServedCall, key: string) => call.metadata.get(key).map(String);

describe('every RPC carries the same metadata', () => {
  test('gaxTransport callOptions headers and the client’s x-goog-api-client reach GetOperation and WaitOperation alike', async () => {
    const fake = new FakeOperationsServer();
    const seen: ServedCall[] = [];
    const server = await serveGrpc(fake.service, { onCall: (call) => void seen.push(call) });
    closers.push(() => fake.close(), () => server.close());
    const client = grpcClient(server.port);
    const transport = gaxTransport(client as unknown as GaxOperationsClient, {
      callOptions: { otherArgs: { headers: { 'x-goog-user-project': 'billing-project' } } },
    });
    const created = fake.create();
    await transport.getOperation(created.name);
    setTimeout(() => fake.complete(created.name), 20);
    await transport.waitOperation!(created.name, 5_000);
    await transport.waitOperation!(created.name, 5_000);

    expect(seen.map((c) => [c.method, c.name])).toEqual([
      ['GetOperation', created.name],
      ['WaitOperation', created.name],
      ['WaitOperation', created.name],
    ]); // the metadata capture never reached the wire
    const [get, ...waits] = seen;
    expect(header(get, 'x-goog-user-project')).toEqual(['billing-project']);
    expect(header(get, 'x-goog-api-client')[0]).toMatch(/gax\/\S+ grpc\/\S+/);
    for (const wait of waits) {
      expect(header(wait, 'x-goog-user-project')).toEqual(['billing-project']);
      expect(header(wait, 'x-goog-api-client')).toEqual(header(get, 'x-goog-api-client'));
      expect(wait.deadlineMs).toBeGreaterThan(5_000); // the deadline still exceeds the timeout
    }
  });

  describe('fromGaxOperation with the generated VideoIntelligenceServiceClient', () => {
    let server: VideoServer;
    let client: VideoIntelligenceServiceClient;
    beforeEach(async () => {
      server = await startVideoServer();
      client = new VideoIntelligenceServiceClient(server.clientOptions(fakeAuth()));
    });
    afterEach(async () => {
      await client.close();
      await server.close();
    });

    test('WaitOperation carries the same x-goog-api-client as the client’s GetOperation', async () => {
      const [operation] = await client.annotateVideo({
        inputUri: 'gs://cloud-samples-data/video/cat.mp4',
        features: [protos.google.cloud.videointelligence.v1.Feature.LABEL_DETECTION],
      });
      const op = fromGaxOperation(operation, FAST);
      await op.poll();
      await op.promise({ timeoutMs: 20_000 });
      const get = server.calls.find((c) => c.method === 'GetOperation');
      const waits = server.calls.filter((c) => c.method === 'WaitOperation');
      expect(get?.apiClient).toMatch(/gax\//);
      expect(waits.length).toBeGreaterThan(0);
      expect(waits.map((c) => c.apiClient)).toEqual(waits.map(() => get!.apiClient));
    });
  });
});

describe('a call lost with its connection is UNAVAILABLE through google-gax', () => {
  test('gRPC: a GOAWAY(INTERNAL_ERROR) mid-WaitOperation; the loop then resolves with the true result', async () => {
    const { fake, proxy, transport } = await behindProxy();
    const created = fake.create();
    const pending = transport.waitOperation!(created.name, 10_000).catch((e: unknown) => e);
    await until(() => fake.calls.some((c) => c.method === 'WaitOperation'), 'the WaitOperation');
    proxy.goaway(2);
    const err = await pending;
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: Code.UNAVAILABLE });
    expect((err as RpcError).message).toMatch(/Session closed with error code 2/);

    const op = new LongRunningOperation(created, { transport, ...FAST });
    const result = op.promise();
    await until(() => fake.calls.filter((c) => c.method === 'WaitOperation').length >= 2, 'a new WaitOperation');
    proxy.goaway(2);
    await until(() => fake.calls.filter((c) => c.method === 'WaitOperation').length >= 3, 'the retried WaitOperation');
    fake.complete(created.name, { typeUrl: 'type.googleapis.com/google.protobuf.StringValue', value: Uint8Array.of(10, 2, 111, 107) });
    await expect(result).resolves.toBe('ok');
  });

  test('REST fallback: a body cut mid-way is UNAVAILABLE', async () => {
    const server = await rawHttpServer([answerShortBody]);
    closers.push(server.close);
    const client = fallbackClient(server.port, [
      { selector: 'google.longrunning.Operations.GetOperation', get: '/v1/{name=operations/**}' },
    ]);
    const err = await gaxTransport(client as unknown as GaxOperationsClient).getOperation('operations/cut').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: Code.UNAVAILABLE });
  });
});

describe('paced cancellation through google-gax', () => {
  test('1,500 aborted WaitOperations reject at once; resets are paced and the session survives', async () => {
    const { fake, proxy, transport } = await behindProxy();
    const unrelated = fake.create();
    const survivor = transport.waitOperation!(unrelated.name, 60_000);
    const controller = new AbortController();
    setMaxListeners(2_000, controller.signal);
    const settled: unknown[] = [];
    const calls = Array.from({ length: 1_500 }, () => fake.create()).map((c) =>
      transport.waitOperation!(c.name, 60_000, { signal: controller.signal }).then(
        () => settled.push('resolved'),
        (e: unknown) => settled.push(e),
      ),
    );
    await until(() => fake.calls.filter((c) => c.method === 'WaitOperation').length >= 1_501, 'every WaitOperation');
    const reason = new Error('stop');
    controller.abort(reason);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(settled.length).toBe(1_500);
    expect(settled.every((e) => e === reason)).toBe(true);
    await Promise.all(calls);
    const resets = () => proxy.frames.filter((f) => f.from === 'client' && f.type === HTTP2_FRAME.RST_STREAM);
    await until(() => resets().length >= 500, 'the first resets');
    await new Promise((resolve) => setTimeout(resolve, 200));
    fake.complete(unrelated.name);
    await expect(survivor).resolves.toMatchObject({ name: unrelated.name, done: true });
    expect(proxy.frames.filter((f) => f.from === 'server' && f.type === HTTP2_FRAME.GOAWAY)).toEqual([]);
    expect(resets().length).toBeLessThan(1_500); // not all at once: the rest follow at the sustained rate (per-tick limits: cancel-pacer.test.ts)
  });
});

describe('REST fallback: a request gax cannot build', () => {
  test('a cancel no URL template matches is UNIMPLEMENTED, before any request', async () => {
    const fake = new FakeOperationsServer();
    const http = await fake.listenHttp();
    closers.push(() => fake.close());
    const client = fallbackClient(Number(new URL(http.baseUrl).port), [
      { selector: 'google.longrunning.Operations.GetOperation', get: '/v1/{name=operations/**}' },
      { selector: 'google.longrunning.Operations.CancelOperation', post: '/v1/{name=projects/*/operations/*}:cancel', body: '*' },
    ]);
    const transport = gaxTransport(client as unknown as GaxOperationsClient);
    const created = fake.create();
    const err = await transport.cancelOperation(created.name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: Code.UNIMPLEMENTED });
    expect((err as RpcError).rawMessage).toMatch(/Cannot build HTTP request/);
    const op = new LongRunningOperation(created, { transport, ...FAST });
    await expect(op.cancel()).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    expect(fake.calls.filter((c) => c.method === 'CancelOperation')).toEqual([]);
  });
});

describe('ListOperations partial success through google-gax', () => {
  test('a gax whose schema lacks return_partial_success refuses it with UNIMPLEMENTED instead of dropping it', async () => {
    const fake = new FakeOperationsServer();
    const listener = await fake.listenGrpc();
    closers.push(() => fake.close());
    const client = grpcClient(listener.port);
    const transport = gaxTransport(client as unknown as GaxOperationsClient);
    const a = fake.create();
    fake.setUnreachable(['projects/p/locations/eu']);
    await expect(transport.listOperations({ name: 'operations' })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    // google-gax 5 bundles a google.longrunning.ListOperationsRequest without field 5.
    const supported = readFileSync(join(dirname(require.resolve('google-gax')), '../protos/operations.json'), 'utf8').includes('"returnPartialSuccess"');
    const partial = transport.listOperations({ name: 'operations', returnPartialSuccess: true });
    if (supported) {
      const page = await partial;
      expect(page.operations.map((o) => o.name)).toEqual([a.name]);
      expect(page.unreachable).toEqual(['projects/p/locations/eu']);
    } else {
      await expect(partial).rejects.toMatchObject({ code: Code.UNIMPLEMENTED, rawMessage: expect.stringMatching(/return_partial_success/) });
      expect(fake.calls.filter((c) => c.method === 'ListOperations')).toHaveLength(1);
    }
  });
});
