/**
 * REST transport, profiles, URL templates and the HTTP test server, over real
 * loopback sockets (127.0.0.1 only).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOperationError, RpcError } from '../src/errors.js';
import { Code, type CallOptions, type ListOperationsRequest, type OperationResource, type OperationsTransport } from '../src/types.js';
import {
  PathTemplate,
  defineRestProfile,
  grpcCodeFromHttp,
  httpStatusFromGrpcCode,
  matchRestRoute,
  renameMapper,
  resolveRestRoute,
  restProfiles,
  restTransport,
  splitResourceName,
  type RestProfile,
} from '../src/transports/rest/index.js';
import { serveHttp } from '../src/testing/http-server.js';
import { FakeOperationsServer } from '../src/testing/fake-server.js';

// ---------------------------------------------------------------------------
// Helpers

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

type Call = { method: string; name: string; timeoutMs?: number; request?: ListOperationsRequest };

/** A scripted Operations backend: a table of operations, queued failures, optional hanging calls. */
class ScriptedBackend implements OperationsTransport {
  readonly calls: Call[] = [];
  readonly ops = new Map<string, OperationResource>();
  private readonly failures: RpcError[] = [];
  private hang: { arrived: () => void; aborted: (reason: unknown) => void } | undefined;
  waitOperation?: (name: string, timeoutMs: number, options?: CallOptions) => Promise<OperationResource>;

  constructor(options: { wait?: boolean } = {}) {
    if (options.wait !== false) {
      this.waitOperation = async (name, timeoutMs, callOptions) => {
        this.calls.push({ method: 'WaitOperation', name, timeoutMs });
        await this.step(callOptions);
        return this.find(name);
      };
    }
  }

  add(op: OperationResource): OperationResource {
    this.ops.set(op.name, op);
    return op;
  }

  failNext(error: RpcError): void {
    this.failures.push(error);
  }

  /** The next call never answers; resolves `arrived` when it reaches the backend and `aborted` when its signal aborts. */
  hangNext(): { arrived: Promise<void>; aborted: Promise<unknown> } {
    let arrived!: () => void;
    let aborted!: (reason: unknown) => void;
    const a = new Promise<void>((resolve) => (arrived = resolve));
    const b = new Promise<unknown>((resolve) => (aborted = resolve));
    this.hang = { arrived, aborted };
    return { arrived: a, aborted: b };
  }

  private async step(options?: CallOptions): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const hang = this.hang;
    if (hang) {
      this.hang = undefined;
      hang.arrived();
      await new Promise<never>((_, reject) => {
        options?.signal?.addEventListener(
          'abort',
          () => {
            hang.aborted(options.signal!.reason);
            reject(options.signal!.reason);
          },
          { once: true },
        );
      });
    }
  }

  private find(name: string): OperationResource {
    const op = this.ops.get(name);
    if (!op) throw new RpcError(Code.NOT_FOUND, `operation ${name} not found`);
    return op;
  }

  async getOperation(name: string, options?: CallOptions): Promise<OperationResource> {
    this.calls.push({ method: 'GetOperation', name });
    await this.step(options);
    return this.find(name);
  }

  async cancelOperation(name: string, options?: CallOptions): Promise<void> {
    this.calls.push({ method: 'CancelOperation', name });
    await this.step(options);
    this.find(name);
    this.ops.set(name, { name, done: true, error: { code: Code.CANCELLED, message: 'cancelled', details: [] } });
  }

  async deleteOperation(name: string, options?: CallOptions): Promise<void> {
    this.calls.push({ method: 'DeleteOperation', name });
    await this.step(options);
    this.find(name);
    this.ops.delete(name);
  }

  async listOperations(request: ListOperationsRequest, options?: CallOptions) {
    this.calls.push({ method: 'ListOperations', name: request.name, request: { ...request } });
    await this.step(options);
    const operations = [...this.ops.values()].filter((op) => op.name.startsWith(`${request.name}/`));
    return { operations, nextPageToken: request.pageToken ? '' : 'page-2' };
  }
}

/** A fetch that counts the requests it makes. */
function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let n = 0;
  const counted: typeof fetch = (input, init) => {
    n++;
    return fetch(input, init);
  };
  return { fetch: counted, count: () => n };
}

async function serve(backend: OperationsTransport, profile: RestProfile = restProfiles.standard) {
  const server = await serveHttp(backend, profile);
  closers.push(() => server.close());
  return server;
}

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };

/** A hand-written HTTP server on 127.0.0.1 that records requests. */
async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    res.on('error', () => undefined);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { baseUrl: `http://127.0.0.1:${port}`, seen };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

