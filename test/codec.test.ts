/**
 * Tests of the codec: TypeRegistry (binary and JSON Any → proto3 JSON),
 * well-known types, hostile input, and google.rpc.Status helpers.
 */
import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import {
  DecodeError,
  InvalidOperationError,
  OperationCancelledError,
  OperationFailedError,
  type DecodedDetail,
} from '../src/errors.js';
import {
  MAX_NESTING_DEPTH,
  TypeRegistry,
  anyFromJson,
  base64Decode,
  base64Encode,
  createBuiltinRoot,
  decodeDetails,
  decodeStatusBytes,
  encodeStatusBytes,
  operationError,
  parseDuration,
  retryDelayFromDetails,
  statusFromJson,
  typeNameOf,
} from '../src/codec/index.js';
import { decodeBinaryFast, useGeneratedReaders } from '../src/codec/fast.js';
import { CodecError, MessageCodec } from '../src/codec/json.js';
import { builtinType } from '../src/codec/protos.js';
import type { AnyMessage, RpcStatus } from '../src/types.js';

const PREFIX = 'type.googleapis.com/';

const PROTO = `
syntax = "proto3";
package test.v1;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum State { STATE_UNSPECIFIED = 0; RUNNING = 1; DONE = 2; }

message Item { string name = 1; int32 count = 2; }

message Progress {
  int64 total_bytes = 1;
  uint64 unsigned_big = 2;
  State state = 3;
  Item item = 4;
  repeated Item items = 5;
  repeated int32 numbers = 6;
  map<string, int64> counters = 7;
  bytes payload = 8;
  oneof target { string bucket = 9; int32 shard = 10; }
  google.protobuf.Timestamp start_time = 11;
  google.protobuf.Duration elapsed = 12;
  google.protobuf.Struct labels = 13;
  google.protobuf.Int32Value retries = 14;
  google.protobuf.Any detail = 15;
  double ratio = 16;
  bool ok = 17;
  repeated State history = 18;
  google.protobuf.FieldMask mask = 19;
  google.protobuf.Value extra = 20;
  fixed64 checksum = 21;
  sint64 delta = 22;
  map<int32, Item> by_id = 23;
  google.protobuf.StringValue note = 24;
  float fraction = 25;
  optional int32 maybe = 26;
  string renamed = 27 [json_name = "customName"];
}

message Recursive { Recursive child = 1; string name = 2; }
`;

function makeRoot(): protobuf.Root {
  const root = createBuiltinRoot();
  protobuf.parse(PROTO, root, { keepCase: false });
  root.resolveAll();
  return root;
}

const root = makeRoot();
const registry = TypeRegistry.fromRoot(root);
const Progress = root.lookupType('test.v1.Progress');
const Item = root.lookupType('test.v1.Item');
const Recursive = root.lookupType('test.v1.Recursive');
const ErrorInfo = builtinType('google.rpc.ErrorInfo');
const RetryInfo = builtinType('google.rpc.RetryInfo');
const BadRequest = builtinType('google.rpc.BadRequest');
const Duration = builtinType('google.protobuf.Duration');
const Timestamp = builtinType('google.protobuf.Timestamp');
const Struct = builtinType('google.protobuf.Struct');
const Status = builtinType('google.rpc.Status');

const PROGRESS_URL = `${PREFIX}test.v1.Progress`;

function pack(type: protobuf.Type, object: Record<string, unknown>, prefix = PREFIX): AnyMessage {
  const value = type.encode(type.fromObject(object)).finish();
  return { typeUrl: `${prefix}${type.fullName.slice(1)}`, value: new Uint8Array(value) };
}

function errorInfoBytes(): Uint8Array {
  return ErrorInfo.encode(ErrorInfo.fromObject({ reason: 'STOCKOUT', domain: 'example.com', metadata: { zone: 'us-east1' } })).finish();
}

/** A Progress message in protobufjs fromObject form, every kind of field set. */
function progressObject(): Record<string, unknown> {
  return {
    totalBytes: '9007199254740993',
    unsignedBig: '18446744073709551615',
    state: 'RUNNING',
    item: { name: 'a', count: 1 },
    items: [{ name: 'b' }, { name: 'c', count: -2 }],
    numbers: [1, -1, 2147483647],
    counters: { x: '5', y: '-7' },
    payload: Buffer.from([0, 1, 2, 250]),
    shard: 0,
    startTime: { seconds: 1704164645, nanos: 500000000 },
    elapsed: { seconds: 1, nanos: 500000000 },
    labels: {
      fields: {
        a: { numberValue: 1 },
        b: {
          structValue: {
            fields: { c: { listValue: { values: [{ boolValue: true }, { nullValue: 0 }, { stringValue: 's' }] } } },
          },
        },
      },
    },
    retries: { value: 3 },
    detail: { typeUrl: `${PREFIX}google.rpc.ErrorInfo`, value: errorInfoBytes() },
    ratio: 0.25,
    ok: true,
    history: [0, 2, 7],
    mask: { paths: ['foo_bar', 'baz.qux_quux'] },
    extra: { stringValue: 'hello' },
    checksum: '18446744073709551615',
    delta: '-42',
    byId: { 1: { name: 'one' } },
    note: { value: 'hi' },
    fraction: 0.1,
    maybe: 0,
    renamed: 'r',
  };
}

/** What progressObject() decodes to. */
const EXPECTED = {
  totalBytes: '9007199254740993',
  unsignedBig: '18446744073709551615',
  state: 'RUNNING',
  item: { name: 'a', count: 1 },
  items: [
    { name: 'b', count: 0 },
    { name: 'c', count: -2 },
  ],
  numbers: [1, -1, 2147483647],
  counters: { x: '5', y: '-7' },
  payload: 'AAEC+g==',
  shard: 0,
  startTime: '2024-01-02T03:04:05.500Z',
  elapsed: '1.500s',
  labels: { a: 1, b: { c: [true, null, 's'] } },
  retries: 3,
  detail: {
    '@type': `${PREFIX}google.rpc.ErrorInfo`,
    reason: 'STOCKOUT',
    domain: 'example.com',
    metadata: { zone: 'us-east1' },
  },
  ratio: 0.25,
  ok: true,
  history: ['STATE_UNSPECIFIED', 'DONE', 7],
  mask: 'fooBar,baz.quxQuux',
  extra: 'hello',
  checksum: '18446744073709551615',
  delta: '-42',
  byId: { '1': { name: 'one', count: 0 } },
  note: 'hi',
  fraction: 0.1,
  maybe: 0,
  customName: 'r',
};

/** The same message as EXPECTED, written the way a lenient proto3 JSON producer might. */
function progressJsonVariant(): Record<string, unknown> {
  return {
    total_bytes: '9007199254740993',
    unsignedBig: '18446744073709551615',
    state: 1,
    item: { name: 'a', count: '1' },
    items: [{ name: 'b', count: null }, { name: 'c', count: -2 }],
    numbers: ['1', -1, 2147483647],
    counters: { x: 5, y: '-7' },
    payload: 'AAEC-g', // URL-safe, unpadded
    shard: 0,
    start_time: '2024-01-02T04:04:05.5+01:00',
    elapsed: '1.5s',
    labels: { a: 1, b: { c: [true, null, 's'] } },
    retries: 3,
    detail: {
      '@type': `${PREFIX}google.rpc.ErrorInfo`,
      reason: 'STOCKOUT',
      domain: 'example.com',
      metadata: { zone: 'us-east1' },
    },
    ratio: '0.25',
    ok: true,
    history: ['STATE_UNSPECIFIED', 'DONE', 7],
    mask: 'fooBar,baz.quxQuux',
    extra: 'hello',
    checksum: '18446744073709551615',
    delta: -42,
    by_id: { '1': { name: 'one' } },
    note: 'hi',
    fraction: 0.1,
    maybe: 0,
    customName: 'r',
    bucket: null, // null means "not set", even for a oneof member
  };
}

const DEFAULTS = {
  totalBytes: '0',
  unsignedBig: '0',
  state: 'STATE_UNSPECIFIED',
  items: [],
  numbers: [],
  counters: {},
  payload: '',
  ratio: 0,
  ok: false,
  history: [],
  checksum: '0',
  delta: '0',
  byId: {},
  fraction: 0,
  customName: '',
};

function expectDecodeError(fn: () => unknown, typeUrl?: string, message?: RegExp): DecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  const err = caught as DecodeError;
  if (typeUrl !== undefined) expect(err.typeUrl).toBe(typeUrl);
  if (message) expect(err.message).toMatch(message);
  return err;
}

