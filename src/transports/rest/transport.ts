/**
 * restTransport: `google.longrunning.Operations` over REST/JSON with WHATWG
 * fetch, laid out by a {@link RestProfile}.
 * @module
 */
import { InvalidOperationError, RpcError, abortReason } from '../../errors.js';
import {
  Code,
  type CallOptions,
  type ListOperationsRequest,
  type ListOperationsResponse,
  type OperationResource,
  type OperationsTransport,
} from '../../types.js';
import { setRpcSystem, traceHeaders } from '../../telemetry/tracing.js';
import { resolveProvider } from '../provider.js';
import { durationToJson, listResponseFromJson, operationFromJson, parseJsonSafe, parseRetryAfter, rpcErrorFromHttp } from './json.js';
import { defineRestProfile, resolveRestRoute, restProfiles, REST_RPC_NAMES, type HttpMethod, type RestMethodKey, type RestProfile } from './profiles.js';

/**
 * Request headers as an object (`{ authorization: 'Bearer …' }`), a `Headers`
 * object, or a list of pairs. Object entries whose value is `undefined` or
 * `null` are skipped.
 *
 * @example
 * ```ts
 * const headers: RestHeaders = { 'x-goog-user-project': 'my-project' };
 * ```
 */
export type RestHeaders = Headers | Record<string, string | undefined | null> | Iterable<readonly [string, string]>;

/**
 * Options of {@link restTransport}.
 *
 * @example
 * ```ts
 * const options: RestTransportOptions = { baseUrl: 'http://127.0.0.1:8080', defaultTimeoutMs: 30_000 };
 * ```
 */
export interface RestTransportOptions {
  /** Scheme, host and optional path prefix, e.g. `https://storage.googleapis.com` or `http://127.0.0.1:8080/api`. Query parameters (such as `key=`) are added to every request. */
  baseUrl: string;
  /** URL layout of the service. Default {@link restProfiles}.standard. */
  profile?: RestProfile;
  /**
   * Headers sent with every request, or a function (sync or async) called
   * before every call, e.g. `() => auth.getRequestHeaders()` from
   * google-auth-library. All of them count as credentials: they are never
   * forwarded across origins and never appear in error messages.
   */
  headers?: RestHeaders | (() => RestHeaders | Promise<RestHeaders>);
  /** The fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Largest response body read, in bytes; a larger one fails with RESOURCE_EXHAUSTED. Default 10 MiB. */
  maxResponseBytes?: number;
  /** Deadline of calls made without `timeoutMs`, in ms. Default: none. */
  defaultTimeoutMs?: number;
  /** A WaitOperation call without `timeoutMs` gets the deadline `timeout + waitDeadlineGraceMs`. Default 5000. */
  waitDeadlineGraceMs?: number;
  /** Same-origin and cross-origin redirects followed per call. Default 5. */
  maxRedirects?: number;
  /**
   * Most `:wait` long-polls (WaitOperation requests) in flight at once on this
   * transport; each holds an HTTP/1.1 connection until it answers. A
   * WaitOperation above the cap is answered with a GetOperation instead (its
   * state at once, usually not done), and the watch loop polls on its
   * backoff schedule. Default 8.
   */
  maxLongPolls?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DEFAULT_WAIT_GRACE_MS = 5_000;
const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_MAX_LONG_POLLS = 8;
/** Headers that carry credentials, dropped on a cross-origin redirect in addition to every user header. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-goog-api-key'];
/** Longer deadlines than setTimeout can hold are treated as none. */
const MAX_TIMER_MS = 2_147_483_647;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface Request {
  key: RestMethodKey;
  /** The resource name, for messages. */
  name: string;
  method: HttpMethod;
  path: string;
  query?: URLSearchParams;
  body?: string;
  /** Parse and return the response body (false: the body is ignored). */
  parse: boolean;
  timeoutMs: number | undefined;
}

/** `origin + pathname` of a URL: no credentials, no query string (which may hold an API key). */
function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** User headers → list of pairs (validated by `Headers`, which rejects bad names and values). */
function headerPairs(init: unknown): [string, string][] {
  if (init === undefined || init === null) return [];
  let headers: Headers;
  try {
    if (isPlainRecord(init)) {
      headers = new Headers();
      for (const [k, v] of Object.entries(init)) {
        if (v === undefined || v === null) continue;
        headers.append(k, String(v));
      }
    } else {
      headers = new Headers(init as HeadersInit);
    }
  } catch {
    // The message of a Headers error can contain the offending value: never show it.
    throw new TypeError('restTransport: the headers option produced an invalid header name or value');
  }
  return [...headers];
}

function validateTimeout(ms: unknown, what: string): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new RpcError(Code.INVALID_ARGUMENT, `${what} must be a non-negative number of milliseconds`);
  }
  return ms;
}

