/**
 * Stand-ins, in the browser build, for the functions that need Node.js:
 * `grpcTransport` (on @grpc/grpc-js, which needs Node's net, http2 and tls),
 * `gaxTransport` and `fromGaxOperation` (for clients of google-gax, a Node
 * library). Same names and signatures as the real ones; each throws an
 * {@link UnsupportedRuntimeError} that says what to use instead. Nothing here
 * imports grpc-js or google-gax (type imports only).
 * @module
 */
import { UnsupportedRuntimeError } from '../errors.js';
import type { GaxOperationOptions } from '../gax-operation.js';
import type { LongRunningOperation } from '../operation.js';
import type { OperationsTransport } from '../types.js';
import type { GaxOperation, GaxOperationsClient, GaxTransport, GaxTransportOptions } from './gax.js';
import type { GrpcTransport, GrpcTransportOptions } from './grpc.js';

function needsNode(feature: string, why: string): UnsupportedRuntimeError {
  return new UnsupportedRuntimeError(
    feature,
    `${feature} needs Node.js (${why}); this is the browser build of longrunning (package.json condition browser, worker, workerd or edge-light). ` +
      'Use restTransport({ baseUrl, profile }) over REST/JSON here, or run this code on Node.js.',
  );
}

/**
 * Browser build: always throws {@link UnsupportedRuntimeError}; gRPC needs Node.js.
 *
 * @example
 * ```ts
 * grpcTransport({ address: '127.0.0.1:50051' }); // throws UnsupportedRuntimeError in a browser
 * ```
 */
export function grpcTransport(options: GrpcTransportOptions): GrpcTransport {
  void options;
  throw needsNode('grpcTransport', 'it runs on @grpc/grpc-js, which uses Node’s net, http2 and tls modules');
}

/**
 * Browser build: always throws {@link UnsupportedRuntimeError}; google-gax clients need Node.js.
 *
 * @example
 * ```ts
 * gaxTransport(client.operationsClient); // throws UnsupportedRuntimeError in a browser
 * ```
 */
export function gaxTransport(operationsClient: GaxOperationsClient, options?: GaxTransportOptions): GaxTransport {
  void operationsClient;
  void options;
  throw needsNode('gaxTransport', 'it drives a google-gax OperationsClient, and google-gax runs on Node.js');
}

/**
 * Browser build: always throws {@link UnsupportedRuntimeError}; google-gax clients need Node.js.
 *
 * @example
 * ```ts
 * fromGaxOperation(gaxOperation); // throws UnsupportedRuntimeError in a browser
 * ```
 */
export function fromGaxOperation<TResponse = unknown, TMetadata = unknown>(
  gaxOperation: GaxOperation,
  options?: GaxOperationOptions<TResponse, TMetadata>,
): LongRunningOperation<TResponse, TMetadata> {
  void gaxOperation;
  void options;
  throw needsNode('fromGaxOperation', 'it adopts an operation of a google-gax client, and google-gax runs on Node.js');
}
