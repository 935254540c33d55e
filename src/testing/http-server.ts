/**
 * serveHttp: a real HTTP/JSON server on 127.0.0.1 that serves any
 * {@link OperationsTransport} with a REST profile's URL layout — the server
 * half of `restTransport`, for tests.
 * @module
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TypeRegistry } from '../codec/registry.js';
import { DecodeError, InvalidOperationError, RpcError, type DecodedDetail } from '../errors.js';
import { Code, type CallOptions, type ListOperationsRequest, type OperationsTransport } from '../types.js';
import { durationFromJson, errorBody, httpStatusFromGrpcCode, operationToJson, parseJsonSafe } from '../transports/rest/json.js';
import { defineRestProfile, matchRestRoute, restProfiles, restRoutes, type RestProfile } from '../transports/rest/profiles.js';

/**
 * Options of {@link serveHttp}.
 *
 * @example
 * ```ts
 * const options: ServeHttpOptions = { port: 0 };
 * ```
 */
export interface ServeHttpOptions {
  /** Port on 127.0.0.1; 0 or absent → an ephemeral port. */
  port?: number;
  /** Registry used to print `Any` values as proto3 JSON. Default `TypeRegistry.default()`. */
  registry?: TypeRegistry;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxRequestBytes?: number;
  /** WaitOperation timeout used when a request carries none, in ms. Default 30000. */
  defaultWaitTimeoutMs?: number;
  /**
   * Lets pages on other origins call the server (CORS): answers preflight
   * `OPTIONS` requests with 204 (any method the profile binds, any requested
   * headers) and sets `Access-Control-Allow-Origin` (the request's `Origin`,
   * else `*`) and `Access-Control-Expose-Headers: retry-after` on every
   * answer, errors included. Default false: `OPTIONS` is then a route like any
   * other (404).
   */
  cors?: boolean;
  /**
   * Called with every request's method, URL and headers (as Node received
   * them) before it is handled, e.g. to check what a client sends.
   */
  onRequest?: (request: ServedRequest) => void;
}

/**
 * One request as {@link serveHttp} received it (see {@link ServeHttpOptions.onRequest}).
 *
 * @example
 * ```ts
 * const seen: ServedRequest[] = [];
 * await serveHttp(backend, restProfiles.standard, { onRequest: (r) => void seen.push(r) });
 * ```
 */
