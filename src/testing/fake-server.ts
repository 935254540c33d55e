/**
 * FakeOperationsServer: an in-memory google.longrunning.Operations service
 * for tests, reachable in process (`transport`) or over real loopback gRPC
 * and HTTP/JSON sockets.
 * @module
 */
import {
  Code,
  RpcError,
  memoryTransport,
  restProfiles,
  type AnyMessage,
  type CallOptions,
  type DecodedDetail,
  type ListOperationsRequest,
  type ListOperationsResponse,
  type OperationResource,
  type OperationsTransport,
  type RestProfile,
  TypeRegistry,
} from '../index.js';
import { serveGrpc } from './grpc-server.js';
import { serveHttp } from './http-server.js';

/**
 * A method of google.longrunning.Operations.
 *
 * @example
 * ```ts
 * server.failNext('WaitOperation' satisfies OperationsMethod, { code: Code.UNAVAILABLE });
 * ```
 */
export type OperationsMethod = 'GetOperation' | 'WaitOperation' | 'CancelOperation' | 'DeleteOperation' | 'ListOperations';

const METHODS: readonly OperationsMethod[] = ['GetOperation', 'WaitOperation', 'CancelOperation', 'DeleteOperation', 'ListOperations'];

/**
 * Options of a {@link FakeOperationsServer}.
 *
 * @example
 * ```ts
 * const server = new FakeOperationsServer({ waitOperation: false }); // a server that only supports polling
 * ```
 */
export interface FakeOperationsServerOptions {
  /** Whether WaitOperation is implemented (else UNIMPLEMENTED / HTTP 501). Default true. */
  waitOperation?: boolean;
  /** Whether CancelOperation is implemented (else UNIMPLEMENTED / HTTP 501). Default true. */
  cancelOperation?: boolean;
  /** Types of your payloads, so the HTTP listener can print them as JSON and the gRPC one encode JSON-form ones. */
  types?: TypeRegistry;
}

/**
 * One call the server received.
 *
 * @example
 * ```ts
 * expect(server.calls.filter((c) => c.method === 'GetOperation')).toHaveLength(1);
 * ```
 */
export interface FakeCall {
  /** The RPC. */
  method: OperationsMethod;
  /** The operation name (for ListOperations, the collection). */
  name: string;
}

/**
 * An error to inject with `failNext`.
 *
 * @example
 * ```ts
 * const err: InjectedError = { code: Code.UNAVAILABLE, message: 'try again' };
 * ```
 */
export interface InjectedError {
  /** Canonical gRPC code the call fails with (mapped to an HTTP status over HTTP). */
  code: number;
  /** Error message; a default one names the method. */
  message?: string;
  /** Details in proto3 JSON form, e.g. `{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }`. */
  details?: DecodedDetail[];
}

/**
 * Options of {@link FakeOperationsServer.listenHttp}.
 *
 * @example
 * ```ts
 * const options: ListenHttpOptions = { cors: true };
 * ```
 */
export interface ListenHttpOptions {
  /** Port on 127.0.0.1; 0 or absent → an ephemeral port. */
  port?: number;
  /** Answer CORS preflights and set `Access-Control-Allow-Origin`, so a page on another origin can call the server. Default false. */
  cors?: boolean;
}

/** A running listener. */
export interface Listener {
  close(): Promise<void>;
}

interface Entry {
  resource: OperationResource;
  created: number;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

/**
 * An in-memory Operations server whose operations a test drives by hand.
 *
 * @example
 * ```ts
 * const server = new FakeOperationsServer();
 * const created = server.create({ metadata: progress(10) });
 * const op = new LongRunningOperation(created, { transport: server.transport });
 * server.complete(created.name, result);
 * await op.promise();
 * ```
 */
export class FakeOperationsServer {
  /** In-process client transport to this server (no sockets). */
  readonly transport: OperationsTransport;
  /** The server side: what the gRPC and HTTP listeners call. */
  readonly service: OperationsTransport;
  /** Every call received, in order (failed ones too). */
  readonly calls: FakeCall[] = [];
  private readonly operations = new Map<string, Entry>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly injected = new Map<OperationsMethod, InjectedError[]>();
  private readonly listeners = new Set<Listener>();
  private readonly options: Required<Omit<FakeOperationsServerOptions, 'types'>>;
  private readonly types?: TypeRegistry;
  private counter = 0;
  private unreachableNames: string[] = [];

