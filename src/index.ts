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
// Core: an operation, its options, events and snapshots; many operations over one transport.
export { LongRunningOperation, type OperationEvents, type RetryInfoEvent, type OperationOptions, type OperationSnapshot, type WaitOptions } from './operation.js';
export { OperationsClient, type NotificationSource, type NotificationSourceOptions, type OperationUpdate, type OperationsClientOptions } from './client.js';
export { pubsubNotifications, type PubSubMessageLike, type PubSubNotificationOptions, type PubSubNotifications, type PubSubSubscriptionLike } from './pubsub.js';
export type { ResumeToken, TokenAny } from './resume.js';
export type { PollingOptions, RetryOptions } from './watch/policy.js';
export type { Clock } from './watch/clock.js';
export { progressPercent } from './watch/progress.js';

// The wire model, the same for every transport.
export type { AnyMessage, CallOptions, CodeNumber, ListOperationsRequest, ListOperationsResponse, OperationResource, OperationsTransport, RpcStatus, TransportLimits } from './types.js';
export { Code, codeName } from './types.js';

// Errors.
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

// Codec: decoding Any payloads.
export { TypeRegistry, type Decoder } from './codec/registry.js';
export type { DecodeOption } from './codec/decoders.js';

// Transports.
export { memoryTransport } from './transports/memory.js';
export { grpcTransport, type GrpcMetadataInit, type GrpcTransport, type GrpcTransportOptions } from './transports/grpc.js';
export type { CancelPacing } from './transports/cancel-pacer.js';
export {
  gaxTransport,
  type GaxAnyDecoder,
  type GaxCallOptions,
  type GaxListOperationsRequest,
  type GaxOperation,
  type GaxOperationsClient,
  type GaxTransportOptions,
} from './transports/gax.js';
export { fromGaxOperation, type GaxOperationOptions } from './gax-operation.js';
export { restTransport, type RestHeaders, type RestTransportOptions } from './transports/rest/transport.js';

// REST profiles: the built-in ones, and the pieces to describe another service.
// (URL-template and route helpers stay internal: src/transports/rest/*.)
export {
  defineRestProfile,
  restProfiles,
  type HttpMethod,
  type RestBinding,
  type RestBindingSpec,
  type RestMethodKey,
  type RestPathMapper,
  type RestProfile,
  type RestProfileSpec,
} from './transports/rest/profiles.js';
