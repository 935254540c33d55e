/**
 * longrunning, browser build: what package.json's `browser`, `worker`,
 * `workerd` and `edge-light` conditions of `longrunning` load. The same
 * public names as the Node entry (`index.ts`); `grpcTransport`,
 * `gaxTransport` and `fromGaxOperation` are stand-ins that throw
 * {@link UnsupportedRuntimeError} (they need Node.js). Nothing reachable from
 * here imports a `node:` module, @grpc/grpc-js or google-gax; the build
 * (scripts/build.ts) checks that, and test/bundle.test.ts and
 * test/browser.test.ts prove it in esbuild and in Chromium.
 *
 * @example
 * ```ts
 * import { LongRunningOperation, restTransport, restProfiles } from 'longrunning';
 * const transport = restTransport({ baseUrl: 'https://storage.googleapis.com', profile: restProfiles.cloudStorage, headers: { authorization } });
 * const op = new LongRunningOperation('projects/_/buckets/b/operations/42', { transport });
 * console.log(await op.promise());
 * ```
 * @module longrunning
 */
// The same names as index.ts, in the same groups; see there.
export { LongRunningOperation, type OperationEvents, type RetryInfoEvent, type OperationOptions, type OperationSnapshot, type WaitOptions } from './operation.js';
export { OperationsClient, type NotificationSource, type NotificationSourceOptions, type OperationUpdate, type OperationsClientOptions } from './client.js';
export { pubsubNotifications, type PubSubMessageLike, type PubSubNotificationOptions, type PubSubNotifications, type PubSubSubscriptionLike } from './pubsub.js';
export type { ResumeToken, TokenAny } from './resume.js';
export type { PollingOptions, RetryOptions } from './watch/policy.js';
export type { Clock } from './watch/clock.js';
export { progressPercent } from './watch/progress.js';

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

export { TypeRegistry, type Decoder } from './codec/registry.js';
export type { DecodeOption } from './codec/decoders.js';

export { memoryTransport } from './transports/memory.js';
export type { GrpcMetadataInit, GrpcTransport, GrpcTransportOptions } from './transports/grpc.js';
export type { CancelPacing } from './transports/cancel-pacer.js';
export type {
  GaxAnyDecoder,
  GaxCallOptions,
  GaxListOperationsRequest,
  GaxOperation,
  GaxOperationsClient,
  GaxTransportOptions,
} from './transports/gax.js';
export type { GaxOperationOptions } from './gax-operation.js';
// Need Node.js: stand-ins that throw UnsupportedRuntimeError.
export { fromGaxOperation, gaxTransport, grpcTransport } from './transports/node-only.js';
export { restTransport, type RestHeaders, type RestTransportOptions } from './transports/rest/transport.js';

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
