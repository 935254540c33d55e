/**
 * The codec: decoding of `google.protobuf.Any` payloads and `google.rpc.Status`
 * errors, in binary and proto3 JSON form.
 * @module
 */
export { TypeRegistry, typeNameOf, type Decoder } from './registry.js';
export {
  anyFromJson,
  decodeDetails,
  decodeStatusBytes,
  encodeStatusBytes,
  operationError,
  retryDelayFromDetails,
  statusFromJson,
} from './status.js';
export { MAX_NESTING_DEPTH } from './schema.js';
export { base64Decode, base64Encode, parseDuration } from './wkt.js';
export { createBuiltinRoot } from './protos.js';
