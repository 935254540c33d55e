/**
 * LongRunningOperation: the state of one operation, its events, and the
 * waiters sharing its single watch loop.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { type DecodeOption, type Decoders, resolveDecoders } from './codec/decoders.js';
import { checkResource, sameAny } from './codec/resource.js';
import { operationError } from './codec/status.js';
import {
  InvalidOperationError,
  LongRunningError,
  OperationFailedError,
  OperationTimeoutError,
  RpcError,
  abortReason,
} from './errors.js';
import { emitWarning } from './platform.js';
import { type ResumeToken, parseResumeToken, resourceToToken } from './resume.js';
import { SnapshotStream } from './snapshots.js';
import type { CallOptions, OperationResource, OperationsTransport } from './types.js';
import { type Clock, systemClock } from './watch/clock.js';
import { engineFor, type RpcMethod } from './watch/engine.js';
import { activeTraceContext } from './telemetry/tracing.js';
import { APPLY, METADATA, ON_END, ON_RETRY, PROGRESS, PROGRESS_SOURCE, WANTS_PROGRESS, Watch, type WatchConfig } from './watch/loop.js';
import { progressPercent } from './watch/progress.js';
import { onAbort, subscribeAbort, unsubscribeAbort } from './watch/signals.js';
import { LEAVE, TIMEOUT_ERROR, Waiter } from './watch/waiter.js';
import { timersOf } from './watch/timers.js';
import { checkDuration, pollingPolicy, retryPolicy, type PollingOptions, type RetryOptions } from './watch/policy.js';

/**
 * Options of a {@link LongRunningOperation}.
 *
 * @example
 * ```ts
 * const options: OperationOptions<Result, Progress> = {
 *   transport: grpcTransport({ address: '127.0.0.1:50051' }),
 *   decode: TypeRegistry.fromRoot(root),
 *   polling: { initialDelayMs: 500, maxDelayMs: 10_000 },
 * };
 * ```
 */
export interface OperationOptions<TResponse = unknown, TMetadata = unknown> {
  /** How to reach the Operations service. */
  transport: OperationsTransport;
  /** How to decode `response` and `metadata` (default: well-known and google.rpc types only). */
  decode?: DecodeOption<TResponse, TMetadata>;
  /** The polling schedule (backoff, progress-aware timing, limits). */
  polling?: PollingOptions;
  /** Transient RPC failures retried while waiting. */
  retry?: RetryOptions;
  /** `'auto'` (default): prefer WaitOperation, fall back to polling on UNIMPLEMENTED. `'never'`: always poll. */
  waitOperation?: 'auto' | 'never';
  /** Timeout sent with each WaitOperation. Default 60_000. */
  waitTimeoutMs?: number;
  /** While someone listens for `metadata` or iterates `updates()`, WaitOperation timeouts are capped at this. Default 5_000. */
  progressIntervalMs?: number;
  /** Deadline of each GetOperation, CancelOperation and DeleteOperation call. Default 30_000. */
  rpcTimeoutMs?: number;
  /** Stops all local waiting for this object (never cancels the server operation). */
  signal?: AbortSignal;
  /** Time source; tests inject a scripted one. Default: the real clock. */
  clock?: Clock;
  /** Called when an event listener throws (default: a process warning). The loop goes on either way. */
  onListenerError?: (error: unknown, event: string) => void;
}

/**
 * Options of one wait.
 *
 * @example
 * ```ts
 * await op.promise({ timeoutMs: 60_000, signal: AbortSignal.timeout(120_000) });
 * ```
 */
export interface WaitOptions {
  /** Stops this wait only; rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Rejects this wait with OperationTimeoutError after this long; the operation goes on. */
  timeoutMs?: number;
}

/**
 * One observed state of the operation, decoded.
 *
 * @example
 * ```ts
 * for await (const s of op.updates()) console.log(s.done, s.metadata);
 * ```
 */
export interface OperationSnapshot<TResponse = unknown, TMetadata = unknown> {
  /** Operation name. */
  name: string;
  /** Whether the operation has ended. */
  done: boolean;
  /** Decoded metadata, if the server sent any. */
  metadata?: TMetadata;
  /** Decoded response, once done with a response. */
  response?: TResponse;
  /** The failure, once done with an error. */
  error?: OperationFailedError;
  /** The raw resource this snapshot was decoded from. */
  resource: OperationResource;
}

/**
 * Events of a {@link LongRunningOperation}.
 *
 * @example
 * ```ts
 * op.on('metadata', (progress) => render(progress));
 * ```
 */
export interface OperationEvents<TResponse, TMetadata> {
  /** The metadata was seen for the first time, or changed. */
  metadata: [metadata: TMetadata, snapshot: OperationSnapshot<TResponse, TMetadata>];
  /** The server answered a GetOperation or WaitOperation. */
  poll: [snapshot: OperationSnapshot<TResponse, TMetadata>];
  /** The operation ended (with a response, an error, or neither). */
  done: [snapshot: OperationSnapshot<TResponse, TMetadata>];
  /** Waiting ended in failure: the operation failed, or the watch did (RPC, decoding, invalid resource). */
  error: [error: Error];
  /** A call failed with a transient error and is about to be retried after `delayMs`. */
  retry: [error: RpcError, info: RetryInfoEvent];
}

