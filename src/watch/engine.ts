/**
 * The engine of one transport: what scales with the connection, shared by
 * every operation watched over it. It owns the WaitOperation probe (one in
 * flight per transport, its answer remembered), a bound on calls in flight
 * (a first-come first-served queue beyond it, and a separate bound on the
 * long-held WaitOperation calls), and deadlines on the clock's one timer
 * queue. A call given up is aborted at once and its slot freed when the
 * transport lets go of it.
 * @module
 */
import { RpcError } from '../errors.js';
import { debugLog, logRpc, logsItsCalls } from '../telemetry/log.js';
import { activeTraceContext, rpcSystemOf, startRpcSpan, type RpcSpan, type TraceContext } from '../telemetry/tracing.js';
import { Code, type OperationsTransport, type TransportLimits } from '../types.js';
import type { Clock } from './clock.js';
import { onAbort } from './signals.js';
import { timersOf, type TimerEntry, type TimerHandler, type TimerQueue } from './timers.js';

/** The RPCs of `google.longrunning.Operations`. */
export type RpcMethod = 'GetOperation' | 'WaitOperation' | 'CancelOperation' | 'DeleteOperation' | 'ListOperations';

/** Defaults of {@link TransportLimits}. */
export const DEFAULT_LIMITS: Required<TransportLimits> = Object.freeze({ maxCalls: 64, maxWaitCalls: 256 });

/** What the engine knows about WaitOperation on this transport. */
export type WaitSupport = 'unknown' | 'probing' | 'yes' | 'no';

/** One call asked of the engine. `done` is called exactly once, unless the call is aborted first. */
export interface CallRequest {
  readonly method: RpcMethod;
  /** Operation (or collection) name, for messages. */
  readonly name: string;
  /** Deadline of the call. */
  readonly timeoutMs: number;
  /** Runs the transport call. */
  readonly run: (signal: AbortSignal, timeoutMs: number) => Promise<unknown>;
  /** The outcome: an answer, an RpcError (DEADLINE_EXCEEDED at the deadline), or whatever the transport threw. */
  readonly done: (ok: boolean, value: unknown) => void;
  /**
   * The OpenTelemetry context the call's CLIENT span is a child of (the wait
   * span of the loop); without it, the context active at {@link Engine.call}.
   */
  readonly parent?: TraceContext;
}

/** A call queued or in flight; `abort()` settles nothing and frees the caller at once. */
export interface PendingCall {
  /** Stops caring about this call: `done` is never called; the transport call is aborted. */
  abort(): void;
}

/** Why a call's own signal is aborted: finished, deadline, or given up by its caller. */
const CALL_DROPPED = new DOMException('the caller stopped waiting for this call', 'AbortError');

/** What tracing and the debug log keep of a call. */
interface Observed {
  /** The parent of the call's span (captured when the call was asked for). */
  parent?: TraceContext;
  /** The call's CLIENT span, from launch to its outcome. */
  span?: RpcSpan;
  /** When the call was sent (clock ms). */
  sentAt?: number;
}

class Call implements PendingCall, TimerHandler {
  state: 'queued' | 'running' | 'settled' | 'dropped' = 'queued';
  controller?: AbortController;
  deadline?: TimerEntry;
  /** The transport was called (so there is something on the wire to cancel). */
  sent = false;
  /** Set only while tracing or the debug log is on (one field, so a call costs nothing more otherwise). */
  observed?: Observed;
  constructor(
    readonly engine: Engine,
    readonly request: CallRequest,
    readonly long: boolean,
  ) {}

  abort(): void {
    this.engine.drop(this);
  }

  /** The deadline passed. */
  onTimer(): void {
    this.engine.expire(this);
  }
}

/**
 * The shared state of one transport (and clock): the WaitOperation probe and
 * the call gate (the transports pace what aborts put on the wire). Internal;
 * reached through {@link engineFor}.
 */
export class Engine {
  /** Whether the transport has WaitOperation, as far as anyone has seen. */
  waitSupport: WaitSupport;
  /** Calls waiting for the probe's answer to decide between waiting and polling. */
  private readonly parked = new Set<(verdict: WaitSupport) => void>();
  private readonly queue = new Set<Call>();
  private running = 0;
  private runningWaits = 0;
  private readonly timers: TimerQueue;
  private readonly limits: Required<TransportLimits>;

