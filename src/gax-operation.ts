/**
 * fromGaxOperation: adopts the `Operation` a generated google-gax client
 * returned, with that client's transport and decoders.
 * @module
 */
import type * as protobuf from 'protobufjs';
import { type Decoder, TypeRegistry } from './codec/registry.js';
import { DecodeError } from './errors.js';
import { LongRunningOperation, type OperationOptions } from './operation.js';
import { gaxTransport, operationFromGax, type GaxAnyDecoder, type GaxOperation, type GaxOperationsClient } from './transports/gax.js';
import type { OperationsTransport } from './types.js';
import type { PollingOptions } from './watch/policy.js';


/**
 * Options of {@link fromGaxOperation}: everything a {@link LongRunningOperation}
 * takes except `transport` and `decode`, which come from the gax operation.
 *
 * @example
 * ```ts
 * const options: GaxOperationOptions = { polling: { initialDelayMs: 500 }, signal: AbortSignal.timeout(600_000) };
 * ```
 */
export type GaxOperationOptions<TResponse = unknown, TMetadata = unknown> = Omit<OperationOptions<TResponse, TMetadata>, 'transport' | 'decode'>;

/** One transport per OperationsClient, so what the loop learns (no WaitOperation) is shared. */
const transports = new WeakMap<object, OperationsTransport>();
/** One registry per protobufjs root the client's decoders come from. */
const registries = new WeakMap<object, TypeRegistry>();

function transportFor(client: GaxOperationsClient): OperationsTransport {
  let transport = transports.get(client);
  if (!transport) {
    transport = gaxTransport(client);
    transports.set(client, transport);
  }
  return transport;
}

function isProtobufType(value: unknown): value is protobuf.Type {
  const type = value as protobuf.Type | null | undefined;
  return typeof type === 'object' && type !== null && typeof type.fullName === 'string' && Array.isArray(type.fieldsArray) && typeof type.decode === 'function';
}

function registryFor(type: protobuf.Type): TypeRegistry | undefined {
  const root = type.root;
  if (!root) return undefined;
  let registry = registries.get(root);
  if (!registry) {
    registry = TypeRegistry.fromRoot(root);
    registries.set(root, registry);
  }
  return registry;
}

/**
 * Wraps a gax `AnyDecoder` as a {@link Decoder}: the client's own decoder
 * decodes the bytes (so the type is the one the method declares, whatever the
 * type URL says), and the resulting message is presented like every other
 * result of this library: a plain proto3 JSON object (int64 as strings, enums
 * as names, Timestamp/Duration as strings), decoded through a
 * {@link TypeRegistry} over the client's own protobufjs root.
 */
