/**
 * Turning the user's `decode` option into the three decoders a snapshot needs.
 * @module
 */
import { DecodeError, LongRunningError } from '../errors.js';
import type { AnyMessage } from '../types.js';
import { TypeRegistry, type Decoder } from './registry.js';

/**
 * The `decode` option: a TypeRegistry for every payload, or explicit decoder
 * functions for the response and/or metadata (the rest use the default registry).
 *
 * @example
 * ```ts
 * const decode: DecodeOption<MyResult, MyProgress> = TypeRegistry.fromRoot(root);
 * ```
 */
export type DecodeOption<TResponse, TMetadata> =
  | TypeRegistry
  | {
      /** Decodes `response`; default: the default registry. */
      response?: Decoder<TResponse>;
      /** Decodes `metadata`; default: the default registry. */
      metadata?: Decoder<TMetadata>;
    };

/** Resolved decoders for one operation. */
export interface Decoders<TResponse, TMetadata> {
  response: Decoder<TResponse>;
  metadata: Decoder<TMetadata>;
  /** Registry used for error details. */
  registry: TypeRegistry;
}

/** Resolves the `decode` option; user decoders that throw are wrapped in DecodeError. */
export function resolveDecoders<TResponse, TMetadata>(option: DecodeOption<TResponse, TMetadata> | undefined): Decoders<TResponse, TMetadata> {
  if (option === undefined || option instanceof TypeRegistry) {
    const registry = option ?? TypeRegistry.default();
    const decode = (any: AnyMessage) => registry.decode(any);
    return { response: decode as Decoder<TResponse>, metadata: decode as Decoder<TMetadata>, registry };
  }
  if (typeof option !== 'object' || option === null) {
    throw new TypeError('longrunning: option decode must be a TypeRegistry or { response?, metadata? } decoder functions');
  }
  const registry = TypeRegistry.default();
  const fallback = (any: AnyMessage) => registry.decode(any);
  return {
    response: guard(option.response ?? (fallback as Decoder<TResponse>), 'response'),
    metadata: guard(option.metadata ?? (fallback as Decoder<TMetadata>), 'metadata'),
    registry,
  };
}

function guard<T>(decoder: Decoder<T>, what: string): Decoder<T> {
  if (typeof decoder !== 'function') throw new TypeError(`longrunning: option decode.${what} must be a function`);
  return (any) => {
    try {
      return decoder(any);
    } catch (err) {
      if (err instanceof LongRunningError) throw err;
      throw new DecodeError(any.typeUrl, `the ${what} decoder failed for ${any.typeUrl}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  };
}
