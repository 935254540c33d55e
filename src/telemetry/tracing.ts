/**
 * OpenTelemetry tracing, through `@opentelemetry/api` (an optional peer
 * dependency, never imported statically). Nothing here costs anything while
 * no tracer provider is registered: {@link tracingEnabled} is one property
 * read on the API's global registry (where every copy of the API 1.x keeps
 * what was registered), and the API is loaded on the first call that finds a
 * provider. Spans:
 *
 * - `longrunning.wait` (INTERNAL): one run of the watch loop, a child of the
 *   context active where `promise()` / `updates()` was called; its sleeps and
 *   retries are span events; at its end it carries the counts of calls and retries.
 * - `google.longrunning.Operations/<Method>` (CLIENT): one per RPC, a child of
 *   the wait span (or of the caller's context for `poll()`, `cancel()` …),
 *   with the `rpc.*` attributes; a failure sets the status to ERROR and
 *   records the canonical code as `rpc.grpc.status_code`.
 *
 * Only structural types of the API appear here, so the declarations do not
 * need `@opentelemetry/api` installed.
 * @module
 */
import { RpcError } from '../errors.js';
import { Code, codeName, type OperationsTransport } from '../types.js';
import { loadOptional } from './load.js';

/** An OpenTelemetry `Context`, opaque to this library. */
export type TraceContext = object;

/** What this module uses of an OpenTelemetry `Span`. */
interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  addEvent(name: string, attributes?: Record<string, string | number | boolean>): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
  spanContext(): { traceId: string; spanId: string };
}

/** What this module uses of `@opentelemetry/api`. */
interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): {
      startSpan(name: string, options: { kind: number; attributes: Record<string, string | number | boolean> }, context?: TraceContext): OtelSpan;
    };
    setSpan(context: TraceContext, span: OtelSpan): TraceContext;
    getSpan(context: TraceContext): OtelSpan | undefined;
  };
  context: {
    active(): TraceContext;
    with<R>(context: TraceContext, fn: () => R): R;
  };
  propagation: {
    inject(context: TraceContext, carrier: Record<string, string>): void;
  };
}

/** `SpanKind` and `SpanStatusCode` of the API (stable numbers across 1.x). */
const SPAN_KIND_INTERNAL = 0;
const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

/** The key of the global registry of `@opentelemetry/api` 1.x. */
const REGISTRY = Symbol.for('opentelemetry.js.api.1');

/** The tracer name (the instrumentation scope). */
export const TRACER_NAME = 'longrunning';

/** The service every RPC span names. */
export const RPC_SERVICE = 'google.longrunning.Operations';

function registry(): { trace?: unknown; propagation?: unknown } | undefined {
  return (globalThis as Record<symbol, { trace?: unknown; propagation?: unknown } | undefined>)[REGISTRY];
}

/** The API, once a tracer provider (or a propagator) is registered and the package loaded. */
function api(): OtelApi | undefined {
  return loadOptional<OtelApi>('@opentelemetry/api');
}

/** True when a global tracer provider is registered (one property read; false when the API was never loaded). */
export function tracingEnabled(): boolean {
  return registry()?.trace !== undefined;
}

/** The active context when tracing is on, else undefined (nothing captured). */
export function activeTraceContext(): TraceContext | undefined {
  if (!tracingEnabled()) return undefined;
  return api()?.context.active();
}

/**
 * The RPC system a transport speaks, for `rpc.system`: `'grpc'` or `'http'`,
 * set by the transports of this library (unset for others: the attribute is
 * then left out). A symbol, so it survives `{ ...transport }`.
 */
export const RPC_SYSTEM: unique symbol = Symbol.for('longrunning.rpcSystem') as never;

/** Values of {@link RPC_SYSTEM}. */
export type RpcSystem = 'grpc' | 'http';

/** Marks a transport with the RPC system it speaks (an enumerable symbol property). */
export function setRpcSystem<T extends object>(transport: T, system: RpcSystem): T {
  (transport as Record<symbol, unknown>)[RPC_SYSTEM] = system;
  return transport;
}

/** The RPC system of a transport, if it says. */
export function rpcSystemOf(transport: OperationsTransport): RpcSystem | undefined {
  const value = (transport as unknown as Record<symbol, unknown>)[RPC_SYSTEM];
  return value === 'grpc' || value === 'http' ? value : undefined;
}

