/**
 * A fault layer for the fake Operations server: a faulty server-side service
 * (injected UNAVAILABLE, RESOURCE_EXHAUSTED with RetryInfo, latency spikes,
 * WaitOperations that return at once or hang past their deadline), a loopback
 * TCP proxy that cuts live connections, and a listener that is stopped and
 * restarted on the same port — for gRPC and HTTP alike. All randomness is
 * seeded, so a failing run can be replayed.
 * @module
 */
import * as net from 'node:net';
import {
  Code,
  RpcError,
  restProfiles,
  type CallOptions,
  type ListOperationsRequest,
  type ListOperationsResponse,
  type OperationResource,
  type OperationsTransport,
  type RestProfile,
  type TypeRegistry,
} from '../index.js';
import { serveGrpc } from './grpc-server.js';
import { seededRandom } from './random.js';
import { serveHttp } from './http-server.js';
import type { OperationsMethod } from './fake-server.js';


/**
 * A duration in ms, fixed or uniformly random in `[min, max]`.
 *
 * @example
 * ```ts
 * const latencyMs: MsRange = [20, 200];
 * ```
 */
export type MsRange = number | readonly [min: number, max: number];

/**
 * How often each fault happens: each rate is a probability in [0, 1] per call.
 *
 * @example
 * ```ts
 * const rates: FaultRates = { unavailable: 0.05, resourceExhausted: 0.02, latency: 0.05, latencyMs: [20, 200] };
 * ```
 */
export interface FaultRates {
  /** Calls that fail at once with UNAVAILABLE. */
  unavailable?: number;
  /** Calls that fail with RESOURCE_EXHAUSTED carrying a `google.rpc.RetryInfo`. */
  resourceExhausted?: number;
  /** The `retryDelay` that RetryInfo asks for. Default `[0, 50]`. */
  retryDelayMs?: MsRange;
  /** Calls delayed by a latency spike before the service sees them. */
  latency?: number;
  /** Length of a latency spike. Default `[20, 200]`. */
  latencyMs?: MsRange;
  /** WaitOperations answered at once with the current state (usually not done), whatever their timeout. */
  waitReturnsEarly?: number;
  /** WaitOperations that ignore their timeout, deadline and cancellation, answering only `hangPastDeadlineMs` after the deadline. */
  waitHangs?: number;
  /** How long past its deadline a hanging WaitOperation answers. Default 500. */
  hangPastDeadlineMs?: number;
  /** WaitOperations during which the connections are cut (through `onCut`), at a random moment of the wait. */
  cutDuringWait?: number;
}

/**
 * Options of a {@link FaultyOperationsService}.
 *
 * @example
 * ```ts
 * const options: FaultOptions = { seed: 7, unavailable: 0.1, methods: ['WaitOperation'] };
 * ```
 */
export interface FaultOptions extends FaultRates {
  /** Seed of the fault schedule. Default 1. */
  seed?: number;
  /** Methods faults apply to. Default: all five. */
  methods?: readonly OperationsMethod[];
  /** Cuts the live connections; called for `cutDuringWait` (a {@link FaultyServer} wires its proxy here). */
  onCut?: () => void;
}

/**
 * How many faults a {@link FaultyOperationsService} injected.
 *
 * @example
 * ```ts
 * console.log(`${service.stats.unavailable} UNAVAILABLE of ${service.stats.calls} calls`);
 * ```
 */
export interface FaultStats {
  /** Calls received. */
  calls: number;
  /** Calls failed with UNAVAILABLE. */
  unavailable: number;
  /** Calls failed with RESOURCE_EXHAUSTED (with RetryInfo). */
  resourceExhausted: number;
  /** Calls delayed by a latency spike. */
  latencySpikes: number;
  /** WaitOperations answered at once with the current state. */
  waitReturnedEarly: number;
  /** WaitOperations that hung past their deadline. */
  waitHung: number;
  /** Calls that arrived while the service was silent (see `silence()`) and got no answer. */
  unanswered: number;
  /** WaitOperations during which the connections were cut. */
  cutsDuringWait: number;
}

