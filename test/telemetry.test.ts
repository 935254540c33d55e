/**
 * Observability through the public API: OpenTelemetry spans with the real SDK
 * (in-memory exporter, async-hooks context manager, W3C propagator), over the
 * in-memory fake and real loopback gRPC and HTTP servers; the `retry` event
 * on fake time; nothing at all without a tracer provider. The debug log is in
 * test/debug-log.test.ts (it needs child processes).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context } from '@opentelemetry/api';
import { AsyncHooksContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  Code,
  LongRunningOperation,
  RpcError,
  grpcTransport,
  restProfiles,
  restTransport,
  type OperationsTransport,
} from '../src/index.js';
import { systemClock } from '../src/watch/clock.js';
import { FakeOperationsServer, serveGrpc, serveHttp, type ServedRequest } from '../src/testing/index.js';
import * as gax from 'google-gax';
import { readFileSync } from 'node:fs';
import { gaxTransport, type GaxOperationsClient } from '../src/index.js';
import { fakeAuth, loopbackClientOptions } from './support/video-server.js';
import { flush, registry, result, useFakeTime } from './support/protos.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const SERVICE = 'google.longrunning.Operations';
let exporter: InMemorySpanExporter | undefined;
let provider: BasicTracerProvider | undefined;

/** Registers a real SDK globally: provider, context manager, W3C propagator. */
function useTracing(): InMemorySpanExporter {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncHooksContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return exporter;
}

afterEach(async () => {
  jest.useRealTimers();
  trace.disable();
  context.disable();
  propagation.disable();
  await provider?.shutdown();
  provider = undefined;
  exporter = undefined;
  jest.restoreAllMocks();
});

const byName = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = byName(spans, name);
  expect(found).toHaveLength(1);
  return found[0];
};
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const traceparentOf = (span: ReadableSpan): string => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

