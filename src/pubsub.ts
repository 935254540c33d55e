/**
 * Operation results pushed through Pub/Sub: an adapter from an
 * `@google-cloud/pubsub` `Subscription` to {@link OperationsClient.notify}.
 * It only listens to the subscription's events and acks/nacks messages, so it
 * imports nothing from `@google-cloud/pubsub` (an optional peer dependency):
 * the types below are the part of `Subscription` and `Message` it uses.
 * @module
 */
import type { NotificationSource, NotificationSourceOptions, OperationsClient } from './client.js';
import { InvalidOperationError, LongRunningError } from './errors.js';
import { emitWarning } from './platform.js';

/**
 * The part of an `@google-cloud/pubsub` `Message` the adapter uses.
 *
 * @example
 * ```ts
 * const message: PubSubMessageLike = { id: '1', data: Buffer.from(json), attributes: {}, ack() {}, nack() {} };
 * ```
 */
export interface PubSubMessageLike {
  /** Message id (only used in error reports). */
  readonly id?: string;
  /** The payload: a JSON Operation, or `google.longrunning.Operation` bytes. */
  readonly data: Uint8Array | string;
  /** Message attributes; they say whether `data` is binary. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Acknowledges the message: it is not delivered again. */
  ack(): void;
  /** Rejects the message: Pub/Sub delivers it again (to this or another subscriber). */
  nack(): void;
}

/**
 * The part of an `@google-cloud/pubsub` `Subscription` the adapter uses (its
 * `message` and `error` events).
 *
 * @example
 * ```ts
 * const subscription: PubSubSubscriptionLike = new PubSub().subscription('operations');
 * ```
 */
