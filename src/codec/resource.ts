/**
 * Validation of what a transport hands back: every resource is checked
 * against the long-running operations API's rules before the loop trusts it.
 * @module
 */
import { InvalidOperationError } from '../errors.js';
import { bytesEqual } from '../platform.js';
import type { AnyMessage, OperationResource, RpcStatus } from '../types.js';
import { MAX_JSON_NESTING_DEPTH, jsonDepthExceeds } from './schema.js';

const MAX_TYPE_URL = 2048;

/**
 * Checks a resource a transport returned for operation `expectedName` and
 * returns a normalized copy (`done` defaults to false, a missing name to the
 * expected one). Throws InvalidOperationError, naming the operation, for a
 * non-object, a non-string name, another operation's name, a non-boolean
 * `done`, both `error` and `response`, a result on an operation not done, or a
 * malformed `Any`/`Status`.
 */
export function checkResource(raw: unknown, expectedName: string): OperationResource {
  const where = `operation ${expectedName || '(unnamed)'}`;
  if (!isRecord(raw)) throw new InvalidOperationError(`${where}: the server returned ${describe(raw)}, not an Operation`);
  const name = raw.name ?? '';
  if (typeof name !== 'string') throw new InvalidOperationError(`${where}: the server returned a name of type ${describe(name)}`);
  if (name !== '' && expectedName !== '' && name !== expectedName) {
    throw new InvalidOperationError(`${where}: the server returned another operation, ${JSON.stringify(name.slice(0, 200))}`);
  }
  const done = raw.done ?? false;
  if (typeof done !== 'boolean') throw new InvalidOperationError(`${where}: done is ${describe(done)}, not a boolean`);
  const metadata = raw.metadata != null ? checkAny(raw.metadata, `${where}: metadata`) : undefined;
  const error = raw.error != null ? checkStatus(raw.error, `${where}: error`) : undefined;
  const response = raw.response != null ? checkAny(raw.response, `${where}: response`) : undefined;
  if (error && response) {
    throw new InvalidOperationError(`${where}: the server returned both error and response`);
  }
  if (!done && (error || response)) {
    throw new InvalidOperationError(`${where}: the server returned a result on an operation that is not done`);
  }
  // The expected name's own string where they are equal: a pending operation keeps one copy.
  return resourceOf(expectedName || name, done, metadata, error, response);
}

/**
 * An OperationResource built as one object literal per shape: a property added
 * after the literal would sit in a separate array (40 bytes more per resource,
 * and a pending operation holds one for as long as it waits).
 */
function resourceOf(name: string, done: boolean, metadata: AnyMessage | undefined, error: RpcStatus | undefined, response: AnyMessage | undefined): OperationResource {
  if (metadata) {
    if (error) return { name, done, metadata, error };
    if (response) return { name, done, metadata, response };
    return { name, done, metadata };
  }
  if (error) return { name, done, error };
  if (response) return { name, done, response };
  return { name, done };
}

/**
 * Checks one `Any`: a non-empty type URL, bytes as Uint8Array, JSON as an
 * object nested no deeper than the codec decodes (so that `JSON.stringify`
 * of the operation, its resume token, cannot overflow the stack).
 */
export function checkAny(raw: unknown, where: string): AnyMessage {
  if (!isRecord(raw)) throw new InvalidOperationError(`${where} is ${describe(raw)}, not an Any`);
  const { typeUrl, value, json } = raw;
  if (typeof typeUrl !== 'string' || typeUrl === '' || typeUrl.length > MAX_TYPE_URL) {
    throw new InvalidOperationError(`${where} has an invalid type URL (${describe(typeUrl)})`);
  }
  if (value != null && !(value instanceof Uint8Array)) {
    throw new InvalidOperationError(`${where} (${typeUrl}) has a value of type ${describe(value)}, not bytes`);
  }
  const bytes = value as Uint8Array | null | undefined;
  if (json != null) {
    if (!isRecord(json)) throw new InvalidOperationError(`${where} (${typeUrl}) has JSON of type ${describe(json)}, not an object`);
    if (jsonDepthExceeds(json, MAX_JSON_NESTING_DEPTH)) {
      throw new InvalidOperationError(`${where} (${typeUrl}) has JSON nested deeper than ${MAX_JSON_NESTING_DEPTH} levels`);
    }
    return bytes != null ? { typeUrl, value: bytes, json } : { typeUrl, json };
  }
  // One literal per shape, as for the resource.
  return bytes != null ? { typeUrl, value: bytes } : { typeUrl };
}

/** Checks one `google.rpc.Status`: an integer non-zero code, a string message, an array of Any details. */
export function checkStatus(raw: unknown, where: string): RpcStatus {
  if (!isRecord(raw)) throw new InvalidOperationError(`${where} is ${describe(raw)}, not a Status`);
  const code = raw.code ?? 0;
  if (typeof code !== 'number' || !Number.isInteger(code) || code <= 0 || code > 0x7fffffff) {
    throw new InvalidOperationError(`${where} has code ${describe(code)}; an error needs a non-zero integer code`);
  }
  const message = raw.message ?? '';
  if (typeof message !== 'string') throw new InvalidOperationError(`${where} has a message of type ${describe(message)}`);
  const details = raw.details ?? [];
  if (!Array.isArray(details)) throw new InvalidOperationError(`${where} has details of type ${describe(details)}, not an array`);
  return { code, message, details: details.map((d, i) => checkAny(d, `${where}.details[${i}]`)) };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Uint8Array) return 'bytes';
  if (typeof x === 'string') return `the string ${JSON.stringify(x.slice(0, 100))}`;
  if (typeof x === 'number' || typeof x === 'boolean') return `${typeof x} ${String(x)}`;
  return typeof x;
}

/** True when two `Any`s carry the same type and the same bytes or JSON. */
export function sameAny(a: AnyMessage | undefined, b: AnyMessage | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.typeUrl !== b.typeUrl) return false;
  if (a.value || b.value) {
    if (!a.value || !b.value || a.value.byteLength !== b.value.byteLength) return false;
    return bytesEqual(a.value, b.value);
  }
  return JSON.stringify(a.json ?? {}) === JSON.stringify(b.json ?? {});
}
