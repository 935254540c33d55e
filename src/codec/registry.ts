/**
 * TypeRegistry: decodes `google.protobuf.Any` payloads (binary or proto3 JSON)
 * into plain objects through protobufjs types.
 * @module
 */
import type * as protobuf from 'protobufjs';
import { DecodeError, InvalidOperationError } from '../errors.js';
import type { AnyMessage } from '../types.js';
import { decodeBinaryFast } from './fast.js';
import { MessageCodec } from './json.js';
import { CodecError, compilePlan, setOwn, typeNameOf, type MessageData } from './schema.js';
import { builtinRoot } from './protos.js';

export { typeNameOf } from './schema.js';

/**
 * A function that turns an `Any` into a value of type `T`; throw `DecodeError`
 * for input it cannot decode.
 *
 * @example
 * ```ts
 * const decodeText: Decoder<string> = (any) => new TextDecoder().decode(any.value);
 * ```
 */
export type Decoder<T> = (any: AnyMessage) => T;

/** The type URL prefix used for Any messages built by {@link TypeRegistry.encode}. */
const DEFAULT_PREFIX = 'type.googleapis.com/';
const TYPE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_TYPE_NAME_LENGTH = 512;

interface RootIndex {
  readonly types: Map<string, protobuf.Type>;
  /** Why `resolveAll()` failed, if it did. */
  readonly resolveError: string | undefined;
}

interface NamespaceLike {
  readonly fullName: string;
  readonly nestedArray?: readonly unknown[];
  readonly fieldsArray?: readonly unknown[];
}

function isRootLike(value: unknown): value is protobuf.Root {
  const root = value as protobuf.Root | null;
  return (
    typeof root === 'object' && root !== null &&
    typeof root.lookup === 'function' && typeof root.resolveAll === 'function' && Array.isArray(root.nestedArray)
  );
}

/** Resolves a root (once, failures recorded, not thrown) and indexes its message types by full name. */
function indexRoot(root: protobuf.Root): RootIndex {
  let resolveError: string | undefined;
  try {
    root.resolveAll();
  } catch (err) {
    resolveError = err instanceof Error ? err.message : String(err);
  }
  const types = new Map<string, protobuf.Type>();
  const stack: NamespaceLike[] = [root as unknown as NamespaceLike];
  while (stack.length > 0) {
    const ns = stack.pop()!;
    for (const child of ns.nestedArray ?? []) {
      const item = child as NamespaceLike;
      if (Array.isArray(item.fieldsArray)) {
        const name = item.fullName.startsWith('.') ? item.fullName.slice(1) : item.fullName;
        if (!types.has(name)) types.set(name, item as unknown as protobuf.Type);
      }
      if (Array.isArray(item.nestedArray) && item.nestedArray.length > 0) stack.push(item);
    }
  }
  return { types, resolveError };
}

let builtinIndex: RootIndex | undefined;

/** True for a plain JSON object (not null, an array or bytes). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** A short description of a value's kind, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Converts a REST JSON `{ "@type": url, ...fields }` object into a JSON-form
 * Any (`{ typeUrl, json: fields }`). Throws InvalidOperationError when it is
 * not an object or `@type` is missing or not a string.
 *
 * @example
 * ```ts
 * anyFromJson({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'X' });
 * // { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', json: { reason: 'X' } }
 * ```
 */