/**
 * What the `retry` event says about the retry it announces.
 *
 * @example
 * ```ts
 * op.on('retry', (err, { method, attempt, delayMs }) => console.warn(`${method} failed (${err.code}); retry ${attempt} in ${delayMs} ms`));
 * ```
 */
export interface RetryInfoEvent {
  /** The RPC that failed, e.g. `'GetOperation'`. */
  method: string;
  /** Which retry this is in the current run of failures (1 for the first). */
  attempt: number;
  /** How long the loop sleeps before it (the backoff, or the server's clamped hint). */
  delayMs: number;
}

type Outcome<T> = { state: 'pending' } | { state: 'resolved'; value: T } | { state: 'rejected'; error: unknown };

/** Why a loop is stopped when its last waiter leaves (one shared instance: it is never shown to anyone). */
const NO_WAITER_LEFT = new DOMException('no waiter left', 'AbortError');

/**
 * Decoded metadata nobody has looked at is not held: it is decoded once per
 * change (a DecodeError ends the wait, progress is read from it), then let go,
 * and decoded again the first time someone asks for it.
 */
const NOT_KEPT: unique symbol = Symbol('longrunning.metadata.notKept');
/** The progress of the latest metadata has not been read from it yet. */
const NOT_READ: unique symbol = Symbol('longrunning.metadata.notRead');

/** The outcome of every operation still pending (one shared object: it carries nothing). */
const PENDING: Outcome<never> = { state: 'pending' };

const DEFAULT_WAIT_TIMEOUT_MS = 60_000;
const DEFAULT_PROGRESS_INTERVAL_MS = 5_000;
const DEFAULT_RPC_TIMEOUT_MS = 30_000;

/** Listeners are wrapped so a throwing one cannot break the loop; this maps a wrapper back to its listener. */
const ORIGINAL = Symbol('longrunning.listener');
type Guarded = ((...args: unknown[]) => void) & { [ORIGINAL]?: (...args: unknown[]) => void };

/**
 * Package-internal access to operations, for {@link OperationsClient}'s
 * notifications; not exported from the entry points.
 * @internal
 */
export interface OperationInternals {
  /**
   * Hands a resource to the operation as if a poll had returned it (validated,
   * decoded, events, settling). `'settled'`: the operation had already ended and
   * ignores it; `'stale'`: a not-done state reporting less progress than the
   * one already seen (a reordered older message), ignored. Throws the typed
   * error a poll answer would cause, without failing the operation.
   */
  deliver(op: LongRunningOperation<unknown, unknown>, raw: OperationResource): 'applied' | 'stale' | 'settled';
  /** Replaces the options the watch loop runs with; a running loop restarts, its next poll after the new initial delay. */
  reconfigure(op: LongRunningOperation<unknown, unknown>, options: OperationOptions<unknown, unknown>): void;
}

/** @internal Filled in by LongRunningOperation's static block. */
export const operationInternals = {} as OperationInternals;

/**
 * A Google-style long-running operation being watched. One watch loop per
 * object, shared by every `promise()`, `updates()` and listener; it runs while
 * someone waits and stops when the operation is done or nobody waits.
 *
 * @example
 * ```ts
 * const op = new LongRunningOperation<Result, Progress>(initialOperation, { transport, decode: registry });
 * op.on('metadata', (progress) => console.log(progress));
 * const result = await op.promise({ timeoutMs: 600_000 });
 * ```
 */
export class LongRunningOperation<TResponse = unknown, TMetadata = unknown> extends EventEmitter<OperationEvents<TResponse, TMetadata>> {
  private currentName: string;
  private readonly decoders: Decoders<TResponse, TMetadata>;
  private config: WatchConfig;
  private readonly objectSignal?: AbortSignal;
  private readonly onListenerError: (error: unknown, event: string) => void;
  private resource: OperationResource;
  /** The latest snapshot, built when someone asks for it (an event, `poll()`, `updates()`, the getter). */
  private current?: OperationSnapshot<TResponse, TMetadata>;
  /** A done state was taken in; then `responseValue` or `errorValue` is its result. */
  private doneSeen = false;
  private responseValue?: TResponse;
  private errorValue?: OperationFailedError;
  private observed: boolean;
  private pollImmediately: boolean;
  /** The metadata Any last decoded (kept by identity while the bytes stay the same). */
  private metadataSource?: OperationResource['metadata'];
  /** Its decoded value, or NOT_KEPT until someone looks (see absorbMetadata). */
  private metadataValue?: TMetadata | typeof NOT_KEPT;
  /** Someone may look at decoded metadata (a listener, a stream, a getter was read): keep it from now on. */
  private metadataKept = false;
  /** Progress of the latest metadata, in percent, or NOT_READ until someone asks (see absorbMetadata). */
  private metadataPercent?: number | typeof NOT_READ;
  private lastEmittedMetadata?: OperationResource['metadata'];
  private outcome: Outcome<TResponse> = PENDING;
  private settled?: Promise<TResponse>;
  private resolveSettled?: (value: TResponse) => void;
  private rejectSettled?: (error: unknown) => void;
  private loop?: Watch;
  private waiters = 0;
  /** Waiters that can leave early (a signal, a timeout), in a linked list; the others share `settled`. */
  private firstWaiter?: Waiter<TResponse>;
  private streams?: Set<SnapshotStream<OperationSnapshot<TResponse, TMetadata>>>;
  private guards?: WeakMap<object, Guarded>;