const DEFAULT_RATES: Required<Omit<FaultRates, 'retryDelayMs' | 'latencyMs'>> & { retryDelayMs: MsRange; latencyMs: MsRange } = {
  unavailable: 0,
  resourceExhausted: 0,
  retryDelayMs: [0, 50],
  latency: 0,
  latencyMs: [20, 200],
  waitReturnsEarly: 0,
  waitHangs: 0,
  hangPastDeadlineMs: 500,
  cutDuringWait: 0,
};

const ALL_METHODS: readonly OperationsMethod[] = ['GetOperation', 'WaitOperation', 'CancelOperation', 'DeleteOperation', 'ListOperations'];

function checkRate(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new TypeError(`faults: ${name} must be a probability in [0, 1], got ${String(value)}`);
}

function checkRange(name: string, value: unknown): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' ? value >= 0 && Number.isFinite(value) : Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v)) && value[0] <= value[1];
  if (!ok) throw new TypeError(`faults: ${name} must be a number of ms >= 0 or a [min, max] pair`);
}

/**
 * A server-side Operations service that wraps another (such as
 * `FakeOperationsServer.service`) and injects faults at seeded random:
 * UNAVAILABLE, RESOURCE_EXHAUSTED with RetryInfo, latency spikes, and for
 * WaitOperation an early answer, a hang past the deadline, or a cut of the
 * connections in the middle of the wait. Serve it with `serveGrpc` /
 * `serveHttp`, or use a {@link FaultyServer} which does all of it.
 *
 * @example
 * ```ts
 * const fake = new FakeOperationsServer();
 * const faulty = new FaultyOperationsService(fake.service, { seed: 1, unavailable: 0.1, waitHangs: 0.02 });
 * const listener = await serveGrpc(faulty);
 * // …
 * await listener.close();
 * faulty.close();
 * ```
 */
export class FaultyOperationsService implements OperationsTransport {
  /** What was injected so far. */
  readonly stats: FaultStats = { calls: 0, unavailable: 0, resourceExhausted: 0, latencySpikes: 0, waitReturnedEarly: 0, waitHung: 0, unanswered: 0, cutsDuringWait: 0 };
  /** Faults are injected only while this is true (default true). */
  enabled = true;
  /** WaitOperation, present when the wrapped service has it. */
  readonly waitOperation?: (name: string, timeoutMs: number, options?: CallOptions) => Promise<OperationResource>;
  private rates: typeof DEFAULT_RATES;
  private methods: ReadonlySet<OperationsMethod>;
  private readonly random: () => number;
  private readonly onCut?: () => void;
  private readonly pending = new Set<() => void>();
  private closed = false;
  private silentUntil = 0;

  constructor(
    private readonly inner: OperationsTransport,
    options: FaultOptions = {},
  ) {
    if (typeof inner !== 'object' || inner === null || typeof inner.getOperation !== 'function') {
      throw new TypeError('FaultyOperationsService: the wrapped service must be an OperationsTransport');
    }
    this.rates = { ...DEFAULT_RATES };
    this.methods = new Set(ALL_METHODS);
    this.configure(options);
    this.random = seededRandom(options.seed ?? 1);
    this.onCut = options.onCut;
    if (typeof inner.waitOperation === 'function') {
      this.waitOperation = (name, timeoutMs, callOptions = {}) => this.waitWithFaults(name, timeoutMs, callOptions);
    }
  }