const PROGRESS = { typeUrl: 'type.googleapis.com/test.Progress', json: { percent: 50, note: 'half' } };
// google.protobuf.Int64Value { value: 123 } in protobuf binary.
const INT64_RESPONSE = { typeUrl: 'type.googleapis.com/google.protobuf.Int64Value', value: Uint8Array.of(0x08, 0x7b) };
const ERROR_INFO = { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', json: { reason: 'QUOTA', domain: 'example.com' } };

// ---------------------------------------------------------------------------
// URL templates

describe('PathTemplate', () => {
  test('expands and matches variables with *, ** and literals, plus verbs', () => {
    const get = PathTemplate.parse('/v1/{name=operations/**}');
    expect(get.expand({ name: 'operations/a/b' })).toBe('/v1/operations/a/b');
    expect(get.match('/v1/operations/a/b')).toEqual({ name: 'operations/a/b' });
    expect(get.match('/v1/operations')).toBeUndefined();
    expect(get.tryExpand({ name: 'operations' })).toBeUndefined();

    const cancel = PathTemplate.parse('/v1/{name=operations/**}:cancel');
    expect(cancel.verb).toBe('cancel');
    expect(cancel.expand({ name: 'operations/x' })).toBe('/v1/operations/x:cancel');
    expect(cancel.match('/v1/operations/x:cancel')).toEqual({ name: 'operations/x' });
    expect(cancel.match('/v1/operations/x')).toBeUndefined();
    expect(get.match('/v1/operations/x:cancel')).toBeUndefined();

    const list = PathTemplate.parse('/v3/{name=projects/*/locations/*}/operations');
    expect(list.expand({ name: 'projects/p/locations/l' })).toBe('/v3/projects/p/locations/l/operations');
    expect(list.match('/v3/projects/p/locations/l/operations')).toEqual({ name: 'projects/p/locations/l' });
    expect(list.tryExpand({ name: 'projects/p' })).toBeUndefined();
    expect(() => list.expand({ name: 'projects/p' })).toThrow(InvalidOperationError);

    const short = PathTemplate.parse('/v1/{id}');
    expect(short.expand({ id: 'x' })).toBe('/v1/x');
    expect(short.tryExpand({ id: 'x/y' })).toBeUndefined();
  });

  test('percent-encodes segment content so a segment never contains "/" or a verb', () => {
    const t = PathTemplate.parse('/v1/{name=operations/**}');
    const path = t.expand({ name: 'operations/a:cancel/é+@' });
    expect(path).toBe('/v1/operations/a%3Acancel/%C3%A9%2B%40');
    expect(t.match(path)).toEqual({ name: 'operations/a:cancel/é+@' });
    expect(t.match('/v1/operations/a%2Fb')).toBeUndefined();
    expect(t.match('/v1/operations/%2e%2e')).toBeUndefined();
    expect(t.match('/v1/operations/%zz')).toBeUndefined();
  });

  test('rejects templates outside the grammar', () => {
    for (const bad of ['v1/{name}', '/v1/{name=operations/**}/x', '/v1/*', '/v1/{name', '/v1/{a}/{a}', '/v1/x{name}', '/v1//x', '/v1/{name}:']) {
      expect(() => PathTemplate.parse(bad)).toThrow(TypeError);
    }
  });

  test('name hardening rejects anything that could escape the template', () => {
    expect(splitResourceName('projects/p/operations/1')).toEqual(['projects', 'p', 'operations', '1']);
    const bad = [
      '',
      '/operations/1',
      'operations/1/',
      'operations//1',
      'operations/./1',
      'operations/../admin',
      'operations/1?x=y',
      'operations/1#frag',
      'operations/%2e%2e',
      'operations\\1',
      'operations/a b',
      'operations/a\tb',
      'operations/a\nb',
      'operations/\u0000',
      'operations/\u007f',
      'operations/\u200e',
      'operations/\ud800',
      'operations/\u00a0',
    ];
    for (const name of bad) expect(() => splitResourceName(name)).toThrow(InvalidOperationError);
    expect(() => splitResourceName(42)).toThrow(InvalidOperationError);
    expect(() => splitResourceName(undefined)).toThrow(InvalidOperationError);
  });
});

describe('profiles', () => {
  test('restProfiles has exactly the four built-in profiles', () => {
    expect(Object.keys(restProfiles).sort()).toEqual(['cloudStorage', 'dialogflowCx', 'standard', 'vision']);
  });

  test('standard layout', () => {
    const p = restProfiles.standard;
    expect(resolveRestRoute(p, 'get', 'operations/1')).toEqual({ method: 'GET', path: '/v1/operations/1' });
    expect(resolveRestRoute(p, 'get', 'operations/a/b')).toEqual({ method: 'GET', path: '/v1/operations/a/b' });
    expect(resolveRestRoute(p, 'list', 'operations')).toEqual({ method: 'GET', path: '/v1/operations' });
    expect(resolveRestRoute(p, 'delete', 'operations/1')).toEqual({ method: 'DELETE', path: '/v1/operations/1' });
    expect(resolveRestRoute(p, 'cancel', 'operations/1')).toEqual({ method: 'POST', path: '/v1/operations/1:cancel' });
    expect(resolveRestRoute(p, 'wait', 'operations/1')).toEqual({ method: 'POST', path: '/v1/operations/1:wait' });
    expect(p.waitNotFoundIsUnimplemented).toBe(true);
  });

  test('Cloud Storage maps names to bucket URLs both ways', () => {
    const p = restProfiles.cloudStorage;
    const name = 'projects/_/buckets/my.bucket/operations/op-1';
    expect(resolveRestRoute(p, 'get', name)).toEqual({ method: 'GET', path: '/storage/v1/b/my.bucket/operations/op-1' });
    expect(resolveRestRoute(p, 'cancel', name)).toEqual({ method: 'POST', path: '/storage/v1/b/my.bucket/operations/op-1/cancel' });
    expect(resolveRestRoute(p, 'list', 'projects/_/buckets/my.bucket')).toEqual({ method: 'GET', path: '/storage/v1/b/my.bucket/operations' });
    expect(matchRestRoute(p, 'GET', '/storage/v1/b/my.bucket/operations/op-1')).toMatchObject({ key: 'get', name });
    expect(matchRestRoute(p, 'POST', '/storage/v1/b/my.bucket/operations/op-1/cancel')).toMatchObject({ key: 'cancel', name });
    expect(matchRestRoute(p, 'GET', '/storage/v1/b/my.bucket/operations')).toMatchObject({ key: 'list', name: 'projects/_/buckets/my.bucket' });
    expect(() => resolveRestRoute(p, 'get', 'projects/p1/buckets/b/operations/o')).toThrow(InvalidOperationError);
    expect(p.delete).toHaveLength(0);
    expect(p.wait).toHaveLength(0);
  });

  test('Dialogflow CX and Vision accept each of their name patterns', () => {
    const cx = restProfiles.dialogflowCx;
    expect(resolveRestRoute(cx, 'get', 'projects/p/locations/l/operations/o').path).toBe('/v3/projects/p/locations/l/operations/o');
    expect(resolveRestRoute(cx, 'get', 'projects/p/operations/o').path).toBe('/v3/projects/p/operations/o');
    expect(resolveRestRoute(cx, 'cancel', 'projects/p/operations/o')).toEqual({ method: 'POST', path: '/v3/projects/p/operations/o:cancel' });
    expect(resolveRestRoute(cx, 'list', 'projects/p/locations/l').path).toBe('/v3/projects/p/locations/l/operations');
    const vision = restProfiles.vision;
    for (const name of ['projects/p/locations/l/operations/o', 'operations/o', 'projects/p/operations/o', 'locations/l/operations/o']) {
      expect(resolveRestRoute(vision, 'get', name)).toEqual({ method: 'GET', path: `/v1/${name}` });
    }
    expect(() => resolveRestRoute(vision, 'get', 'operations/a/b')).toThrow(/does not match.*vision/);
  });

  test('the error for a name that fits no template names the name and the templates', () => {
    let err: unknown;
    try {
      resolveRestRoute(restProfiles.standard, 'get', 'projects/p/operations/1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidOperationError);
    expect((err as Error).message).toContain('"projects/p/operations/1"');
    expect((err as Error).message).toContain('/v1/{name=operations/**}');
  });

  test('defineRestProfile: method overrides, derived profiles, function mappings and bad input', () => {
    const custom = defineRestProfile({
      name: 'jobs',
      get: '/v2/{name=jobs/*}',
      cancel: { method: 'DELETE', path: '/v2/{name=jobs/*}/run' },
      wait: { method: 'GET', path: '/v2/{name=jobs/*}:wait' },
    });
    expect(resolveRestRoute(custom, 'cancel', 'jobs/1')).toEqual({ method: 'DELETE', path: '/v2/jobs/1/run' });
    expect(resolveRestRoute(custom, 'wait', 'jobs/1')).toEqual({ method: 'GET', path: '/v2/jobs/1:wait' });
    expect(custom.waitNotFoundIsUnimplemented).toBe(false);

    const derived = defineRestProfile({ ...restProfiles.standard, name: 'no-wait', wait: undefined });
    expect(derived.wait).toHaveLength(0);
    expect(resolveRestRoute(derived, 'get', 'operations/1').path).toBe('/v1/operations/1');

    const fn = defineRestProfile({ name: 'fn', get: (name) => (name.startsWith('jobs/') ? `/api/${name}` : undefined) });
    expect(resolveRestRoute(fn, 'get', 'jobs/7')).toEqual({ method: 'GET', path: '/api/jobs/7' });
    expect(() => resolveRestRoute(fn, 'get', 'other/7')).toThrow(InvalidOperationError);
    // A function that builds an unsafe path is caught too.
    const unsafe = defineRestProfile({ name: 'unsafe', get: () => '/api/../admin' });
    expect(() => resolveRestRoute(unsafe, 'get', 'jobs/1')).toThrow(/unsafe path/);

    expect(() => defineRestProfile({ name: 'bad', get: '/v1/{id=operations/*}' })).toThrow(TypeError);
    expect(() => defineRestProfile({ name: 'bad', get: [] })).toThrow(TypeError);
    expect(() => renameMapper('projects/{a}', '/x/{b}')).toThrow(TypeError);
  });
});

test('HTTP status ⇄ canonical code tables', () => {
  const table: [number, number][] = [
    [400, 3], [401, 16], [403, 7], [404, 5], [409, 10], [429, 8], [499, 1], [501, 12], [503, 14], [504, 4], [500, 13], [418, 2], [502, 2],
  ];
  for (const [status, code] of table) expect(grpcCodeFromHttp(status)).toBe(code);
  expect(grpcCodeFromHttp(418, 'FAILED_PRECONDITION')).toBe(9);
  expect(grpcCodeFromHttp(400, 'FAILED_PRECONDITION')).toBe(9);
  expect(grpcCodeFromHttp(400, 'NOT_FOUND')).toBe(3);
  expect(grpcCodeFromHttp(404, 'bogus')).toBe(5);
  expect(grpcCodeFromHttp(418, '__proto__')).toBe(2);
  expect(httpStatusFromGrpcCode(12)).toBe(501);
  expect(httpStatusFromGrpcCode(5)).toBe(404);
  expect(httpStatusFromGrpcCode(99)).toBe(500);
});

// ---------------------------------------------------------------------------
// Every method on every profile, over loopback

describe('every profile over loopback', () => {
  test('standard: get, list, cancel, delete, wait', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/a', done: false, metadata: PROGRESS });
    backend.add({ name: 'operations/b/c', done: true, response: INT64_RESPONSE });
    const server = await serve(backend);
    const t = restTransport({ baseUrl: server.baseUrl });

    expect(await t.getOperation('operations/a')).toEqual({ name: 'operations/a', done: false, metadata: PROGRESS });
    // Binary Any → proto3 JSON on the server; int64 as a string.
    expect(await t.getOperation('operations/b/c')).toEqual({
      name: 'operations/b/c',
      done: true,
      response: { typeUrl: INT64_RESPONSE.typeUrl, json: { value: '123' } },
    });

    const page = await t.listOperations({ name: 'operations', filter: 'done=false', pageSize: 2, pageToken: 'tok' });
    expect(page.operations.map((op) => op.name).sort()).toEqual(['operations/a', 'operations/b/c']);
    expect(backend.calls.at(-1)).toEqual({
      method: 'ListOperations',
      name: 'operations',
      request: { name: 'operations', filter: 'done=false', pageSize: 2, pageToken: 'tok' },
    });
    expect((await t.listOperations({ name: 'operations' })).nextPageToken).toBe('page-2');

    expect(typeof t.waitOperation).toBe('function');
    const waited = await t.waitOperation!('operations/a', 1500);
    expect(waited.name).toBe('operations/a');
    expect(backend.calls.at(-1)).toEqual({ method: 'WaitOperation', name: 'operations/a', timeoutMs: 1500 });

    await expect(t.cancelOperation('operations/a')).resolves.toBeUndefined();
    expect((await t.getOperation('operations/a')).error).toEqual({ code: 1, message: 'cancelled', details: [] });
    await expect(t.deleteOperation('operations/a')).resolves.toBeUndefined();
    const gone = await rpcError(t.getOperation('operations/a'));
    expect(gone.code).toBe(Code.NOT_FOUND);
    expect(gone.rawMessage).toBe('operation operations/a not found');
    expect(backend.calls.map((c) => c.method)).toEqual([
      'GetOperation', 'GetOperation', 'ListOperations', 'ListOperations', 'WaitOperation', 'CancelOperation', 'GetOperation', 'DeleteOperation', 'GetOperation',
    ]);
  });

  test('cloudStorage: get, cancel, list; delete and wait are UNIMPLEMENTED without a request', async () => {
    const backend = new ScriptedBackend();
    const name = 'projects/_/buckets/bkt/operations/op1';
    backend.add({ name, done: false, metadata: PROGRESS });
    const server = await serve(backend, restProfiles.cloudStorage);
    const counter = countingFetch();
    const t = restTransport({ baseUrl: server.baseUrl, profile: restProfiles.cloudStorage, fetch: counter.fetch });

    expect((await t.getOperation(name)).metadata).toEqual(PROGRESS);
    await t.cancelOperation(name);
    const page = await t.listOperations({ name: 'projects/_/buckets/bkt', pageSize: 10 });
    expect(page.operations).toHaveLength(1);
    expect(page.operations[0].error?.code).toBe(1);
    expect(backend.calls.map((c) => [c.method, c.name])).toEqual([
      ['GetOperation', name],
      ['CancelOperation', name],
      ['ListOperations', 'projects/_/buckets/bkt'],
    ]);
    expect(counter.count()).toBe(3);
    expect(t.waitOperation).toBeUndefined();
    expect((await rpcError(t.deleteOperation(name))).code).toBe(Code.UNIMPLEMENTED);
    expect(counter.count()).toBe(3);
  });

  test('dialogflowCx: both name patterns; list; delete UNIMPLEMENTED', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'projects/p/locations/l/operations/o1', done: false });
    backend.add({ name: 'projects/p/operations/o2', done: false });
    const server = await serve(backend, restProfiles.dialogflowCx);
    const counter = countingFetch();
    const t = restTransport({ baseUrl: server.baseUrl, profile: restProfiles.dialogflowCx, fetch: counter.fetch });
    expect((await t.getOperation('projects/p/locations/l/operations/o1')).name).toBe('projects/p/locations/l/operations/o1');
    expect((await t.getOperation('projects/p/operations/o2')).name).toBe('projects/p/operations/o2');
    await t.cancelOperation('projects/p/operations/o2');
    await t.cancelOperation('projects/p/locations/l/operations/o1');
    const page = await t.listOperations({ name: 'projects/p/locations/l' });
    expect(page.operations.map((o) => o.name)).toEqual(['projects/p/locations/l/operations/o1']);
    expect(counter.count()).toBe(5);
    expect(t.waitOperation).toBeUndefined();
    expect((await rpcError(t.deleteOperation('projects/p/operations/o2'))).code).toBe(Code.UNIMPLEMENTED);
    expect(counter.count()).toBe(5);
  });

  test('vision: four get patterns; cancel, delete, list UNIMPLEMENTED without a request', async () => {
    const backend = new ScriptedBackend();
    const names = ['projects/p/locations/l/operations/o', 'operations/o', 'projects/p/operations/o', 'locations/l/operations/o'];
    for (const name of names) backend.add({ name, done: true, response: PROGRESS });
    const server = await serve(backend, restProfiles.vision);
    const counter = countingFetch();
    const t = restTransport({ baseUrl: server.baseUrl, profile: restProfiles.vision, fetch: counter.fetch });
    for (const name of names) expect((await t.getOperation(name)).response).toEqual(PROGRESS);
    expect(counter.count()).toBe(4);
    expect(t.waitOperation).toBeUndefined();
    for (const call of [t.cancelOperation('operations/o'), t.deleteOperation('operations/o'), t.listOperations({ name: 'operations' })]) {
      const err = await rpcError(call);
      expect(err.code).toBe(Code.UNIMPLEMENTED);
      expect(err.message).toMatch(/vision/);
    }
    expect(counter.count()).toBe(4);
    expect(backend.calls).toHaveLength(4);
  });

  test('a custom profile is served and called the same way', async () => {
    const jobs = defineRestProfile({
      name: 'jobs',
      get: '/v2/{name=projects/*/jobs/*}',
      cancel: { method: 'DELETE', path: '/v2/{name=projects/*/jobs/*}/run' },
      list: '/v2/{name=projects/*}/jobs',
      wait: { method: 'GET', path: '/v2/{name=projects/*/jobs/*}:wait' },
    });
    const backend = new ScriptedBackend();
    backend.add({ name: 'projects/p/jobs/j', done: false });
    const server = await serve(backend, jobs);
    const t = restTransport({ baseUrl: `${server.baseUrl}/`, profile: jobs });
    await t.getOperation('projects/p/jobs/j');
    await t.waitOperation!('projects/p/jobs/j', 250);
    await t.cancelOperation('projects/p/jobs/j');
    await t.listOperations({ name: 'projects/p' });
    expect(backend.calls.map((c) => c.method)).toEqual(['GetOperation', 'WaitOperation', 'CancelOperation', 'ListOperations']);
    expect(backend.calls[1].timeoutMs).toBe(250);
  });

  test('a client-only function mapping cannot be served', async () => {
    const fnProfile = defineRestProfile({ name: 'fn', get: (name: string) => `/x/${name}` });
    await expect(serveHttp(new ScriptedBackend(), fnProfile)).rejects.toThrow(/cannot be served/);
  });
});