function plainDecoder<T>(gaxDecoder: GaxAnyDecoder | null | undefined, role: string): Decoder<T> | undefined {
  if (gaxDecoder == null) return undefined;
  if (typeof gaxDecoder !== 'function') throw new TypeError(`longrunning: the gax operation's ${role}Decoder is not a function`);
  return (any) => {
    if (any.value === undefined && any.json !== undefined) return TypeRegistry.default().decode(any) as T;
    const bytes = any.value ?? new Uint8Array(0);
    const message = gaxDecoder(bytes);
    const type = (message as { $type?: unknown } | null)?.$type;
    if (isProtobufType(type)) {
      const registry = registryFor(type);
      if (registry) return registry.decode({ typeUrl: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`, value: bytes }) as T;
      return type.toObject(message as protobuf.Message, { longs: String, enums: String, bytes: String, defaults: true }) as T;
    }
    if (message === null || typeof message !== 'object') {
      throw new DecodeError(any.typeUrl, `the gax ${role} decoder returned ${message === null ? 'null' : typeof message} for ${any.typeUrl}`);
    }
    const toJSON = (message as { toJSON?: unknown }).toJSON;
    return (typeof toJSON === 'function' ? toJSON.call(message) : message) as T;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkGaxOperation(value: unknown): asserts value is GaxOperation {
  const op = value as Partial<GaxOperation> | null;
  if (typeof op !== 'object' || op === null || !isRecord(op.latestResponse) || !isRecord(op.longrunningDescriptor)) {
    throw new TypeError(
      'longrunning: fromGaxOperation expects the Operation a google-gax client returned (with latestResponse and longrunningDescriptor)',
    );
  }
}

/**
 * Adopts the `Operation` a generated google-gax client returned as a
 * {@link LongRunningOperation}: its latest state (`latestResponse`), the
 * client's own OperationsClient (via {@link gaxTransport}, one per client)
 * and the client's own response/metadata decoders, with results presented as
 * plain proto3 JSON objects. gax's Operation is not touched; it keeps working.
 *
 * @example
 * ```ts
 * const [operation] = await client.annotateVideo({ inputUri, features: ['LABEL_DETECTION'] });
 * const op = fromGaxOperation<AnnotateVideoResponse, AnnotateVideoProgress>(operation);
 * op.on('metadata', (p) => console.log(p.annotationProgress[0]?.progressPercent));
 * const response = await op.promise();
 * ```
 */
export function fromGaxOperation<TResponse = unknown, TMetadata = unknown>(
  gaxOperation: GaxOperation,
  options: GaxOperationOptions<TResponse, TMetadata> = {},
): LongRunningOperation<TResponse, TMetadata> {
  checkGaxOperation(gaxOperation);
  const descriptor = gaxOperation.longrunningDescriptor;
  const transport = transportFor(descriptor.operationsClient);
  const response = plainDecoder<TResponse>(descriptor.responseDecoder, 'response');
  const metadata = plainDecoder<TMetadata>(descriptor.metadataDecoder, 'metadata');
  const decode: { response?: Decoder<TResponse>; metadata?: Decoder<TMetadata> } = {};
  if (response) decode.response = response;
  if (metadata) decode.metadata = metadata;
  const polling = options.polling ?? chosenSchedule((gaxOperation as { backoffSettings?: unknown }).backoffSettings);
  return new LongRunningOperation<TResponse, TMetadata>(operationFromGax(gaxOperation.latestResponse), {
    ...options,
    ...(polling ? { polling } : {}),
    transport,
    decode,
  });
}

/** gax's generic default (`createDefaultBackoffSettings()`), which says nothing about the service. */
const GAX_DEFAULT_BACKOFF = { initialRetryDelayMillis: 100, retryDelayMultiplier: 1.3, maxRetryDelayMillis: 60_000 };

/**
 * The polling schedule someone chose for this operation: a gax Operation's
 * `backoffSettings` when they differ from gax's generic default (the caller's
 * `longrunning` call options, or the service's configuration), else undefined
 * (our measured default applies). `totalTimeoutMillis` becomes `maxPollingMs`.
 */
function chosenSchedule(settings: unknown): PollingOptions | undefined {
  if (typeof settings !== 'object' || settings === null) return undefined;
  const b = settings as Record<string, unknown>;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const initial = num(b.initialRetryDelayMillis);
  const multiplier = num(b.retryDelayMultiplier);
  const max = num(b.maxRetryDelayMillis);
  const total = num(b.totalTimeoutMillis);
  const isDefault =
    initial === GAX_DEFAULT_BACKOFF.initialRetryDelayMillis &&
    multiplier === GAX_DEFAULT_BACKOFF.retryDelayMultiplier &&
    max === GAX_DEFAULT_BACKOFF.maxRetryDelayMillis &&
    (total === undefined || total === 0);
  if (isDefault) return undefined;
  const polling: PollingOptions = {};
  if (initial !== undefined) polling.initialDelayMs = initial;
  if (multiplier !== undefined && multiplier >= 1) polling.multiplier = multiplier;
  if (max !== undefined) polling.maxDelayMs = Math.max(max, polling.initialDelayMs ?? 0);
  if (total !== undefined && total > 0) polling.maxPollingMs = total;
  return Object.keys(polling).length > 0 ? polling : undefined;
}