  constructor(
    readonly transport: OperationsTransport,
    readonly clock: Clock,
  ) {
    this.timers = timersOf(clock);
    this.limits = checkLimits(transport.limits);
    this.waitSupport = typeof transport.waitOperation === 'function' ? (lacksWait.has(transport) ? 'no' : 'unknown') : 'no';
  }

  /** Calls in flight and queued (for tests and the bench). */
  get load(): { running: number; runningWaits: number; queued: number } {
    return { running: this.running, runningWaits: this.runningWaits, queued: this.queue.size };
  }

  // ---- the WaitOperation probe ----

  /** Takes the probe: true if the caller is now the one prober (support was unknown). */
  startProbe(): boolean {
    if (this.waitSupport !== 'unknown') return false;
    this.waitSupport = 'probing';
    return true;
  }

  /** The probe's verdict: 'yes' (any answer), 'no' (UNIMPLEMENTED) or 'unknown' (no answer: someone probes again). */
  endProbe(verdict: 'yes' | 'no' | 'unknown'): void {
    if (this.waitSupport !== 'probing') return;
    this.waitSupport = verdict;
    if (verdict === 'no') lacksWait.set(this.transport, true);
    const parked = [...this.parked];
    this.parked.clear();
    for (const resume of parked) resume(verdict);
  }

  /** Remembers that WaitOperation is unimplemented (learnt outside a probe). */
  markNoWait(): void {
    if (this.waitSupport === 'probing') this.endProbe('no');
    this.waitSupport = 'no';
    lacksWait.set(this.transport, true);
  }

  /** Calls `resume` with the verdict when the probe in flight answers; returns the unpark function. */
  park(resume: (verdict: WaitSupport) => void): () => void {
    this.parked.add(resume);
    return () => this.parked.delete(resume);
  }

  /** True when a WaitOperation may start now (a wait slot is free). */
  canWait(): boolean {
    return this.runningWaits < this.limits.maxWaitCalls;
  }

  // ---- the call gate ----

  /**
   * Starts a call now if the gate has room, else queues it. A WaitOperation
   * (`long`) must only be asked for after {@link canWait}: it never queues.
   */
  call(request: CallRequest, long = false): PendingCall {
    const call = new Call(this, request, long);
    const parent = request.parent ?? activeTraceContext();
    if (parent !== undefined) call.observed = { parent };
    if (long) {
      this.runningWaits++;
      this.start(call);
    } else if (this.running < this.limits.maxCalls && this.queue.size === 0) {
      this.running++;
      this.start(call);
    } else {
      this.queue.add(call);
    }
    return call;
  }