// ---------------------------------------------------------------------------
// Input validation before any request

test('bad names and arguments are rejected before any request', async () => {
  const backend = new ScriptedBackend();
  const server = await serve(backend);
  const counter = countingFetch();
  const t = restTransport({ baseUrl: server.baseUrl, fetch: counter.fetch });
  const bad: unknown[] = ['operations/../../admin', 'operations/x?alt=media', 'operations/x#y', 'operations//x', 'operations/%2F', 'operations/a b', '', 'projects/p/operations/1', 7, null];
  for (const name of bad) {
    const err = await rejection(t.getOperation(name as string));
    expect(err).toBeInstanceOf(InvalidOperationError);
    await expect(t.cancelOperation(name as string)).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(t.deleteOperation(name as string)).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(t.waitOperation!(name as string, 1000)).rejects.toBeInstanceOf(InvalidOperationError);
  }
  const err = (await rejection(t.getOperation('projects/p/operations/1'))) as Error;
  expect(err.message).toContain('projects/p/operations/1');
  expect(err.message).toContain('/v1/{name=operations/**}');
  await expect(t.listOperations({ name: 'operations/../x' })).rejects.toBeInstanceOf(InvalidOperationError);
  expect((await rpcError(t.listOperations({ name: 'operations', pageSize: -1 }))).code).toBe(Code.INVALID_ARGUMENT);
  expect((await rpcError(t.waitOperation!('operations/1', Number.NaN))).code).toBe(Code.INVALID_ARGUMENT);
  expect(counter.count()).toBe(0);
  expect(backend.calls).toHaveLength(0);
});

