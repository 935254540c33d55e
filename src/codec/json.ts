/**
 * The two-pass codec behind {@link TypeRegistry}: converts messages of a
 * protobufjs type between protobuf binary, proto3 JSON and an intermediate
 * form ({@link MessageData}), so that binary and JSON input of the same
 * message print the very same proto3 JSON object.
 *
 * protobufjs provides the schema (Type, Field, Enum reflection) and the
 * Writer; the work is split by job: ./schema.ts (per-type plans, compiled
 * once and cached), ./wire.ts (the wire reader, shared with the single-pass
 * decoder ./fast.ts), ./binary.ts (binary ↔ MessageData), ./json-print.ts
 * and ./json-parse.ts (MessageData ↔ proto3 JSON), ./wkt.ts (text forms of
 * well-known types). Decoding stays safe for hostile input: a nesting limit
 * instead of unbounded recursion, Maps instead of objects for map keys such
 * as `__proto__`, strict checks of wire types and lengths.
 * @module
 */
import type protobuf from 'protobufjs';
import { readBinary, writeBinary } from './binary.js';
import { JsonParser, type ParseJsonOptions } from './json-parse.js';
import { JsonPrinter } from './json-print.js';
import { planFor, type MessageData, type TypeResolver } from './schema.js';

export { CodecError, MAX_NESTING_DEPTH, compilePlan, hasSpecialJson, setOwn, typeNameOf } from './schema.js';
export type { MessageData, TypeResolver } from './schema.js';
export type { ParseJsonOptions } from './json-parse.js';

/**
 * Converts messages of protobufjs types between binary, proto3 JSON and
 * {@link MessageData}. Nested `google.protobuf.Any` values are resolved with
 * the given resolver. Every method throws {@link CodecError} on bad input
 * (with `unknownTypeUrl` set for an Any of unknown type).
 *
 * @example
 * ```ts
 * const codec = new MessageCodec((url) => registry.lookup(url));
 * const data = codec.readBinary(type, bytes);
 * const json = codec.print(type, data); // proto3 JSON, defaults included
 * ```
 */
export class MessageCodec {
  readonly #printer: JsonPrinter;
  readonly #parser: JsonParser;

  constructor(resolve: TypeResolver) {
    this.#printer = new JsonPrinter(resolve);
    this.#parser = new JsonParser(resolve);
  }

  /** Parses protobuf binary into MessageData. */
  readBinary(type: protobuf.Type, bytes: Uint8Array, depth = 0): MessageData {
    return readBinary(planFor(type), bytes, depth);
  }

  /** Parses the proto3 JSON form of a message (for well-known types, their special form). */
  parseJson(type: protobuf.Type, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parser.parseJson(planFor(type), json, options, depth);
  }

  /**
   * Parses the body of an Any in JSON form: the message's fields, or
   * `{ value: <special form> }` for well-known types with a special JSON
   * form. An `@type` key is ignored.
   */
  parseAnyBody(type: protobuf.Type, json: unknown, options: ParseJsonOptions = {}, depth = 0): MessageData {
    return this.#parser.parseAnyBody(planFor(type), json, options, depth);
  }

  /** Prints MessageData as proto3 JSON, with default values of fields without presence. */
  print(type: protobuf.Type, data: MessageData, depth = 0): unknown {
    return this.#printer.print(planFor(type), data, depth);
  }

  /**
   * Prints MessageData as the body of an Any in JSON form: an object of the
   * fields, or `{ value: <special form> }` for well-known types.
   */
  printAnyBody(type: protobuf.Type, data: MessageData, depth = 0): Record<string, unknown> {
    return this.#printer.printAnyBody(planFor(type), data, depth);
  }

  /** Encodes MessageData as protobuf binary. */
  writeBinary(type: protobuf.Type, data: MessageData): Uint8Array {
    return writeBinary(planFor(type), data);
  }
}