export function anyFromJson(obj: unknown): AnyMessage {
  if (!isJsonObject(obj)) throw new InvalidOperationError(`an Any must be a JSON object, got ${describe(obj)}`);
  const typeUrl = obj['@type'];
  if (typeof typeUrl !== 'string') {
    throw new InvalidOperationError(
      typeUrl === undefined ? 'an Any in JSON form lacks "@type"' : `"@type" of an Any must be a string, got ${describe(typeUrl)}`,
    );
  }
  const json: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (key !== '@type') setOwn(json, key, obj[key]);
  }
  return { typeUrl, json };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Decodes `google.protobuf.Any` values (binary `value` or proto3 JSON `json`)
 * into plain objects in proto3 JSON form, and converts between the two wire
 * forms. Knows the message types of the roots it was built from plus the
 * bundled well-known, `google.rpc` and `google.longrunning` types.
 *
 * Decoded objects include default values of scalar, enum, repeated and map
 * fields; 64-bit integers are decimal strings, enums are names (unknown
 * numbers stay numbers), bytes are base64, well-known types have their
 * special JSON form. Binary and JSON input of the same message decode to the
 * same object. Every failure is a {@link DecodeError}.
 *
 * @example
 * ```ts
 * const root = protobuf.parse(myProtoSource).root;
 * const registry = TypeRegistry.fromRoot(root);
 * const metadata = registry.decode(operation.metadata!); // { progressPercent: 40, startTime: '2024-…Z', … }
 * ```
 */
export class TypeRegistry {
  static #default: TypeRegistry | undefined;

  readonly #roots: readonly protobuf.Root[];
  #indexes: RootIndex[] | undefined;
  readonly #codec: MessageCodec;
  readonly #resolve: (typeUrl: string) => protobuf.Type | undefined;

  private constructor(roots: readonly protobuf.Root[]) {
    this.#roots = roots;
    this.#resolve = (typeUrl) => this.lookup(typeUrl);
    this.#codec = new MessageCodec(this.#resolve);
  }

  /**
   * A registry of the root's message types plus the bundled ones. The root is
   * resolved lazily, on first use; types it lacks (such as
   * `google.protobuf.Timestamp` from an unresolved import) are taken from the
   * bundled schemas. Add all types to the root before the first decode.
   *
   * @example
   * ```ts
   * const registry = TypeRegistry.fromRoot(protobuf.parse(source).root);
   * ```
   */
  static fromRoot(root: protobuf.Root): TypeRegistry {
    if (!isRootLike(root)) throw new TypeError('TypeRegistry.fromRoot expects a protobufjs Root');
    return new TypeRegistry([root]);
  }