  /**
   * Changes the rates (and methods) from now on; omitted ones are kept.
   *
   * @example
   * ```ts
   * faulty.configure({ unavailable: 0 }); // stop injecting UNAVAILABLE
   * ```
   */
  configure(options: FaultRates & { methods?: readonly OperationsMethod[] }): void {
    for (const key of ['unavailable', 'resourceExhausted', 'latency', 'waitReturnsEarly', 'waitHangs', 'cutDuringWait'] as const) checkRate(key, options[key]);
    checkRange('retryDelayMs', options.retryDelayMs);
    checkRange('latencyMs', options.latencyMs);
    checkRange('hangPastDeadlineMs', options.hangPastDeadlineMs);
    const defined = Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k in DEFAULT_RATES));
    this.rates = { ...this.rates, ...defined };
    if (options.methods !== undefined) {
      for (const m of options.methods) if (!ALL_METHODS.includes(m)) throw new TypeError(`faults: unknown method ${String(m)}`);
      this.methods = new Set(options.methods);
    }
  }

  /**
   * Ends every delayed or hanging call now (with UNAVAILABLE) and clears its
   * timer; later calls are passed through without faults.
   *
   * @example
   * ```ts
   * afterEach(() => faulty.close());
   * ```
   */
  close(): void {
    this.closed = true;
    for (const release of [...this.pending]) release();
    this.pending.clear();
  }

  getOperation(name: string, options: CallOptions = {}): Promise<OperationResource> {
    return this.run('GetOperation', options, () => this.inner.getOperation(name, options));
  }
  cancelOperation(name: string, options: CallOptions = {}): Promise<void> {
    return this.run('CancelOperation', options, () => this.inner.cancelOperation(name, options));
  }
  deleteOperation(name: string, options: CallOptions = {}): Promise<void> {
    return this.run('DeleteOperation', options, () => this.inner.deleteOperation(name, options));
  }
  listOperations(request: ListOperationsRequest, options: CallOptions = {}): Promise<ListOperationsResponse> {
    return this.run('ListOperations', options, () => this.inner.listOperations(request, options));
  }

  private async waitWithFaults(name: string, timeoutMs: number, options: CallOptions): Promise<OperationResource> {
    return this.run('WaitOperation', options, async () => {
      if (this.active('WaitOperation')) {
        if (this.chance(this.rates.waitReturnsEarly)) {
          this.stats.waitReturnedEarly++;
          return this.inner.getOperation(name, options);
        }
        if (this.chance(this.rates.waitHangs)) {
          this.stats.waitHung++;
          const deadline = Math.min(Number.isFinite(timeoutMs) ? timeoutMs : Infinity, options.timeoutMs ?? Infinity);
          // Ignores the signal on purpose: the client must give up on its own.
          await this.delay((Number.isFinite(deadline) ? deadline : 0) + this.rates.hangPastDeadlineMs, undefined);
          return this.inner.getOperation(name);
        }
        if (this.onCut && this.chance(this.rates.cutDuringWait)) {
          this.stats.cutsDuringWait++;
          const within = Math.min(Number.isFinite(timeoutMs) ? timeoutMs : 1000, options.timeoutMs ?? Infinity);
          const onCut = this.onCut;
          void this.delay(this.random() * within, options.signal).then(
            () => onCut(),
            () => undefined, // the wait ended first
          );
        }
      }
      return this.inner.waitOperation!(name, timeoutMs, options);
    });
  }

  private active(method: OperationsMethod): boolean {
    return this.enabled && !this.closed && this.methods.has(method);
  }

  private chance(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  private pick(range: MsRange): number {
    return typeof range === 'number' ? range : range[0] + this.random() * (range[1] - range[0]);
  }

  /**
   * Goes silent for `ms`: every call that arrives meanwhile is never
   * answered (it ends only when the client gives up on it, or at close()),
   * as from a server that accepts requests and then stalls.
   *
   * @example
   * ```ts
   * service.silence(2_000);
   * ```
   */
  silence(ms: number): void {
    this.silentUntil = Math.max(this.silentUntil, Date.now() + ms);
  }

  private async run<T>(method: OperationsMethod, options: CallOptions, fn: () => Promise<T>): Promise<T> {
    this.stats.calls++;
    if (!this.closed && Date.now() < this.silentUntil) {
      this.stats.unanswered++;
      await this.delay(2 ** 31 - 1, options.signal); // until the client cancels, or close()
    }
    if (this.active(method)) {
      if (this.chance(this.rates.unavailable)) {
        this.stats.unavailable++;
        throw new RpcError(Code.UNAVAILABLE, `injected fault: ${method} unavailable`);
      }
      if (this.chance(this.rates.resourceExhausted)) {
        this.stats.resourceExhausted++;
        const delayMs = Math.round(this.pick(this.rates.retryDelayMs));
        throw new RpcError(Code.RESOURCE_EXHAUSTED, `injected fault: ${method} over quota`, {
          details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${(delayMs / 1000).toFixed(3)}s` }],
        });
      }
      if (this.chance(this.rates.latency)) {
        this.stats.latencySpikes++;
        await this.delay(this.pick(this.rates.latencyMs), options.signal);
      }
    }
    return fn();
  }

  /** A tracked timer: aborted by `signal` (rejecting with its reason), ended by `close()` (UNAVAILABLE). */
  private delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new RpcError(Code.UNAVAILABLE, 'fault layer closed'));
      if (signal?.aborted) return reject(signal.reason);
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(release);
        signal?.removeEventListener('abort', onAbort);
      };
      const release = (): void => {
        done();
        reject(new RpcError(Code.UNAVAILABLE, 'fault layer closed'));
      };
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, Math.max(0, ms));
      this.pending.add(release);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Counters of a {@link FaultProxy}.
 *
 * @example
 * ```ts
 * expect(proxy.stats.cut).toBeGreaterThan(0);
 * ```
 */
export interface ProxyStats {
  /** Client connections accepted. */
  accepted: number;
  /** Connections cut on purpose. */
  cut: number;
  /** Client connections reset because the upstream server could not be reached. */
  refused: number;
}

/**
 * One HTTP/2 frame a {@link FaultProxy} in `http2` mode forwarded (or injected).
 *
 * @example
 * ```ts
 * const resets = proxy.frames.filter((f) => f.from === 'client' && f.type === HTTP2_FRAME.RST_STREAM);
 * ```
 */
export interface Http2FrameRecord {
  /** Who sent it: the client, or the server behind the proxy. */
  from: 'client' | 'server';
  /** Frame type (see {@link HTTP2_FRAME}). */
  type: number;
  /** Stream the frame belongs to; 0 for connection frames. */
  streamId: number;
  /** Error code of a RST_STREAM or GOAWAY frame. */
  errorCode?: number;
  /** `performance.now()` when the proxy saw it. */
  at: number;
}

/**
 * HTTP/2 frame types (RFC 9113 §6).
 *
 * @example
 * ```ts
 * proxy.frames.some((f) => f.from === 'server' && f.type === HTTP2_FRAME.GOAWAY);
 * ```
 */
export const HTTP2_FRAME = {
  /** DATA */
  DATA: 0x0,
  /** HEADERS */
  HEADERS: 0x1,
  /** RST_STREAM: a stream reset, e.g. a cancelled gRPC call. */
  RST_STREAM: 0x3,
  /** SETTINGS */
  SETTINGS: 0x4,
  /** PING */
  PING: 0x6,
  /** GOAWAY: the connection is being shut down. */
  GOAWAY: 0x7,
} as const;

/** The client connection preface of HTTP/2, which precedes the client's first frame. */
const HTTP2_PREFACE_LENGTH = 24;
/** Frames recorded at most, oldest dropped first. */
const MAX_FRAME_RECORDS = 100_000;

/**
 * Splits an HTTP/2 byte stream into whole frames: `push` bytes, get back
 * complete frames (the partial tail is kept for the next push).
 */
class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);
  private prefaceLeft: number;

  constructor(preface: boolean) {
    this.prefaceLeft = preface ? HTTP2_PREFACE_LENGTH : 0;
  }

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, this.buffered.length);
      out.push(this.buffered.subarray(0, n));
      this.buffered = this.buffered.subarray(n);
      this.prefaceLeft -= n;
      if (this.prefaceLeft > 0) return out;
    }
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      out.push(this.buffered.subarray(0, 9 + length));
      this.buffered = this.buffered.subarray(9 + length);
    }
    return out;
  }
}

function frameRecord(frame: Buffer, from: 'client' | 'server'): Http2FrameRecord | undefined {
  if (frame.length < 9) return undefined; // a piece of the preface
  const type = frame[3];
  const record: Http2FrameRecord = { from, type, streamId: frame.readUInt32BE(5) & 0x7fffffff, at: performance.now() };
  if (type === HTTP2_FRAME.RST_STREAM && frame.length >= 13) record.errorCode = frame.readUInt32BE(9);
  if (type === HTTP2_FRAME.GOAWAY && frame.length >= 17) record.errorCode = frame.readUInt32BE(13);
  return record;
}

/** A GOAWAY frame: last stream id, error code, no debug data. */
function goawayFrame(lastStreamId: number, errorCode: number): Buffer {
  const frame = Buffer.alloc(17);
  frame.writeUIntBE(8, 0, 3);
  frame[3] = HTTP2_FRAME.GOAWAY;
  frame.writeUInt32BE(lastStreamId & 0x7fffffff, 9);
  frame.writeUInt32BE(errorCode >>> 0, 13);
  return frame;
}

/** A proxied connection: the client's socket and ours to the server. */
interface ProxyPair {
  client: net.Socket;
  upstream: net.Socket;
  /** Highest stream id the client opened (http2 mode). */
  lastStreamId: number;
  /** Server-to-client frames are held back (a GOAWAY was injected). */
  frozen: boolean;
}

/**
 * A loopback TCP proxy in front of a server (gRPC or HTTP alike) that can cut
 * its live connections on command or at random: the client sees the
 * connection reset in the middle of whatever it was doing. When the upstream
 * server is down, new connections are reset at once (as a refused connection
 * would be).
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.listen({ target: 50051 });
 * const transport = grpcTransport({ address: proxy.address });
 * proxy.cutAll();
 * await proxy.close();
 * ```
 */
export class FaultProxy {
  /** Counters. */
  readonly stats: ProxyStats = { accepted: 0, cut: 0, refused: 0 };
  /** In `http2` mode: every frame forwarded or injected, in order (the latest 100,000). */
  readonly frames: Http2FrameRecord[] = [];
  private readonly pairs = new Set<ProxyPair>();
  private readonly random: () => number;
  private cutTimer?: ReturnType<typeof setTimeout>;
  private closing?: Promise<void>;

  private constructor(
    private readonly server: net.Server,
    /** The port the proxy listens on (127.0.0.1). */
    readonly port: number,
    seed: number,
    /** Whether the proxy splits the traffic into HTTP/2 frames (records them, can inject a GOAWAY). */
    readonly http2: boolean,
  ) {
    this.random = seededRandom(seed);
  }

  /**
   * Starts a proxy on 127.0.0.1 (`port`, default ephemeral) forwarding to
   * `target` (a port on 127.0.0.1, or `{ host, port }`). With `http2: true`
   * (for gRPC) the proxy forwards whole HTTP/2 frames, records them in
   * `frames`, and can end connections with `goaway()`.
   *
   * @example
   * ```ts
   * const proxy = await FaultProxy.listen({ target: { host: '127.0.0.1', port: 8080 }, seed: 3 });
   * ```
   */
  static async listen(options: { target: number | { host?: string; port: number }; port?: number; seed?: number; http2?: boolean }): Promise<FaultProxy> {
    const target = typeof options.target === 'number' ? { host: '127.0.0.1', port: options.target } : { host: options.target.host ?? '127.0.0.1', port: options.target.port };
    let proxy: FaultProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port, options.seed ?? 1, options.http2 === true);
    return proxy;
  }

  /** `127.0.0.1:<port>`, for `grpcTransport({ address })`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  /** `http://127.0.0.1:<port>`, for `restTransport({ baseUrl })`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** Live proxied connections. */
  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Resets every live connection now; returns how many.
   *
   * @example
   * ```ts
   * proxy.cutAll(); // in-flight calls fail with UNAVAILABLE
   * ```
   */
  cutAll(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) this.cut(pair);
    return n;
  }

  /**
   * Ends every live connection the way an HTTP/2 server in trouble does: a
   * GOAWAY frame with `errorCode` (default 2, INTERNAL_ERROR, what Node.js
   * servers send on a flood of stream resets) to the client, between two
   * whole frames, then both sockets closed. grpc-js fails every call on that
   * connection with INTERNAL "Session closed with error code 2". Only in
   * `http2` mode; returns how many connections it ended.
   *
   * @example
   * ```ts
   * const proxy = await FaultProxy.listen({ target: port, http2: true });
   * proxy.goaway(); // in-flight calls fail, the client reconnects
   * ```
   */
  goaway(errorCode: number = 2): number {
    if (!this.http2) throw new TypeError('FaultProxy.goaway: only a proxy started with http2: true can send a GOAWAY');
    const pairs = [...this.pairs];
    for (const pair of pairs) {
      pair.frozen = true;
      const frame = goawayFrame(pair.lastStreamId, errorCode);
      this.record(frameRecord(frame, 'server'));
      pair.client.write(frame, () => setTimeout(() => this.cut(pair), 20));
    }
    return pairs.length;
  }

  /**
   * Resets one live connection chosen at random; false when there is none.
   *
   * @example
   * ```ts
   * proxy.cutOne();
   * ```
   */
  cutOne(): boolean {
    const all = [...this.pairs];
    if (all.length === 0) return false;
    this.cut(all[Math.floor(this.random() * all.length)]);
    return true;
  }

  /**
   * Cuts one random connection at random moments (exponential gaps, mean
   * `meanIntervalMs`) until `stopCutting()` or `close()`.
   *
   * @example
   * ```ts
   * proxy.cutRandomly(500);
   * ```
   */
  cutRandomly(meanIntervalMs: number): void {
    if (!(meanIntervalMs > 0)) throw new TypeError('FaultProxy.cutRandomly: meanIntervalMs must be > 0');
    this.stopCutting();
    const schedule = (): void => {
      const gap = -Math.log(1 - this.random()) * meanIntervalMs;
      this.cutTimer = setTimeout(() => {
        this.cutOne();
        schedule();
      }, gap);
    };
    schedule();
  }

  /**
   * Stops `cutRandomly`.
   *
   * @example
   * ```ts
   * proxy.stopCutting();
   * ```
   */
  stopCutting(): void {
    clearTimeout(this.cutTimer);
    this.cutTimer = undefined;
  }

  /**
   * Stops listening and resets every connection; resolves once the port is released (idempotent).
   *
   * @example
   * ```ts
   * await proxy.close();
   * ```
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.stopCutting();
      this.server.close(() => resolve());
      for (const pair of [...this.pairs]) this.cut(pair, false);
    });
    return this.closing;
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    this.stats.accepted++;
    if (this.closing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const pair: ProxyPair = { client, upstream, lastStreamId: 0, frozen: false };
    this.pairs.add(pair);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    const end = (): void => {
      if (!this.pairs.delete(pair)) return;
      if (!connected) this.stats.refused++;
      reset(client);
      reset(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    if (!this.http2) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    const fromClient = new FrameSplitter(true);
    const fromServer = new FrameSplitter(false);
    client.on('data', (chunk: Buffer) => {
      for (const frame of fromClient.push(chunk)) {
        const record = frameRecord(frame, 'client');
        if (record?.type === HTTP2_FRAME.HEADERS) pair.lastStreamId = Math.max(pair.lastStreamId, record.streamId);
        this.record(record);
        if (!upstream.destroyed) upstream.write(frame);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const frame of fromServer.push(chunk)) {
        if (pair.frozen) return;
        this.record(frameRecord(frame, 'server'));
        if (!client.destroyed) client.write(frame);
      }
    });
  }

  private record(record: Http2FrameRecord | undefined): void {
    if (!record) return;
    if (this.frames.length >= MAX_FRAME_RECORDS) this.frames.splice(0, this.frames.length - MAX_FRAME_RECORDS + 1);
    this.frames.push(record);
  }

  private cut(pair: ProxyPair, count = true): void {
    if (!this.pairs.delete(pair)) return;
    if (count) this.stats.cut++;
    reset(pair.client);
    reset(pair.upstream);
  }
}

function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  // A TCP reset (not a clean FIN) when possible: the peer sees a dropped connection.
  // Not after end(): libuv cannot reset a socket that is shutting down, and
  // Node then leaves its handle open.
  if (typeof socket.resetAndDestroy === 'function' && socket.readyState === 'open' && !socket.writableEnded) socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Options of {@link FaultyServer.start}.
 *
 * @example
 * ```ts
 * const options: FaultyServerOptions = { protocol: 'grpc', seed: 5, faults: { unavailable: 0.05 }, cutEveryMs: 1000, restartEveryMs: 3000 };
 * ```
 */
export interface FaultyServerOptions {
  /** `'grpc'` (serveGrpc) or `'http'` (serveHttp with `profile`). */
  protocol: 'grpc' | 'http';
  /** REST profile of the HTTP listener. Default `restProfiles.standard`. */
  profile?: RestProfile;
  /** Registry for the listeners (the payload types of your operations). */
  registry?: TypeRegistry;
  /** Seed of every random choice (faults, cuts, restarts). Default 1. */
  seed?: number;
  /** Fault rates of the service (its `onCut` is wired to cut the proxy's connections). */
  faults?: Omit<FaultOptions, 'seed' | 'onCut'>;
  /** Mean gap between random connection cuts; none when absent. */
  cutEveryMs?: number;
  /** Mean gap between random restarts of the server; none when absent. */
  restartEveryMs?: number;
  /** How long the server stays down during a random restart. Default `[50, 250]`. */
  downMs?: MsRange;
  /** Mean gap between GOAWAY(INTERNAL_ERROR) frames sent to every client connection (gRPC only: the proxy runs in http2 mode). */
  goawayEveryMs?: number;
}

/**
 * A faulty Operations server on loopback: the backend wrapped in a
 * {@link FaultyOperationsService}, served over gRPC or HTTP behind a
 * {@link FaultProxy}, optionally cutting connections and restarting the
 * server (same port) at random. Clients connect to `address` / `baseUrl`.
 *
 * @example
 * ```ts
 * const fake = new FakeOperationsServer();
 * const server = await FaultyServer.start(fake.service, { protocol: 'grpc', faults: { unavailable: 0.1 }, restartEveryMs: 2000 });
 * const transport = grpcTransport({ address: server.address });
 * // … run operations …
 * transport.close();
 * await server.close();
 * ```
 */
export class FaultyServer {
  /** Restarts done so far. */
  restarts = 0;
  private listener?: { port: number; close(): Promise<void> };
  private restarting?: Promise<void>;
  private chaosTimer?: ReturnType<typeof setTimeout>;
  private goawayTimer?: ReturnType<typeof setTimeout>;
  /** GOAWAY frames sent to client connections so far. */
  goaways = 0;
  private closing?: Promise<void>;
  private readonly random: () => number;

  private constructor(
    /** The faulty service the listener serves. */
    readonly service: FaultyOperationsService,
    /** The proxy clients connect to. */
    readonly proxy: FaultProxy,
    /** The server's own port (behind the proxy); the same across restarts. */
    readonly serverPort: number,
    private readonly options: FaultyServerOptions,
    listener: { port: number; close(): Promise<void> },
  ) {
    this.listener = listener;
    this.random = seededRandom((options.seed ?? 1) + 2);
  }

  /**
   * Starts the server and its proxy on 127.0.0.1, and the random cuts and
   * restarts if asked for.
   *
   * @example
   * ```ts
   * const server = await FaultyServer.start(fake.service, { protocol: 'http', profile: restProfiles.standard });
   * ```
   */
  static async start(backend: OperationsTransport, options: FaultyServerOptions): Promise<FaultyServer> {
    if (options.protocol !== 'grpc' && options.protocol !== 'http') throw new TypeError("FaultyServer: protocol must be 'grpc' or 'http'");
    const seed = options.seed ?? 1;
    let proxy: FaultProxy | undefined;
    const service = new FaultyOperationsService(backend, { ...options.faults, seed, onCut: () => proxy?.cutAll() });
    const listener = await serve(service, options, 0);
    try {
      proxy = await FaultProxy.listen({ target: listener.port, seed: seed + 1, http2: options.goawayEveryMs !== undefined && options.protocol === 'grpc' });
    } catch (err) {
      await listener.close();
      throw err;
    }
    const server = new FaultyServer(service, proxy, listener.port, options, listener);
    if (options.cutEveryMs !== undefined) proxy.cutRandomly(options.cutEveryMs);
    if (options.restartEveryMs !== undefined) server.scheduleRestarts(options.restartEveryMs);
    if (options.goawayEveryMs !== undefined && proxy.http2) server.scheduleGoaways(options.goawayEveryMs);
    return server;
  }

  /** `127.0.0.1:<proxy port>`, for `grpcTransport({ address })`. */
  get address(): string {
    return this.proxy.address;
  }
  /** `http://127.0.0.1:<proxy port>`, for `restTransport({ baseUrl })`. */
  get baseUrl(): string {
    return this.proxy.baseUrl;
  }

  /**
   * Stops the server (in-flight calls end, connections drop), keeps it down
   * for `downMs`, and listens again on the same port.
   *
   * @example
   * ```ts
   * await server.restart(200);
   * ```
   */
  restart(downMs: number = 100): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.restarting ??= (async () => {
      try {
        await this.listener?.close();
        this.listener = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, downMs)));
        if (this.closing) return;
        this.listener = await this.relisten();
        this.restarts++;
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  /**
   * Cuts every live client connection now.
   *
   * @example
   * ```ts
   * server.cut();
   * ```
   */
  cut(): number {
    return this.proxy.cutAll();
  }

  /**
   * Stops the random cuts and restarts; faults stay as configured on `service`.
   *
   * @example
   * ```ts
   * server.calm(); server.service.enabled = false; // let everything settle
   * ```
   */
  calm(): void {
    clearTimeout(this.chaosTimer);
    this.chaosTimer = undefined;
    clearTimeout(this.goawayTimer);
    this.goawayTimer = undefined;
    this.proxy.stopCutting();
  }

  /**
   * Stops everything: chaos, listener, proxy, pending delayed calls (idempotent).
   *
   * @example
   * ```ts
   * await server.close();
   * ```
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.calm();
      await this.restarting?.catch(() => undefined);
      this.service.close();
      await Promise.all([this.listener?.close(), this.proxy.close()]);
      this.listener = undefined;
    })();
    return this.closing;
  }

  private async relisten(): Promise<{ port: number; close(): Promise<void> }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await serve(this.service, this.options, this.serverPort);
      } catch (err) {
        // The port may take a moment to be released.
        if (attempt >= 50 || (err as NodeJS.ErrnoException)?.code !== 'EADDRINUSE' && !/EADDRINUSE|address already in use/i.test(String(err))) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** GOAWAY(INTERNAL_ERROR) to every client connection at random times (mean gap `meanMs`): the session loss Node servers answer a reset burst with. */
  private scheduleGoaways(meanMs: number): void {
    if (!(meanMs > 0)) throw new TypeError('FaultyServer: goawayEveryMs must be > 0');
    const next = (): void => {
      const gap = -Math.log(1 - this.random()) * meanMs;
      this.goawayTimer = setTimeout(() => {
        this.goaways += this.proxy.goaway(2);
        next();
      }, gap);
    };
    next();
  }

  private scheduleRestarts(meanMs: number): void {
    if (!(meanMs > 0)) throw new TypeError('FaultyServer: restartEveryMs must be > 0');
    const next = (): void => {
      const gap = -Math.log(1 - this.random()) * meanMs;
      this.chaosTimer = setTimeout(() => {
        const range = this.options.downMs ?? [50, 250];
        const down = typeof range === 'number' ? range : range[0] + this.random() * (range[1] - range[0]);
        this.restart(down).then(
          () => {
            if (!this.closing && this.chaosTimer !== undefined) next();
          },
          () => undefined,
        );
      }, gap);
    };
    next();
  }
}

function serve(service: OperationsTransport, options: FaultyServerOptions, port: number): Promise<{ port: number; close(): Promise<void> }> {
  return options.protocol === 'grpc'
    ? serveGrpc(service, { port, registry: options.registry })
    : serveHttp(service, options.profile ?? restProfiles.standard, { port, registry: options.registry });
}
