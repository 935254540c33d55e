/**
 * OperationsClient: many operations over one transport, with shared options.
 * @module
 */
import { decodeOperation } from './codec/operation-binary.js';
import { InvalidOperationError } from './errors.js';
import { LongRunningOperation, operationInternals, type OperationOptions } from './operation.js';
import { operationFromJson, parseJsonSafe } from './transports/rest/json.js';
import type { ListOperationsResponse, OperationResource } from './types.js';
import { systemClock } from './watch/clock.js';
import { engineFor } from './watch/engine.js';
import { checkDuration } from './watch/policy.js';

/**
 * Options of {@link OperationsClient}: those of an operation, less the
 * per-object signal.
 *
 * @example
 * ```ts
 * const options: OperationsClientOptions = { transport, decode: registry };
 * ```
 */
export type OperationsClientOptions = Omit<OperationOptions<unknown, unknown>, 'signal'>;

/**
 * Options of {@link OperationsClient.attachNotifications}.
 *
 * @example
 * ```ts
 * const source = client.attachNotifications({ safetyIntervalMs: 120_000 });
 * ```
 */
export interface NotificationSourceOptions {
  /**
   * While the source is attached, each pending operation of the client polls
   * GetOperation once per this interval (no WaitOperation, no backoff, no
   * progress-timed polls), so a lost notification only delays a result.
   * Default 300_000 (5 minutes). With several sources attached, the shortest wins.
   * The client's `polling.maxPolls` / `maxPollingMs` limits still apply.
   */
  safetyIntervalMs?: number;
}

/**
 * An attached notification source, from {@link OperationsClient.attachNotifications}.
 *
 * @example
 * ```ts
 * const source = client.attachNotifications();
 * webhook.on('operation', (body) => client.notify(body));
 * source.detach(); // back to the normal schedule
 * ```
 */
export interface NotificationSource {
  /** Detaches the source; when it was the last, pending operations go back to the normal schedule. Idempotent. */
  detach(): void;
}

/** What {@link OperationsClient.notify} accepts. */
export type OperationUpdate = OperationResource | Record<string, unknown> | string | Uint8Array;

/** Default of {@link NotificationSourceOptions.safetyIntervalMs}. */
const DEFAULT_SAFETY_INTERVAL_MS = 300_000;

/** Largest notification accepted, as text or bytes (Pub/Sub's own message limit is 10 MB). */
const MAX_NOTIFICATION_BYTES = 10 * 1024 * 1024;

/** A watched operation: a weak reference, and every name it was known by (a server may rename it). */
interface Watched {
  ref: WeakRef<LongRunningOperation<unknown, unknown>>;
  names: Set<string>;
}

/**
 * Makes {@link LongRunningOperation}s that share a transport and options, and
 * lists the server's operations.
 *
 * @example
 * ```ts
 * const client = new OperationsClient({ transport: grpcTransport({ address }) });
 * const result = await client.get('operations/42').promise();
 * for await (const op of client.list({ filter: 'done=false' })) console.log(op.name);
 * ```
 */
export class OperationsClient {
  private readonly options: OperationsClientOptions;
  /** Options of operations made while a notification source is attached (the safety schedule). */
  private notifiedOptions?: OperationsClientOptions;
  private readonly sources = new Map<object, number>();
  /** Pending operations this client made, by every name they were known by (several objects may watch one name). */
  private readonly watched = new Map<string, Set<Watched>>();
  private readonly collected = new FinalizationRegistry<Watched>((entry) => this.forget(entry));

  constructor(options: OperationsClientOptions) {
    if (typeof options !== 'object' || options === null || typeof options.transport?.getOperation !== 'function') {
      throw new TypeError('longrunning: OperationsClient needs options with a transport');
    }
    this.options = { ...options };
  }

