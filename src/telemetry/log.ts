/**
 * The debug log, in the convention of the Google Cloud Node.js SDKs
 * (google-logging-utils, what google-gax uses): with
 * `GOOGLE_SDK_NODE_LOGGING=longrunning` (or `*`, or a list naming it) one line
 * per RPC, per sleep of the watch loop and per retry goes to stderr; silent
 * otherwise. While the variable does not enable it, a log site costs one
 * check of a cached value; google-logging-utils is only loaded when it does.
 * @module
 */
import { RpcError } from '../errors.js';
import { codeName, type OperationsTransport } from '../types.js';
import { loadOptional } from './load.js';
import { failureCode } from './tracing.js';

/** The namespace (google-logging-utils "system") of this library's lines. */
export const LOG_NAMESPACE = 'longrunning';

/** The environment variable of google-logging-utils. */
export const LOG_ENV = 'GOOGLE_SDK_NODE_LOGGING';

/** What this module uses of google-logging-utils. */
interface LoggingUtils {
  log(namespace: string): (fields: { severity?: string; other?: unknown; telemetryTraceId?: string; telemetrySpanId?: string }, ...args: unknown[]) => void;
}

/** Fields of one line (the `other` part of google-logging-utils' structured fields). */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Writes one line: severity, a human message, structured fields, and the trace ids of the span it belongs to. */
export type LogLine = (severity: 'DEBUG' | 'INFO' | 'WARNING', message: string, fields: LogFields, ids?: { traceId: string; spanId: string }) => void;

/** undefined: not decided yet; null: off. */
let line: LogLine | null | undefined;

function envValue(): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[LOG_ENV];
}

/** True when the filter list (google-logging-utils syntax: comma-separated, `*` wildcards, `all`) names this library. */
export function logEnabledBy(value: string | undefined): boolean {
  if (!value) return false;
  return value.split(',').some((filter) => {
    const f = filter.trim();
    if (f === 'all') return true;
    const pattern = f.replace(/[|\\{}()[\]^$+?.]/g, '\\$&').replace(/\*/g, '.*');
    return f !== '' && new RegExp(`^${pattern}$`, 'i').test(LOG_NAMESPACE);
  });
}

/** The log function when the log is on, else undefined. */
export function debugLog(): LogLine | undefined {
  if (line !== undefined) return line ?? undefined;
  if (!logEnabledBy(envValue())) {
    line = null;
    return undefined;
  }
  const utils = loadOptional<LoggingUtils>('google-logging-utils');
  if (!utils) return undefined; // still loading (ES module build): decided on a later line
  const logger = utils.log(LOG_NAMESPACE);
  line = (severity, message, fields, ids) => {
    const other: Record<string, string | number | boolean> = {};
    for (const key in fields) if (fields[key] !== undefined) other[key] = fields[key]!;
    logger({ severity, other, ...(ids ? { telemetryTraceId: ids.traceId, telemetrySpanId: ids.spanId } : {}) }, message);
  };
  return line;
}

/** The line of one RPC: method, operation name, outcome (`ok` or the code's name), duration. */
export function logRpc(log: LogLine, method: string, name: string, ok: boolean, value: unknown, durationMs: number, ids?: { traceId: string; spanId: string }): void {
  const code = ok ? undefined : failureCode(value);
  const outcome = code === undefined ? 'ok' : codeName(code);
  const detail = ok ? '' : `: ${value instanceof RpcError ? value.rawMessage : value instanceof Error ? value.message : String(value)}`;
  const ms = Math.round(durationMs);
  log(ok ? 'DEBUG' : 'WARNING', `${method} ${name} ${outcome} in ${ms} ms${detail}`, { event: 'rpc', method, operation: name, outcome, code, durationMs: ms }, ids);
}

/** Marks a transport whose calls {@link withCallLog} logs (the engine then leaves them out). */
const LOGS_ITS_CALLS = Symbol('longrunning.logsItsCalls');

/** True when the transport logs its own calls ({@link withCallLog}). */
export function logsItsCalls(transport: OperationsTransport): boolean {
  return (transport as unknown as Record<symbol, unknown>)[LOGS_ITS_CALLS] === true;
}

/**
 * The transport with a log line for every call made on it directly, not only
 * through a LongRunningOperation (the CLI's `get`, `cancel`, `delete`, `list`).
 * Other properties (limits, the RPC system) are kept.
 */
export function withCallLog(transport: OperationsTransport): OperationsTransport {
  const timed = async <T>(method: string, name: string, call: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      const value = await call();
      const log = debugLog();
      if (log) logRpc(log, method, name, true, value, Date.now() - started);
      return value;
    } catch (err) {
      const log = debugLog();
      if (log) logRpc(log, method, name, false, err, Date.now() - started);
      throw err;
    }
  };
  const logged: OperationsTransport = {
    ...transport,
    getOperation: (name, options) => timed('GetOperation', name, () => transport.getOperation(name, options)),
    cancelOperation: (name, options) => timed('CancelOperation', name, () => transport.cancelOperation(name, options)),
    deleteOperation: (name, options) => timed('DeleteOperation', name, () => transport.deleteOperation(name, options)),
    listOperations: (request, options) => timed('ListOperations', request.name, () => transport.listOperations(request, options)),
  };
  const wait = transport.waitOperation;
  if (wait) logged.waitOperation = (name, timeoutMs, options) => timed('WaitOperation', name, () => wait.call(transport, name, timeoutMs, options));
  (logged as unknown as Record<symbol, unknown>)[LOGS_ITS_CALLS] = true;
  return logged;
}

/**
 * Turns the debug log on for this process (the CLI's `--verbose`): adds this
 * library to `GOOGLE_SDK_NODE_LOGGING`. Call it before the first RPC.
 */
export function enableDebugLog(): void {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  if (!proc?.env) return;
  const current = proc.env[LOG_ENV];
  if (!logEnabledBy(current)) proc.env[LOG_ENV] = current ? `${current},${LOG_NAMESPACE}` : LOG_NAMESPACE;
  line = undefined;
  debugLog();
}

// The ES module build loads google-logging-utils asynchronously: start now, so it is there by the first call.
if (logEnabledBy(envValue())) loadOptional('google-logging-utils');
