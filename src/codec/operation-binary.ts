/**
 * `google.longrunning.Operation` in binary protobuf (the bundled schemas) →
 * the transport model. No gRPC here: the browser entry uses it too
 * (`OperationsClient#notify` with bytes); the gRPC transport re-exports it.
 * @module
 */
import { builtinType } from './protos.js';
import type { AnyMessage, OperationResource, RpcStatus } from '../types.js';

/** A protobufjs message instance or a plain object with the same (camelCase) fields. */
type ProtoObject = Record<string, unknown>;

function toUint8Array(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) {
    // A copy: protobufjs hands out views into the whole received frame, and a
    // Buffer subclass compares unequal to a plain Uint8Array in tests.
    return new Uint8Array(value);
  }
  return new Uint8Array();
}

/**
 * A decoded `google.protobuf.Any` message → {@link AnyMessage} with binary `value`.
 *
 * @example
 * ```ts
 * anyFromMessage({ typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: new Uint8Array() });
 * ```
 */
export function anyFromMessage(message: ProtoObject): AnyMessage {
  return { typeUrl: typeof message.typeUrl === 'string' ? message.typeUrl : '', value: toUint8Array(message.value) };
}

/**
 * A decoded `google.rpc.Status` message → {@link RpcStatus} with binary details.
 *
 * @example
 * ```ts
 * statusFromMessage({ code: 5, message: 'gone', details: [] }); // { code: 5, message: 'gone', details: [] }
 * ```
 */
export function statusFromMessage(message: ProtoObject): RpcStatus {
  const details = Array.isArray(message.details) ? (message.details as ProtoObject[]) : [];
  return {
    code: Number(message.code) || 0,
    message: typeof message.message === 'string' ? message.message : '',
    details: details.map(anyFromMessage),
  };
}

/**
 * A decoded `google.longrunning.Operation` message → {@link OperationResource}.
 * Absent fields stay absent; `name` and `done` are taken as given.
 *
 * @example
 * ```ts
 * const resource = operationFromMessage(builtinType('google.longrunning.Operation').decode(bytes));
 * ```
 */
export function operationFromMessage(message: ProtoObject): OperationResource {
  const resource: OperationResource = {
    name: message.name as string,
    done: message.done as boolean,
  };
  if (message.metadata != null) resource.metadata = anyFromMessage(message.metadata as ProtoObject);
  if (message.error != null) resource.error = statusFromMessage(message.error as ProtoObject);
  if (message.response != null) resource.response = anyFromMessage(message.response as ProtoObject);
  return resource;
}

/**
 * Decodes `google.longrunning.Operation` bytes into an {@link OperationResource}.
 *
 * @example
 * ```ts
 * const resource = decodeOperation(encodeOperation({ name: 'operations/1', done: true }));
 * ```
 */
export function decodeOperation(bytes: Uint8Array): OperationResource {
  return operationFromMessage(builtinType('google.longrunning.Operation').decode(bytes) as unknown as ProtoObject);
}