  /**
   * Hands an operation's state that arrived from elsewhere (a Pub/Sub
   * message, a webhook, Eventarc, a queue) to the pending operation of that
   * name made by this client (`get`, `wrap`, `list`), as if a poll had
   * returned it: validated, decoded, `metadata`/`poll`/`done`/`error` events,
   * settling. Accepts the wire model, a proto3 JSON Operation object or its
   * text, or binary `google.longrunning.Operation` bytes.
   *
   * Returns false when no pending operation of that name is watched through
   * this client (unknown, already done, or made elsewhere). Once an operation
   * is done, later messages (duplicates, older states) are ignored: nothing
   * un-finishes it. A not-done state that reports less progress than the
   * latest one seen (an older message delivered late) is ignored too.
   *
   * Throws what a bad poll answer causes — {@link InvalidOperationError} for
   * input that is not a valid Operation, {@link DecodeError} for an `Any` that
   * does not decode — and then leaves the operation as it was (its safety
   * poll goes on); other operations are never affected.
   *
   * @example
   * ```ts
   * app.post('/operations', (req, res) => res.sendStatus(client.notify(req.body) ? 204 : 404));
   * ```
   */
  notify(update: OperationUpdate): boolean {
    const resource = parseUpdate(update);
    if (typeof resource.name !== 'string' || resource.name === '') {
      throw new InvalidOperationError(`a notification must name its operation, got name ${JSON.stringify(resource.name)}`);
    }
    const entries = this.watched.get(resource.name);
    if (!entries) return false;
    let delivered = false;
    for (const entry of [...entries]) {
      const op = entry.ref.deref();
      if (!op) {
        this.forget(entry);
        continue;
      }
      // Under an earlier name: hand it over under the current one (no rename back).
      const outcome = operationInternals.deliver(op, resource.name === op.name ? resource : { ...resource, name: op.name });
      if (outcome === 'settled') this.forget(entry);
      else delivered = true;
    }
    return delivered;
  }

  /**
   * Tells the client that operation states are pushed to it (through
   * {@link OperationsClient.notify}; `pubsubNotifications` does this itself):
   * until `detach()`, its operations do not hold WaitOperation open and poll
   * only at the slow safety interval, both those made from now on and those
   * already waiting (their loop restarts, next poll one interval later).
   *
   * @example
   * ```ts
   * const source = client.attachNotifications({ safetyIntervalMs: 600_000 });
   * try { await op.promise(); } finally { source.detach(); }
   * ```
   */
  attachNotifications(options: NotificationSourceOptions = {}): NotificationSource {
    if (typeof options !== 'object' || options === null) throw new TypeError('longrunning: notification source options must be an object');
    const interval = checkDuration('safetyIntervalMs', options.safetyIntervalMs ?? DEFAULT_SAFETY_INTERVAL_MS, { allowZero: false });
    const key = {};
    this.sources.set(key, interval);
    this.scheduleChanged();
    return {
      detach: () => {
        if (this.sources.delete(key)) this.scheduleChanged();
      },
    };
  }

  /** Options for new operations: the safety schedule while a source is attached. */
  private operationOptions<TResponse, TMetadata>(): OperationOptions<TResponse, TMetadata> {
    return (this.notifiedOptions ?? this.options) as OperationOptions<TResponse, TMetadata>;
  }

  private scheduleChanged(): void {
    const interval = this.sources.size === 0 ? undefined : Math.min(...this.sources.values());
    const before = this.notifiedOptions?.polling?.initialDelayMs;
    if (interval === before) return;
    this.notifiedOptions =
      interval === undefined
        ? undefined
        : {
            ...this.options,
            waitOperation: 'never',
            polling: { ...this.options.polling, initialDelayMs: interval, multiplier: 1, maxDelayMs: interval, followProgress: false, nextDelay: undefined },
          };
    const options = this.operationOptions<unknown, unknown>();
    const entries = new Set<Watched>();
    for (const set of this.watched.values()) for (const entry of set) entries.add(entry);
    for (const entry of entries) {
      const op = entry.ref.deref();
      if (op && !op.done) operationInternals.reconfigure(op, options);
    }
  }

  /** Registers a pending operation for notify(), until it settles (or is garbage-collected). */
  private track<TResponse, TMetadata>(op: LongRunningOperation<TResponse, TMetadata>): LongRunningOperation<TResponse, TMetadata> {
    if (op.done || op.name === '') return op;
    const entry: Watched = { ref: new WeakRef(op as LongRunningOperation<unknown, unknown>), names: new Set() };
    this.index(entry, op.name);
    this.collected.register(op, entry, entry);
    // 'error' fires only once the operation is settled (failed, or its watch did).
    const forget = () => this.forget(entry);
    op.once('done', forget);
    op.once('error', forget);
    op.on('poll', (snapshot) => {
      if (!entry.names.has(snapshot.name) && entry.names.size > 0) this.index(entry, snapshot.name); // renamed by the server
    });
    return op;
  }

  private index(entry: Watched, name: string): void {
    entry.names.add(name);
    let set = this.watched.get(name);
    if (!set) this.watched.set(name, (set = new Set()));
    set.add(entry);
  }

  private forget(entry: Watched): void {
    for (const name of entry.names) {
      const set = this.watched.get(name);
      set?.delete(entry);
      if (set?.size === 0) this.watched.delete(name);
    }
    entry.names.clear();
    this.collected.unregister(entry);
  }