  static {
    operationInternals.deliver = (op, raw) => op.deliverNotification(raw);
    operationInternals.reconfigure = (op, options) => op.reconfigure(options);
  }

  /**
   * Watches an operation given as the resource a call returned (first poll
   * after the initial delay) or as a name (first poll at once).
   */
  constructor(initial: OperationResource | string, options: OperationOptions<TResponse, TMetadata>) {
    super();
    const settings = settingsFor(options);
    this.decoders = settings.decoders;
    this.config = settings.config;
    this.objectSignal = options.signal;
    this.onListenerError = options.onListenerError ?? defaultListenerError;

    if (typeof initial === 'string') {
      if (initial === '') throw new InvalidOperationError('an operation name must not be empty');
      this.currentName = initial;
      this.resource = { name: initial, done: false };
      this.observed = false;
      this.pollImmediately = true;
    } else {
      const resource = checkResource(initial, typeof initial?.name === 'string' ? initial.name : '');
      if (resource.name === '' && !resource.done) {
        throw new InvalidOperationError('an operation that is not done must have a name (only a validate-only operation may be unnamed)');
      }
      this.currentName = resource.name;
      this.resource = resource;
      this.observed = true;
      this.pollImmediately = false;
    }
    try {
      this.takeIn(this.resource, true); // a loop usually follows: it reads the progress at its start
      if (this.resource.done) this.finish();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Resumes an operation from a token made by `toJSON()` (or its JSON string).
   * The first poll happens at once; a token of a finished operation needs no RPC.
   *
   * @example
   * ```ts
   * const token = JSON.stringify(op);
   * const again = LongRunningOperation.resume(token, { transport });
   * ```
   */
  static resume<TResponse = unknown, TMetadata = unknown>(
    token: string | ResumeToken,
    options: OperationOptions<TResponse, TMetadata>,
  ): LongRunningOperation<TResponse, TMetadata> {
    const parsed = parseResumeToken(token);
    const op = new LongRunningOperation<TResponse, TMetadata>(parsed.resource ?? parsed.name, options);
    op.pollImmediately = true;
    return op;
  }

  /**
   * Operation name (empty only for a validate-only operation that is already
   * done). When the server returns the operation under another name (Vertex AI
   * answers with the project number for a project id), this follows it, and
   * later calls use the new name.
   */
  get name(): string {
    return this.currentName;
  }
  /** Whether the operation has ended (as far as this client has seen). */
  get done(): boolean {
    return this.doneSeen;
  }
  /** The latest decoded metadata. */
  get metadata(): TMetadata | undefined {
    const { metadata } = this.resource;
    return metadata !== undefined && metadata === this.metadataSource ? this.decodedMetadata() : undefined;
  }
  /** The decoded response, once done with one. */
  get response(): TResponse | undefined {
    return this.responseValue;
  }
  /** The failure, once done with an error. */
  get error(): OperationFailedError | undefined {
    return this.errorValue;
  }
  /** The latest raw resource. */
  get latest(): OperationResource {
    return this.resource;
  }
  /** The latest snapshot. */
  get snapshot(): OperationSnapshot<TResponse, TMetadata> {
    return (this.current ??= this.buildSnapshot());
  }

  /**
   * Waits until the operation is done and resolves with its decoded response
   * (undefined when it ended with neither response nor error). Rejects with
   * OperationFailedError / OperationCancelledError when it ended with an error,
   * RpcError / DecodeError / InvalidOperationError when watching failed,
   * OperationTimeoutError after `timeoutMs`, or the signal's reason on abort.
   * Any number of calls share one watch loop and get the same settled value.
   *
   * @example
   * ```ts
   * const [a, b] = await Promise.all([op.promise(), op.promise()]); // one loop, a === b
   * ```
   */
  promise(options: WaitOptions = {}): Promise<TResponse> {
    try {
      this.checkWaitOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.outcome.state !== 'pending') return this.result();
    if (options.signal === undefined && options.timeoutMs === undefined && this.objectSignal === undefined) {
      // Nothing can make this waiter leave before the end: it is the shared result itself.
      this.waiters++;
      this.startLoop();
      return this.result();
    }
    return this.join(options).promise;
  }

  /**
   * Calls GetOperation exactly once (no retry, no loop) and returns the
   * snapshot; events fire as for any answer.
   *
   * @example
   * ```ts
   * const { done, metadata } = await op.poll();
   * ```
   */
  async poll(options: CallOptions = {}): Promise<OperationSnapshot<TResponse, TMetadata>> {
    this.requireName('poll');
    const answer = await this.rpc('GetOperation', options, (signal, timeoutMs) => this.config.transport.getOperation(this.name, { signal, timeoutMs }));
    try {
      this.apply(answer);
    } catch (err) {
      this.fail(err);
      throw err;
    }
    return this.snapshot;
  }

  /**
   * Snapshots as they arrive: the current one first (if any has been seen),
   * then one per server answer, ending after the terminal one. Throws when
   * watching fails, times out or is aborted; `return()` (or `break`) stops cleanly.
   *
   * @example
   * ```ts
   * for await (const s of op.updates()) console.log(s.metadata);
   * ```
   */
  updates(options: WaitOptions = {}): AsyncIterableIterator<OperationSnapshot<TResponse, TMetadata>> {
    const stream = new SnapshotStream<OperationSnapshot<TResponse, TMetadata>>({
      start: () => {
        this.checkWaitOptions(options);
        if (this.observed || this.doneSeen) stream.push(this.snapshot);
        if (this.doneSeen) {
          stream.end();
          return;
        }
        if (this.outcome.state === 'rejected') {
          stream.fail(this.outcome.error);
          return;
        }
        (this.streams ??= new Set()).add(stream);
        const joined = this.join(options);
        joined.promise.then(
          () => stream.end(),
          (err) => (err instanceof OperationFailedError && this.doneSeen ? stream.end() : stream.fail(err)),
        );
        return () => {
          this.streams?.delete(stream);
          this[LEAVE](joined);
        };
      },
    });
    return stream;
  }

  /**
   * Asks the server to cancel the operation (CancelOperation). Waiting goes on
   * until the server reports the end: usually OperationCancelledError, or the
   * response if it finished anyway. Rejects with RpcError (code 12 when the
   * server cannot cancel).
   *
   * @example
   * ```ts
   * await op.cancel();
   * await op.promise().catch((e) => e instanceof OperationCancelledError);
   * ```
   */
  async cancel(options: CallOptions = {}): Promise<void> {
    this.requireName('cancel');
    await this.rpc('CancelOperation', options, (signal, timeoutMs) => this.config.transport.cancelOperation(this.name, { signal, timeoutMs }));
    this.loop?.wake(); // a sleeping loop polls now to see the end
  }

  /**
   * Deletes the operation on the server (DeleteOperation): the client is no
   * longer interested in its result.
   *
   * @example
   * ```ts
   * await op.delete();
   * ```
   */
  async delete(options: CallOptions = {}): Promise<void> {
    this.requireName('delete');
    await this.rpc('DeleteOperation', options, (signal, timeoutMs) => this.config.transport.deleteOperation(this.name, { signal, timeoutMs }));
  }

  /**
   * A resume token: `JSON.stringify(op)` gives a string that
   * `LongRunningOperation.resume()` accepts. Holds the name and the latest state.
   *
   * @example
   * ```ts
   * localStorage.setItem('op', JSON.stringify(op));
   * ```
   */
  toJSON(): ResumeToken {
    return { kind: 'longrunning.operation', version: 1, name: this.name, ...(this.observed ? { resource: resourceToToken(this.resource) } : {}) };
  }

  // ---- listeners: wrapped so that a throwing listener cannot break the loop ----

  /**
   * Adds a listener for an event (`metadata`, `poll`, `done`, `error`). A
   * listener that throws is reported through `onListenerError` and never
   * breaks the watch loop. Listening does not start the loop; `promise()` or
   * `updates()` do.
   *
   * @example
   * ```ts
   * op.on('metadata', (progress) => console.log(progress));
   * ```
   */
  override on<T extends keyof OperationEvents<TResponse, TMetadata>>(event: T, fn: EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>, context?: unknown): this {
    return super.on(event, this.guard(event, fn) as typeof fn, context);
  }
  /**
   * Same as {@link LongRunningOperation.on}.
   *
   * @example
   * ```ts
   * op.addListener('done', (snapshot) => console.log('done', snapshot.name));
   * ```
   */
  override addListener<T extends keyof OperationEvents<TResponse, TMetadata>>(event: T, fn: EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>, context?: unknown): this {
    return this.on(event, fn, context);
  }
  /**
   * Adds a listener that is removed after its first call.
   *
   * @example
   * ```ts
   * op.once('done', () => console.log('finished'));
   * ```
   */
  override once<T extends keyof OperationEvents<TResponse, TMetadata>>(event: T, fn: EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>, context?: unknown): this {
    return super.once(event, this.guard(event, fn) as typeof fn, context);
  }
  /**
   * Removes a listener added with `on`, `addListener` or `once` (or all of the
   * event's listeners when `fn` is omitted).
   *
   * @example
   * ```ts
   * op.removeListener('metadata', render);
   * ```
   */
  override removeListener<T extends keyof OperationEvents<TResponse, TMetadata>>(
    event: T,
    fn?: EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    const guarded = fn ? ((this.guards?.get(fn) ?? fn) as typeof fn) : undefined;
    return super.removeListener(event, guarded, context, once);
  }
  /**
   * Same as {@link LongRunningOperation.removeListener}.
   *
   * @example
   * ```ts
   * op.off('metadata', render);
   * ```
   */
  override off<T extends keyof OperationEvents<TResponse, TMetadata>>(
    event: T,
    fn?: EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return this.removeListener(event, fn, context, once);
  }
  /**
   * The listeners of an event, as they were added.
   *
   * @example
   * ```ts
   * op.listeners('metadata').length;
   * ```
   */
  override listeners<T extends keyof OperationEvents<TResponse, TMetadata>>(event: T): Array<EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>> {
    return super.listeners(event).map((l) => ((l as Guarded)[ORIGINAL] ?? l) as EventEmitter.EventListener<OperationEvents<TResponse, TMetadata>, T>);
  }

  private guard(event: string, fn: object): Guarded {
    if (typeof fn !== 'function') throw new TypeError(`longrunning: a listener for '${event}' must be a function`);
    let guarded = this.guards?.get(fn);
    if (!guarded) {
      const original = fn as unknown as (...args: unknown[]) => void;
      guarded = function (this: unknown, ...args: unknown[]) {
        try {
          original.apply(this, args);
        } catch (err) {
          report(err);
        }
      } as Guarded;
      const report = (err: unknown): void => {
        try {
          this.onListenerError(err, event);
        } catch {
          // the error reporter itself threw: nothing more to do
        }
      };
      guarded[ORIGINAL] = original;
      (this.guards ??= new WeakMap()).set(fn, guarded);
    }
    return guarded;
  }

  // ---- the shared loop ----

  private checkWaitOptions(options: WaitOptions): void {
    if (typeof options !== 'object' || options === null) throw new TypeError('longrunning: wait options must be an object');
    if (options.timeoutMs !== undefined) checkDuration('timeoutMs', options.timeoutMs);
    if (this.objectSignal?.aborted) throw abortReason(this.objectSignal);
    if (options.signal?.aborted) throw abortReason(options.signal);
  }

  private result(): Promise<TResponse> {
    if (!this.settled) {
      this.settled = new Promise<TResponse>((resolve, reject) => {
        this.resolveSettled = resolve;
        this.rejectSettled = reject;
      });
      this.settled.catch(() => undefined); // nobody may be waiting when it fails
      if (this.outcome.state === 'resolved') this.resolveSettled!(this.outcome.value);
      if (this.outcome.state === 'rejected') this.rejectSettled!(this.outcome.error);
    }
    return this.settled;
  }

  /** Adds a waiter: resolves with the outcome, or rejects on this waiter's abort/timeout. */
  private join(options: WaitOptions): Waiter<TResponse> {
    const { signal, timeoutMs } = options;
    const objectSignal = this.objectSignal;
    const waiter = new Waiter<TResponse>(this, signal, objectSignal, timeoutMs);
    const first = this.firstWaiter;
    waiter.next = first;
    if (first) first.prev = waiter;
    this.firstWaiter = waiter;
    this.waiters++;
    // One listener per signal however many operations share it (see watch/signals).
    if (signal) subscribeAbort(signal, waiter);
    if (objectSignal) subscribeAbort(objectSignal, waiter);
    if (timeoutMs !== undefined) waiter.timer = timersOf(this.config.clock).schedule(timeoutMs, waiter);
    this.startLoop();
    return waiter;
  }

  /** @internal A waiter leaves before the end (its abort or timeout, or its stream closed). */
  [LEAVE](waiter: Waiter<TResponse>): void {
    if (!this.unlink(waiter)) return;
    this.waiters--;
    if (this.waiters === 0) this.stopLoop();
  }

  /** @internal */
  [TIMEOUT_ERROR](timeoutMs: number): Error {
    return new OperationTimeoutError(this.name, timeoutMs, this);
  }

  /** Takes a waiter out of the list, its signals and the timer queue; false if it was out already. */
  private unlink(waiter: Waiter<TResponse>): boolean {
    if (waiter.left) return false;
    waiter.left = true;
    const { prev, next } = waiter;
    if (prev) prev.next = next;
    else this.firstWaiter = next;
    if (next) next.prev = prev;
    waiter.prev = waiter.next = undefined;
    if (waiter.signal) unsubscribeAbort(waiter.signal, waiter);
    if (waiter.objectSignal) unsubscribeAbort(waiter.objectSignal, waiter);
    if (waiter.timer) {
      timersOf(this.config.clock).cancel(waiter.timer);
      waiter.timer = undefined;
    }
    return true;
  }

  /** The outcome is in: every waiter of the list gets it. */
  private settleWaiters(): void {
    const { outcome } = this;
    if (outcome.state === 'pending') return;
    for (let waiter = this.firstWaiter; waiter; waiter = this.firstWaiter) {
      this.unlink(waiter);
      this.waiters--;
      if (outcome.state === 'resolved') waiter.resolve(outcome.value);
      else waiter.reject(outcome.error);
    }
  }

  private startLoop(): void {
    if (this.loop || this.outcome.state !== 'pending' || this.waiters === 0) return;
    const pollImmediately = this.pollImmediately;
    this.pollImmediately = true; // a later restart looks at once
    // The operation is the loop's target itself (symbol-keyed methods below): no closures per run.
    const loop = new Watch(this, this.config, pollImmediately);
    this.loop = loop;
    // startLoop() runs in the caller's context (promise(), updates()): the wait span nests under the caller's span.
    loop.start(activeTraceContext());
  }

  /** @internal The watch loop hands over a server answer. */
  [APPLY](raw: unknown): boolean {
    return this.apply(raw);
  }
  /** @internal Whether someone listens for progress. */
  [WANTS_PROGRESS](): boolean {
    return this.listenerCount('metadata') > 0 || (this.streams?.size ?? 0) > 0;
  }
  /** @internal The latest decoded metadata. */
  [METADATA](): unknown {
    return this.metadata;
  }
  /** @internal The metadata Any the latest progress was read from (the same object while its bytes stay the same). */
  [PROGRESS_SOURCE](): unknown {
    return this.resource.metadata;
  }
  /** @internal Progress of the latest metadata, in percent. */
  [PROGRESS](): number | undefined {
    if (this.metadataPercent === NOT_READ) this.metadataPercent = this.hasDecodedMetadata() ? progressPercent(this.peekMetadata()) : undefined;
    return this.metadataPercent;
  }
  /** @internal A failed call is about to be retried. */
  [ON_RETRY](error: RpcError, info: RetryInfoEvent): void {
    this.emit('retry', error, info);
  }
  /** @internal A run of the loop ended by itself. */
  [ON_END](loop: Watch, err?: unknown): void {
    if (this.loop === loop) this.loop = undefined;
    if (err !== undefined) this.fail(err);
  }

  /** Stops the loop; `outcome` and `error` say why, for its wait span (tracing on). */
  private stopLoop(outcome?: 'done' | 'failed', error?: unknown): void {
    const loop = this.loop;
    this.loop = undefined;
    loop?.stop(outcome, error);
  }

  /** See {@link OperationInternals.deliver}. */
  private deliverNotification(raw: OperationResource): 'applied' | 'stale' | 'settled' {
    if (this.outcome.state !== 'pending') return 'settled'; // a duplicate or older message never un-finishes
    const resource = checkResource(raw, this.currentName);
    if (!resource.done && resource.metadata && this.hasDecodedMetadata() && !sameAny(resource.metadata, this.resource.metadata)) {
      // Pub/Sub does not keep order: a not-done state whose progress is below
      // the one already seen is an older message, and would move progress back.
      const before = progressPercent(this.peekMetadata());
      const after = before === undefined ? undefined : progressPercent(this.decoders.metadata(resource.metadata));
      if (before !== undefined && after !== undefined && after < before) return 'stale';
    }
    this.apply(resource);
    return 'applied';
  }

  /** See {@link OperationInternals.reconfigure}. */
  private reconfigure(options: OperationOptions<unknown, unknown>): void {
    this.config = settingsFor(options as OperationOptions<TResponse, TMetadata>).config;
    if (!this.loop) return;
    this.stopLoop();
    this.pollImmediately = false;
    this.startLoop();
  }

  /** Takes one server answer: validates, decodes, emits; returns whether the operation is done. */
  private apply(raw: unknown): boolean {
    if (this.outcome.state !== 'pending') return true;
    // A server may return the operation under another name (Vertex AI puts the
    // project number where the caller used the project id): follow it.
    const rawName = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
    const renamed = typeof rawName === 'string' && rawName !== '' && this.currentName !== '' && rawName !== this.currentName;
    const resource = checkResource(raw, renamed ? rawName : this.currentName);
    if (renamed) this.currentName = resource.name;
    this.takeIn(resource);
    this.observed = true;
    const metadataChanged = resource.metadata !== undefined && this.metadataValue !== undefined && !sameAny(resource.metadata, this.lastEmittedMetadata);
    if (metadataChanged) this.lastEmittedMetadata = resource.metadata;
    // A snapshot only for someone to see it: at scale nobody listens, and nothing is built.
    if ((metadataChanged && this.listenerCount('metadata') > 0) || this.listenerCount('poll') > 0 || (this.streams?.size ?? 0) > 0) {
      const snapshot = this.snapshot;
      if (metadataChanged) this.emit('metadata', snapshot.metadata as TMetadata, snapshot);
      this.emit('poll', snapshot);
      if (this.streams) for (const stream of this.streams) stream.push(snapshot);
    }
    if (resource.done) this.finish();
    return resource.done;
  }

  /**
   * Makes `resource` the latest state: decodes what is new in it (throwing
   * DecodeError before anything changes but the metadata cache).
   * `readProgress`: read the metadata's progress now (a loop will ask for it).
   */
  private takeIn(resource: OperationResource, readProgress = this.loop !== undefined): void {
    this.absorbMetadata(resource, readProgress);
    const { done } = resource;
    const response = done && resource.response ? this.decoders.response(resource.response) : undefined;
    const error = done && resource.error ? operationError(this.name, resource.error, this.decoders.registry) : undefined;
    this.resource = resource;
    this.current = undefined;
    if (done) {
      this.doneSeen = true;
      this.responseValue = response;
      this.errorValue = error;
    }
  }

  /**
   * Decodes the resource's metadata when its bytes are new (the same bytes
   * keep the one Any, so later comparisons are by identity), reads its
   * progress, and keeps the decoded value only if someone may look at it.
   */
  private absorbMetadata(resource: OperationResource, readProgress: boolean): void {
    const any = resource.metadata;
    if (!any) return;
    const previous = this.metadataSource;
    if (sameAny(any, previous)) {
      resource.metadata = previous;
      return;
    }
    // New bytes of the same type: keep the one type URL string.
    if (previous?.typeUrl === any.typeUrl) any.typeUrl = previous.typeUrl;
    const value = this.decoders.metadata(any);
    this.metadataSource = any;
    // A loop that follows progress reads it right after this: read it while the value is at hand.
    this.metadataPercent = readProgress && this.config.polling.followProgress ? progressPercent(value) : NOT_READ;
    const kept = this.metadataKept || this.listenerCount('metadata') > 0 || this.listenerCount('poll') > 0 || (this.streams?.size ?? 0) > 0;
    if (kept) this.metadataKept = true;
    this.metadataValue = kept || value === undefined ? value : NOT_KEPT;
  }

  /** True when the latest state has metadata that decoded to something. */
  private hasDecodedMetadata(): boolean {
    const { metadata } = this.resource;
    return metadata !== undefined && metadata === this.metadataSource && this.metadataValue !== undefined;
  }

  /** The decoded metadata of the latest state (decoded again if it was not kept); keeps it from now on. */
  private decodedMetadata(): TMetadata | undefined {
    this.metadataKept = true;
    const value = this.peekMetadata();
    this.metadataValue = value;
    return value;
  }

  /** The decoded metadata of the latest state, without keeping it. */
  private peekMetadata(): TMetadata | undefined {
    const value = this.metadataValue;
    return value === NOT_KEPT ? this.decoders.metadata(this.metadataSource!) : value;
  }

  /** The snapshot of the latest state, as one object literal per shape (see resourceOf in codec/resource.ts). */
  private buildSnapshot(): OperationSnapshot<TResponse, TMetadata> {
    const { name, resource } = this;
    const done = this.doneSeen;
    const hasMetadata = resource.metadata !== undefined && resource.metadata === this.metadataSource;
    const metadata = hasMetadata ? this.decodedMetadata() : undefined;
    if (done && resource.response) {
      const response = this.responseValue;
      return hasMetadata ? { name, done, resource, metadata, response } : { name, done, resource, response };
    }
    if (done && resource.error) {
      const error = this.errorValue;
      return hasMetadata ? { name, done, resource, metadata, error } : { name, done, resource, error };
    }
    return hasMetadata ? { name, done, resource, metadata } : { name, done, resource };
  }

  private finish(): void {
    this.stopLoop('done'); // done, however the news came (a poll, a notification): nothing of the loop is left
    const error = this.errorValue;
    if (error) {
      this.outcome = { state: 'rejected', error };
      this.rejectSettled?.(error);
      this.settleWaiters();
      if (this.listenerCount('done') > 0) this.emit('done', this.snapshot);
      this.emit('error', error);
    } else {
      const value = this.responseValue as TResponse;
      this.outcome = { state: 'resolved', value };
      this.resolveSettled?.(value);
      this.settleWaiters();
      if (this.listenerCount('done') > 0) this.emit('done', this.snapshot);
    }
  }

  private fail(err: unknown): void {
    if (this.outcome.state !== 'pending') return;
    this.outcome = { state: 'rejected', error: err };
    this.rejectSettled?.(err);
    this.settleWaiters();
    this.stopLoop('failed', err);
    this.emit('error', err instanceof Error ? err : new LongRunningError(String(err), { cause: err }));
  }

  private requireName(what: string): void {
    if (this.name === '') throw new InvalidOperationError(`cannot ${what} an unnamed (validate-only) operation`);
  }

  /** One RPC outside the loop, through the transport's engine: deadline, abort (the call's and the object's), no retry. */
  private rpc<T>(method: RpcMethod, options: CallOptions, fn: (signal: AbortSignal, timeoutMs: number) => Promise<T>): Promise<T> {
    if (typeof options !== 'object' || options === null) return Promise.reject(new TypeError('longrunning: call options must be an object'));
    let timeoutMs: number;
    try {
      timeoutMs = options.timeoutMs === undefined ? this.config.rpcTimeoutMs : checkDuration('timeoutMs', options.timeoutMs, { allowZero: false });
    } catch (err) {
      return Promise.reject(err);
    }
    const engine = engineFor(this.config.transport, this.config.clock);
    const request = { method, name: this.name, timeoutMs, run: fn };
    const { signal } = options;
    const objectSignal = this.objectSignal;
    if (!signal || !objectSignal) return engine.callPromise<T>(request, signal ?? objectSignal);
    // Both: one controller fed by the two, each through its single shared listener.
    const either = new AbortController();
    const forward = (from: AbortSignal) => () => either.abort(abortReason(from));
    if (signal.aborted || objectSignal.aborted) either.abort(abortReason(signal.aborted ? signal : objectSignal));
    const offs = [onAbort(signal, forward(signal)), onAbort(objectSignal, forward(objectSignal))];
    const done = engine.callPromise<T>(request, either.signal);
    done.then(
      () => offs.forEach((off) => off()),
      () => offs.forEach((off) => off()),
    );
    return done;
  }
}

/** What an operation derives from its options: validated once, shared by every operation built from the same values. */
interface Settings {
  source: readonly unknown[];
  /** The source's values as they were (plain objects and arrays copied), for {@link sameOptionValue}. */
  values: readonly unknown[];
  config: WatchConfig;
  decoders: Decoders<never, never>;
}

const settingsCache = new WeakMap<object, Settings>();
/**
 * The settings last made for each transport: options written inline for each
 * operation (`new LongRunningOperation(r, { transport, polling: { … } })` in a
 * loop) are new objects with the same values, and share them too.
 */
const lastSettings = new WeakMap<OperationsTransport, Settings>();

/** A copy of a plain object or array option value (arrays in it copied too), so that later changes to it are seen. */
function copyOptionValue(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = Array.isArray(v) ? [...v] : v;
  return copy;
}

/** Option values equal as options: the same primitives and functions, or plain objects and arrays of them, one level deep. */
function sameOptionValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && (ra[k] === rb[k] || (Array.isArray(ra[k]) && sameOptionValue(ra[k], rb[k]))));
}