  /**
   * The shared registry of bundled types only (well-known types, google.rpc, google.longrunning).
   *
   * @example
   * ```ts
   * TypeRegistry.default().decode(errorInfoAny); // { reason: 'STOCKOUT', domain: '…', metadata: {} }
   * ```
   */
  static default(): TypeRegistry {
    return (TypeRegistry.#default ??= new TypeRegistry([]));
  }

  /**
   * A new registry that knows this registry's types plus the given roots'
   * (earlier roots win on a name clash).
   *
   * @example
   * ```ts
   * const both = TypeRegistry.fromRoot(storageRoot).with(visionRoot);
   * ```
   */
  with(...roots: protobuf.Root[]): TypeRegistry {
    for (const root of roots) {
      if (!isRootLike(root)) throw new TypeError('TypeRegistry.with expects protobufjs Roots');
    }
    return new TypeRegistry([...this.#roots, ...roots]);
  }

  /**
   * The message type a type URL names (the part after the last `/`; a bare
   * `pkg.Msg` works too), or undefined.
   *
   * @example
   * ```ts
   * registry.lookup('type.googleapis.com/google.rpc.RetryInfo')?.fullName; // '.google.rpc.RetryInfo'
   * ```
   */
  lookup(typeUrl: string): protobuf.Type | undefined {
    if (typeof typeUrl !== 'string') return undefined;
    const name = typeNameOf(typeUrl);
    if (name.length > MAX_TYPE_NAME_LENGTH || !TYPE_NAME_RE.test(name)) return undefined;
    for (const index of this.#rootIndexes()) {
      const found = index.types.get(name);
      if (found) return found;
    }
    builtinIndex ??= indexRoot(builtinRoot());
    return builtinIndex.types.get(name);
  }

  /**
   * Whether the registry knows the type of a type URL.
   *
   * @example
   * ```ts
   * if (!registry.has(any.typeUrl)) console.warn('unregistered', any.typeUrl);
   * ```
   */
  has(typeUrl: string): boolean {
    return this.lookup(typeUrl) !== undefined;
  }

  /**
   * Decodes an Any (binary `value` preferred, else `json`, else an empty
   * message) into its proto3 JSON form: a plain object of fields for ordinary
   * messages, the special form (a string, a JSON value, …) for well-known types.
   *
   * An Any nested in the payload that has bytes but an empty type URL decodes
   * as an unknown Any, `{ '@type': '', value: '<base64 bytes>' }`, rather than
   * failing the whole payload (the JSON parser takes that form back); a nested
   * Any of a non-empty type URL the registry does not know is a DecodeError
   * naming that URL. JSON may name fields by JSON name or proto name.
   *
   * @example
   * ```ts
   * registry.decode({ typeUrl: 'type.googleapis.com/google.protobuf.Duration', value: bytes }); // '1.500s'
   * ```
   */
  decode(any: AnyMessage): unknown {
    const typeUrl = this.#checkAny(any);
    const type = this.#typeOf(typeUrl);
    const bytes = any.value;
    if (bytes !== undefined) return this.#run(typeUrl, () => this.#decodeBinary(type, bytes));
    return this.#run(typeUrl, () => this.#codec.print(type, this.#data(type, any, typeUrl)));
  }

  /**
   * Binary → proto3 JSON in one pass (./fast.ts); input it declines (corrupt,
   * unusual or out of range) goes through the two-pass codec, which gives
   * the same result or the precise error.
   */
  #decodeBinary(type: protobuf.Type, bytes: Uint8Array): unknown {
    compilePlan(type);
    try {
      return decodeBinaryFast(type, bytes, this.#resolve);
    } catch {
      return this.#codec.print(type, this.#codec.readBinary(type, bytes));
    }
  }

  /**
   * A {@link Decoder} bound to this registry, for `decode: { metadata: … }` options.
   *
   * @example
   * ```ts
   * const decodeProgress = registry.decoder<Progress>();
   * ```
   */
  decoder<T = unknown>(): Decoder<T> {
    return (any) => this.decode(any) as T;
  }

  /**
   * Builds a binary Any from a plain object in proto3 JSON form or in
   * protobufjs `fromObject` form. `typeName` is a full type name (the URL
   * becomes `type.googleapis.com/<typeName>`) or a type URL. For well-known
   * types with a special JSON form pass `{ value: <form> }`.
   *
   * @example
   * ```ts
   * const any = registry.encode('google.rpc.ErrorInfo', { reason: 'QUOTA', domain: 'example.com' });
   * ```
   */
  encode(typeName: string, object: Record<string, unknown>): AnyMessage {
    if (typeof typeName !== 'string') throw new DecodeError(String(typeName), 'type name must be a string');
    const typeUrl = typeName.includes('/') ? typeName : `${DEFAULT_PREFIX}${typeName}`;
    const type = this.#typeOf(typeUrl);
    if (!isJsonObject(object)) throw new DecodeError(typeUrl, `cannot encode ${typeUrl}: expected a plain object`);
    return this.#run(typeUrl, () => {
      const data = this.#codec.parseAnyBody(type, object, { lenient: true });
      return { typeUrl, value: this.#codec.writeBinary(type, data) };
    });
  }

  /**
   * The Any with a binary `value`: a JSON-form Any is encoded, a binary one
   * is returned as is, an empty one gets empty bytes.
   *
   * @example
   * ```ts
   * const binary = registry.toBinary({ typeUrl, json: { reason: 'QUOTA' } }); // { typeUrl, value: Uint8Array }
   * ```
   */
  toBinary(any: AnyMessage): AnyMessage {
    const typeUrl = this.#checkAny(any);
    if (any.value !== undefined) return { typeUrl, value: any.value };
    if (any.json === undefined || any.json === null) return { typeUrl, value: new Uint8Array(0) };
    const type = this.#typeOf(typeUrl);
    return this.#run(typeUrl, () => ({ typeUrl, value: this.#codec.writeBinary(type, this.#data(type, any, typeUrl)) }));
  }

  /**
   * The canonical proto3 JSON form of an Any: `{ "@type": url, ...fields }`,
   * or `{ "@type": url, value: <special form> }` for well-known types.
   *
   * @example
   * ```ts
   * registry.toJson(retryInfoAny); // { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }
   * ```
   */
  toJson(any: AnyMessage): Record<string, unknown> {
    const typeUrl = this.#checkAny(any);
    const type = this.#typeOf(typeUrl);
    return this.#run(typeUrl, () => {
      const body = this.#codec.printAnyBody(type, this.#data(type, any, typeUrl));
      const out: Record<string, unknown> = { '@type': typeUrl };
      for (const key of Object.keys(body)) setOwn(out, key, body[key]);
      return out;
    });
  }

