/**
 * The debug log, in the convention of the Google Cloud Node.js SDKs
 * (google-logging-utils, what google-gax uses): with
 * `GOOGLE_SDK_NODE_LOGGING=longrunning` (or `*`, or a list naming it) one line
 * per RPC, per sleep of the watch loop and per retry goes to stderr; silent
 * otherwise. While the variable does not enable it, a log site costs one
 * check of a cached value; google-logging-utils is only loaded when it does.
 * @module
 */
import { loadOptional } from './load.js';

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