/** Runs `fn` inside an active span named `caller`; resolves with its result. */
function inCallerSpan<T>(fn: () => Promise<T>): Promise<T> {
  return trace.getTracer('test').startActiveSpan('caller', async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

describe('without a tracer provider', () => {
  test('no tracer asked for, the context never read; the wait works as before', async () => {
    // A context manager, but no provider: the library must not touch the API.
    const manager = new AsyncHooksContextManager().enable();
    const active = jest.spyOn(manager, 'active');
    context.setGlobalContextManager(manager);
    const apiActive = jest.spyOn(context, 'active');
    const getTracer = jest.spyOn(trace, 'getTracer');
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    const { name } = fake.create();
    fake.complete(name, result('z'));
    const transport: OperationsTransport = fake.transport;
    const op = new LongRunningOperation(name, { transport, decode: registry, waitOperation: 'never' });
    await expect(op.promise()).resolves.toMatchObject({ uri: 'z' });
    await op.poll();
    expect(active).not.toHaveBeenCalled();
    expect(apiActive).not.toHaveBeenCalled();
    expect(getTracer).not.toHaveBeenCalled();
  });

  test('a provider registered later is picked up; disabling it stops the spans', async () => {
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    const { name } = fake.create();
    fake.complete(name);
    const op = () => new LongRunningOperation(name, { transport: fake.transport, decode: registry, waitOperation: 'never' });
    await op().promise();
    const spans = useTracing();
    await op().promise();
    expect(spans.getFinishedSpans().map((s) => s.name).sort()).toEqual([`${SERVICE}/GetOperation`, 'longrunning.wait']);
    trace.disable();
    spans.reset();
    await op().promise();
    expect(spans.getFinishedSpans()).toEqual([]);
  });
});

describe('spans over gRPC (real loopback server)', () => {
  test('the wait nests under the caller, its RPC under the wait; traceparent reaches the server', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const seen: { method: string; traceparent: unknown }[] = [];
    const server = await serveGrpc(fake.transport, { onCall: (call) => void seen.push({ method: call.method, traceparent: call.metadata.get('traceparent')[0] }) });
    const transport = grpcTransport({ address: server.address });
    try {
      const created = fake.create();
      fake.complete(created.name, result('gs://b/o'));
      const op = new LongRunningOperation(created, { transport, decode: registry });
      await expect(inCallerSpan(() => op.promise())).resolves.toMatchObject({ uri: 'gs://b/o' });

      const finished = spans.getFinishedSpans();
      const caller = one(finished, 'caller');
      const wait = one(finished, 'longrunning.wait');
      const rpc = one(finished, `${SERVICE}/WaitOperation`);
      expect(wait.kind).toBe(SpanKind.INTERNAL);
      expect(parentOf(wait)).toBe(caller.spanContext().spanId);
      expect(wait.spanContext().traceId).toBe(caller.spanContext().traceId);
      expect(wait.attributes).toMatchObject({
        'longrunning.operation.name': created.name,
        'longrunning.wait.outcome': 'done',
        'longrunning.polls': 0,
        'longrunning.wait_calls': 1,
        'longrunning.retries': 0,
      });
      expect(wait.status.code).toBe(SpanStatusCode.UNSET);
      expect(rpc.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(rpc)).toBe(wait.spanContext().spanId);
      expect(rpc.attributes).toEqual({
        'rpc.system': 'grpc',
        'rpc.service': SERVICE,
        'rpc.method': 'WaitOperation',
        'longrunning.operation.name': created.name,
      });
      expect(rpc.status.code).toBe(SpanStatusCode.UNSET);
      // The server saw the RPC span's context, in W3C form.
      expect(seen).toEqual([{ method: 'WaitOperation', traceparent: traceparentOf(rpc) }]);
    } finally {
      transport.close();
      await server.close();
    }
  });

  test('a failed call: ERROR status and rpc.grpc.status_code on the RPC span and the wait span', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    const server = await serveGrpc(fake.transport);
    const transport = grpcTransport({ address: server.address });
    try {
      const { name } = fake.create();
      fake.failNext('GetOperation', { code: Code.PERMISSION_DENIED, message: 'no access' });
      const op = new LongRunningOperation(name, { transport, decode: registry, waitOperation: 'never' });
      await expect(op.promise()).rejects.toMatchObject({ name: 'RpcError', code: Code.PERMISSION_DENIED });

      const finished = spans.getFinishedSpans();
      const wait = one(finished, 'longrunning.wait');
      const rpc = one(finished, `${SERVICE}/GetOperation`);
      expect(parentOf(wait)).toBeUndefined(); // no caller span: a root
      expect(parentOf(rpc)).toBe(wait.spanContext().spanId);
      expect(rpc.status.code).toBe(SpanStatusCode.ERROR);
      expect(rpc.status.message).toContain('PERMISSION_DENIED');
      expect(rpc.attributes['rpc.grpc.status_code']).toBe(Code.PERMISSION_DENIED);
      expect(wait.status.code).toBe(SpanStatusCode.ERROR);
      expect(wait.attributes).toMatchObject({ 'longrunning.wait.outcome': 'failed', 'longrunning.polls': 1, 'rpc.grpc.status_code': Code.PERMISSION_DENIED });
    } finally {
      transport.close();
      await server.close();
    }
  });

  test('poll() and cancel() outside the loop: CLIENT spans under the caller, no wait span', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const seen: unknown[] = [];
    const server = await serveGrpc(fake.transport, { onCall: (call) => void seen.push(call.metadata.get('traceparent')[0]) });
    const transport = grpcTransport({ address: server.address });
    try {
      const op = new LongRunningOperation(fake.create(), { transport, decode: registry });
      await inCallerSpan(async () => {
        await op.poll();
        await op.cancel();
      });
      const finished = spans.getFinishedSpans();
      const caller = one(finished, 'caller');
      expect(byName(finished, 'longrunning.wait')).toHaveLength(0);
      const get = one(finished, `${SERVICE}/GetOperation`);
      const cancel = one(finished, `${SERVICE}/CancelOperation`);
      expect(parentOf(get)).toBe(caller.spanContext().spanId);
      expect(parentOf(cancel)).toBe(caller.spanContext().spanId);
      expect(cancel.attributes['rpc.method']).toBe('CancelOperation');
      expect(seen).toEqual([traceparentOf(get), traceparentOf(cancel)]);
    } finally {
      transport.close();
      await server.close();
    }
  });
});