// ---------------------------------------------------------------------------
// Response parsing and errors

describe('responses', () => {
  test('proto3 JSON defaults, Any as { typeUrl, json }, operation errors', async () => {
    const { baseUrl } = await rawServer((req, res) => {
      if (req.url === '/v1/operations/min') return json(res, 200, {});
      if (req.url === '/v1/operations/failed') {
        return json(res, 200, {
          name: 'operations/failed',
          done: true,
          metadata: { '@type': 'type.googleapis.com/test.Progress', percent: 100 },
          error: { code: 9, message: 'precondition', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'R' }] },
        });
      }
      if (req.url === '/v1/operations') return json(res, 200, {});
      return json(res, 200, { name: 'x', done: 'yes' });
    });
    const t = restTransport({ baseUrl });
    expect(await t.getOperation('operations/min')).toEqual({ name: '', done: false });
    expect(await t.getOperation('operations/failed')).toEqual({
      name: 'operations/failed',
      done: true,
      metadata: { typeUrl: 'type.googleapis.com/test.Progress', json: { percent: 100 } },
      error: { code: 9, message: 'precondition', details: [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', json: { reason: 'R' } }] },
    });
    expect(await t.listOperations({ name: 'operations' })).toEqual({ operations: [], nextPageToken: '' });
    await expect(t.getOperation('operations/bad')).rejects.toBeInstanceOf(InvalidOperationError);
  });

  test('operation errors and Any details survive the trip through serveHttp', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/f', done: true, error: { code: 9, message: 'nope', details: [ERROR_INFO] } });
    const server = await serve(backend);
    const op = await restTransport({ baseUrl: server.baseUrl }).getOperation('operations/f');
    expect(op.error?.code).toBe(9);
    expect(op.error?.message).toBe('nope');
    expect(op.error?.details[0].typeUrl).toBe(ERROR_INFO.typeUrl);
    expect(op.error?.details[0].json).toMatchObject(ERROR_INFO.json);
  });

  test('HTTP statuses map to canonical codes, details decoded, no SyntaxError on non-JSON', async () => {
    const { baseUrl } = await rawServer((req, res) => {
      const m = /^\/v1\/operations\/s(\d+)(?:-(\w+))?$/.exec(req.url ?? '');
      if (!m) return json(res, 500, 'not json at all');
      const status = Number(m[1]);
      if (m[2] === 'html') {
        res.writeHead(status, { 'content-type': 'text/html' });
        return res.end('<html>broken</html>');
      }
      json(res, status, {
        error: {
          code: status,
          message: `boom ${status}`,
          ...(m[2] ? { status: m[2] } : {}),
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'WHY', domain: 'example.com' }],
        },
      });
    });
    const t = restTransport({ baseUrl });
    const table: [string, number][] = [
      ['s400', 3], ['s401', 16], ['s403', 7], ['s404', 5], ['s409', 10], ['s429', 8], ['s499', 1], ['s501', 12], ['s503', 14], ['s504', 4],
      ['s500', 13], ['s418', 2], ['s418-FAILED_PRECONDITION', 9], ['s400-FAILED_PRECONDITION', 9], ['s409-ALREADY_EXISTS', 6], ['s502-html', 2],
      ['s500-html', 13],
    ];
    for (const [id, code] of table) {
      const err = await rpcError(t.getOperation(`operations/${id}`));
      expect([id, err.code]).toEqual([id, code]);
      if (!id.endsWith('html')) {
        expect(err.rawMessage).toBe(`boom ${id.slice(1, 4)}`);
        expect(err.details).toEqual([expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'WHY', domain: 'example.com' })]);
      } else {
        expect(err.details).toEqual([]);
      }
    }
  });

  test('every gRPC code round-trips through serveHttp and restTransport, with details', async () => {
    const backend = new ScriptedBackend();
    const server = await serve(backend);
    const t = restTransport({ baseUrl: server.baseUrl });
    for (let code = 1; code <= 16; code++) {
      backend.failNext(
        new RpcError(code, `failure ${code}`, { details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: `R${code}`, domain: 'd' }] }),
      );
      const err = await rpcError(t.getOperation('operations/x'));
      expect([code, err.code, err.rawMessage]).toEqual([code, code, `failure ${code}`]);
      expect(err.details[0]).toMatchObject({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: `R${code}` });
    }
  });

  test('a non-JSON 2xx body is RpcError INTERNAL "invalid JSON from <url>"', async () => {
    const { baseUrl } = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    const t = restTransport({ baseUrl });
    const err = await rpcError(t.getOperation('operations/x'));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toMatch(/invalid JSON from GET http:\/\/127\.0\.0\.1:\d+\/v1\/operations\/x/);
    expect((await rpcError(t.listOperations({ name: 'operations' }))).code).toBe(Code.INTERNAL);
    // cancel and delete ignore the body.
    await expect(t.cancelOperation('operations/x')).resolves.toBeUndefined();
    await expect(t.deleteOperation('operations/x')).resolves.toBeUndefined();
  });

  test('an oversized body is cut off at maxResponseBytes (streamed and declared)', async () => {
    let streamed = 0;
    const { baseUrl } = await rawServer((req, res) => {
      if (req.url === '/v1/operations/declared') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
        res.write('{"name":"');
        return; // never finishes: the client must not wait for it
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"name":"operations/big","padding":"');
      const chunk = 'x'.repeat(64 * 1024);
      const pump = (): void => {
        while (streamed < 400 && !res.destroyed) {
          streamed++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end('"}');
      };
      pump();
    });
    const t = restTransport({ baseUrl, maxResponseBytes: 256 * 1024 });
    const err = await rpcError(t.getOperation('operations/big'));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toMatch(/too large/);
    expect(streamed).toBeLessThan(400); // the server was stopped well before 25 MiB
    const declared = await rpcError(t.getOperation('operations/declared'));
    expect(declared.code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  test('__proto__, constructor and prototype keys do not pollute', async () => {
    const evil =
      '{"name":"operations/p","done":true,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},' +
      '"metadata":{"@type":"type.googleapis.com/test.M","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}},' +
      '"response":{"@type":"type.googleapis.com/test.R","nested":{"__proto__":{"polluted":"yes"}},"list":[{"__proto__":{"polluted":"yes"}}]}}';
    const evilError =
      '{"error":{"code":400,"message":"m","__proto__":{"polluted":"yes"},"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","__proto__":{"polluted":"yes"},"reason":"R"}]}}';
    const { baseUrl } = await rawServer((req, res) => json(res, req.url === '/v1/operations/e' ? 400 : 200, req.url === '/v1/operations/e' ? evilError : evil));
    const t = restTransport({ baseUrl });
    const op = await t.getOperation('operations/p');
    const err = await rpcError(t.getOperation('operations/e'));
    const fresh: Record<string, unknown> = {};
    expect(fresh.polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(op.name).toBe('operations/p');
    expect(Object.getPrototypeOf(op)).toBe(Object.prototype);
    const meta = op.metadata!.json!;
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(meta, '__proto__')).toBe(false);
    expect(meta.polluted).toBeUndefined();
    const nested = op.response!.json!.nested as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect(nested.polluted).toBeUndefined();
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect((err.details[0] as Record<string, unknown>)?.polluted).toBeUndefined();
    // Spreading and merging the results is safe as well.
    const merged = Object.assign({}, meta, op.response!.json);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// Headers, credentials and redirects

describe('headers and redirects', () => {
  test('an async headers function is called per request and its headers reach the server', async () => {
    const { baseUrl, seen } = await rawServer((_req, res) => json(res, 200, { name: 'operations/h', done: false }));
    let calls = 0;
    const t = restTransport({
      baseUrl: `${baseUrl}/prefix?key=API-KEY`,
      headers: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return new Headers({ authorization: `Bearer token-${calls}`, 'x-goog-user-project': 'proj' });
      },
    });
    await t.getOperation('operations/h');
    await t.cancelOperation('operations/h');
    expect(calls).toBe(2);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/prefix/v1/operations/h?key=API-KEY' });
    expect(seen[0].headers.authorization).toBe('Bearer token-1');
    expect(seen[0].headers['x-goog-user-project']).toBe('proj');
    expect(seen[0].headers.accept).toBe('application/json');
    expect(seen[1]).toMatchObject({ method: 'POST', url: '/prefix/v1/operations/h:cancel?key=API-KEY', body: '{}' });
    expect(seen[1].headers.authorization).toBe('Bearer token-2');

    const plain = restTransport({ baseUrl, headers: () => ({ authorization: 'Bearer plain', 'x-skip': undefined }) });
    await plain.getOperation('operations/h');
    expect(seen[2].headers.authorization).toBe('Bearer plain');
    expect(seen[2].headers['x-skip']).toBeUndefined();
  });

  test('same-origin redirects are followed with credentials, up to the limit', async () => {
    const { baseUrl, seen } = await rawServer((req, res) => {
      if (req.url === '/v1/operations/r') {
        res.writeHead(307, { location: '/v1/operations/final' });
        return res.end();
      }
      if (req.url === '/v1/operations/loop') {
        res.writeHead(302, { location: '/v1/operations/loop' });
        return res.end();
      }
      json(res, 200, { name: 'operations/final', done: true });
    });
    const t = restTransport({ baseUrl, headers: { authorization: 'Bearer SAME' } });
    expect((await t.getOperation('operations/r')).name).toBe('operations/final');
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/v1/operations/r', 'Bearer SAME'],
      ['/v1/operations/final', 'Bearer SAME'],
    ]);
    const err = await rpcError(t.getOperation('operations/loop'));
    expect(err.message).toMatch(/redirects/);
    expect(seen.filter((s) => s.url === '/v1/operations/loop')).toHaveLength(6);
  });

  test('a cross-origin redirect is followed without any credential or user header; secrets never appear in errors', async () => {
    const other = await rawServer((req, res) => {
      if (req.url === '/deny') return json(res, 403, { error: { code: 403, message: 'denied', status: 'PERMISSION_DENIED' } });
      json(res, 200, { name: 'operations/x', done: false });
    });
    const first = await rawServer((req, res) => {
      res.writeHead(req.url?.includes(':cancel') ? 308 : 307, { location: `${other.baseUrl}${req.url?.includes('deny') ? '/deny' : '/elsewhere'}` });
      res.end();
    });
    expect(new URL(other.baseUrl).origin).not.toBe(new URL(first.baseUrl).origin);
    const secret = {
      authorization: 'Bearer SECRET-TOKEN',
      'x-goog-api-key': 'SECRET-API-KEY',
      cookie: 'session=SECRET-COOKIE',
      'x-goog-user-project': 'SECRET-PROJECT',
    };
    const t = restTransport({ baseUrl: first.baseUrl, headers: async () => secret });
    expect((await t.getOperation('operations/x')).name).toBe('operations/x');
    await t.cancelOperation('operations/x');
    expect(first.seen[0].headers.authorization).toBe('Bearer SECRET-TOKEN');
    expect(other.seen).toHaveLength(2);
    for (const s of other.seen) {
      for (const header of ['authorization', 'x-goog-api-key', 'cookie', 'x-goog-user-project']) expect(s.headers[header]).toBeUndefined();
      expect(JSON.stringify(s.headers)).not.toMatch(/SECRET/);
    }
    expect(other.seen[1]).toMatchObject({ method: 'POST', body: '{}' }); // 308 keeps method and body

    const denied = await rpcError(t.getOperation('operations/deny'));
    expect(denied.code).toBe(Code.PERMISSION_DENIED);
    expect(`${denied.message} ${denied.stack}`).not.toMatch(/SECRET/);
    // A failed connection does not leak them either.
    const closed = await rawServer(() => undefined);
    const dead = closed.baseUrl;
    await Promise.all(closers.splice(closers.length - 1).map((c) => c()));
    const unreachable = restTransport({ baseUrl: `${dead}?key=SECRET-QUERY-KEY`, headers: secret });
    const netErr = await rpcError(unreachable.getOperation('operations/x'));
    expect(netErr.code).toBe(Code.UNAVAILABLE);
    expect(netErr.message).not.toMatch(/SECRET/);
  });
});

// ---------------------------------------------------------------------------
// Abort and deadlines

describe('abort and deadlines', () => {
  test('an already-aborted signal rejects with its reason without a request', async () => {
    const backend = new ScriptedBackend();
    const server = await serve(backend);
    const counter = countingFetch();
    const t = restTransport({ baseUrl: server.baseUrl, fetch: counter.fetch });
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    await expect(t.getOperation('operations/x', { signal })).rejects.toBe(reason);
    await expect(t.waitOperation!('operations/x', 100, { signal })).rejects.toBe(reason);
    await expect(t.listOperations({ name: 'operations' }, { signal })).rejects.toBe(reason);
    // Even an invalid name: the abort wins, nothing is sent.
    await expect(t.cancelOperation('bad name', { signal })).rejects.toBe(reason);
    expect(counter.count()).toBe(0);
    const plain = new AbortController();
    plain.abort();
    const err = await rejection(t.getOperation('operations/x', { signal: plain.signal }));
    expect((err as Error).name).toBe('AbortError');
  });

  test('abort mid-request rejects with the signal reason and aborts the backend call', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/slow', done: false });
    const server = await serve(backend);
    const t = restTransport({ baseUrl: server.baseUrl });
    const hang = backend.hangNext();
    const controller = new AbortController();
    const call = t.getOperation('operations/slow', { signal: controller.signal });
    await hang.arrived;
    const reason = { why: 'user navigated away' };
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    const serverSide = await hang.aborted;
    expect((serverSide as Error).name).toBe('AbortError');
  });

  test('timeoutMs → DEADLINE_EXCEEDED; defaultTimeoutMs applies too', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/slow', done: false });
    const server = await serve(backend);
    const t = restTransport({ baseUrl: server.baseUrl });
    let hang = backend.hangNext();
    const started = Date.now();
    const err = await rpcError(t.getOperation('operations/slow', { timeoutMs: 150 }));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await hang.aborted;

    const d = restTransport({ baseUrl: server.baseUrl, defaultTimeoutMs: 100 });
    hang = backend.hangNext();
    expect((await rpcError(d.listOperations({ name: 'operations' }))).code).toBe(Code.DEADLINE_EXCEEDED);
    await hang.aborted;
    hang = backend.hangNext();
    expect((await rpcError(d.getOperation('operations/slow'))).code).toBe(Code.DEADLINE_EXCEEDED);
    await hang.aborted;
  });

  test('WaitOperation deadline = timeout + grace unless timeoutMs is given', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/w', done: false });
    const server = await serve(backend);
    const t = restTransport({ baseUrl: server.baseUrl, waitDeadlineGraceMs: 100 });
    let hang = backend.hangNext();
    const started = Date.now();
    expect((await rpcError(t.waitOperation!('operations/w', 100))).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await hang.aborted;
    hang = backend.hangNext();
    expect((await rpcError(t.waitOperation!('operations/w', 60_000, { timeoutMs: 50 }))).code).toBe(Code.DEADLINE_EXCEEDED);
    await hang.aborted;
  });
});

// ---------------------------------------------------------------------------
// WaitOperation binding

describe('wait binding', () => {
  const withWait = defineRestProfile({ name: 'with-wait', get: '/v1/{name=operations/**}', wait: '/v1/{name=operations/**}:wait' });
  const withWaitLenient = defineRestProfile({ ...withWait, name: 'with-wait-lenient', waitNotFoundIsUnimplemented: true });
  const noWait = defineRestProfile({ name: 'no-wait', get: '/v1/{name=operations/**}' });

  test('the timeout travels as a Duration body', async () => {
    const { baseUrl, seen } = await rawServer((_req, res) => json(res, 200, { name: 'operations/w', done: true }));
    const t = restTransport({ baseUrl, profile: withWait });
    await t.waitOperation!('operations/w', 1500);
    await t.waitOperation!('operations/w', 5000);
    expect(seen.map((s) => [s.method, s.url, s.body, s.headers['content-type']])).toEqual([
      ['POST', '/v1/operations/w:wait', '{"timeout":"1.500s"}', 'application/json'],
      ['POST', '/v1/operations/w:wait', '{"timeout":"5s"}', 'application/json'],
    ]);
  });

  test('present only when the profile binds it', () => {
    expect(restTransport({ baseUrl: 'http://127.0.0.1:1', profile: withWait }).waitOperation).toBeInstanceOf(Function);
    expect(restTransport({ baseUrl: 'http://127.0.0.1:1', profile: noWait }).waitOperation).toBeUndefined();
    expect(restTransport({ baseUrl: 'http://127.0.0.1:1' }).waitOperation).toBeInstanceOf(Function);
    expect(restTransport({ baseUrl: 'http://127.0.0.1:1', profile: restProfiles.vision }).waitOperation).toBeUndefined();
  });

  test('404 on :wait is NOT_FOUND unless the profile says it means UNIMPLEMENTED', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/w', done: false });
    const server = await serve(backend, noWait); // no :wait route → 404
    const strict = restTransport({ baseUrl: server.baseUrl, profile: withWait });
    expect((await rpcError(strict.waitOperation!('operations/w', 100))).code).toBe(Code.NOT_FOUND);
    const lenient = restTransport({ baseUrl: server.baseUrl, profile: withWaitLenient });
    expect((await rpcError(lenient.waitOperation!('operations/w', 100))).code).toBe(Code.UNIMPLEMENTED);
    const standard = restTransport({ baseUrl: server.baseUrl });
    expect((await rpcError(standard.waitOperation!('operations/w', 100))).code).toBe(Code.UNIMPLEMENTED);
    // A real NOT_FOUND from GetOperation stays NOT_FOUND.
    expect((await rpcError(lenient.getOperation('operations/missing'))).code).toBe(Code.NOT_FOUND);
    expect(backend.calls.map((c) => c.method)).toEqual(['GetOperation']);
  });

  test('a backend without WaitOperation answers 501 → UNIMPLEMENTED', async () => {
    const backend = new ScriptedBackend({ wait: false });
    backend.add({ name: 'operations/w', done: false });
    const server = await serve(backend, withWait);
    const t = restTransport({ baseUrl: server.baseUrl, profile: withWait });
    expect((await rpcError(t.waitOperation!('operations/w', 100))).code).toBe(Code.UNIMPLEMENTED);
    const res = await fetch(`${server.baseUrl}/v1/operations/w:wait`, { method: 'POST', body: '{"timeout":"1s"}' });
    expect(res.status).toBe(501);
    expect(await res.json()).toEqual({ error: { code: 501, message: expect.any(String), status: 'UNIMPLEMENTED', details: [] } });
  });
});

