/**
 * The public names both entries share (the Node entry `index.ts` and the
 * browser build `index.browser.ts`): everything but `grpcTransport`,
 * `gaxTransport` and `fromGaxOperation`, which each entry adds its own way.
 * Internal: import from `longrunning`.
 * @module
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
export type { GrpcMetadataInit, GrpcTransport, GrpcTransportOptions } from './transports/grpc.js';
export type { CancelPacing } from './transports/cancel-pacer.js';
export type {
  GaxAnyDecoder,
  GaxCallOptions,
  GaxListOperationsRequest,
  GaxOperation,
  GaxOperationsClient,
  GaxTransport,
  GaxTransportOptions,
} from './transports/gax.js';
export type { GaxOperationOptions } from './gax-operation.js';
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