  /** The same as {@link Engine.call}, as a promise that `signal` rejects with its reason. */
  callPromise<T>(request: Omit<CallRequest, 'done'>, signal?: AbortSignal, long = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let unsubscribe: (() => void) | undefined;
      const pending = this.call(
        {
          ...request,
          done: (ok, value) => {
            unsubscribe?.();
            if (ok) resolve(value as T);
            else reject(value);
          },
        },
        long,
      );
      if (signal) {
        unsubscribe = onAbort(signal, () => {
          pending.abort();
          reject(signal.reason);
        });
      }
    });
  }

  private start(call: Call): void {
    call.state = 'running';
    const controller = new AbortController();
    call.controller = controller;
    const { timeoutMs } = call.request;
    call.deadline = this.timers.schedule(timeoutMs, call);
    // Sent a microtask later, so a caller that gives up synchronously afterwards sends nothing.
    queueMicrotask(() => this.launch(call, controller, timeoutMs));
  }

  private launch(call: Call, controller: AbortController, timeoutMs: number): void {
    if (call.state !== 'running') {
      // Dropped (or expired) before it was sent: free the slot, nothing reached the wire.
      this.timers.cancel(call.deadline);
      call.deadline = undefined;
      call.state = 'settled';
      this.release(call);
      return;
    }
    call.sent = true;
    const { request } = call;
    const parent = call.observed?.parent;
    const span = parent === undefined ? undefined : startRpcSpan(request.method, request.name, rpcSystemOf(this.transport), parent);
    if (span || debugLog()) call.observed = { span, sentAt: this.clock.now() };
    let promise: Promise<unknown>;
    try {
      // With a span, the transport runs in its context: the gRPC and REST transports propagate it.
      promise = span ? span.run(() => request.run(controller.signal, timeoutMs)) : request.run(controller.signal, timeoutMs);
    } catch (err) {
      promise = Promise.reject(err);
    }
    Promise.resolve(promise).then(
      (value) => this.finish(call, true, value),
      (err: unknown) => this.finish(call, false, err),
    );
  }

  /** The transport answered (or failed). */
  private finish(call: Call, ok: boolean, value: unknown): void {
    const state = call.state;
    if (state === 'settled' && call.deadline === undefined) return; // already released at its deadline
    this.timers.cancel(call.deadline);
    call.deadline = undefined;
    const wasLive = state === 'running';
    call.state = 'settled';
    this.release(call);
    if (call.observed?.sentAt !== undefined) this.report(call, ok, value);
    if (wasLive) call.request.done(ok, value);
  }

  /** Ends the call's span and writes its log line (tracing or the log on). */
  private report(call: Call, ok: boolean, value: unknown): void {
    const { method, name } = call.request;
    const observed = call.observed!;
    call.observed = undefined;
    const span = observed.span;
    span?.end(ok, value, rpcSystemOf(this.transport));
    const log = debugLog();
    if (!log || logsItsCalls(this.transport)) return;
    logRpc(log, method, name, ok, value, this.clock.now() - observed.sentAt!, span?.ids());
  }

  /** The deadline passed without an answer: the caller gets DEADLINE_EXCEEDED now, the slot is freed, the wire call cancelled. */
  expire(call: Call): void {
    call.deadline = undefined;
    const wasLive = call.state === 'running';
    call.state = 'settled';
    this.cancelOnWire(call);
    this.release(call);
    const reported = call.observed?.sentAt !== undefined;
    if (!wasLive && !reported) return;
    const error = new RpcError(Code.DEADLINE_EXCEEDED, `${call.request.method} ${call.request.name}: no answer within ${call.request.timeoutMs} ms`);
    if (reported) this.report(call, false, error);
    if (wasLive) call.request.done(false, error);
  }

  /** The caller gave up on a call (its operation's wait stopped). */
  drop(call: Call): void {
    if (call.state === 'queued') {
      call.state = 'dropped';
      this.queue.delete(call);
      return;
    }
    if (call.state !== 'running') return;
    call.state = 'dropped';
    this.cancelOnWire(call);
  }

  /** Frees the call's slot once (at its answer or its deadline) and starts queued calls. */
  private release(call: Call): void {
    if (call.controller === undefined) return;
    call.controller = undefined;
    if (call.long) this.runningWaits--;
    else this.running--;
    this.drain();
  }

  private drain(): void {
    while (this.running < this.limits.maxCalls && this.queue.size > 0) {
      const next = this.queue.values().next().value as Call;
      this.queue.delete(next);
      this.running++;
      this.start(next);
    }
  }

  /**
   * Aborts the call's signal, so the transport ends it; the transports pace
   * what that puts on the wire (see transports/cancel-pacer), so a mass abort
   * never becomes a burst of stream resets.
   */
  private cancelOnWire(call: Call): void {
    const controller = call.controller;
    if (controller === undefined || !call.sent || controller.signal.aborted) return;
    controller.abort(CALL_DROPPED);
  }
}

/** Transports known to lack WaitOperation, across engines (one per clock). */
const lacksWait = new WeakMap<OperationsTransport, true>();
const engines = new WeakMap<OperationsTransport, Map<Clock, Engine>>();

/** The engine of a transport on a clock (made on first use, shared afterwards). */
export function engineFor(transport: OperationsTransport, clock: Clock): Engine {
  let byClock = engines.get(transport);
  if (!byClock) {
    byClock = new Map();
    engines.set(transport, byClock);
  }
  let engine = byClock.get(clock);
  if (!engine) {
    engine = new Engine(transport, clock);
    byClock.set(clock, engine);
  }
  return engine;
}

function checkLimits(limits: TransportLimits | undefined): Required<TransportLimits> {
  const out = { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)) };
  for (const key of ['maxCalls', 'maxWaitCalls'] as const) {
    if (!Number.isInteger(out[key]) || out[key] < 1) {
      throw new TypeError(`longrunning: transport limits.${key} must be an integer >= 1, got ${String(out[key])}`);
    }
  }
  return out;
}
