/**
 * longrunning: wait for Google-style long-running operations
 * (`google.longrunning.Operation`) over gRPC, google-gax or REST/JSON.
 *
 * @example
 * ```ts
 * import { LongRunningOperation, grpcTransport } from 'longrunning';
 * const op = new LongRunningOperation('operations/42', { transport: grpcTransport({ address: '127.0.0.1:50051' }) });
 * op.on('metadata', (m) => console.log('progress', m));
 * console.log(await op.promise());
 * ```
 * @module longrunning
 */
export * from './exports.js';
// Node only: these run on @grpc/grpc-js or google-gax.
export { grpcTransport } from './transports/grpc.js';
export { gaxTransport } from './transports/gax.js';
export { fromGaxOperation } from './gax-operation.js';