// ---------------------------------------------------------------------------
// serveHttp itself

describe('serveHttp', () => {
  test('unknown routes → 404 Google error body; bad wait body → 400', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/a', done: false });
    const server = await serve(backend);
    expect(server.baseUrl).toBe(`http://127.0.0.1:${server.port}`);
    const res = await fetch(`${server.baseUrl}/v2/whatever`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 404, message: expect.stringContaining('/v2/whatever'), status: 'NOT_FOUND', details: [] } });
    const wrongMethod = await fetch(`${server.baseUrl}/v1/operations/a`, { method: 'POST' });
    expect(wrongMethod.status).toBe(404);
    await wrongMethod.body?.cancel();
    const badWait = await fetch(`${server.baseUrl}/v1/operations/a:wait`, { method: 'POST', body: '{"timeout":"soon"}' });
    expect(badWait.status).toBe(400);
    expect((await badWait.json()).error.status).toBe('INVALID_ARGUMENT');
    const badSize = await fetch(`${server.baseUrl}/v1/operations?pageSize=-3`);
    expect(badSize.status).toBe(400);
    await badSize.body?.cancel();
    expect(backend.calls).toHaveLength(0);
  });

  test('close() releases the port and a new server can take it', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/a', done: false });
    const first = await serveHttp(backend);
    const t = restTransport({ baseUrl: first.baseUrl });
    await t.getOperation('operations/a'); // leaves a keep-alive connection open
    await first.close();
    await first.close(); // idempotent
    await expect(t.getOperation('operations/a')).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    const second = await serveHttp(backend, restProfiles.standard, { port: first.port });
    closers.push(() => second.close());
    expect(second.port).toBe(first.port);
    expect((await t.getOperation('operations/a')).name).toBe('operations/a');
  });

  test('close() with a call in flight aborts the backend call', async () => {
    const backend = new ScriptedBackend();
    backend.add({ name: 'operations/a', done: false });
    const server = await serveHttp(backend);
    const hang = backend.hangNext();
    const call = restTransport({ baseUrl: server.baseUrl }).getOperation('operations/a');
    await hang.arrived;
    await server.close();
    await hang.aborted;
    expect((await rpcError(call)).code).toBe(Code.UNAVAILABLE);
  });
});

