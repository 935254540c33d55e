/**
 * Resume tokens: the JSON form of an operation, for saving it and watching it
 * again later (another process, another day). Holds the name and the latest
 * state, never a transport, header or credential.
 * @module
 */
import { MAX_JSON_NESTING_DEPTH, jsonDepthExceeds } from './codec/schema.js';
import { base64Decode, base64Encode } from './codec/wkt.js';
import { InvalidOperationError } from './errors.js';
import type { AnyMessage, OperationResource } from './types.js';

/**
 * An `Any` inside a token: bytes as base64.
 *
 * @example
 * ```ts
 * const any: TokenAny = { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: '' };
 * ```
 */
export interface TokenAny {
  /** The `Any`'s type URL. */
  typeUrl: string;
  /** The message bytes, base64. */
  value?: string;
  /** The message in proto3 JSON form, when it came as JSON. */
  json?: Record<string, unknown>;
}

/**
 * What `op.toJSON()` returns and `LongRunningOperation.resume()` takes.
 *
 * @example
 * ```ts
 * const token: ResumeToken = { kind: 'longrunning.operation', version: 1, name: 'operations/42' };
 * ```
 */
export interface ResumeToken {
  /** Marks the object as a resume token of this library. */
  kind: 'longrunning.operation';
  /** Format version of the token. */
  version: 1;
  /** The operation's name. */
  name: string;
  /** The latest state seen when the token was made, if any (an {@link OperationResource} with base64 payloads). */
  resource?: {
    /** The operation's name. */
    name: string;
    /** Whether the operation had ended. */
    done: boolean;
    /** Its metadata. */
    metadata?: TokenAny;
    /** The error it ended with (a `google.rpc.Status`). */
    error?: {
      /** Canonical code. */
      code: number;
      /** Developer-facing message. */
      message: string;
      /** Error details. */
      details: TokenAny[];
    };
    /** The response it ended with. */
    response?: TokenAny;
  };
}

const MAX_TOKEN_CHARS = 16 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The token form of a resource. */
export function resourceToToken(resource: OperationResource): NonNullable<ResumeToken['resource']> {
  const out: NonNullable<ResumeToken['resource']> = { name: resource.name, done: resource.done };
  if (resource.metadata) out.metadata = anyToToken(resource.metadata);
  if (resource.response) out.response = anyToToken(resource.response);
  if (resource.error) out.error = { code: resource.error.code, message: resource.error.message, details: resource.error.details.map(anyToToken) };
  return out;
}

function anyToToken(any: AnyMessage): TokenAny {
  const out: TokenAny = { typeUrl: any.typeUrl };
  if (any.value) out.value = base64Encode(any.value);
  if (any.json) out.json = any.json;
  return out;
}

/**
 * Parses and checks a token (object or JSON string). Throws
 * InvalidOperationError saying what is wrong, also for a JSON payload nested
 * deeper than the codec decodes (`JSON.stringify(op)` could not write it
 * back). The resource it returns still goes through the usual resource checks.
 */
export function parseResumeToken(token: unknown): { name: string; resource?: OperationResource } {
  let value = token;
  if (typeof token === 'string') {
    if (token.length > MAX_TOKEN_CHARS) throw new InvalidOperationError(`resume token is too large (${token.length} characters)`);
    try {
      value = JSON.parse(token);
    } catch (err) {
      throw new InvalidOperationError('resume token is not valid JSON (expected the string JSON.stringify(operation) gave)', { cause: err });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOperationError('resume token must be an object or its JSON string');
  const t = value as Record<string, unknown>;
  if (t.kind !== 'longrunning.operation') throw new InvalidOperationError(`resume token has kind ${JSON.stringify(t.kind)}, expected "longrunning.operation"`);
  if (t.version !== 1) throw new InvalidOperationError(`resume token version ${JSON.stringify(t.version)} is not supported (expected 1)`);
  if (typeof t.name !== 'string') throw new InvalidOperationError('resume token has no operation name');
  if (t.resource === undefined) {
    if (t.name === '') throw new InvalidOperationError('resume token has an empty operation name');
    return { name: t.name };
  }
  const r = t.resource;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new InvalidOperationError('resume token resource must be an object');
  const raw = r as Record<string, unknown>;
  if (raw.name !== t.name) throw new InvalidOperationError('resume token resource names another operation');
  const resource: Record<string, unknown> = { name: raw.name, done: raw.done };
  if (raw.metadata !== undefined) resource.metadata = tokenToAny(raw.metadata, 'metadata');
  if (raw.response !== undefined) resource.response = tokenToAny(raw.response, 'response');
  if (raw.error !== undefined) {
    const e = raw.error;
    if (typeof e !== 'object' || e === null) throw new InvalidOperationError('resume token error must be an object');
    const { code, message, details } = e as Record<string, unknown>;
    if (!Array.isArray(details)) throw new InvalidOperationError('resume token error details must be an array');
    resource.error = { code, message, details: details.map((d, i) => tokenToAny(d, `error.details[${i}]`)) };
  }
  return { name: t.name, resource: resource as unknown as OperationResource };
}

function tokenToAny(raw: unknown, where: string): AnyMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidOperationError(`resume token ${where} must be an object`);
  const { typeUrl, value, json } = raw as Record<string, unknown>;
  if (typeof typeUrl !== 'string') throw new InvalidOperationError(`resume token ${where} has no type URL`);
  const any: AnyMessage = { typeUrl };
  if (value !== undefined) {
    const bytes = typeof value === 'string' && BASE64.test(value) ? base64Decode(value) : undefined;
    if (!bytes) throw new InvalidOperationError(`resume token ${where} value is not base64`);
    any.value = bytes;
  }
  if (json !== undefined) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidOperationError(`resume token ${where} json must be an object`);
    if (jsonDepthExceeds(json, MAX_JSON_NESTING_DEPTH)) {
      throw new InvalidOperationError(`resume token ${where} json nests deeper than ${MAX_JSON_NESTING_DEPTH} levels (more than any payload the codec decodes)`);
    }
    any.json = json as Record<string, unknown>;
  }
  return any;
}