/**
 * Resolves when `promise` does, or rejects with `signal.reason` as soon as
 * `signal` aborts; the listener is removed either way.
 */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Reads a body up to `max` bytes; past it, cancels the stream and returns `undefined`. */
async function readLimited(response: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** What a fetch or body-read failure says about the network: the socket error's code, else its name. */
function networkDetail(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (!(cause instanceof Error)) return 'network error';
  const code = (cause as NodeJS.ErrnoException).code;
  if (code) return code;
  return cause.message && cause.name === 'Error' ? cause.message : cause.name;
}

/** Bytes → parsed JSON, or `undefined` when not UTF-8 JSON. */
function parseBytes(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { ok: true, value: parseJsonSafe(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * A {@link OperationsTransport} over REST/JSON.
 *
 * - URLs come from `profile` (default {@link restProfiles}.standard); a
 *   name that is unsafe or fits none of the profile's templates rejects with
 *   `InvalidOperationError` before any request, and a method the profile
 *   lacks with `RpcError` UNIMPLEMENTED. `waitOperation` exists only when the
 *   profile has a `wait` binding (body `{"timeout": "<n>s"}`; deadline
 *   `timeout + waitDeadlineGraceMs` unless `timeoutMs` is given).
 * - Errors: `RpcError` with the canonical code mapped from the HTTP status
 *   and details decoded from the Google error body; network failure →
 *   UNAVAILABLE, and so is a body cut off mid-way or a `headers` provider
 *   that fails; deadline → DEADLINE_EXCEEDED; non-JSON 2xx body → INTERNAL;
 *   body over `maxResponseBytes` → RESOURCE_EXHAUSTED. A 429 or 503 with
 *   `Retry-After` carries it as a `google.rpc.RetryInfo` detail (unless the
 *   body has one), so the retry waits as asked. Abort rejects with the
 *   signal's reason.
 * - At most `maxLongPolls` `:wait` requests are in flight at once; a
 *   WaitOperation beyond that is answered by a GetOperation.
 * - Redirects are followed by hand (at most `maxRedirects`). A redirect to
 *   another origin is followed **without** the `headers` option's headers and
 *   without Authorization, Proxy-Authorization, Cookie and x-goog-api-key
 *   (for the rest of that call); only http(s) targets are followed.
 *
 * @example
 * ```ts
 * import { GoogleAuth } from 'google-auth-library';
 * const auth = new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
 * const transport = restTransport({
 *   baseUrl: 'https://storage.googleapis.com',
 *   profile: restProfiles.cloudStorage,
 *   headers: () => auth.getRequestHeaders(),
 * });
 * const op = await transport.getOperation('projects/_/buckets/my-bucket/operations/abc');
 * ```
 */
export function restTransport(options: RestTransportOptions): OperationsTransport {
  if (typeof options !== 'object' || options === null) throw new TypeError('restTransport: options are required');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new TypeError('restTransport: baseUrl is not an absolute URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('restTransport: baseUrl must be http(s)');
  if (base.username || base.password) throw new TypeError('restTransport: baseUrl must not contain credentials; use the headers option');
  const basePath = base.pathname.replace(/\/+$/, '');
  const baseQuery = [...base.searchParams];
  const profile = defineRestProfile(options.profile ?? restProfiles.standard);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('restTransport: no fetch implementation; pass the fetch option');
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!(maxBytes > 0)) throw new TypeError('restTransport: maxResponseBytes must be positive');
  const defaultTimeoutMs = options.defaultTimeoutMs;
  const waitGraceMs = options.waitDeadlineGraceMs ?? DEFAULT_WAIT_GRACE_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const maxLongPolls = options.maxLongPolls ?? DEFAULT_MAX_LONG_POLLS;
  if (!Number.isInteger(maxLongPolls) || maxLongPolls < 0) throw new TypeError('restTransport: maxLongPolls must be a non-negative integer');

  /**
   * The `headers` option's headers for one call. A provider that throws or
   * rejects fails the call with UNAVAILABLE (retried while waiting, as the
   * gRPC transport does with a failing `metadata()`); headers that are not
   * valid HTTP fail it with INVALID_ARGUMENT.
   */
  function userHeaders(): Promise<[string, string][]> {
    return resolveProvider<unknown, [string, string][]>(options.headers, 'headers', headerPairs);
  }

  function requestUrl(req: Request): URL {
    const url = new URL(base.origin);
    url.pathname = basePath + req.path;
    for (const [k, v] of baseQuery) url.searchParams.append(k, v);
    for (const [k, v] of req.query ?? []) url.searchParams.append(k, v);
    return url;
  }

  /** One logical call: fetch (following redirects), then the parsed body or `undefined`. */
  async function send(req: Request, callOptions: CallOptions | undefined): Promise<unknown> {
    const signal = callOptions?.signal;
    if (signal?.aborted) throw abortReason(signal);
    const rpc = REST_RPC_NAMES[req.key];
    const controller = new AbortController();
    let abortedBy: 'signal' | 'deadline' | undefined;
    const onAbort = (): void => {
      abortedBy ??= 'signal';
      controller.abort(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadlineError = (): RpcError =>
      new RpcError(Code.DEADLINE_EXCEEDED, `${rpc} ${req.name}: deadline of ${req.timeoutMs} ms exceeded`);
    if (req.timeoutMs !== undefined && req.timeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        abortedBy ??= 'deadline';
        controller.abort(deadlineError());
      }, req.timeoutMs);
    }
    try {
      return await exchange(req, rpc, controller.signal);
    } catch (err) {
      if (abortedBy === 'deadline') throw deadlineError();
      if (abortedBy === 'signal') throw abortReason(signal!);
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function exchange(req: Request, rpc: string, signal: AbortSignal): Promise<unknown> {
    // W3C traceparent (…) of the active context, when an OpenTelemetry propagator is registered.
    const propagated = traceHeaders();
    const credentials = await raceAbort(userHeaders(), signal);
    let url = requestUrl(req);
    const origin = url.origin;
    let method: string = req.method;
    let body = req.body;
    let crossOrigin = false;
    for (let hop = 0; ; hop++) {
      const headers = new Headers();
      if (!crossOrigin) for (const [k, v] of credentials) headers.append(k, v);
      for (const k of crossOrigin ? CREDENTIAL_HEADERS : []) headers.delete(k);
      headers.set('accept', 'application/json');
      if (body !== undefined) headers.set('content-type', 'application/json');
      if (propagated) for (const key of Object.keys(propagated)) headers.set(key, propagated[key]!);
      let response: Response;
      try {
        response = await fetchImpl(url, { method, headers, body, signal, redirect: 'manual' });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new RpcError(Code.UNAVAILABLE, `${rpc} ${req.name}: request to ${safeUrl(url)} failed (${networkDetail(err)})`, { cause: err });
      }
      const status = response.status;
      if (response.type === 'opaqueredirect') {
        throw new RpcError(Code.INTERNAL, `${rpc} ${req.name}: ${safeUrl(url)} redirected, and this fetch does not expose redirects`);
      }
      if (REDIRECT_STATUSES.has(status)) {
        const location = response.headers.get('location');
        await response.body?.cancel().catch(() => undefined);
        if (!location) throw new RpcError(Code.UNKNOWN, `${rpc} ${req.name}: HTTP ${status} from ${safeUrl(url)} without a Location`);
        if (hop >= maxRedirects) {
          throw new RpcError(Code.INTERNAL, `${rpc} ${req.name}: more than ${maxRedirects} redirects from ${safeUrl(url)}`);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new RpcError(Code.INTERNAL, `${rpc} ${req.name}: invalid redirect from ${safeUrl(url)}`);
        }
        if ((next.protocol !== 'http:' && next.protocol !== 'https:') || next.username || next.password) {
          throw new RpcError(Code.INTERNAL, `${rpc} ${req.name}: refusing redirect from ${safeUrl(url)} to a ${next.protocol} URL`);
        }
        if (next.origin !== origin) crossOrigin = true;
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      const where = `${method} ${safeUrl(url)}`;
      if (status < 200 || status > 299) {
        // The status is the server's answer; a body cut short only loses its details.
        const bytes = await readLimited(response, maxBytes).catch((err: unknown) => {
          if (signal.aborted) throw err;
          return undefined;
        });
        const parsed = bytes ? parseBytes(bytes) : { ok: false as const };
        const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), Date.now()) : undefined;
        const error = rpcErrorFromHttp(status, parsed.ok ? parsed.value : undefined, where, { retryAfterMs });
        if (req.key === 'wait' && profile.waitNotFoundIsUnimplemented && (status === 404 || status === 405)) {
          throw new RpcError(Code.UNIMPLEMENTED, `WaitOperation is not available at ${where} (HTTP ${status}): ${error.rawMessage}`, {
            details: error.details,
            cause: error,
          });
        }
        throw error;
      }
      if (!req.parse) {
        await response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      let bytes: Uint8Array | undefined;
      try {
        bytes = await readLimited(response, maxBytes);
      } catch (err) {
        if (signal.aborted) throw err;
        // The connection went away mid-body (a Content-Length never reached,
        // broken chunked encoding, a reset): the call was lost, not refused.
        throw new RpcError(Code.UNAVAILABLE, `${rpc} ${req.name}: the response body from ${where} was cut off (${networkDetail(err)})`, { cause: err });
      }
      if (!bytes) {
        throw new RpcError(Code.RESOURCE_EXHAUSTED, `${rpc} ${req.name}: response from ${where} is too large (over ${maxBytes} bytes)`);
      }
      const parsed = parseBytes(bytes);
      if (!parsed.ok) throw new RpcError(Code.INTERNAL, `${rpc} ${req.name}: invalid JSON from ${where} (HTTP ${status})`);
      return parsed.value;
    }
  }

  function route(key: RestMethodKey, name: unknown): { method: HttpMethod; path: string } {
    return resolveRestRoute(profile, key, name);
  }

  function callTimeout(callOptions: CallOptions | undefined): number | undefined {
    return validateTimeout(callOptions?.timeoutMs, 'timeoutMs') ?? defaultTimeoutMs;
  }

  /** Runs synchronous checks inside the returned promise so every failure is a rejection. */
  async function prepare<T>(callOptions: CallOptions | undefined, build: () => T): Promise<T> {
    if (callOptions?.signal?.aborted) throw abortReason(callOptions.signal);
    return build();
  }

  const transport: OperationsTransport = {
    async getOperation(name: string, callOptions?: CallOptions): Promise<OperationResource> {
      const req = await prepare(callOptions, () => {
        const { method, path } = route('get', name);
        return { key: 'get', name, method, path, parse: true, timeoutMs: callTimeout(callOptions) } satisfies Request;
      });
      return operationFromJson(await send(req, callOptions), `GetOperation ${name}`);
    },
    async cancelOperation(name: string, callOptions?: CallOptions): Promise<void> {
      const req = await prepare(callOptions, () => {
        const { method, path } = route('cancel', name);
        const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
        return { key: 'cancel', name, method, path, body, parse: false, timeoutMs: callTimeout(callOptions) } satisfies Request;
      });
      await send(req, callOptions);
    },
    async deleteOperation(name: string, callOptions?: CallOptions): Promise<void> {
      const req = await prepare(callOptions, () => {
        const { method, path } = route('delete', name);
        const body = method === 'POST' ? '{}' : undefined;
        return { key: 'delete', name, method, path, body, parse: false, timeoutMs: callTimeout(callOptions) } satisfies Request;
      });
      await send(req, callOptions);
    },
    async listOperations(request: ListOperationsRequest, callOptions?: CallOptions): Promise<ListOperationsResponse> {
      const req = await prepare(callOptions, () => {
        if (typeof request !== 'object' || request === null) throw new InvalidOperationError('ListOperations: the request must be an object');
        const { method, path } = route('list', request.name);
        const query = new URLSearchParams();
        if (request.filter !== undefined && request.filter !== '') {
          if (typeof request.filter !== 'string') throw new RpcError(Code.INVALID_ARGUMENT, 'ListOperations: filter must be a string');
          query.set('filter', request.filter);
        }
        if (request.pageSize !== undefined && request.pageSize !== 0) {
          if (!Number.isInteger(request.pageSize) || request.pageSize < 0) {
            throw new RpcError(Code.INVALID_ARGUMENT, 'ListOperations: pageSize must be a non-negative integer');
          }
          query.set('pageSize', String(request.pageSize));
        }
        if (request.pageToken !== undefined && request.pageToken !== '') {
          if (typeof request.pageToken !== 'string') throw new RpcError(Code.INVALID_ARGUMENT, 'ListOperations: pageToken must be a string');
          query.set('pageToken', request.pageToken);
        }
        if (request.returnPartialSuccess !== undefined && request.returnPartialSuccess !== false) {
          if (request.returnPartialSuccess !== true) throw new RpcError(Code.INVALID_ARGUMENT, 'ListOperations: returnPartialSuccess must be a boolean');
          query.set('returnPartialSuccess', 'true');
        }
        return { key: 'list', name: request.name, method, path, query, parse: true, timeoutMs: callTimeout(callOptions) } satisfies Request;
      });
      return listResponseFromJson(await send(req, callOptions), `ListOperations ${req.name}`);
    },
  };

  if (profile.wait.length > 0) {
    let longPolls = 0;
    transport.waitOperation = async (name: string, timeoutMs: number, callOptions?: CallOptions): Promise<OperationResource> => {
      const req = await prepare(callOptions, () => {
        const timeout = validateTimeout(timeoutMs, 'WaitOperation timeout');
        if (timeout === undefined || !Number.isFinite(timeout)) {
          throw new RpcError(Code.INVALID_ARGUMENT, 'WaitOperation timeout must be a finite number of milliseconds');
        }
        const { method, path } = route('wait', name);
        const duration = durationToJson(timeout);
        const body = method === 'POST' ? JSON.stringify({ timeout: duration }) : undefined;
        const query = method === 'POST' ? undefined : new URLSearchParams({ timeout: duration });
        const deadline = validateTimeout(callOptions?.timeoutMs, 'timeoutMs') ?? timeout + waitGraceMs;
        return { key: 'wait', name, method, path, body, query, parse: true, timeoutMs: deadline } satisfies Request;
      });
      // Over the cap, the state now instead of a long-poll: no socket is held for it.
      if (longPolls >= maxLongPolls) return transport.getOperation(name, callOptions);
      longPolls++;
      try {
        return operationFromJson(await send(req, callOptions), `WaitOperation ${name}`);
      } finally {
        longPolls--;
      }
    };
  }
  return setRpcSystem(transport, 'http');
}
