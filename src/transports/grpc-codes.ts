/**
 * Status corrections shared by the transports that sit on grpc-js (our own
 * gRPC transport and google-gax's), and the test for a failure that says the
 * connection went away rather than that the server refused the call.
 * @module
 */
import { Code } from '../types.js';

/** The details grpc-js gives a call whose stream ended with RST_STREAM(NO_ERROR) and no gRPC status. */
const RST_STREAM_NO_ERROR = /^Received RST_STREAM with code 0\b/;
/**
 * The details grpc-js gives a call its own side reset because the stream or
 * session failed: "Received RST_STREAM with code 2 triggered by internal
 * client error: Session closed with error code 2" after a GOAWAY(INTERNAL_ERROR),
 * or a socket error (write EPIPE, …). Nothing the server decided.
 */
const INTERNAL_CLIENT_ERROR = /^Received RST_STREAM with code \d+ triggered by internal client error: /;

/**
 * The canonical code for a grpc-js failure. A call lost with its connection
 * is UNAVAILABLE, as gRPC core reports it, so that it is retried: grpc-js
 * reports as INTERNAL a stream that the server or a proxy reset with NO_ERROR
 * before sending a status (a server shutting down, for one), and a stream it
 * reset itself because its session closed (a GOAWAY with any error code, such
 * as the INTERNAL_ERROR of HTTP/2 rapid-reset protection) or its socket
 * failed. Every other code is kept: an INTERNAL status the server sent stays
 * INTERNAL.
 */
export function canonicalGrpcCode(code: number, message: string): number {
  if (code !== Code.INTERNAL) return code;
  return RST_STREAM_NO_ERROR.test(message) || INTERNAL_CLIENT_ERROR.test(message) ? Code.UNAVAILABLE : code;
}

/** Socket-level error codes of Node, undici and node-fetch that mean the connection was lost or never made. */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
]);
/** Messages of the same failures where no code survived (undici's "terminated" for a body cut off, …). */
const CONNECTION_MESSAGE = /^terminated$|socket hang up|other side closed|premature close|ECONNRESET|EPIPE|ECONNREFUSED/i;

/**
 * True when `error` (or an error in its `cause` chain) says the connection
 * went away or could not be made: a reset, a broken pipe, a refused
 * connection, a socket closed mid-body. Such a call is transient.
 */
export function isConnectionLoss(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
    if (typeof e.errno === 'string' && CONNECTION_CODES.has(e.errno)) return true;
    if (typeof e.message === 'string' && CONNECTION_MESSAGE.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}