describe('spans over REST (real loopback HTTP server)', () => {
  test('rpc.system http, nesting, and traceparent in the request headers', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const requests: ServedRequest[] = [];
    const server = await serveHttp(fake.transport, restProfiles.standard, { registry, onRequest: (r) => void requests.push(r) });
    try {
      const { name } = fake.create();
      fake.complete(name, result('gs://b/rest'));
      const op = new LongRunningOperation(name, { transport: restTransport({ baseUrl: server.baseUrl }), decode: registry });
      const parent = trace.getTracer('test').startSpan('caller');
      const ctx: Context = trace.setSpan(ROOT_CONTEXT, parent);
      // updates() captures the context it is called in, like promise().
      const seen: boolean[] = [];
      await context.with(ctx, async () => {
        for await (const s of op.updates()) seen.push(s.done);
      });
      parent.end();
      expect(seen).toEqual([true]);

      const finished = spans.getFinishedSpans();
      const wait = one(finished, 'longrunning.wait');
      const rpc = one(finished, `${SERVICE}/GetOperation`);
      expect(parentOf(wait)).toBe(parent.spanContext().spanId);
      expect(parentOf(rpc)).toBe(wait.spanContext().spanId);
      expect(rpc.attributes).toEqual({ 'rpc.system': 'http', 'rpc.service': SERVICE, 'rpc.method': 'GetOperation', 'longrunning.operation.name': name });
      expect(requests).toHaveLength(1);
      expect(requests[0].headers.traceparent).toBe(traceparentOf(rpc));
    } finally {
      await server.close();
    }
  });

  test('an HTTP error maps to its canonical code on the span', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const server = await serveHttp(fake.transport, restProfiles.standard, { registry });
    try {
      const op = new LongRunningOperation('operations/missing', { transport: restTransport({ baseUrl: server.baseUrl }), decode: registry });
      await expect(op.promise()).rejects.toMatchObject({ code: Code.NOT_FOUND });
      const rpc = one(spans.getFinishedSpans(), `${SERVICE}/GetOperation`);
      expect(rpc.status.code).toBe(SpanStatusCode.ERROR);
      expect(rpc.attributes['rpc.grpc.status_code']).toBe(Code.NOT_FOUND);
    } finally {
      await server.close();
    }
  });

  test('no propagator registered: nothing is injected, spans still recorded', async () => {
    const spans = useTracing();
    propagation.disable();
    const fake = new FakeOperationsServer({ types: registry });
    const requests: ServedRequest[] = [];
    const server = await serveHttp(fake.transport, restProfiles.standard, { registry, onRequest: (r) => void requests.push(r) });
    try {
      const { name } = fake.create();
      fake.complete(name);
      await new LongRunningOperation(name, { transport: restTransport({ baseUrl: server.baseUrl }), decode: registry }).promise();
      expect(requests).toHaveLength(1);
      expect(requests[0].headers.traceparent).toBeUndefined();
      expect(spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('spans through google-gax', () => {
  test('gaxTransport over gRPC: rpc.system grpc', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const listener = await fake.listenGrpc();
    const options = loopbackClientOptions(listener.port, fakeAuth());
    const client = gax.lro({ auth: options.auth }).operationsClient(options);
    try {
      const { name } = fake.create();
      fake.complete(name);
      await new LongRunningOperation(name, { transport: gaxTransport(client as unknown as GaxOperationsClient), decode: registry }).promise();
      const rpcs = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
      expect(rpcs.length).toBeGreaterThanOrEqual(1);
      for (const rpc of rpcs) expect(rpc.attributes['rpc.system']).toBe('grpc');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('gaxTransport over the REST fallback: rpc.system http', async () => {
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry });
    const server = await serveHttp(fake.transport, restProfiles.standard, { registry });
    const protoJson = gax.protobufFromJSON(JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')));
    const client = gax.fallback
      .lro({ auth: fakeAuth() as never, protoJson, httpRules: [{ selector: 'google.longrunning.Operations.GetOperation', get: '/v1/{name=operations/**}' }] })
      .operationsClient({ servicePath: '127.0.0.1', port: server.port, protocol: 'http', universeDomain: 'googleapis.com' });
    try {
      const { name } = fake.create();
      fake.complete(name);
      await new LongRunningOperation(name, { transport: gaxTransport(client as unknown as GaxOperationsClient), decode: registry }).promise();
      const get = one(spans.getFinishedSpans(), `${SERVICE}/GetOperation`);
      expect(get.attributes['rpc.system']).toBe('http');
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('the wait span on fake time (in-memory fake)', () => {
  test('sleeps and retries are events; polls and retries counted; an unknown transport has no rpc.system', async () => {
    useFakeTime();
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'flaky' }, 2);
    const op = new LongRunningOperation(fake.create(), {
      transport: fake.transport,
      decode: registry,
      waitOperation: 'never',
      polling: { initialDelayMs: 1000 },
      clock: { ...systemClock, random: () => 0.5 },
    });
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1000); // first poll: UNAVAILABLE, retried twice
    await jest.advanceTimersByTimeAsync(1000);
    fake.complete(op.name, result('x'));
    await jest.advanceTimersByTimeAsync(5000);
    await p;

    const finished = spans.getFinishedSpans();
    const wait = one(finished, 'longrunning.wait');
    const events = wait.events.map((e) => [e.name, e.attributes]);
    expect(events.slice(0, 3)).toEqual([
      ['sleep', { 'longrunning.delay_ms': 1000 }],
      ['retry', { 'rpc.method': 'GetOperation', 'rpc.grpc.status_code': Code.UNAVAILABLE, 'longrunning.attempt': 1, 'longrunning.delay_ms': 125 }],
      ['retry', { 'rpc.method': 'GetOperation', 'rpc.grpc.status_code': Code.UNAVAILABLE, 'longrunning.attempt': 2, 'longrunning.delay_ms': 250 }],
    ]);
    expect(events.slice(3).every(([name]) => name === 'sleep')).toBe(true);
    const polls = byName(finished, `${SERVICE}/GetOperation`);
    expect(wait.attributes['longrunning.retries']).toBe(2);
    expect(wait.attributes['longrunning.polls']).toBe(polls.length - 2); // a retried call is one poll
    expect(polls.slice(0, 2).map((s) => s.attributes['rpc.grpc.status_code'])).toEqual([Code.UNAVAILABLE, Code.UNAVAILABLE]);
    for (const span of polls) {
      expect(parentOf(span)).toBe(wait.spanContext().spanId);
      expect(span.attributes).not.toHaveProperty('rpc.system');
    }
  });

  test('a wait given up (every waiter gone) ends its span as stopped, with nothing left running', async () => {
    useFakeTime();
    const spans = useTracing();
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    const op = new LongRunningOperation(fake.create(), { transport: fake.transport, decode: registry, waitOperation: 'never' });
    const controller = new AbortController();
    const p = op.promise({ signal: controller.signal });
    p.catch(() => undefined);
    await flush();
    controller.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const wait = one(spans.getFinishedSpans(), 'longrunning.wait');
    expect(wait.attributes['longrunning.wait.outcome']).toBe('stopped');
    expect(wait.status.code).toBe(SpanStatusCode.UNSET);
    const calls = fake.calls.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(fake.calls).toHaveLength(calls); // the loop is gone
  });
});

describe('the retry event (fake time, injected clock)', () => {
  test('fires before each retry with the error, the method, the attempt and the delay actually waited', async () => {
    useFakeTime();
    const fake = new FakeOperationsServer({ types: registry, waitOperation: false });
    const times: number[] = [];
    const push = fake.calls.push.bind(fake.calls);
    fake.calls.push = (...items) => {
      times.push(Date.now());
      return push(...items);
    };
    fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'flaky' }, 3);
    const { name } = fake.create();
    fake.complete(name, result('y'));
    const op = new LongRunningOperation(name, { transport: fake.transport, decode: registry, waitOperation: 'never', clock: { ...systemClock, random: () => 0.5 } });
    const retries: { error: RpcError; info: { method: string; attempt: number; delayMs: number }; at: number }[] = [];
    op.on('retry', (error, info) => retries.push({ error, info, at: Date.now() }));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(10_000);
    await expect(p).resolves.toMatchObject({ uri: 'y' });

    expect(retries.map((r) => r.info)).toEqual([
      { method: 'GetOperation', attempt: 1, delayMs: 125 },
      { method: 'GetOperation', attempt: 2, delayMs: 250 },
      { method: 'GetOperation', attempt: 3, delayMs: 500 },
    ]);
    for (const r of retries) {
      expect(r.error).toBeInstanceOf(RpcError);
      expect(r.error.code).toBe(Code.UNAVAILABLE);
    }
    // Emitted before each retry: right after the failed call, `delayMs` before the next one.
    expect(times).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      expect(retries[i].at).toBe(times[i]);
      expect(times[i + 1] - times[i]).toBe(retries[i].info.delayMs);
    }
  });

  test('WaitOperation retries name their method; a non-retryable failure emits none', async () => {
    useFakeTime();
    const fake = new FakeOperationsServer({ types: registry });
    fake.failNext('WaitOperation', { code: Code.UNAVAILABLE }, 1);
    const { name } = fake.create();
    fake.complete(name);
    const op = new LongRunningOperation(name, { transport: fake.transport, decode: registry, clock: { ...systemClock, random: () => 0 } });
    const infos: unknown[] = [];
    op.on('retry', (_e, info) => infos.push(info));
    const p = op.promise();
    await jest.advanceTimersByTimeAsync(1000);
    await p;
    expect(infos).toEqual([{ method: 'WaitOperation', attempt: 1, delayMs: 0 }]);

    const other = new FakeOperationsServer({ types: registry, waitOperation: false });
    other.failNext('GetOperation', { code: Code.PERMISSION_DENIED });
    const denied = new LongRunningOperation(other.create().name, { transport: other.transport, decode: registry, waitOperation: 'never' });
    const none: unknown[] = [];
    denied.on('retry', (_e, info) => none.push(info));
    const q = denied.promise();
    q.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(q).rejects.toMatchObject({ code: Code.PERMISSION_DENIED });
    expect(none).toEqual([]);
  });
});