  /**
   * An operation by name; its first poll happens at once.
   *
   * @example
   * ```ts
   * const result = await client.get<Result>('operations/42').promise();
   * ```
   */
  get<TResponse = unknown, TMetadata = unknown>(name: string): LongRunningOperation<TResponse, TMetadata> {
    if (typeof name !== 'string' || name === '') throw new InvalidOperationError(`an operation name must be a non-empty string, got ${JSON.stringify(name)}`);
    return this.track(new LongRunningOperation<TResponse, TMetadata>(name, this.operationOptions<TResponse, TMetadata>()));
  }

  /**
   * An operation from a resource a call returned; its first poll happens after the initial delay.
   *
   * @example
   * ```ts
   * const [resource] = await exportRows(request); // a call that returns an Operation
   * const op = client.wrap<ExportResult, ExportProgress>(resource);
   * ```
   */
  wrap<TResponse = unknown, TMetadata = unknown>(resource: OperationResource): LongRunningOperation<TResponse, TMetadata> {
    return this.track(new LongRunningOperation<TResponse, TMetadata>(resource, this.operationOptions<TResponse, TMetadata>()));
  }

  /**
   * Every operation of a collection, page after page (ListOperations).
   * `name` is the collection, default `operations`.
   *
   * @example
   * ```ts
   * for await (const op of client.list({ filter: 'done=false', pageSize: 100 })) console.log(op.name, op.done);
   * ```
   */
  async *list(request: { name?: string; filter?: string; pageSize?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<LongRunningOperation> {
    const name = request.name ?? 'operations';
    const seen = new Set<string>();
    let pageToken = '';
    do {
      const listRequest = { name, filter: request.filter, pageSize: request.pageSize, pageToken: pageToken || undefined };
      const page = await engineFor(this.options.transport, this.options.clock ?? systemClock).callPromise<ListOperationsResponse>(
        {
          method: 'ListOperations',
          name,
          timeoutMs: this.options.rpcTimeoutMs ?? 30_000,
          run: (signal, timeoutMs) => this.options.transport.listOperations(listRequest, { signal, timeoutMs }),
        },
        request.signal,
      );
      if (!page || !Array.isArray(page.operations)) throw new InvalidOperationError(`ListOperations ${name} returned no operations array`);
      for (const resource of page.operations) yield this.wrap(resource);
      const next = page.nextPageToken ?? '';
      if (typeof next !== 'string') throw new InvalidOperationError(`ListOperations ${name} returned a page token that is not a string`);
      if (next !== '' && seen.has(next)) throw new InvalidOperationError(`ListOperations ${name} returned page token ${JSON.stringify(next)} twice; stopping`);
      seen.add(next);
      pageToken = next;
    } while (pageToken !== '');
  }
}

/** Whether an object field holds an Any in the wire model (`typeUrl`), not proto3 JSON (`@type`). */
function hasWireAny(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'typeUrl' in value;
}

/** Any form {@link OperationsClient.notify} takes → an Operation resource (validated later, like a poll answer). */
function parseUpdate(update: OperationUpdate): OperationResource {
  if (update instanceof Uint8Array) {
    if (update.byteLength > MAX_NOTIFICATION_BYTES) throw new InvalidOperationError(`a notification of ${update.byteLength} bytes is larger than ${MAX_NOTIFICATION_BYTES}`);
    try {
      return decodeOperation(update);
    } catch (err) {
      throw new InvalidOperationError(`a notification is not google.longrunning.Operation bytes: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  if (typeof update === 'string') {
    if (update.length > MAX_NOTIFICATION_BYTES) throw new InvalidOperationError(`a notification of ${update.length} characters is larger than ${MAX_NOTIFICATION_BYTES}`);
    let value: unknown;
    try {
      value = parseJsonSafe(update);
    } catch (err) {
      throw new InvalidOperationError(`a notification is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return operationFromJson(value, 'notification');
  }
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw new InvalidOperationError(`a notification must be an Operation (object, JSON text or bytes), got ${update === null ? 'null' : Array.isArray(update) ? 'an array' : typeof update}`);
  }
  const record = update as Record<string, unknown>;
  const error = record.error as { details?: unknown } | null | undefined;
  const wire =
    hasWireAny(record.metadata) || hasWireAny(record.response) || (Array.isArray(error?.details) && error.details.some(hasWireAny));
  // The wire model is checked as it is; anything else is read as proto3 JSON (`@type` Anys, `done` may be absent).
  return wire ? (record as unknown as OperationResource) : operationFromJson(record, 'notification');
}