/** The canonical code of a failure: an RpcError's own, CANCELLED for an abort, UNKNOWN otherwise. */
export function failureCode(error: unknown): number {
  if (error instanceof RpcError) return error.code;
  if (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError') return Code.CANCELLED;
  return Code.UNKNOWN;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The CLIENT span of one RPC. */
export class RpcSpan {
  /** The context in which the transport runs (the span active in it). */
  readonly context: TraceContext;
  constructor(
    private readonly api: OtelApi,
    private readonly span: OtelSpan,
    parent: TraceContext,
    private system: RpcSystem | undefined,
  ) {
    this.context = api.trace.setSpan(parent, span);
  }

  /** Runs `fn` with this span active (so the transports propagate it). */
  run<R>(fn: () => R): R {
    return this.api.context.with(this.context, fn);
  }

  /**
   * Ends the span with the call's outcome. `system` is the transport's RPC
   * system now (gaxTransport learns it when gax's stub is ready, which may be
   * after the first call started).
   */
  end(ok: boolean, value: unknown, system?: RpcSystem): void {
    if (this.system === undefined && system !== undefined) {
      this.system = system;
      this.span.setAttribute('rpc.system', system);
    }
    if (!ok) {
      const code = failureCode(value);
      this.span.setAttribute('rpc.grpc.status_code', code);
      this.span.setStatus({ code: STATUS_ERROR, message: `${codeName(code)}: ${messageOf(value)}` });
    }
    this.span.end();
  }

  /** Trace and span ids, for log lines. */
  ids(): { traceId: string; spanId: string } {
    return this.span.spanContext();
  }
}

/**
 * Starts the CLIENT span of one RPC, a child of `parent` (or of the active
 * context); undefined when no tracer provider is registered.
 */
export function startRpcSpan(method: string, name: string, system: RpcSystem | undefined, parent: TraceContext | undefined): RpcSpan | undefined {
  if (!tracingEnabled()) return undefined;
  const otel = api();
  if (!otel) return undefined;
  const attributes: Record<string, string> = { 'rpc.service': RPC_SERVICE, 'rpc.method': method, 'longrunning.operation.name': name };
  if (system) attributes['rpc.system'] = system;
  const ctx = parent ?? otel.context.active();
  const span = otel.trace.getTracer(TRACER_NAME).startSpan(`${RPC_SERVICE}/${method}`, { kind: SPAN_KIND_CLIENT, attributes }, ctx);
  return new RpcSpan(otel, span, ctx, system);
}

/** How a run of the watch loop ended. */
export type WaitOutcome = 'done' | 'failed' | 'stopped';

/** The INTERNAL span of one run of the watch loop. */
export class WaitSpan {
  /** The context its RPC spans are children of. */
  readonly context: TraceContext;
  /** WaitOperation calls made in this run (the loop counts them here, so an untraced run keeps no counters). */
  waits = 0;
  /** Retries made in this run. */
  retries = 0;
  constructor(
    api: OtelApi,
    private readonly span: OtelSpan,
    parent: TraceContext,
  ) {
    this.context = api.trace.setSpan(parent, span);
  }

  /** A sleep before the next call: the event `sleep` with `longrunning.delay_ms`. */
  sleep(delayMs: number): void {
    this.span.addEvent('sleep', { 'longrunning.delay_ms': delayMs });
  }

  /** A retry of a failed call: counted, and the event `retry`. */
  retry(error: RpcError, info: { method: string; attempt: number; delayMs: number }): void {
    this.retries++;
    this.span.addEvent('retry', {
      'rpc.method': info.method,
      'rpc.grpc.status_code': error.code,
      'longrunning.attempt': info.attempt,
      'longrunning.delay_ms': info.delayMs,
    });
  }

  /** Ends the span with the counts (`polls`: GetOperation calls of the run); a failure sets the status to ERROR. */
  end(outcome: WaitOutcome, polls: number, error?: unknown): void {
    this.span.setAttribute('longrunning.wait.outcome', outcome);
    this.span.setAttribute('longrunning.polls', polls);
    this.span.setAttribute('longrunning.wait_calls', this.waits);
    this.span.setAttribute('longrunning.retries', this.retries);
    if (outcome === 'failed') {
      if (error instanceof RpcError) this.span.setAttribute('rpc.grpc.status_code', error.code);
      this.span.setStatus({ code: STATUS_ERROR, message: messageOf(error) });
    }
    this.span.end();
  }
}

/**
 * Starts the `longrunning.wait` span of one run of the loop, a child of
 * `parent` (the context captured where the wait was asked for); undefined
 * when no tracer provider is registered.
 */
export function startWaitSpan(name: string, parent: TraceContext | undefined): WaitSpan | undefined {
  if (!tracingEnabled()) return undefined;
  const otel = api();
  if (!otel) return undefined;
  const ctx = parent ?? otel.context.active();
  const span = otel.trace.getTracer(TRACER_NAME).startSpan('longrunning.wait', { kind: SPAN_KIND_INTERNAL, attributes: { 'longrunning.operation.name': name } }, ctx);
  return new WaitSpan(otel, span, ctx);
}

/**
 * The propagation headers (W3C `traceparent`, …) of the active context, for
 * a transport to send; undefined when no propagator is registered or it
 * injects nothing.
 */
export function traceHeaders(): Record<string, string> | undefined {
  if (registry()?.propagation === undefined) return undefined;
  const otel = api();
  if (!otel) return undefined;
  const carrier: Record<string, string> = {};
  otel.propagation.inject(otel.context.active(), carrier);
  for (const _ in carrier) return carrier;
  return undefined;
}