// ---------------------------------------------------------------------------
// With the project's FakeOperationsServer behind the HTTP listener

describe('FakeOperationsServer over HTTP', () => {
  test('standard profile: get, wait, list, cancel, delete', async () => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp(restProfiles.standard);
    closers.push(() => fake.close());
    const t = restTransport({ baseUrl });
    const created = fake.create({ metadata: PROGRESS });
    expect(await t.getOperation(created.name)).toEqual({ name: created.name, done: false, metadata: PROGRESS });
    setTimeout(() => fake.complete(created.name, INT64_RESPONSE), 20);
    const done = await t.waitOperation!(created.name, 5_000);
    expect(done).toMatchObject({ name: created.name, done: true, response: { typeUrl: INT64_RESPONSE.typeUrl, json: { value: '123' } } });
    const other = fake.create();
    const page = await t.listOperations({ name: 'operations', filter: 'done=false' });
    expect(page.operations.map((o) => o.name)).toEqual([other.name]);
    await t.cancelOperation(other.name);
    expect((await t.getOperation(other.name)).error?.code).toBe(Code.CANCELLED);
    await t.deleteOperation(other.name);
    expect((await rpcError(t.getOperation(other.name))).code).toBe(Code.NOT_FOUND);
    expect(fake.calls.map((c) => c.method)).toEqual([
      'GetOperation', 'WaitOperation', 'ListOperations', 'CancelOperation', 'GetOperation', 'DeleteOperation', 'GetOperation',
    ]);
  });

  test('a server without WaitOperation or CancelOperation answers UNIMPLEMENTED', async () => {
    const fake = new FakeOperationsServer({ waitOperation: false, cancelOperation: false });
    const { baseUrl } = await fake.listenHttp();
    closers.push(() => fake.close());
    const t = restTransport({ baseUrl });
    const op = fake.create();
    expect((await rpcError(t.waitOperation!(op.name, 100))).code).toBe(Code.UNIMPLEMENTED);
    expect((await rpcError(t.cancelOperation(op.name))).code).toBe(Code.UNIMPLEMENTED);
    fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'try later', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }] });
    const err = await rpcError(t.getOperation(op.name));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }]);
  });

  test('cors: true answers preflights and lets other origins read every answer, errors included', async () => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp(restProfiles.standard, { cors: true });
    closers.push(() => fake.close());
    const op = fake.create();
    const origin = 'http://127.0.0.1:1';
    const preflight = await fetch(`${baseUrl}/v1/${op.name}:cancel`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type,authorization');
    expect(fake.calls).toEqual([]); // a preflight reaches no backend method
    const get = await fetch(`${baseUrl}/v1/${op.name}`, { headers: { origin } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(origin);
    expect(get.headers.get('vary')).toBe('Origin');
    expect(get.headers.get('access-control-expose-headers')).toBe('retry-after');
    const missing = await fetch(`${baseUrl}/v1/operations/missing`, { headers: { origin } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(origin);
    const noOrigin = await fetch(`${baseUrl}/v1/${op.name}`);
    expect(noOrigin.headers.get('access-control-allow-origin')).toBe('*');
    // and the transport works through it as usual
    await restTransport({ baseUrl }).cancelOperation(op.name);
    expect((await fake.transport.getOperation(op.name)).error?.code).toBe(Code.CANCELLED);
  });

  test('without cors, no CORS headers are sent and OPTIONS is an unbound route (404)', async () => {
    const fake = new FakeOperationsServer();
    const { baseUrl } = await fake.listenHttp();
    closers.push(() => fake.close());
    const op = fake.create();
    const origin = 'http://127.0.0.1:1';
    const preflight = await fetch(`${baseUrl}/v1/${op.name}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(404);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${baseUrl}/v1/${op.name}`, { headers: { origin } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});