  #rootIndexes(): RootIndex[] {
    return (this.#indexes ??= this.#roots.map(indexRoot));
  }

  #typeOf(typeUrl: string): protobuf.Type {
    const type = this.lookup(typeUrl);
    if (!type) {
      throw new DecodeError(
        typeUrl,
        `no decoder for type ${typeUrl}: register its protobuf type with TypeRegistry.fromRoot(root)`,
      );
    }
    return type;
  }

  #checkAny(any: AnyMessage): string {
    if (!isJsonObject(any)) throw new DecodeError('', 'expected an Any message object ({ typeUrl, value | json })');
    const { typeUrl, value, json } = any;
    if (typeof typeUrl !== 'string') throw new DecodeError(String(typeUrl), 'Any typeUrl must be a string');
    if (value !== undefined && !(value instanceof Uint8Array)) {
      throw new DecodeError(typeUrl, `cannot decode ${typeUrl}: Any value must be a Uint8Array`);
    }
    if (json !== undefined && json !== null && !isJsonObject(json)) {
      throw new DecodeError(typeUrl, `cannot decode ${typeUrl}: Any json must be a JSON object`);
    }
    return typeUrl;
  }

  #data(type: protobuf.Type, any: AnyMessage, typeUrl: string): MessageData {
    compilePlan(type);
    if (any.value !== undefined) return this.#codec.readBinary(type, any.value);
    const json = any.json;
    if (json === undefined || json === null) return new Map();
    if (Object.prototype.hasOwnProperty.call(json, '@type')) {
      const declared = json['@type'];
      if (typeof declared !== 'string' || typeNameOf(declared) !== typeNameOf(typeUrl)) {
        throw new CodecError(`"@type" ${JSON.stringify(String(declared).slice(0, 200))} does not match the type URL`);
      }
    }
    return this.#codec.parseAnyBody(type, json);
  }

  #run<T>(typeUrl: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#toDecodeError(typeUrl, err);
    }
  }

  #toDecodeError(typeUrl: string, err: unknown): DecodeError {
    if (err instanceof DecodeError) return err;
    if (err instanceof CodecError) {
      if (err.unknownTypeUrl !== undefined) {
        const where = err.path.length > 0 ? ` at ${err.pathString}` : '';
        return new DecodeError(
          err.unknownTypeUrl,
          `no decoder for type ${err.unknownTypeUrl} (nested Any${where} in ${typeUrl})`,
          { cause: err },
        );
      }
      let note = '';
      if (err.reason.startsWith('cannot resolve type')) {
        const failures = this.#rootIndexes().map((index) => index.resolveError).filter((e) => e !== undefined);
        if (failures.length > 0) note = ` (the protobuf root failed to resolve: ${failures.join('; ')})`;
      }
      return new DecodeError(typeUrl, `cannot decode ${typeUrl}: ${err.message}${note}`, { cause: err });
    }
    return new DecodeError(typeUrl, `cannot decode ${typeUrl}: ${errorText(err)}`, { cause: err });
  }
}
