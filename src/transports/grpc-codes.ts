/**
 * Status corrections shared by the transports that sit on grpc-js (our own
 * gRPC transport and google-gax's).
 * @module
 */
import { Code } from '../types.js';

/** The details grpc-js gives a call whose stream ended with RST_STREAM(NO_ERROR) and no gRPC status. */
const RST_STREAM_NO_ERROR = /^Received RST_STREAM with code 0\b/;

/**
 * The canonical code for a grpc-js failure. grpc-js reports a stream that the
 * server or a proxy reset with NO_ERROR before sending a status (a server
 * shutting down, for one) as INTERNAL; gRPC core reports it as UNAVAILABLE,
 * so that it is retried. This does the same; every other code is kept.
 */
export function canonicalGrpcCode(code: number, message: string): number {
  return code === Code.INTERNAL && RST_STREAM_NO_ERROR.test(message) ? Code.UNAVAILABLE : code;
}