export interface ServedRequest {
  /** The HTTP method, e.g. `'GET'`. */
  method: string;
  /** The request target (path and query). */
  url: string;
  /** Request headers, names in lower case. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A running {@link serveHttp} server.
 *
 * @example
 * ```ts
 * const { baseUrl, close } = await serveHttp(backend);
 * await close();
 * ```
 */
export interface HttpListener {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** The port listened on. */
  readonly port: number;
  /**
   * Closes every socket and resolves once the port is released (idempotent).
   *
   * @example
   * ```ts
   * await listener.close();
   * ```
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;
const DEFAULT_WAIT_TIMEOUT_MS = 30_000;

class RequestTooLarge extends Error {}

function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      total += chunk.length;
      if (total > max) {
        tooLarge = true;
        reject(new RequestTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => reject(new Error('request closed before its body was read')));
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Methods a preflight may ask for: every method a REST profile can bind. */
const CORS_METHODS = 'GET, POST, DELETE, PATCH, PUT';
/** How long a browser may cache a preflight answer, in seconds. */
const CORS_MAX_AGE_S = 600;

/** CORS headers of every answer; true when the request was a preflight, answered here. */
function applyCors(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const origin = req.headers.origin;
  res.setHeader('access-control-allow-origin', origin ?? '*');
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', 'retry-after');
  if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false;
  res.setHeader('access-control-allow-methods', CORS_METHODS);
  const requested = req.headers['access-control-request-headers'];
  if (requested) res.setHeader('access-control-allow-headers', requested);
  res.setHeader('access-control-max-age', String(CORS_MAX_AGE_S));
  res.writeHead(204, { 'content-length': '0' });
  res.end();
  return true;
}

function sendError(res: http.ServerResponse, code: number, message: string, details: readonly DecodedDetail[] = [], status?: number): void {
  send(res, status ?? httpStatusFromGrpcCode(code), errorBody(code, message, details));
}

/**
 * Serves `backend` over HTTP/JSON on 127.0.0.1, routing requests by
 * `profile` (default `restProfiles.standard`):
 * - answers proto3 JSON (`Any` printed with the registry; int64 as strings);
 * - errors are Google error bodies `{ error: { code: <http status>, message, status, details } }`
 *   with the HTTP status mapped from the `RpcError` code (NOT_FOUND → 404,
 *   UNIMPLEMENTED → 501, …); a backend that has no `waitOperation` answers 501;
 * - a method/path the profile does not bind → 404;
 * - when the client disconnects, the backend call's signal aborts;
 * - with `cors: true`, pages on other origins may call it (preflights answered).
 * Restarting on the same `port` after `close()` works.
 *
 * @example
 * ```ts
 * const server = await serveHttp(myBackend, restProfiles.cloudStorage);
 * const transport = restTransport({ baseUrl: server.baseUrl, profile: restProfiles.cloudStorage });
 * // …
 * await server.close();
 * ```
 */
export async function serveHttp(
  backend: OperationsTransport,
  profile: RestProfile = restProfiles.standard,
  options: ServeHttpOptions = {},
): Promise<HttpListener> {
  const normalized = defineRestProfile(profile);
  const routes = restRoutes(normalized);
  const registry = options.registry ?? TypeRegistry.default();
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const defaultWaitMs = options.defaultWaitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const cors = options.cors === true;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    options.onRequest?.({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    if (cors && applyCors(req, res)) return;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new DOMException('the HTTP client disconnected', 'AbortError'));
    });
    const method = req.method ?? 'GET';
    let bodyText: string;
    try {
      bodyText = await readBody(req, maxRequestBytes);
    } catch (err) {
      if (err instanceof RequestTooLarge) {
        sendError(res, Code.RESOURCE_EXHAUSTED, `request body over ${maxRequestBytes} bytes`, [], 413);
        res.once('finish', () => req.destroy());
      }
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      sendError(res, Code.INVALID_ARGUMENT, 'malformed request URL');
      return;
    }
    const route = matchRestRoute(routes, method, url.pathname);
    if (!route) {
      sendError(res, Code.NOT_FOUND, `no route for ${method} ${url.pathname} in REST profile ${normalized.name}`);
      return;
    }
    const callOptions: CallOptions = { signal: controller.signal };
    try {
      let result: unknown;
      switch (route.key) {
        case 'get':
          result = operationToJson(await backend.getOperation(route.name, callOptions), registry);
          break;
        case 'cancel':
          await backend.cancelOperation(route.name, callOptions);
          result = {};
          break;
        case 'delete':
          await backend.deleteOperation(route.name, callOptions);
          result = {};
          break;
        case 'list': {
          const request: ListOperationsRequest = { name: route.name };
          const filter = url.searchParams.get('filter');
          const pageSize = url.searchParams.get('pageSize') ?? url.searchParams.get('page_size');
          const pageToken = url.searchParams.get('pageToken') ?? url.searchParams.get('page_token');
          if (filter !== null) request.filter = filter;
          if (pageSize !== null) {
            if (!/^\d{1,9}$/.test(pageSize)) throw new RpcError(Code.INVALID_ARGUMENT, `invalid pageSize ${JSON.stringify(pageSize)}`);
            request.pageSize = Number(pageSize);
          }
          if (pageToken !== null) request.pageToken = pageToken;
          const partial = url.searchParams.get('returnPartialSuccess') ?? url.searchParams.get('return_partial_success');
          if (partial !== null) {
            if (partial !== 'true' && partial !== 'false') throw new RpcError(Code.INVALID_ARGUMENT, `invalid returnPartialSuccess ${JSON.stringify(partial)}`);
            if (partial === 'true') request.returnPartialSuccess = true;
          }
          const page = await backend.listOperations(request, callOptions);
          const out: Record<string, unknown> = {
            operations: page.operations.map((op) => operationToJson(op, registry)),
            nextPageToken: page.nextPageToken ?? '',
          };
          if (page.unreachable && page.unreachable.length > 0) out.unreachable = [...page.unreachable];
          result = out;
          break;
        }
        case 'wait': {
          if (typeof backend.waitOperation !== 'function') {
            throw new RpcError(Code.UNIMPLEMENTED, 'WaitOperation is not implemented by this server');
          }
          let timeoutMs = defaultWaitMs;
          let raw: unknown = url.searchParams.get('timeout') ?? undefined;
          if (bodyText.trim() !== '') {
            let body: unknown;
            try {
              body = parseJsonSafe(bodyText);
            } catch {
              throw new RpcError(Code.INVALID_ARGUMENT, 'the request body is not JSON');
            }
            if (typeof body !== 'object' || body === null || Array.isArray(body)) {
              throw new RpcError(Code.INVALID_ARGUMENT, 'the request body is not a JSON object');
            }
            if (Object.prototype.hasOwnProperty.call(body, 'timeout')) raw = (body as Record<string, unknown>).timeout;
          }
          if (raw !== undefined && raw !== null) {
            const parsed = durationFromJson(raw);
            if (parsed === undefined) throw new RpcError(Code.INVALID_ARGUMENT, 'invalid timeout; expected a Duration such as "5s"');
            timeoutMs = parsed;
          }
          result = operationToJson(await backend.waitOperation(route.name, timeoutMs, callOptions), registry);
          break;
        }
      }
      send(res, 200, result);
    } catch (err) {
      if (controller.signal.aborted || res.destroyed) return;
      if (err instanceof RpcError) sendError(res, err.code, err.rawMessage, err.details);
      else if (err instanceof InvalidOperationError) sendError(res, Code.INVALID_ARGUMENT, err.message);
      else if (err instanceof DecodeError) sendError(res, Code.INTERNAL, `cannot print ${err.typeUrl} as JSON: ${err.message}`);
      else sendError(res, Code.INTERNAL, err instanceof Error ? err.message : 'internal error');
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.destroyed) res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
