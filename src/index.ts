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
export type { AnyMessage, CallOptions, CodeNumber, ListOperationsRequest, ListOperationsResponse, OperationResource, OperationsTransport, RpcStatus, TransportLimits } from './types.js';
export { Code, codeName } from './types.js';
export {
  DecodeError,
  InvalidOperationError,
  LongRunningError,
  OperationCancelledError,
  OperationFailedError,
  OperationTimeoutError,
  PollingLimitError,
  RpcError,
  UnsupportedRuntimeError,
  type DecodedDetail,
} from './errors.js';
export { LongRunningOperation, type OperationEvents, type OperationOptions, type OperationSnapshot, type WaitOptions } from './operation.js';
export { OperationsClient, type NotificationSource, type NotificationSourceOptions, type OperationUpdate, type OperationsClientOptions } from './client.js';
export { pubsubNotifications, type PubSubMessageLike, type PubSubNotificationOptions, type PubSubNotifications, type PubSubSubscriptionLike } from './pubsub.js';
export type { ResumeToken, TokenAny } from './resume.js';
export { TypeRegistry, type Decoder } from './codec/registry.js';
export type { DecodeOption } from './codec/decoders.js';
export { systemClock, type Clock } from './watch/clock.js';
export type { PollingOptions, RetryOptions } from './watch/policy.js';
export { progressPercent } from './watch/progress.js';
export { memoryTransport } from './transports/memory.js';
export { grpcTransport, type GrpcMetadataInit, type GrpcTransport, type GrpcTransportOptions } from './transports/grpc.js';
export type { CancelPacing } from './transports/cancel-pacer.js';
export * from './transports/rest/index.js';
export {
  anyFromGax,
  gaxTransport,
  operationFromGax,
  rpcErrorFromGax,
  type GaxAnyDecoder,
  type GaxCallOptions,
  type GaxListOperationsRequest,
  type GaxOperation,
  type GaxOperationsClient,
  type GaxTransportOptions,
} from './transports/gax.js';
export { fromGaxOperation, type GaxOperationOptions } from './gax-operation.js';
