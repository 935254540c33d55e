/**
 * OperationsClient: many operations over one transport, with shared options.
 * @module
 */
import { InvalidOperationError } from './errors.js';
import { LongRunningOperation, type OperationOptions } from './operation.js';
import type { ListOperationsResponse, OperationResource } from './types.js';
import { systemClock } from './watch/clock.js';
import { engineFor } from './watch/engine.js';

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

  constructor(options: OperationsClientOptions) {
    if (typeof options !== 'object' || options === null || typeof options.transport?.getOperation !== 'function') {
      throw new TypeError('longrunning: OperationsClient needs options with a transport');
    }
    this.options = { ...options };
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
    return new LongRunningOperation<TResponse, TMetadata>(name, this.options as OperationOptions<TResponse, TMetadata>);
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
    return new LongRunningOperation<TResponse, TMetadata>(resource, this.options as OperationOptions<TResponse, TMetadata>);
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