describe('TypeRegistry lookup', () => {
  test('type name is everything after the last slash', () => {
    expect(typeNameOf(`${PREFIX}test.v1.Item`)).toBe('test.v1.Item');
    expect(typeNameOf('example.com/a/b/test.v1.Item')).toBe('test.v1.Item');
    expect(typeNameOf('test.v1.Item')).toBe('test.v1.Item');
    expect(registry.lookup(`${PREFIX}test.v1.Item`)).toBe(Item);
    expect(registry.lookup('example.com/a/b/test.v1.Item')).toBe(Item);
    expect(registry.lookup('test.v1.Item')).toBe(Item);
    expect(registry.has(`${PREFIX}google.rpc.ErrorInfo`)).toBe(true);
    expect(registry.has(`${PREFIX}test.v1.Missing`)).toBe(false);
    expect(registry.has(`${PREFIX}test.v1.State`)).toBe(false); // an enum is not a message
    for (const junk of ['', '/', `${PREFIX}`, `${PREFIX}__proto__`, `${PREFIX}constructor`, `${PREFIX}.test.v1.Item`, `${PREFIX}test..Item`]) {
      expect(registry.has(junk)).toBe(false);
    }
  });

  test('the default registry knows the bundled types only', () => {
    const reg = TypeRegistry.default();
    expect(TypeRegistry.default()).toBe(reg);
    expect(reg.has(`${PREFIX}google.rpc.RetryInfo`)).toBe(true);
    expect(reg.has(`${PREFIX}google.longrunning.Operation`)).toBe(true);
    expect(reg.has(`${PREFIX}google.protobuf.Timestamp`)).toBe(true);
    expect(reg.has(PROGRESS_URL)).toBe(false);
  });

  test('with() adds roots', () => {
    const other = protobuf.parse('syntax = "proto3"; package other; message Thing { string id = 1; }').root;
    const both = registry.with(other);
    expect(both.has(`${PREFIX}other.Thing`)).toBe(true);
    expect(both.has(PROGRESS_URL)).toBe(true);
    expect(registry.has(`${PREFIX}other.Thing`)).toBe(false);
    expect(both.decode({ typeUrl: `${PREFIX}other.Thing`, json: { id: 'x' } })).toEqual({ id: 'x' });
  });

  test('fromRoot rejects what is not a Root', () => {
    expect(() => TypeRegistry.fromRoot({} as protobuf.Root)).toThrow(TypeError);
  });
});

describe('TypeRegistry.decode', () => {
  test('binary: every kind of field, defaults included', () => {
    const any = pack(Progress, progressObject());
    expect(registry.decode(any)).toEqual(EXPECTED);
  });

  test('JSON (canonical, with and without "@type") decodes to the same object', () => {
    const json = registry.toJson(pack(Progress, progressObject()));
    expect(json).toEqual({ '@type': PROGRESS_URL, ...EXPECTED });
    expect(registry.decode({ typeUrl: PROGRESS_URL, json })).toEqual(EXPECTED);
    const { '@type': _ignored, ...withoutType } = json;
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: withoutType })).toEqual(EXPECTED);
  });

  test('JSON in the lenient forms proto3 JSON allows decodes to the same object', () => {
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: progressJsonVariant() })).toEqual(EXPECTED);
  });

  test('key order follows the schema for binary and JSON input alike', () => {
    const fromBinary = registry.decode(pack(Progress, progressObject())) as Record<string, unknown>;
    const fromJson = registry.decode({ typeUrl: PROGRESS_URL, json: progressJsonVariant() }) as Record<string, unknown>;
    expect(Object.keys(fromJson)).toEqual(Object.keys(fromBinary));
    expect(JSON.stringify(fromJson)).toBe(JSON.stringify(fromBinary));
  });

  test('results are ordinary objects', () => {
    const decoded = registry.decode(pack(Progress, progressObject())) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(decoded.labels)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(decoded.counters)).toBe(Object.prototype);
    expect(Array.isArray(decoded.items)).toBe(true);
  });

  test('an empty message emits defaults and omits unset messages and oneofs', () => {
    expect(registry.decode({ typeUrl: PROGRESS_URL, value: new Uint8Array(0) })).toEqual(DEFAULTS);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: {} })).toEqual(DEFAULTS);
    expect(registry.decode({ typeUrl: PROGRESS_URL })).toEqual(DEFAULTS);
    expect(registry.decode({ typeUrl: `${PREFIX}google.protobuf.Empty` })).toEqual({});
  });

  test('explicit presence: a set oneof member or optional field prints even at its default', () => {
    const any = pack(Progress, { bucket: '', maybe: 0 });
    expect(registry.decode(any)).toEqual({ ...DEFAULTS, bucket: '', maybe: 0 });
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { bucket: '', maybe: 0 } })).toEqual({ ...DEFAULTS, bucket: '', maybe: 0 });
  });

  test('value is preferred over json when both are present', () => {
    const any = pack(Item, { name: 'from-bytes' });
    expect(registry.decode({ ...any, json: { name: 'from-json' } })).toEqual({ name: 'from-bytes', count: 0 });
  });

  test('a root parsed with keepCase still prints lowerCamelCase and accepts both names', () => {
    const keep = new protobuf.Root();
    protobuf.parse('syntax = "proto3"; package kc; message Snake { int64 some_value = 1; repeated string other_things = 2; }', keep, { keepCase: true });
    const reg = TypeRegistry.fromRoot(keep);
    const Snake = keep.lookupType('kc.Snake');
    const any = pack(Snake, { some_value: 5, other_things: ['a'] });
    expect(reg.decode(any)).toEqual({ someValue: '5', otherThings: ['a'] });
    expect(reg.decode({ typeUrl: any.typeUrl, json: { some_value: '5', otherThings: ['a'] } })).toEqual({ someValue: '5', otherThings: ['a'] });
  });

  test('special numbers, floats and large integers', () => {
    const any = pack(Progress, { ratio: NaN, fraction: Infinity, totalBytes: '-9223372036854775808', delta: '9223372036854775807' });
    const expected = { ...DEFAULTS, ratio: 'NaN', fraction: 'Infinity', totalBytes: '-9223372036854775808', delta: '9223372036854775807' };
    expect(registry.decode(any)).toEqual(expected);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { ratio: 'NaN', fraction: 'Infinity', totalBytes: '-9223372036854775808', delta: '9223372036854775807' } })).toEqual(expected);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { ratio: '-Infinity', numbers: ['1e2', 2.0] } })).toEqual({ ...DEFAULTS, ratio: '-Infinity', numbers: [100, 2] });
  });

  test('nested Any holding a user type and a well-known type', () => {
    const inner = pack(Item, { name: 'inner', count: 3 });
    const outer = pack(Progress, { detail: { typeUrl: inner.typeUrl, value: inner.value } });
    const expected = { ...DEFAULTS, detail: { '@type': `${PREFIX}test.v1.Item`, name: 'inner', count: 3 } };
    expect(registry.decode(outer)).toEqual(expected);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { detail: { '@type': `${PREFIX}test.v1.Item`, name: 'inner', count: 3 } } })).toEqual(expected);

    const duration = pack(Duration, { seconds: 2 });
    const withWkt = pack(Progress, { detail: { typeUrl: duration.typeUrl, value: duration.value } });
    const expectedWkt = { ...DEFAULTS, detail: { '@type': `${PREFIX}google.protobuf.Duration`, value: '2s' } };
    expect(registry.decode(withWkt)).toEqual(expectedWkt);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { detail: { '@type': `${PREFIX}google.protobuf.Duration`, value: '2s' } } })).toEqual(expectedWkt);
  });

  test('an empty nested Any prints as {}', () => {
    expect(registry.decode(pack(Progress, { detail: {} }))).toEqual({ ...DEFAULTS, detail: {} });
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { detail: {} } })).toEqual({ ...DEFAULTS, detail: {} });
  });

  test('a Value field set to JSON null is a null_value, not unset', () => {
    expect(registry.decode(pack(Progress, { extra: { nullValue: 0 } }))).toEqual({ ...DEFAULTS, extra: null });
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { extra: null } })).toEqual({ ...DEFAULTS, extra: null });
    // null for any other message field means "not set"
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { item: null, startTime: null, retries: null } })).toEqual(DEFAULTS);
  });

  test('proto3 packed and unpacked repeated scalars both decode', () => {
    const w = protobuf.Writer.create();
    w.uint32((6 << 3) | 0).int32(4); // unpacked element
    w.uint32((6 << 3) | 2).fork().int32(5).int32(6).ldelim(); // packed run
    expect(registry.decode({ typeUrl: PROGRESS_URL, value: w.finish() })).toEqual({ ...DEFAULTS, numbers: [4, 5, 6] });
  });

  test('unknown fields in binary are skipped', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('n');
    w.uint32((99 << 3) | 0).uint32(7);
    w.uint32((98 << 3) | 2).string('ignored');
    w.uint32((97 << 3) | 3).uint32((1 << 3) | 0).uint32(1).uint32((97 << 3) | 4); // a group
    expect(registry.decode({ typeUrl: `${PREFIX}test.v1.Item`, value: w.finish() })).toEqual({ name: 'n', count: 0 });
  });

  test('binary oneof: the last member on the wire wins', () => {
    const w = protobuf.Writer.create();
    w.uint32((9 << 3) | 2).string('bucket');
    w.uint32((10 << 3) | 0).int32(3);
    expect(registry.decode({ typeUrl: PROGRESS_URL, value: w.finish() })).toEqual({ ...DEFAULTS, shard: 3 });
  });
});