export interface PubSubSubscriptionLike {
  /** Adds a listener (`message` or `error`). */
  on(event: 'message', listener: (message: PubSubMessageLike) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener(event: 'message', listener: (message: PubSubMessageLike) => void): unknown;
  /** Closes the subscriber's streams (used only with `closeSubscription`). */
  close?(): Promise<void>;
}

/**
 * Options of {@link pubsubNotifications}.
 *
 * @example
 * ```ts
 * pubsubNotifications(client, subscription, { malformed: 'nack', onError: (err) => log.warn(err) });
 * ```
 */
export interface PubSubNotificationOptions {
  /** The safety poll of each pending operation while attached (see {@link NotificationSourceOptions}). Default 300_000. */
  safetyIntervalMs?: number;
  /**
   * A message that names no operation watched through the client: `'ack'`
   * (default: drop it) or `'nack'` (leave it to another subscriber, which
   * Pub/Sub redelivers it to).
   */
  unknown?: 'ack' | 'nack';
  /**
   * A message that is not a valid Operation (or whose `Any`s do not decode):
   * `'drop'` (default: ack it, redelivery would not make it valid) or `'nack'`.
   * Either way the typed error goes to `onError`.
   */
  malformed?: 'drop' | 'nack';
  /**
   * Whether a message's data is binary `google.longrunning.Operation` bytes
   * rather than JSON. Default: attribute `googclient_schemaencoding` is
   * `BINARY` (a topic with a protobuf schema), or `content-type`/`contentType`
   * is `application/x-protobuf`, `application/protobuf` or `application/octet-stream`.
   */
  isBinary?: (message: PubSubMessageLike) => boolean;
  /**
   * Receives each failure: the typed error of a malformed message, an
   * unexpected failure while processing one (then nacked), and the
   * subscription's own `error` events. Default: a process warning.
   */
  onError?: (error: Error, message?: PubSubMessageLike) => void;
  /** Also `close()` the subscription in `close()` (default false: it is yours). */
  closeSubscription?: boolean;
}

/**
 * A running adapter from {@link pubsubNotifications}.
 *
 * @example
 * ```ts
 * const notifications = pubsubNotifications(client, subscription);
 * await notifications.close();
 * ```
 */
export interface PubSubNotifications {
  /**
   * Removes the adapter's listeners from the subscription and detaches it from
   * the client (pending operations go back to their normal schedule when no
   * other source is attached). @google-cloud/pubsub stops pulling when its
   * last `message` listener is removed. Idempotent.
   */
  close(): Promise<void>;
}

const BINARY_TYPES = new Set(['application/x-protobuf', 'application/protobuf', 'application/octet-stream']);

/** The default of {@link PubSubNotificationOptions.isBinary}. */
function defaultIsBinary(message: PubSubMessageLike): boolean {
  const attributes = message.attributes ?? {};
  if (String(attributes.googclient_schemaencoding ?? '').toUpperCase() === 'BINARY') return true;
  const type = attributes['content-type'] ?? attributes.contentType ?? attributes['Content-Type'];
  return typeof type === 'string' && BINARY_TYPES.has(type.split(';')[0]!.trim().toLowerCase());
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A message's data as {@link OperationsClient.notify} takes it. */
function payloadOf(message: PubSubMessageLike, binary: boolean): string | Uint8Array {
  const { data } = message;
  if (typeof data === 'string') return data;
  if (!(data instanceof Uint8Array)) throw new InvalidOperationError('a Pub/Sub message without data bytes');
  if (binary) return data;
  try {
    return utf8.decode(data);
  } catch (err) {
    throw new InvalidOperationError('a Pub/Sub message with JSON data that is not UTF-8', { cause: err });
  }
}

function defaultOnError(error: Error, message?: PubSubMessageLike): void {
  emitWarning(`Pub/Sub notification${message?.id ? ` ${message.id}` : ''}: ${error.stack ?? error.message}`, 'LONGRUNNING_PUBSUB_NOTIFICATION');
}

/**
 * Resolves a client's operations from the Operations a service publishes to a
 * Pub/Sub topic (Retail imports' `notification_pubsub_topic`, Life Sciences'
 * status changes, …). Listens to the subscription's `message` events, parses
 * each message (JSON Operation; binary when its attributes say so), hands it to
 * `client.notify`, and acks it when it was used or names no watched operation
 * (see `unknown`), handles malformed ones as `malformed` says, and nacks on any
 * other processing failure. While attached, the client's pending operations
 * poll only at the slow safety interval, so a lost message only delays a result.
 *
 * @example
 * ```ts
 * import { PubSub } from '@google-cloud/pubsub';
 * const notifications = pubsubNotifications(client, new PubSub().subscription('imports'));
 * const op = client.wrap(await startImport({ notificationPubsubTopic: 'projects/p/topics/imports' }));
 * await op.promise();
 * await notifications.close();
 * ```
 */
export function pubsubNotifications(client: OperationsClient, subscription: PubSubSubscriptionLike, options: PubSubNotificationOptions = {}): PubSubNotifications {
  if (typeof client?.notify !== 'function' || typeof client.attachNotifications !== 'function') {
    throw new TypeError('longrunning: pubsubNotifications needs an OperationsClient');
  }
  if (typeof subscription?.on !== 'function' || typeof subscription.removeListener !== 'function') {
    throw new TypeError('longrunning: pubsubNotifications needs a @google-cloud/pubsub Subscription (an object with on/removeListener)');
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('longrunning: pubsubNotifications options must be an object');
  const unknown = options.unknown ?? 'ack';
  const malformed = options.malformed ?? 'drop';
  if (unknown !== 'ack' && unknown !== 'nack') throw new TypeError(`longrunning: option unknown must be 'ack' or 'nack', got ${String(unknown)}`);
  if (malformed !== 'drop' && malformed !== 'nack') throw new TypeError(`longrunning: option malformed must be 'drop' or 'nack', got ${String(malformed)}`);
  const isBinary = options.isBinary ?? defaultIsBinary;
  const onError = options.onError ?? defaultOnError;
  const report = (error: unknown, message?: PubSubMessageLike): void => {
    try {
      onError(error instanceof Error ? error : new LongRunningError(String(error), { cause: error }), message);
    } catch {
      // the reporter itself threw: the message is handled either way
    }
  };

  const source: NotificationSource = client.attachNotifications({ safetyIntervalMs: options.safetyIntervalMs });
  const onMessage = (message: PubSubMessageLike): void => {
    let used: boolean;
    try {
      used = client.notify(payloadOf(message, isBinary(message)));
    } catch (err) {
      report(err, message);
      if (err instanceof LongRunningError && malformed === 'drop') message.ack();
      else message.nack();
      return;
    }
    if (used || unknown === 'ack') message.ack();
    else message.nack();
  };
  const onSubscriptionError = (error: unknown): void => report(error);
  const events = subscription as unknown as { on(event: string, fn: (arg: never) => void): unknown; removeListener(event: string, fn: (arg: never) => void): unknown };
  events.on('message', onMessage);
  events.on('error', onSubscriptionError);

  let closed: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closed ??= (async () => {
        events.removeListener('message', onMessage);
        events.removeListener('error', onSubscriptionError);
        source.detach();
        if (options.closeSubscription && typeof subscription.close === 'function') await subscription.close();
      })();
      return closed;
    },
  };
}
