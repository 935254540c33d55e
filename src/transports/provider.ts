/**
 * Per-call providers of request headers (REST `headers`, gRPC `metadata`):
 * one mapping of their failures for every transport.
 * @module
 */
import { RpcError } from '../errors.js';
import { Code } from '../types.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Resolves `source` (a value, or a sync or async function called once per
 * call) and converts it with `convert`. A provider that throws or rejects
 * fails the call with RpcError UNAVAILABLE (transient: auth refreshes fail
 * and recover); a value `convert` rejects, with INVALID_ARGUMENT. `what`
 * names the option in messages (`headers`, `metadata`).
 */
export async function resolveProvider<T, R>(
  source: T | (() => T | Promise<T>) | undefined,
  what: string,
  convert: (init: T | undefined) => R,
): Promise<R> {
  let init: T | undefined;
  if (typeof source === 'function') {
    try {
      init = await (source as () => T | Promise<T>)();
    } catch (err) {
      throw new RpcError(Code.UNAVAILABLE, `${what} provider failed: ${messageOf(err)}`, { cause: err });
    }
  } else {
    init = source;
  }
  return convertProvided(init, what, convert);
}

/** Converts a provided value at once (a source that is not a function needs no promise); a refused value is INVALID_ARGUMENT. */
export function convertProvided<T, R>(init: T | undefined, what: string, convert: (init: T | undefined) => R): R {
  try {
    return convert(init);
  } catch (err) {
    throw new RpcError(Code.INVALID_ARGUMENT, `invalid ${what}: ${messageOf(err)}`, { cause: err });
  }
}