function sourceOf(options: OperationOptions<never, never>): unknown[] {
  return [options.transport, options.decode, options.polling, options.retry, options.waitOperation, options.waitTimeoutMs, options.progressIntervalMs, options.rpcTimeoutMs, options.clock];
}

/** Validates an options object into the loop's config and decoders, reusing them while the options' values stay the same. */
function settingsFor<TResponse, TMetadata>(options: OperationOptions<TResponse, TMetadata>): { config: WatchConfig; decoders: Decoders<TResponse, TMetadata> } {
  if (typeof options !== 'object' || options === null) throw new TypeError('longrunning: options with a transport are required');
  const source = sourceOf(options as OperationOptions<never, never>);
  const cached = settingsCache.get(options);
  if (cached && cached.source.every((v, i) => v === source[i])) return cached as unknown as { config: WatchConfig; decoders: Decoders<TResponse, TMetadata> };
  const { transport } = options;
  const last = typeof transport === 'object' && transport !== null ? lastSettings.get(transport) : undefined;
  if (last && last.values.every((v, i) => sameOptionValue(v, source[i]))) {
    settingsCache.set(options, last);
    return last as unknown as { config: WatchConfig; decoders: Decoders<TResponse, TMetadata> };
  }
  if (typeof transport !== 'object' || transport === null || typeof transport.getOperation !== 'function') {
    throw new TypeError('longrunning: option transport must be an OperationsTransport');
  }
  if (options.waitOperation !== undefined && options.waitOperation !== 'auto' && options.waitOperation !== 'never') {
    throw new TypeError(`longrunning: option waitOperation must be 'auto' or 'never', got ${String(options.waitOperation)}`);
  }
  const config: WatchConfig = {
    transport,
    clock: options.clock ?? systemClock,
    polling: pollingPolicy(options.polling),
    retry: retryPolicy(options.retry),
    waitOperation: options.waitOperation ?? 'auto',
    waitTimeoutMs: checkDuration('waitTimeoutMs', options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS, { allowZero: false }),
    progressIntervalMs: checkDuration('progressIntervalMs', options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS, { allowZero: false }),
    rpcTimeoutMs: checkDuration('rpcTimeoutMs', options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS, { allowZero: false }),
    waitGraceMs: waitGrace,
  };
  engineFor(transport, config.clock); // validates the transport's limits now, not at the first wait
  const settings: Settings = { source, values: source.map(copyOptionValue), config, decoders: resolveDecoders(options.decode) as Decoders<never, never> };
  settingsCache.set(options, settings);
  lastSettings.set(transport, settings);
  return settings as unknown as { config: WatchConfig; decoders: Decoders<TResponse, TMetadata> };
}

/** How much longer than its timeout a WaitOperation call may take: 10%, at least a second. */
function waitGrace(timeoutMs: number): number {
  return Math.max(1_000, timeoutMs * 0.1);
}

function defaultListenerError(error: unknown, event: string): void {
  emitWarning(`a listener for '${event}' threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, 'LONGRUNNING_LISTENER_ERROR');
}