describe('well-known types at the top level', () => {
  test('Duration, Timestamp, Struct, Value, ListValue, wrappers, FieldMask, Empty', () => {
    const cases: Array<[string, Record<string, unknown>, unknown]> = [
      ['google.protobuf.Duration', { seconds: 1, nanos: 500000000 }, '1.500s'],
      ['google.protobuf.Duration', { seconds: -1, nanos: -1000 }, '-1.000001s'],
      ['google.protobuf.Duration', { seconds: 0, nanos: -500000000 }, '-0.500s'],
      ['google.protobuf.Timestamp', { seconds: 1704164645, nanos: 123456789 }, '2024-01-02T03:04:05.123456789Z'],
      ['google.protobuf.Timestamp', { seconds: -62135596800 }, '0001-01-01T00:00:00Z'],
      ['google.protobuf.Struct', { fields: { k: { stringValue: 'v' } } }, { k: 'v' }],
      ['google.protobuf.Value', { numberValue: 1.5 }, 1.5],
      ['google.protobuf.ListValue', { values: [{ boolValue: false }] }, [false]],
      ['google.protobuf.Int64Value', { value: '12' }, '12'],
      ['google.protobuf.UInt32Value', {}, 0],
      ['google.protobuf.BytesValue', { value: Buffer.from('hi') }, 'aGk='],
      ['google.protobuf.BoolValue', { value: true }, true],
      ['google.protobuf.FieldMask', { paths: ['a_b.c_d', 'e'] }, 'aB.cD,e'],
      ['google.protobuf.Empty', {}, {}],
    ];
    for (const [name, object, expected] of cases) {
      const type = builtinType(name);
      const any = pack(type, object);
      expect(registry.decode(any)).toEqual(expected);
      const json = registry.toJson(any);
      if (name === 'google.protobuf.Empty') {
        expect(json).toEqual({ '@type': any.typeUrl });
        expect(registry.decode({ typeUrl: any.typeUrl, json: {} })).toEqual({});
      } else {
        expect(json).toEqual({ '@type': any.typeUrl, value: expected });
        expect(registry.decode({ typeUrl: any.typeUrl, json: { value: expected } })).toEqual(expected);
        expect(registry.decode({ typeUrl: any.typeUrl, json })).toEqual(expected);
        // the JSON form converts back to the same bytes (canonical encoding)
        expect(registry.decode(registry.toBinary({ typeUrl: any.typeUrl, json }))).toEqual(expected);
      }
    }
  });

  test('an Any inside an Any', () => {
    const inner = pack(Item, { name: 'x' });
    const anyType = builtinType('google.protobuf.Any');
    const outer = pack(anyType, { typeUrl: inner.typeUrl, value: inner.value });
    const expected = { '@type': inner.typeUrl, name: 'x', count: 0 };
    expect(registry.decode(outer)).toEqual(expected);
    expect(registry.toJson(outer)).toEqual({ '@type': outer.typeUrl, value: expected });
    expect(registry.decode({ typeUrl: outer.typeUrl, json: { value: expected } })).toEqual(expected);
  });

  test('timestamps with offsets and lowercase letters normalise to UTC', () => {
    const url = `${PREFIX}google.protobuf.Timestamp`;
    expect(registry.decode({ typeUrl: url, json: { value: '2024-01-02T04:04:05+01:00' } })).toBe('2024-01-02T03:04:05Z');
    expect(registry.decode({ typeUrl: url, json: { value: '2024-01-01t22:04:05.1-05:00' } })).toBe('2024-01-02T03:04:05.100Z');
    expect(registry.decode({ typeUrl: url, json: { value: '2024-02-29T00:00:00.000001Z' } })).toBe('2024-02-29T00:00:00.000001Z');
  });

  test('invalid special forms are DecodeErrors', () => {
    const bad: Array<[string, unknown]> = [
      ['google.protobuf.Timestamp', '2023-02-29T00:00:00Z'],
      ['google.protobuf.Timestamp', '2024-01-02 03:04:05Z'],
      ['google.protobuf.Timestamp', '10000-01-01T00:00:00Z'],
      ['google.protobuf.Timestamp', 1704164645],
      ['google.protobuf.Duration', '1.5'],
      ['google.protobuf.Duration', '1.0000000001s'],
      ['google.protobuf.Duration', '315576000001s'],
      ['google.protobuf.Duration', { seconds: 1 }],
      ['google.protobuf.Struct', [1]],
      ['google.protobuf.ListValue', { a: 1 }],
      ['google.protobuf.FieldMask', ['a']],
      ['google.protobuf.Int32Value', 'abc'],
      ['google.protobuf.UInt32Value', -1],
      ['google.protobuf.BoolValue', 'true'],
    ];
    for (const [name, value] of bad) {
      expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}${name}`, json: { value } }), `${PREFIX}${name}`);
    }
    // binary that breaks the well-known type's rules
    expectDecodeError(() => registry.decode(pack(Timestamp, { seconds: 253402300800 })), `${PREFIX}google.protobuf.Timestamp`);
    expectDecodeError(() => registry.decode(pack(Duration, { seconds: 1, nanos: -1 })), `${PREFIX}google.protobuf.Duration`);
    expectDecodeError(() => registry.decode(pack(builtinType('google.protobuf.Value'), { numberValue: NaN })));
  });
});

describe('roots that do not resolve on their own', () => {
  test('google.* imports missing from the user root are taken from the bundled schemas', () => {
    const bare = protobuf.parse(PROTO).root; // imports are not loaded: google.protobuf.* are missing
    const reg = TypeRegistry.fromRoot(bare);
    const fromJson = reg.toBinary({ typeUrl: PROGRESS_URL, json: progressJsonVariant() });
    expect(reg.decode(fromJson)).toEqual(EXPECTED);
    expect(registry.decode(fromJson)).toEqual(EXPECTED);
    expect(reg.decode(pack(Progress, progressObject()))).toEqual(EXPECTED);
  });

  test('a type that cannot be resolved anywhere is a clear DecodeError', () => {
    const broken = protobuf.parse('syntax = "proto3"; package b; message A { Missing m = 1; } message Fine { int32 x = 1; }').root;
    const reg = TypeRegistry.fromRoot(broken);
    expectDecodeError(() => reg.decode({ typeUrl: `${PREFIX}b.A`, value: new Uint8Array(0) }), `${PREFIX}b.A`, /cannot resolve type "Missing".*failed to resolve/);
    // other types of the same root still work
    expect(reg.decode({ typeUrl: `${PREFIX}b.Fine`, json: { x: 1 } })).toEqual({ x: 1 });
  });
});

describe('errors', () => {
  test('unknown type → DecodeError naming the type URL', () => {
    const url = `${PREFIX}test.v1.Nope`;
    const err = expectDecodeError(() => registry.decode({ typeUrl: url, value: new Uint8Array([8, 1]) }), url, /no decoder for type/);
    expect(err.message).toContain(url);
    expectDecodeError(() => registry.toJson({ typeUrl: url, json: {} }), url);
    expectDecodeError(() => registry.toBinary({ typeUrl: url, json: {} }), url);
    expectDecodeError(() => TypeRegistry.default().decode({ typeUrl: PROGRESS_URL, json: {} }), PROGRESS_URL);
  });

  test('a nested Any of unknown type names the nested type URL', () => {
    const url = `${PREFIX}test.v1.Nope`;
    expectDecodeError(
      () => registry.decode({ typeUrl: PROGRESS_URL, json: { detail: { '@type': url, a: 1 } } }),
      url,
      /no decoder for type .*detail/,
    );
    expectDecodeError(() => registry.decode(pack(Progress, { detail: { typeUrl: url, value: new Uint8Array([1]) } })), url);
  });

  test('corrupt bytes → DecodeError with a cause', () => {
    const good = pack(Progress, progressObject()).value!;
    const corrupt: Uint8Array[] = [
      good.subarray(0, good.length - 3), // truncated
      new Uint8Array([0x0a, 0x05, 0x01]), // length past the end
      new Uint8Array([0x0f]), // wire type 7
      new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // varint too long
      new Uint8Array([0x00]), // field number 0
      new Uint8Array([0x22, 0x02, 0x08]), // nested message cut short
      new Uint8Array([0x20, 0x01]), // message field with varint wire type
    ];
    for (const value of corrupt) {
      const err = expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, value }), PROGRESS_URL);
      expect(err.cause).toBeDefined();
    }
  });

  test('JSON with an unknown field → DecodeError naming the field path', () => {
    expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json: { nope: 1 } }), PROGRESS_URL, /nope/);
    expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json: { items: [{ name: 'a' }, { nam: 'b' }] } }), PROGRESS_URL, /items\[1\].*"nam"/);
    expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json: { byId: { '1': { bad: 1 } } } }), PROGRESS_URL, /byId\["1"\]/);
  });

  test('JSON of the wrong kind → DecodeError naming the field path', () => {
    const wrong: Array<[Record<string, unknown>, RegExp]> = [
      [{ item: 'str' }, /item: expected a JSON object/],
      [{ items: { name: 'a' } }, /items: expected a JSON array/],
      [{ numbers: ['abc'] }, /numbers\[0\]/],
      [{ numbers: [1.5] }, /numbers\[0\]/],
      [{ numbers: [2147483648] }, /out of range/],
      [{ numbers: [null] }, /numbers\[0\]/],
      [{ totalBytes: 'x1' }, /totalBytes/],
      [{ totalBytes: '9223372036854775808' }, /out of range/],
      [{ unsignedBig: '-1' }, /out of range/],
      [{ totalBytes: 1.5 }, /totalBytes/],
      [{ state: 'NOPE' }, /unknown value "NOPE" of enum test.v1.State/],
      [{ state: true }, /state/],
      [{ ok: 'true' }, /ok: expected boolean/],
      [{ payload: 'not base64!' }, /payload/],
      [{ payload: 123 }, /payload/],
      [{ counters: [] }, /counters/],
      [{ counters: { a: 'b' } }, /counters\["a"\]/],
      [{ byId: { notAnInt: {} } }, /byId/],
      [{ item: { name: 5 } }, /item.name: expected string/],
      [{ bucket: 'a', shard: 1 }, /oneof/],
      [{ total_bytes: '1', totalBytes: '1' }, /twice/],
      [{ detail: { name: 'x' } }, /detail.*@type/],
      [{ detail: { '@type': 5 } }, /detail/],
      [{ fraction: 1e39 }, /float out of range/],
      [{ startTime: '2024-01-02' }, /startTime/],
      [{ labels: { a: undefined } }, /labels/],
    ];
    for (const [json, message] of wrong) {
      expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json }), PROGRESS_URL, message);
    }
  });

  test('a top-level JSON "@type" that does not match the type URL → DecodeError', () => {
    expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json: { '@type': `${PREFIX}test.v1.Item` } }), PROGRESS_URL, /@type/);
    expect(registry.decode({ typeUrl: PROGRESS_URL, json: { '@type': 'other.prefix/test.v1.Progress' } })).toEqual(DEFAULTS);
  });

  test('malformed Any objects → DecodeError, never TypeError', () => {
    const bad: unknown[] = [
      null,
      undefined,
      'x',
      42,
      [],
      { typeUrl: 5 },
      { typeUrl: PROGRESS_URL, value: 'AAA=' },
      { typeUrl: PROGRESS_URL, value: [1, 2] },
      { typeUrl: PROGRESS_URL, json: 'x' },
      { typeUrl: PROGRESS_URL, json: [1] },
    ];
    for (const any of bad) {
      expectDecodeError(() => registry.decode(any as AnyMessage));
      expectDecodeError(() => registry.toJson(any as AnyMessage));
    }
  });

  test('hostile JSON objects (throwing getters, proxies) → DecodeError', () => {
    const getter = Object.defineProperty({}, 'name', {
      enumerable: true,
      get() {
        throw new TypeError('boom');
      },
    });
    expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}test.v1.Item`, json: getter }), `${PREFIX}test.v1.Item`, /boom/);
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new RangeError('nope');
        },
      },
    );
    expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}test.v1.Item`, json: proxy }), `${PREFIX}test.v1.Item`);
  });
});

describe('prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  test('hostile keys where the schema has no such field are unknown fields', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const json = JSON.parse(`{"${key}": {"polluted": "yes"}}`) as Record<string, unknown>;
      expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json }), PROGRESS_URL);
    }
  });

  test('hostile keys in Struct and map fields stay plain data', () => {
    const text = `{
      "labels": {"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": 1},
      "counters": {"__proto__": "1", "constructor": "2"},
      "detail": {"@type": "${PREFIX}google.protobuf.Struct", "value": {"__proto__": {"polluted": true}}}
    }`;
    const json = JSON.parse(text) as Record<string, unknown>;
    const fromJson = registry.decode({ typeUrl: PROGRESS_URL, json }) as Record<string, Record<string, unknown>>;
    const binary = registry.toBinary({ typeUrl: PROGRESS_URL, json });
    const fromBinary = registry.decode(binary) as Record<string, Record<string, unknown>>;
    for (const decoded of [fromJson, fromBinary]) {
      const labels = decoded.labels;
      expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
      expect(Object.keys(labels)).toEqual(['__proto__', 'constructor', 'prototype']);
      expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toEqual({ polluted: 'yes' });
      expect(labels.polluted).toBeUndefined();
      expect(Object.getPrototypeOf(decoded.counters)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(decoded.counters, '__proto__')?.value).toBe('1');
      expect(decoded.counters.constructor).toBe('2');
      const detail = decoded.detail;
      expect(Object.getOwnPropertyDescriptor(detail.value, '__proto__')?.value).toEqual({ polluted: true });
    }
    expect(JSON.stringify(fromBinary)).toBe(JSON.stringify(fromJson));
  });

  test('protobufjs itself sees the __proto__ map key in the bytes we wrote', () => {
    const json = JSON.parse('{"counters": {"__proto__": "1"}}') as Record<string, unknown>;
    const binary = registry.toBinary({ typeUrl: PROGRESS_URL, json });
    const reader = protobuf.Reader.create(binary.value!);
    reader.uint32(); // tag of counters
    const entry = protobuf.Reader.create(reader.bytes());
    entry.uint32();
    expect(entry.string()).toBe('__proto__');
  });
});

describe('nesting limits', () => {
  test('Struct nested 10,000 deep in JSON → DecodeError, not a stack overflow', () => {
    let value: unknown = 1;
    for (let i = 0; i < 10_000; i++) value = { a: value };
    expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}google.protobuf.Struct`, json: { value } }), undefined, /nesting/);
    expectDecodeError(() => registry.decode({ typeUrl: PROGRESS_URL, json: { labels: value as Record<string, unknown> } }), PROGRESS_URL, /nesting/);
    let list: unknown = [];
    for (let i = 0; i < 10_000; i++) list = [list];
    expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}google.protobuf.ListValue`, json: { value: list } }), undefined, /nesting/);
  });

  test('messages nested 10,000 deep in binary and JSON → DecodeError', () => {
    const w = protobuf.Writer.create();
    for (let i = 0; i < 10_000; i++) w.uint32((1 << 3) | 2).fork();
    w.uint32((2 << 3) | 2).string('leaf');
    for (let i = 0; i < 10_000; i++) w.ldelim();
    const url = `${PREFIX}test.v1.Recursive`;
    expectDecodeError(() => registry.decode({ typeUrl: url, value: w.finish() }), url, /nesting/);
    let json: Record<string, unknown> = { name: 'leaf' };
    for (let i = 0; i < 10_000; i++) json = { child: json };
    expectDecodeError(() => registry.decode({ typeUrl: url, json }), url, /nesting/);
    expectDecodeError(() => registry.encode('test.v1.Recursive', json), url);
  });

  test('Any inside Any inside … → DecodeError', () => {
    let any: AnyMessage = pack(Item, { name: 'x' });
    const anyType = builtinType('google.protobuf.Any');
    for (let i = 0; i < 200; i++) any = pack(anyType, { typeUrl: any.typeUrl, value: any.value });
    expectDecodeError(() => registry.decode(any), undefined, /nesting/);
  });

  test('nesting within the limit is fine', () => {
    let json: Record<string, unknown> = { name: 'leaf' };
    for (let i = 0; i < MAX_NESTING_DEPTH - 1; i++) json = { child: json };
    const url = `${PREFIX}test.v1.Recursive`;
    const fromJson = registry.decode({ typeUrl: url, json });
    const fromBinary = registry.decode(registry.toBinary({ typeUrl: url, json }));
    expect(fromBinary).toEqual(fromJson);
    const protobufjsView = Recursive.toObject(Recursive.decode(registry.toBinary({ typeUrl: url, json }).value!));
    expect(JSON.stringify(protobufjsView)).toContain('"leaf"');
  });
});

describe('encode / toBinary / toJson', () => {
  test('encode accepts proto3 JSON and protobufjs fromObject forms', () => {
    const fromJson = registry.encode('test.v1.Progress', progressJsonVariant());
    expect(fromJson.typeUrl).toBe(PROGRESS_URL);
    expect(fromJson.value).toBeInstanceOf(Uint8Array);
    expect(registry.decode(fromJson)).toEqual(EXPECTED);

    const object = progressObject();
    const fromObject = registry.encode('test.v1.Progress', {
      ...object,
      totalBytes: { low: 1, high: 2097152, unsigned: false }, // Long-like: 2^53 + 1
      startTime: new Date('2024-01-02T03:04:05.500Z'),
      labels: { a: 1, b: { c: [true, null, 's'] } },
      extra: 'hello',
      retries: { value: 3 },
      note: 'hi',
      detail: { typeUrl: `${PREFIX}google.rpc.ErrorInfo`, value: errorInfoBytes() },
    });
    expect(registry.decode(fromObject)).toEqual(EXPECTED);
  });

  test('encode output is what protobufjs decodes', () => {
    const any = registry.encode('test.v1.Progress', progressJsonVariant());
    const viaProtobufjs = Progress.toObject(Progress.decode(any.value!), { longs: String, enums: String, bytes: String, defaults: false });
    const reference = Progress.toObject(Progress.decode(pack(Progress, progressObject()).value!), { longs: String, enums: String, bytes: String, defaults: false });
    expect(viaProtobufjs).toEqual(reference);
  });

  test('encode of a type URL keeps the URL; well-known types take { value }', () => {
    const any = registry.encode('example.com/x/google.protobuf.Duration', { value: '3s' });
    expect(any.typeUrl).toBe('example.com/x/google.protobuf.Duration');
    expect(registry.decode(any)).toBe('3s');
    expect(registry.decode(registry.encode('google.protobuf.Duration', { seconds: 3 }))).toBe('3s');
    expect(registry.decode(registry.encode('google.protobuf.Struct', { value: { a: [1] } }))).toEqual({ a: [1] });
  });

  test('encode errors are DecodeErrors', () => {
    expectDecodeError(() => registry.encode('test.v1.Nope', {}), `${PREFIX}test.v1.Nope`);
    expectDecodeError(() => registry.encode('test.v1.Item', { name: 1 }), `${PREFIX}test.v1.Item`, /name/);
    expectDecodeError(() => registry.encode('test.v1.Item', { extra: 1 }), `${PREFIX}test.v1.Item`, /extra/);
    expectDecodeError(() => registry.encode('test.v1.Item', null as unknown as Record<string, unknown>), `${PREFIX}test.v1.Item`);
  });

  test('toBinary passes binary through and encodes JSON; toJson is canonical', () => {
    const binary = pack(Item, { name: 'n', count: 2 });
    expect(registry.toBinary(binary).value).toBe(binary.value);
    expect(registry.toBinary({ typeUrl: binary.typeUrl })).toEqual({ typeUrl: binary.typeUrl, value: new Uint8Array(0) });
    const fromJson = registry.toBinary({ typeUrl: binary.typeUrl, json: { name: 'n', count: '2' } });
    expect(Array.from(fromJson.value!)).toEqual(Array.from(binary.value!));
    expect(registry.toJson({ typeUrl: binary.typeUrl, json: { name: 'n', count: '2' } })).toEqual({ '@type': binary.typeUrl, name: 'n', count: 2 });
    expect(registry.toJson(binary)).toEqual({ '@type': binary.typeUrl, name: 'n', count: 2 });
    expectDecodeError(() => registry.toBinary({ typeUrl: binary.typeUrl, json: { name: 5 } }), binary.typeUrl);
  });

  test('decoder() is a bound Decoder', () => {
    const decode = registry.decoder<{ name: string }>();
    expect(decode(pack(Item, { name: 'q' })).name).toBe('q');
  });
});

describe('helpers', () => {
  test('base64 and durations', () => {
    expect(base64Encode(new Uint8Array([0, 1, 2, 250]))).toBe('AAEC+g==');
    expect(Array.from(base64Decode('AAEC-g')!)).toEqual([0, 1, 2, 250]);
    expect(Array.from(base64Decode('AAEC+g==')!)).toEqual([0, 1, 2, 250]);
    expect(base64Decode('A')).toBeUndefined();
    expect(base64Decode('AB=C')).toBeUndefined();
    expect(base64Decode('@@')).toBeUndefined();
    expect(parseDuration('1.5s')).toEqual({ seconds: 1n, nanos: 500000000 });
    expect(parseDuration('-0.5s')).toEqual({ seconds: 0n, nanos: -500000000 });
    expect(parseDuration('1.5')).toBeUndefined();
  });
});

describe('status details', () => {
  const errorInfo = (): AnyMessage => ({ typeUrl: `${PREFIX}google.rpc.ErrorInfo`, value: errorInfoBytes() });
  const retryInfoJson = (): AnyMessage => ({ typeUrl: `${PREFIX}google.rpc.RetryInfo`, json: { retryDelay: '1.5s' } });
  const badRequest = (): AnyMessage =>
    pack(BadRequest, {
      fieldViolations: [
        { field: 'name', description: 'required' },
        { field: 'size', description: 'too big', reason: 'TOO_BIG', localizedMessage: { locale: 'en', message: 'Too big' } },
      ],
    });

  test('decodeDetails decodes ErrorInfo, RetryInfo and BadRequest', () => {
    expect(decodeDetails([errorInfo(), retryInfoJson(), badRequest()])).toEqual([
      { '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'STOCKOUT', domain: 'example.com', metadata: { zone: 'us-east1' } },
      { '@type': `${PREFIX}google.rpc.RetryInfo`, retryDelay: '1.500s' },
      {
        '@type': `${PREFIX}google.rpc.BadRequest`,
        fieldViolations: [
          { field: 'name', description: 'required', reason: '' },
          { field: 'size', description: 'too big', reason: 'TOO_BIG', localizedMessage: { locale: 'en', message: 'Too big' } },
        ],
      },
    ]);
  });

  test('unknown or corrupt details fall back without throwing', () => {
    const unknownBinary: AnyMessage = { typeUrl: `${PREFIX}acme.Secret`, value: new Uint8Array([1, 2, 3]) };
    const unknownJson: AnyMessage = { typeUrl: `${PREFIX}acme.Secret`, json: { a: 1, '@type': 'ignored' } };
    const corrupt: AnyMessage = { typeUrl: `${PREFIX}google.rpc.ErrorInfo`, value: new Uint8Array([0x0a, 0x09]) };
    const badJson: AnyMessage = { typeUrl: `${PREFIX}google.rpc.ErrorInfo`, json: { nope: true } };
    const hostile = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    const decoded = decodeDetails([
      unknownBinary,
      unknownJson,
      corrupt,
      badJson,
      { typeUrl: `${PREFIX}acme.X`, json: hostile },
      null as unknown as AnyMessage,
    ]);
    expect(decoded[0]).toEqual({ '@type': `${PREFIX}acme.Secret`, value: 'AQID' });
    expect(decoded[1]).toEqual({ '@type': `${PREFIX}acme.Secret`, a: 1 });
    expect(decoded[2]).toEqual({ '@type': `${PREFIX}google.rpc.ErrorInfo`, value: 'Cgk=' });
    expect(decoded[3]).toEqual({ '@type': `${PREFIX}google.rpc.ErrorInfo`, nope: true });
    expect(Object.getPrototypeOf(decoded[4])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(decoded[5]).toEqual({ '@type': '' });
    expect(decodeDetails('x' as unknown as AnyMessage[])).toEqual([]);
  });

  test('a registry built from a user root still decodes google.rpc details', () => {
    const bare = protobuf.parse('syntax = "proto3"; package only; message Mine { string a = 1; }').root;
    const reg = TypeRegistry.fromRoot(bare);
    const mine = pack(bare.lookupType('only.Mine'), { a: 'z' });
    expect(decodeDetails([errorInfo(), mine], reg)).toEqual([
      { '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'STOCKOUT', domain: 'example.com', metadata: { zone: 'us-east1' } },
      { '@type': `${PREFIX}only.Mine`, a: 'z' },
    ]);
  });

  test('retryDelayFromDetails reads the first RetryInfo', () => {
    const detail = (retryDelay: unknown): DecodedDetail => ({ '@type': `${PREFIX}google.rpc.RetryInfo`, retryDelay });
    expect(retryDelayFromDetails(decodeDetails([errorInfo(), retryInfoJson()]))).toBe(1500);
    expect(retryDelayFromDetails(decodeDetails([pack(RetryInfo, { retryDelay: { seconds: 2 } })]))).toBe(2000);
    expect(retryDelayFromDetails([detail('0.000001s')])).toBe(1);
    expect(retryDelayFromDetails([detail('0s')])).toBe(0);
    expect(retryDelayFromDetails([detail({ seconds: '3', nanos: 0 })])).toBe(3000);
    expect(retryDelayFromDetails([detail('-1s')])).toBeUndefined();
    expect(retryDelayFromDetails([detail('soon')])).toBeUndefined();
    expect(retryDelayFromDetails([detail(undefined)])).toBeUndefined();
    expect(retryDelayFromDetails([detail('bad'), detail('2s')])).toBeUndefined();
    expect(retryDelayFromDetails([{ '@type': `${PREFIX}google.rpc.ErrorInfo` }])).toBeUndefined();
    expect(retryDelayFromDetails([])).toBeUndefined();
  });

  test('operationError picks the class by code and decodes details', () => {
    const cancelled = operationError('operations/1', { code: 1, message: 'cancelled', details: [] });
    expect(cancelled).toBeInstanceOf(OperationCancelledError);
    expect(cancelled.code).toBe(1);
    expect(cancelled.operationName).toBe('operations/1');
    const failed = operationError('operations/2', { code: 5, message: 'gone', details: [errorInfo()] }, registry);
    expect(failed).toBeInstanceOf(OperationFailedError);
    expect(failed).not.toBeInstanceOf(OperationCancelledError);
    expect(failed.code).toBe(5);
    expect(failed.message).toContain('operations/2');
    expect(failed.details).toEqual([
      { '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'STOCKOUT', domain: 'example.com', metadata: { zone: 'us-east1' } },
    ]);
  });
});

describe('google.rpc.Status bytes and JSON', () => {
  test('encodeStatusBytes / decodeStatusBytes round trip (JSON details become binary)', () => {
    const status: RpcStatus = {
      code: 8,
      message: 'quota',
      details: [
        { typeUrl: `${PREFIX}google.rpc.ErrorInfo`, value: errorInfoBytes() },
        { typeUrl: `${PREFIX}google.rpc.RetryInfo`, json: { retryDelay: '2s' } },
      ],
    };
    const bytes = encodeStatusBytes(status);
    const decoded = decodeStatusBytes(bytes);
    expect(decoded.code).toBe(8);
    expect(decoded.message).toBe('quota');
    expect(decoded.details.map((d) => d.typeUrl)).toEqual(status.details.map((d) => d.typeUrl));
    for (const detail of decoded.details) expect(detail.value).toBeInstanceOf(Uint8Array);
    expect(decodeDetails(decoded.details)).toEqual(decodeDetails(status.details));
    // protobufjs agrees on the bytes
    const viaProtobufjs = Status.toObject(Status.decode(bytes)) as { code: number; message: string; details: unknown[] };
    expect(viaProtobufjs.code).toBe(8);
    expect(viaProtobufjs.details).toHaveLength(2);
    // and the bytes protobufjs writes decode the same
    const theirs = Status.encode(Status.fromObject({ code: 3, message: 'bad', details: [{ typeUrl: `${PREFIX}x.Y`, value: new Uint8Array([1]) }] })).finish();
    expect(decodeStatusBytes(theirs)).toEqual({ code: 3, message: 'bad', details: [{ typeUrl: `${PREFIX}x.Y`, value: new Uint8Array([1]) }] });
    expect(decodeStatusBytes(new Uint8Array(0))).toEqual({ code: 0, message: '', details: [] });
  });

  test('garbage status bytes → DecodeError', () => {
    for (const garbage of [
      new Uint8Array([0x0a, 0x05, 0x01]),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0x0f]),
      new Uint8Array([0x12, 0x02, 0x01]),
      Buffer.from('not a protobuf at all, just text'),
    ]) {
      expectDecodeError(() => decodeStatusBytes(garbage), `${PREFIX}google.rpc.Status`);
    }
    expectDecodeError(() => decodeStatusBytes('x' as unknown as Uint8Array));
  });

  test('encodeStatusBytes rejects what it cannot encode', () => {
    expectDecodeError(() => encodeStatusBytes({ code: 1.5, message: '', details: [] }));
    expectDecodeError(() => encodeStatusBytes({ code: 2, message: '', details: [{ typeUrl: `${PREFIX}acme.Unknown`, json: { a: 1 } }] }), `${PREFIX}acme.Unknown`);
    // user types through a registry
    const bytes = encodeStatusBytes({ code: 2, message: '', details: [{ typeUrl: `${PREFIX}test.v1.Item`, json: { name: 'i' } }] }, registry);
    expect(decodeDetails(decodeStatusBytes(bytes).details, registry)).toEqual([{ '@type': `${PREFIX}test.v1.Item`, name: 'i', count: 0 }]);
  });

  test('statusFromJson and anyFromJson', () => {
    expect(
      statusFromJson({
        code: 5,
        message: 'not found',
        details: [{ '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'GONE' }],
      }),
    ).toEqual({ code: 5, message: 'not found', details: [{ typeUrl: `${PREFIX}google.rpc.ErrorInfo`, json: { reason: 'GONE' } }] });
    expect(statusFromJson({})).toEqual({ code: 0, message: '', details: [] });
    expect(statusFromJson({ code: '14' }).code).toBe(14);
    expect(statusFromJson({ code: 404, status: 'NOT_FOUND' }).code).toBe(404);
    expect(statusFromJson({ status: 'NOT_FOUND' }).code).toBe(5);
    expect(statusFromJson({ code: 'UNAVAILABLE' }).code).toBe(14);
    for (const bad of [null, 'x', 1, [], { code: 'bogus' }, { message: 5 }, { details: {} }, { details: [{ reason: 'no type' }] }]) {
      expect(() => statusFromJson(bad)).toThrow(InvalidOperationError);
    }
    expect(anyFromJson({ '@type': `${PREFIX}a.B`, x: 1 })).toEqual({ typeUrl: `${PREFIX}a.B`, json: { x: 1 } });
    for (const bad of [null, [], 'x', {}, { '@type': 5 }]) expect(() => anyFromJson(bad)).toThrow(InvalidOperationError);
    const hostile = anyFromJson(JSON.parse(`{"@type": "${PREFIX}a.B", "__proto__": {"polluted": 1}}`));
    expect(Object.getPrototypeOf(hostile.json)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // JSON details decode like binary ones
    const status = statusFromJson({ code: 3, details: [{ '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'R', domain: 'd' }] });
    expect(decodeDetails(status.details)).toEqual([{ '@type': `${PREFIX}google.rpc.ErrorInfo`, reason: 'R', domain: 'd', metadata: {} }]);
  });
});

describe('properties', () => {
  const structUrl = `${PREFIX}google.protobuf.Struct`;

  test('any JSON object survives Struct JSON → binary → JSON unchanged', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 6 })), (object) => {
        const json = { value: object };
        const fromJson = registry.decode({ typeUrl: structUrl, json });
        const fromBinary = registry.decode(registry.toBinary({ typeUrl: structUrl, json }));
        expect(JSON.stringify(fromJson)).toBe(JSON.stringify(object));
        expect(JSON.stringify(fromBinary)).toBe(JSON.stringify(object));
      }),
      { numRuns: 200 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('timestamps format like Date and parse back', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62135596800, max: 253402300799 }), fc.integer({ min: 0, max: 999_999_999 }), (seconds, nanos) => {
        const text = registry.decode(pack(Timestamp, { seconds, nanos })) as string;
        expect(text.slice(0, 19)).toBe(new Date(seconds * 1000).toISOString().slice(0, 19));
        expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{3}|\d{6}|\d{9}))?Z$/);
        const back = registry.toBinary({ typeUrl: `${PREFIX}google.protobuf.Timestamp`, json: { value: text } });
        const decoded = Timestamp.toObject(Timestamp.decode(back.value!), { longs: Number });
        expect(decoded.seconds ?? 0).toBe(seconds);
        expect(decoded.nanos ?? 0).toBe(nanos);
      }),
      { numRuns: 300 },
    );
  });

  test('64-bit integers round-trip exactly through binary and JSON', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (signed, unsigned) => {
        const expected = { ...DEFAULTS, totalBytes: String(signed), delta: String(signed), unsignedBig: String(unsigned), checksum: String(unsigned) };
        const viaProtobufjs = pack(Progress, { totalBytes: String(signed), delta: String(signed), unsignedBig: String(unsigned), checksum: String(unsigned) });
        expect(registry.decode(viaProtobufjs)).toEqual(expected);
        const json = { totalBytes: String(signed), delta: String(signed), unsignedBig: String(unsigned), checksum: String(unsigned) };
        expect(registry.decode({ typeUrl: PROGRESS_URL, json })).toEqual(expected);
        const ours = registry.toBinary({ typeUrl: PROGRESS_URL, json }).value!;
        const view = (bytes: Uint8Array): unknown => Progress.toObject(Progress.decode(bytes), { longs: String, defaults: true });
        expect(view(ours)).toEqual(view(viaProtobufjs.value!));
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary JSON never escapes as anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withBigInt: true, withDate: true, withMap: true, withTypedArray: true, withNullPrototype: true }), (json) => {
        for (const typeUrl of [PROGRESS_URL, structUrl, `${PREFIX}google.protobuf.Any`, `${PREFIX}google.protobuf.Value`]) {
          for (const any of [{ typeUrl, json }, { typeUrl, json: { value: json } }, { typeUrl, json: { labels: json, item: json, detail: json } }]) {
            try {
              registry.decode(any as AnyMessage);
            } catch (err) {
              expect(err).toBeInstanceOf(DecodeError);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('arbitrary bytes never escape as anything but DecodeError', () => {
    const good = pack(Progress, progressObject()).value!;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(good.length), (noise, cut) => {
        const spliced = new Uint8Array([...good.subarray(0, cut), ...noise]);
        for (const value of [noise, spliced]) {
          for (const typeUrl of [PROGRESS_URL, structUrl, `${PREFIX}google.rpc.Status`]) {
            try {
              registry.decode({ typeUrl, value });
            } catch (err) {
              expect(err).toBeInstanceOf(DecodeError);
            }
          }
          try {
            decodeStatusBytes(value);
          } catch (err) {
            expect(err).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('single-pass binary decoder vs the two-pass codec', () => {
  // The two-pass path (binary → MessageData → JSON) is the reference; the
  // single-pass decoder must print exactly the same JSON (key order included)
  // whenever it does not decline the input, and decline whatever the
  // reference rejects. TypeRegistry.decode (fast path, falling back) must
  // agree with the reference on results and fail with its error.
  const codec = new MessageCodec((url) => registry.lookup(url));
  const typeFor = (name: string): protobuf.Type => registry.lookup(name)!;
  const TARGETS = [
    'test.v1.Progress', 'test.v1.Item', 'test.v1.Recursive', 'google.protobuf.Any', 'google.protobuf.Struct',
    'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Timestamp', 'google.protobuf.Duration',
    'google.protobuf.FieldMask', 'google.protobuf.Empty', 'google.protobuf.Int64Value', 'google.protobuf.BytesValue',
    'google.protobuf.FloatValue', 'google.rpc.Status', 'google.rpc.ErrorInfo',
  ];
  /** Inputs the reference accepted, and how many of them the single-pass decoder printed itself. */
  const stats = { accepted: 0, fast: 0, encoded: 0, notEncodable: 0 };

  function reference(type: protobuf.Type, bytes: Uint8Array): { json?: string; error?: string } {
    try {
      return { json: JSON.stringify(codec.print(type, codec.readBinary(type, bytes))) };
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
      return { error: (err as CodecError).message };
    }
  }

  function check(name: string, bytes: Uint8Array): void {
    const type = typeFor(name);
    const ref = reference(type, bytes);
    const single = (generatedReaders: boolean): string | undefined => {
      useGeneratedReaders(generatedReaders);
      try {
        return JSON.stringify(decodeBinaryFast(type, bytes, (url) => registry.lookup(url)));
      } catch {
        return undefined;
      } finally {
        useGeneratedReaders(true);
      }
    };
    const fast = single(true);
    // the generic field reader (used where code generation is unavailable) declines or agrees too
    const generic = single(false);
    if (generic !== undefined) expect(generic).toBe(ref.json);
    if (ref.error !== undefined) {
      expect(fast).toBeUndefined();
      const err = expectDecodeError(() => registry.decode({ typeUrl: `${PREFIX}${name}`, value: bytes }));
      if (!err.message.startsWith('no decoder')) expect(err.message).toContain(ref.error);
    } else {
      stats.accepted++;
      if (fast !== undefined) stats.fast++;
      if (fast !== undefined) expect(fast).toBe(ref.json);
      expect(JSON.stringify(registry.decode({ typeUrl: `${PREFIX}${name}`, value: bytes }))).toBe(ref.json);
    }
  }

  /** Every target type, as a Uint8Array and as a Buffer (protobufjs decodes UTF-8 differently for each). */
  function checkAll(bytes: Uint8Array, names: readonly string[] = TARGETS): void {
    const copy = new Uint8Array(bytes);
    const buffer = Buffer.from(bytes);
    for (const name of names) {
      check(name, copy);
      check(name, buffer);
    }
  }

  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
  const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
  const smallInt64 = fc.oneof(int64, fc.integer({ min: -5, max: 5 }).map(String), fc.integer().map(String));
  const int32 = fc.oneof(fc.integer({ min: -2147483648, max: 2147483647 }), fc.integer({ min: -3, max: 300 }));
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', 'é', '€', '𝄞', '\uFFFD'));
  const key = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'toString', '1', '0', '-1', ''));
  const state = fc.oneof(fc.constantFrom('STATE_UNSPECIFIED', 'RUNNING', 'DONE'), fc.integer({ min: -3, max: 1000 }));
  const seconds = fc.oneof(
    fc.integer({ min: -62135596800, max: 253402300799 }),
    fc.integer({ min: -100, max: 100_000 }),
    fc.constantFrom(-62135596801, 253402300800, 0, -1),
    fc.constantFrom('9223372036854775807', '-9223372036854775808', '315576000001'),
  );
  const nanos = fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(0, 500_000_000, 125_000_000, 1_000, 1, -1, -500_000_000, 1_000_000_000));
  const timestamp = fc.record({ seconds, nanos }, { requiredKeys: [] });
  const duration = fc.oneof(
    fc.record({ seconds: fc.integer({ min: -315576000000, max: 315576000000 }), nanos: fc.integer({ min: -999_999_999, max: 999_999_999 }) }, { requiredKeys: [] }),
    timestamp,
  );
  const double = fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 0, -0, 1e21, 0.1));
  const float = fc.oneof(fc.float(), fc.constantFrom('NaN', 'Infinity', 0.1, 3.4e38, 1e-45));
  const jsonObject = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
  const item = fc.record({ name: text, count: int32 }, { requiredKeys: [] });
  const bytesB64 = fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('base64'));
  const anyJson = fc.oneof(
    item.map((i) => ({ '@type': `${PREFIX}test.v1.Item`, ...i })),
    fc.constantFrom({ '@type': `${PREFIX}google.protobuf.Duration`, value: '1.5s' }, { '@type': `${PREFIX}google.protobuf.Empty` }, {}),
    jsonObject.map((value) => ({ '@type': `${PREFIX}google.protobuf.Struct`, value })),
    fc.jsonValue({ maxDepth: 2 }).map((value) => ({ '@type': `${PREFIX}google.protobuf.Value`, value })),
    fc.constant({ '@type': `${PREFIX}google.protobuf.Any`, value: { '@type': `${PREFIX}test.v1.Item`, name: 'inner' } }),
  );
  const target = fc.oneof(fc.constant({}), fc.record({ bucket: text }), fc.record({ shard: int32 }));
  const progressFields = fc.record(
    {
      totalBytes: smallInt64, unsignedBig: uint64, state, item, items: fc.array(item, { maxLength: 3 }),
      numbers: fc.array(int32, { maxLength: 5 }), counters: fc.dictionary(key, smallInt64, { maxKeys: 3 }), payload: bytesB64,
      startTime: timestamp, elapsed: duration, labels: jsonObject,
      retries: int32, detail: anyJson, ratio: double, ok: fc.boolean(), history: fc.array(state, { maxLength: 4 }),
      mask: fc.constantFrom('', 'fooBar', 'fooBar,baz.quxQuux', 'a'), extra: fc.jsonValue({ maxDepth: 2 }), checksum: uint64,
      delta: smallInt64, byId: fc.dictionary(int32.map(String), item, { maxKeys: 3 }), note: text, fraction: float,
      maybe: int32, renamed: text,
    },
    { requiredKeys: [] },
  );
  const progress = fc.tuple(progressFields, target).map(([fields, oneof]) => ({ ...fields, ...oneof }));
  const encodeProgress = (object: Record<string, unknown>): Uint8Array | undefined => {
    try {
      const bytes = registry.encode('test.v1.Progress', object).value!;
      stats.encoded++;
      return bytes;
    } catch {
      stats.notEncodable++;
      return undefined; // e.g. a Timestamp out of range: not encodable from JSON
    }
  };
  /** Unknown fields of every wire type, unpacked repeated elements, an out-of-order field, a oneof member. */
  const extras = fc.array(
    fc.oneof(
      fc.record({ id: fc.integer({ min: 28, max: 5000 }), v: fc.nat() }).map(({ id, v }) => protobuf.Writer.create().uint32((id << 3) | 0).uint32(v).finish()),
      fc.record({ id: fc.integer({ min: 28, max: 5000 }), s: fc.string() }).map(({ id, s }) => protobuf.Writer.create().uint32((id << 3) | 2).string(s).finish()),
      fc.integer({ min: 28, max: 5000 }).map((id) => protobuf.Writer.create().uint32((id << 3) | 5).fixed32(7).uint32((id << 3) | 1).fixed64(9).finish()),
      int32.map((v) => protobuf.Writer.create().uint32((6 << 3) | 0).int32(v).finish()), // unpacked numbers
      state.filter((s) => typeof s === 'number').map((v) => protobuf.Writer.create().uint32((18 << 3) | 0).int32(v as number).finish()),
      text.map((s) => protobuf.Writer.create().uint32((9 << 3) | 2).string(s).finish()), // bucket (oneof)
      int32.map((v) => protobuf.Writer.create().uint32((10 << 3) | 0).int32(v).finish()), // shard (oneof)
      smallInt64.map((v) => protobuf.Writer.create().uint32((1 << 3) | 0).int64(v).finish()), // totalBytes again
      fc.constant(protobuf.Writer.create().uint32((4 << 3) | 2).fork().uint32((1 << 3) | 2).string('merged').ldelim().finish()), // item again: merge
      fc.constant(protobuf.Writer.create().uint32((26 << 3) | 0).int32(5).finish()), // optional maybe
      fc.constant(protobuf.Writer.create().uint32((7 << 3) | 2).fork().uint32((2 << 3) | 0).int64(3).ldelim().finish()), // map entry without key
      fc.constant(protobuf.Writer.create().uint32((23 << 3) | 2).fork().uint32((1 << 3) | 0).int32(4).ldelim().finish()), // map entry without value
      fc.constant(protobuf.Writer.create().uint32((97 << 3) | 3).uint32((1 << 3) | 0).uint32(1).uint32((97 << 3) | 4).finish()), // a group
    ),
    { maxLength: 4 },
  );
  const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

  test('well-formed messages: same JSON, key order included', () => {
    fc.assert(
      fc.property(progress, progress, extras, fc.boolean(), (a, b, more, merge) => {
        const ea = encodeProgress(a);
        const eb = encodeProgress(b);
        if (!ea || !eb) return;
        checkAll(ea, ['test.v1.Progress']);
        // concatenation merges (last scalar wins, messages merge, oneof members replace each other)
        checkAll(concat(merge ? [ea, ...more, eb] : [...more, ea, ...more]), ['test.v1.Progress']);
      }),
      { numRuns: 400 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('messages encoded by protobufjs, including out-of-range well-known values', () => {
    fc.assert(
      fc.property(
        fc.record({ seconds: fc.oneof(fc.integer(), fc.constantFrom('9223372036854775807', '-9223372036854775808', '-62135596801', '253402300800')), nanos: fc.oneof(fc.integer(), nanos) }, { requiredKeys: [] }),
        fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -0)),
        fc.array(fc.oneof(fc.double(), fc.constantFrom(NaN)), { maxLength: 3 }),
        (tv, num, nums) => {
          for (const name of ['google.protobuf.Timestamp', 'google.protobuf.Duration']) {
            checkAll(typeFor(name).encode(typeFor(name).fromObject(tv)).finish(), [name, 'test.v1.Progress', 'google.protobuf.Int64Value']);
          }
          const Value = typeFor('google.protobuf.Value');
          checkAll(Value.encode(Value.fromObject({ numberValue: num })).finish(), ['google.protobuf.Value', 'google.protobuf.ListValue']);
          const ListValue = typeFor('google.protobuf.ListValue');
          checkAll(ListValue.encode(ListValue.fromObject({ values: nums.map((n) => ({ numberValue: n })) })).finish(), ['google.protobuf.ListValue', 'google.protobuf.Struct']);
          checkAll(Progress.encode(Progress.fromObject({ startTime: tv, elapsed: tv, ratio: num, fraction: num, numbers: [1, -1] })).finish());
        },
      ),
      { numRuns: 200 },
    );
  });

  test('well-known types, nested Any and Status at the top level', () => {
    fc.assert(
      fc.property(anyJson, jsonObject, fc.jsonValue({ maxDepth: 4 }), (any, object, value) => {
        const encoded = [
          registry.encode('google.protobuf.Any', { value: any }),
          registry.encode('google.protobuf.Struct', { value: object }),
          registry.encode('google.protobuf.Value', { value }),
          registry.encode('google.rpc.Status', { code: 3, message: 'm', details: [any] }),
        ];
        for (const { value: bytes } of encoded) checkAll(bytes!);
      }),
      { numRuns: 150 },
    );
  });

  test('corrupt input: both reject it, or both print the same', () => {
    const variant = progressJsonVariant();
    delete variant.bucket;
    const good = [registry.encode('test.v1.Progress', variant).value!, pack(Progress, progressObject()).value!];
    fc.assert(
      fc.property(
        fc.constantFrom(...good),
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
        (base, flips, cut, noise) => {
          const flipped = new Uint8Array(base);
          for (const { at, byte } of flips) flipped[at % flipped.length] = byte;
          checkAll(flipped);
          checkAll(base.subarray(0, cut % base.length), ['test.v1.Progress', 'google.protobuf.Struct']);
          checkAll(concat([base.subarray(0, cut % base.length), noise]), ['test.v1.Progress', 'google.rpc.Status']);
          checkAll(noise);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('nesting around MAX_NESTING_DEPTH', () => {
    for (const depth of [MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1, MAX_NESTING_DEPTH + 5]) {
      const w = protobuf.Writer.create();
      for (let i = 0; i < depth; i++) w.uint32((1 << 3) | 2).fork();
      w.uint32((2 << 3) | 2).string('leaf');
      for (let i = 0; i < depth; i++) w.ldelim();
      checkAll(w.finish(), ['test.v1.Recursive']);
      // a Struct holding objects nested depth / 2 deep: two message levels per object (Struct, Value)
      const w2 = protobuf.Writer.create();
      for (let i = 0; i < depth / 2; i++) w2.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string('a').uint32((2 << 3) | 2).fork().uint32((5 << 3) | 2).fork();
      w2.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string('leaf').uint32((2 << 3) | 2).fork().uint32((3 << 3) | 2).string('x').ldelim().ldelim();
      for (let i = 0; i < depth / 2; i++) w2.ldelim().ldelim().ldelim();
      checkAll(w2.finish(), ['google.protobuf.Struct', 'google.protobuf.Value']);
      let any: AnyMessage = pack(Item, { name: 'x' });
      const anyType = builtinType('google.protobuf.Any');
      for (let i = 0; i < depth; i++) any = pack(anyType, { typeUrl: any.typeUrl, value: any.value });
      checkAll(any.value!, ['google.protobuf.Any']);
    }
  });

  test('invalid UTF-8 prints as TextDecoder decodes it, for Buffers and Uint8Arrays alike', () => {
    for (const raw of [[0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f], [0x80, 0x41], [0xef, 0xbf, 0xbd], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const text = [0x61, ...raw, 0x62];
      const bytes = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(new Uint8Array(text)).finish();
      checkAll(bytes, ['test.v1.Item', 'google.protobuf.FieldMask', 'google.rpc.ErrorInfo']);
      const expected = new TextDecoder().decode(new Uint8Array(text));
      for (const value of [new Uint8Array(bytes), Buffer.from(bytes)]) {
        expect(registry.decode({ typeUrl: `${PREFIX}test.v1.Item`, value })).toEqual({ name: expected, count: 0 });
      }
    }
  });

  test('the single-pass decoder handled most well-formed input', () => {
    expect(stats.accepted).toBeGreaterThan(1000);
    expect(stats.fast / stats.accepted).toBeGreaterThan(0.6);
  });
});