  constructor(options: FakeOperationsServerOptions = {}) {
    this.options = { waitOperation: options.waitOperation ?? true, cancelOperation: options.cancelOperation ?? true };
    this.types = options.types;
    const service: OperationsTransport = {
      getOperation: (name) => this.handle('GetOperation', name, () => this.copy(this.find(name).resource)),
      waitOperation: (name, timeoutMs, callOptions) =>
        this.handle('WaitOperation', name, () => {
          if (!this.options.waitOperation) throw new RpcError(Code.UNIMPLEMENTED, 'WaitOperation is not implemented by this server');
          return this.waitFor(name, timeoutMs, callOptions);
        }),
      cancelOperation: (name) =>
        this.handle('CancelOperation', name, () => {
          if (!this.options.cancelOperation) throw new RpcError(Code.UNIMPLEMENTED, 'CancelOperation is not implemented by this server');
          const entry = this.find(name);
          if (!entry.resource.done) this.end(name, { error: { code: Code.CANCELLED, message: 'operation was cancelled', details: [] } });
        }),
      deleteOperation: (name) =>
        this.handle('DeleteOperation', name, () => {
          this.find(name);
          this.operations.delete(name);
          this.wake(name);
        }),
      listOperations: (request) => this.handle('ListOperations', request.name, () => this.list(request)),
    };
    this.service = service;
    this.transport = memoryTransport(service);
  }

  /**
   * Creates a running operation and returns it as an RPC would (a copy).
   * Names default to `operations/op-1`, `operations/op-2`, …
   *
   * @example
   * ```ts
   * const created = server.create({ metadata: registry.encode('my.v1.Progress', { percent: 0 }) });
   * ```
   */
  create(init: { name?: string; metadata?: AnyMessage } = {}): OperationResource {
    const name = init.name ?? `operations/op-${++this.counter}`;
    if (typeof name !== 'string' || name === '') throw new TypeError('FakeOperationsServer.create: name must be a non-empty string');
    if (this.operations.has(name)) throw new RpcError(Code.ALREADY_EXISTS, `operation ${name} already exists`);
    const resource: OperationResource = { name, done: false };
    if (init.metadata) resource.metadata = init.metadata;
    this.operations.set(name, { resource, created: this.counter });
    return this.copy(resource);
  }

  /**
   * Replaces the metadata of a running operation.
   *
   * @example
   * ```ts
   * server.update(created.name, { metadata: registry.encode('my.v1.Progress', { percent: 50 }) });
   * ```
   */
  update(name: string, patch: { metadata?: AnyMessage }): void {
    const entry = this.running(name, 'update');
    if (patch.metadata) entry.resource = { ...entry.resource, metadata: patch.metadata };
  }

  /**
   * Ends a running operation with a response (or with neither response nor error).
   *
   * @example
   * ```ts
   * server.complete(created.name, registry.encode('my.v1.Result', { rows: '42' }));
   * ```
   */
  complete(name: string, response?: AnyMessage, patch: { metadata?: AnyMessage } = {}): void {
    this.running(name, 'complete');
    this.end(name, { ...(response ? { response } : {}), ...patch });
  }

  /**
   * Ends a running operation with an error.
   *
   * @example
   * ```ts
   * server.fail(created.name, { code: Code.FAILED_PRECONDITION, message: 'bad input' });
   * ```
   */
  fail(name: string, status: { code: number; message: string; details?: AnyMessage[] }): void {
    this.running(name, 'fail');
    this.end(name, { error: { code: status.code, message: status.message, details: status.details ?? [] } });
  }

  /**
   * The next `times` calls of `method` fail with `error` before doing anything.
   *
   * @example
   * ```ts
   * server.failNext('GetOperation', { code: Code.UNAVAILABLE }, 2); // the next two polls fail
   * ```
   */
  failNext(method: OperationsMethod | string, error: InjectedError, times = 1): void {
    if (!METHODS.includes(method as OperationsMethod)) throw new TypeError(`FakeOperationsServer.failNext: unknown method ${method}; use one of ${METHODS.join(', ')}`);
    if (!Number.isInteger(times) || times < 1) throw new TypeError('FakeOperationsServer.failNext: times must be a positive integer');
    const queue = this.injected.get(method as OperationsMethod) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.injected.set(method as OperationsMethod, queue);
  }

  /**
   * Marks resources (such as `projects/p/locations/eu`) as unreachable for
   * ListOperations: from now on a list with `returnPartialSuccess` names them
   * in `unreachable`, and a list without it fails with UNAVAILABLE. An empty
   * list makes everything reachable again.
   *
   * @example
   * ```ts
   * server.setUnreachable(['projects/p/locations/eu']);
   * const page = await transport.listOperations({ name: 'operations', returnPartialSuccess: true }); // page.unreachable: ['projects/p/locations/eu']
   * ```
   */
  setUnreachable(names: readonly string[]): void {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && n !== '')) {
      throw new TypeError('FakeOperationsServer.setUnreachable: names must be an array of non-empty strings');
    }
    this.unreachableNames = [...names];
  }

  /**
   * The current state of an operation (a copy), or undefined.
   *
   * @example
   * ```ts
   * expect(server.get(created.name)?.done).toBe(false);
   * ```
   */
  get(name: string): OperationResource | undefined {
    const entry = this.operations.get(name);
    return entry ? this.copy(entry.resource) : undefined;
  }

  /**
   * Serves this server over real gRPC on 127.0.0.1 (ephemeral port unless `port` is given).
   *
   * @example
   * ```ts
   * const { address, close } = await server.listenGrpc();
   * const transport = grpcTransport({ address });
   * ```
   */
  async listenGrpc(options: { port?: number } = {}): Promise<{
    /** `127.0.0.1:<port>`, for `grpcTransport({ address })`. */
    address: string;
    /** The port listened on. */
    port: number;
    /** Stops the listener. */
    close(): Promise<void>;
  }> {
    const server = await serveGrpc(this.service, { ...options, registry: this.types });
    return this.track(server);
  }

  /**
   * Serves this server over real HTTP/JSON on 127.0.0.1 with the given REST
   * profile's URL layout. `{ cors: true }` lets a page on another origin
   * (a browser app on its own dev server) call it: preflights are answered
   * and `Access-Control-Allow-Origin` is set on every answer.
   *
   * @example
   * ```ts
   * const { baseUrl, close } = await server.listenHttp(restProfiles.cloudStorage);
   * const transport = restTransport({ baseUrl, profile: restProfiles.cloudStorage });
   * const forPages = await server.listenHttp(restProfiles.standard, { cors: true });
   * ```
   */
  async listenHttp(profile: RestProfile = restProfiles.standard, options: ListenHttpOptions = {}): Promise<{
    /** `http://127.0.0.1:<port>`, for `restTransport({ baseUrl })`. */
    baseUrl: string;
    /** The port listened on. */
    port: number;
    /** Stops the listener. */
    close(): Promise<void>;
  }> {
    const server = await serveHttp(this.service, profile, { ...options, registry: this.types });
    return this.track(server);
  }

  /**
   * Closes every listener this server opened and releases pending WaitOperations.
   *
   * @example
   * ```ts
   * afterAll(() => server.close());
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    for (const name of [...this.waiters.keys()]) this.wake(name);
  }

  private track<T extends Listener>(listener: T): T {
    const close = listener.close.bind(listener);
    const tracked = Object.assign(listener, {
      close: async () => {
        this.listeners.delete(tracked);
        await close();
      },
    });
    this.listeners.add(tracked);
    return tracked;
  }

  private async handle<T>(method: OperationsMethod, name: string, fn: () => T | Promise<T>): Promise<T> {
    this.calls.push({ method, name });
    const injected = this.injected.get(method)?.shift();
    if (injected) throw new RpcError(injected.code, injected.message ?? `injected ${method} failure`, { details: injected.details });
    if (typeof name !== 'string') throw new RpcError(Code.INVALID_ARGUMENT, 'name must be a string');
    return fn();
  }

  private find(name: string): Entry {
    const entry = this.operations.get(name);
    if (!entry) throw new RpcError(Code.NOT_FOUND, `operation ${name} not found`);
    return entry;
  }

  private running(name: string, what: string): Entry {
    const entry = this.operations.get(name);
    if (!entry) throw new Error(`FakeOperationsServer.${what}: no operation named ${name}`);
    if (entry.resource.done) throw new Error(`FakeOperationsServer.${what}: operation ${name} is already done`);
    return entry;
  }

  private end(name: string, result: Partial<OperationResource>): void {
    const entry = this.find(name);
    entry.resource = { ...entry.resource, ...result, done: true };
    this.wake(name);
  }

  private wake(name: string): void {
    const set = this.waiters.get(name);
    if (!set) return;
    this.waiters.delete(name);
    for (const fn of set) fn();
  }

  private waitFor(name: string, timeoutMs: number, options: CallOptions = {}): Promise<OperationResource> {
    const entry = this.find(name);
    if (entry.resource.done) return Promise.resolve(this.copy(entry.resource));
    const limit = Math.min(timeoutMs, options.timeoutMs ?? Infinity);
    return new Promise<OperationResource>((resolve, reject) => {
      let set = this.waiters.get(name);
      if (!set) this.waiters.set(name, (set = new Set()));
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters.get(name)?.delete(finish);
        const current = this.operations.get(name);
        if (current) resolve(this.copy(current.resource));
        else reject(new RpcError(Code.NOT_FOUND, `operation ${name} not found`));
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.waiters.get(name)?.delete(finish);
        reject(options.signal!.reason);
      };
      // WaitOperation is best effort: past what setTimeout holds (about 24.8 days) it returns then.
      const timer = setTimeout(finish, Math.min(2_147_483_647, Math.max(0, Number.isFinite(limit) ? limit : 0)));
      set.add(finish);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private list(request: ListOperationsRequest): ListOperationsResponse {
    const pageSize = request.pageSize ?? 0;
    if (!Number.isInteger(pageSize) || pageSize < 0) throw new RpcError(Code.INVALID_ARGUMENT, `invalid page size ${pageSize}`);
    const size = Math.min(pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const done = parseFilter(request.filter ?? '');
    let offset = 0;
    if (request.pageToken) {
      const decoded = Number(Buffer.from(request.pageToken, 'base64url').toString('utf8').replace(/^offset:/, ''));
      if (!Number.isInteger(decoded) || decoded < 0) throw new RpcError(Code.INVALID_ARGUMENT, 'invalid page token');
      offset = decoded;
    }
    const prefix = request.name ? `${request.name}/` : '';
    const matching = [...this.operations.values()]
      .filter((e) => e.resource.name.startsWith(prefix) && (done === undefined || e.resource.done === done))
      .map((e) => this.copy(e.resource));
    const unreachable = this.unreachableNames;
    if (unreachable.length > 0 && request.returnPartialSuccess !== true) {
      throw new RpcError(Code.UNAVAILABLE, `cannot list ${request.name}: ${unreachable.join(', ')} unreachable (ask for returnPartialSuccess)`);
    }
    const page = matching.slice(offset, offset + size);
    const next = offset + size < matching.length ? Buffer.from(`offset:${offset + size}`).toString('base64url') : '';
    const response: ListOperationsResponse = { operations: page, nextPageToken: next };
    if (unreachable.length > 0) response.unreachable = [...unreachable];
    return response;
  }

  private copy(resource: OperationResource): OperationResource {
    return structuredClone(resource);
  }
}

/** The fake's filter language: empty, or `done=true` / `done=false` (also `done:true`). */
function parseFilter(filter: string): boolean | undefined {
  const f = filter.trim();
  if (f === '') return undefined;
  const m = /^done\s*[=:]\s*(true|false)$/.exec(f);
  if (!m) throw new RpcError(Code.INVALID_ARGUMENT, `unsupported filter ${JSON.stringify(filter)}; this server knows "done=true" and "done=false"`);
  return m[1] === 'true';
}
