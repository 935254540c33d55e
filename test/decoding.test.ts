/**
 * Regressions from issue 11 ("what a differential decoder test and hostile
 * servers found"), items 1–5 and 14, through the public API: TypeRegistry
 * for decoding, LongRunningOperation.resume for tokens. Every binary case
 * runs on both decode paths (the single-pass decoder, and the two-pass codec
 * it hands unusual input to, forced here by a trailing unknown group) and
 * for Node Buffers and plain Uint8Arrays alike.
 */
import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { DecodeError, InvalidOperationError, LongRunningOperation, TypeRegistry, type AnyMessage, type ResumeToken } from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';
import { createBuiltinRoot } from '../src/codec/index.js';
import { MAX_JSON_NESTING_DEPTH } from '../src/codec/schema.js';

const PROTO = `
syntax = "proto3";
package widen.v1;
import "google/protobuf/any.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }

message Narrow {
  int32 count = 3;
  uint32 size = 4;
  Color color = 5;
  bool flag = 6;
  repeated bool flags = 7;
  sint32 delta = 8;
  bytes blob = 9;
  Narrow child = 10;
  int32 mixedCase_field = 11;
  google.protobuf.Any detail = 12;
  repeated google.protobuf.Any details = 13;
  string text = 14;
  repeated int32 counts = 15;
}
`;

/** Parsed with protobufjs's default keepCase: false, as most users do. */
const root = createBuiltinRoot();
protobuf.parse(PROTO, root);
const registry = TypeRegistry.fromRoot(root);
const URL = 'type.googleapis.com/widen.v1.Narrow';
const ANY_URL = 'type.googleapis.com/google.protobuf.Any';

/** The varint of `value` (64 bits, as protobuf writes int64/uint64). */
function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const tag = (id: number, wire: number): number[] => varint(BigInt((id << 3) | wire));
const len = (id: number, body: number[]): number[] => [...tag(id, 2), ...varint(BigInt(body.length)), ...body];
const text = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** An unknown group (field 99): the single-pass decoder declines it, so the two-pass codec decodes the rest. */
const GROUP = [...tag(99, 3), ...tag(1, 0), 1, ...tag(99, 4)];

/** The same bytes four ways: {single-pass, two-pass} × {Uint8Array, Buffer}. */
function inputs(bytes: number[]): [string, Uint8Array][] {
  const twoPass = [...bytes, ...GROUP];
  return [
    ['single-pass, Uint8Array', new Uint8Array(bytes)],
    ['single-pass, Buffer', Buffer.from(bytes)],
    ['two-pass, Uint8Array', new Uint8Array(twoPass)],
    ['two-pass, Buffer', Buffer.from(twoPass)],
  ];
}

/** Decodes the bytes every way; all must give the same object, which is returned. */
function decodeAll(bytes: number[], typeUrl = URL): Record<string, unknown> {
  const results = inputs(bytes).map(([how, value]) => [how, registry.decode({ typeUrl, value })] as const);
  for (const [how, result] of results) expect({ how, result }).toEqual({ how, result: results[0][1] });
  return results[0][1] as Record<string, unknown>;
}

/** Every way of decoding the bytes fails with DecodeError. */
function rejectAll(bytes: number[], typeUrl = URL): void {
  for (const [how, value] of inputs(bytes)) {
    let thrown: unknown;
    try {
      registry.decode({ typeUrl, value });
    } catch (err) {
      thrown = err;
    }
    expect({ how, error: thrown instanceof DecodeError }).toEqual({ how, error: true });
    expect((thrown as DecodeError).typeUrl).toBe(typeUrl);
  }
}

describe('item 1: a 32-bit field sent as a longer varint keeps its low 32 bits and the fields after it', () => {
  test("the issue's bytes: int32 2^35, then the string \"hi\"", () => {
    expect(decodeAll([0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x72, 0x02, 0x68, 0x69])).toMatchObject({ count: 0, text: 'hi' });
  });

  test.each([
    ['int32 2^35 + 7', [...tag(3, 0), ...varint(2n ** 35n + 7n)], { count: 7 }],
    ['int32 2^40 + 2^31 (low bits: int32 minimum)', [...tag(3, 0), ...varint(2n ** 40n + 2n ** 31n)], { count: -2147483648 }],
    ['int32 -2 (always ten bytes)', [...tag(3, 0), ...varint(-2n)], { count: -2 }],
    ['uint32 2^33 + 2^32 - 1', [...tag(4, 0), ...varint(2n ** 33n + 2n ** 32n - 1n)], { size: 4294967295 }],
    ['enum 2^36 + 2', [...tag(5, 0), ...varint(2n ** 36n + 2n)], { color: 'GREEN' }],
    ['sint32 2^34 + 3 (zigzag of the low bits: -2)', [...tag(8, 0), ...varint(2n ** 34n + 3n)], { delta: -2 }],
    ['int32 5 padded to ten bytes', [...tag(3, 0), 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], { count: 5 }],
    ['packed int32 with a widened element', len(15, [...varint(2n ** 35n + 1n), ...varint(2n)]), { counts: [1, 2] }],
    ['unpacked int32 with a widened element', [...tag(15, 0), ...varint(2n ** 45n + 9n), ...tag(15, 0), 3], { counts: [9, 3] }],
  ])('%s', (_what, field, expected) => {
    expect(decodeAll([...field, ...len(14, text('hi'))])).toMatchObject({ ...expected, text: 'hi' });
  });

  test('a widened field inside a nested message leaves the outer fields intact', () => {
    const child = [...tag(3, 0), ...varint(2n ** 50n + 4n), ...len(14, text('in'))];
    expect(decodeAll([...len(10, child), ...len(14, text('out'))])).toMatchObject({ child: { count: 4, text: 'in' }, text: 'out' });
  });

  test('a varint longer than ten bytes is a DecodeError', () => {
    rejectAll([...tag(3, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    rejectAll([...tag(50, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // unknown field
  });
});

describe('items 1 and 2, as a property: widening a field to 64 bits changes nothing but what the high bits hold', () => {
  test('random values with random high bits, followed by other fields', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2147483648, max: 2147483647 }),
        fc.bigInt({ min: 1n, max: 2n ** 32n - 1n }),
        fc.string(),
        fc.boolean(),
        (low, high, after, flag) => {
          const wide = (v: number): bigint => (high << 32n) | BigInt(v >>> 0);
          const rest = [...len(14, text(after)), ...tag(6, 0), flag ? 1 : 0];
          const narrow = [...tag(3, 0), ...varint(BigInt(low)), ...tag(4, 0), ...varint(BigInt(low >>> 0)), ...tag(15, 0), ...varint(BigInt(low)), ...rest];
          const widened = [...tag(3, 0), ...varint(wide(low)), ...tag(4, 0), ...varint(wide(low)), ...tag(15, 0), ...varint(wide(low)), ...rest];
          expect(decodeAll(widened)).toEqual(decodeAll(narrow));
          expect(decodeAll([...tag(6, 0), ...varint(high << 32n), ...len(14, text(after))])).toMatchObject({ flag: true, text: after });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('item 2: a bool is true when any of its 64 bits is set', () => {
  test.each([
    ['2^32', 2n ** 32n, true],
    ['2^63', 2n ** 63n, true],
    ['2^35 + 2^32', 2n ** 35n + 2n ** 32n, true],
    ['1', 1n, true],
    ['0', 0n, false],
  ])('varint %s', (_what, value, expected) => {
    expect(decodeAll([...tag(6, 0), ...varint(value), ...len(14, text('hi'))])).toMatchObject({ flag: expected, text: 'hi' });
  });

  test('0 padded to ten bytes is false', () => {
    expect(decodeAll([...tag(6, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).toMatchObject({ flag: false });
  });

  test('in packed and unpacked lists', () => {
    const values = [2n ** 32n, 0n, 1n, 2n ** 40n, 2n ** 63n];
    const expected = [true, false, true, true, true];
    expect(decodeAll(len(7, values.flatMap(varint)))).toMatchObject({ flags: expected });
    expect(decodeAll(values.flatMap((v) => [...tag(7, 0), ...varint(v)]))).toMatchObject({ flags: expected });
  });
});

describe('item 3: a length that runs past the end is a DecodeError for Buffers and Uint8Arrays alike', () => {
  // lengths well beyond the input, so that the trailing group of the two-pass inputs cannot complete them
  test.each([
    ['a string', [...tag(14, 2), 50, ...text('hi')]],
    ['bytes', [...tag(9, 2), 90, 1, 2, 3]],
    ['a nested message', [...tag(10, 2), 60, ...tag(3, 0), 1]],
    ['a packed list', [...tag(15, 2), 40, 1, 2]],
    ['an unknown field', [...tag(60, 2), 30, 1]],
    ['a string past the end of its message, within the input', [...len(10, [...tag(14, 2), 5, ...text('hi')]), ...len(14, text('hi'))]],
    ['a length of 2^32 + 2 (its low bits would fit)', [...tag(14, 2), ...varint(2n ** 32n + 2n), ...text('hi')]],
    ['a string in a nested Any', len(12, [...len(1, text(URL)), ...len(2, [...tag(14, 2), 7, ...text('hi')])])],
  ])('%s', (_what, bytes) => {
    rejectAll(bytes);
  });

  test('a string that ends exactly at the end decodes', () => {
    expect(decodeAll([...tag(14, 2), 2, ...text('hi')])).toMatchObject({ text: 'hi' });
  });

  test('invalid UTF-8 decodes the same way (U+FFFD, as TextDecoder) from either kind of input', () => {
    const raw = [0x61, 0xed, 0xa0, 0x80, 0xc3, 0x62];
    expect(decodeAll(len(14, raw))).toMatchObject({ text: new TextDecoder().decode(new Uint8Array(raw)) });
  });
});

describe('item 4: JSON may name a field by its proto name, whatever its case', () => {
  test.each([['mixedCase_field'], ['mixedCaseField'], ['mixed_case_field']])('"%s" (root parsed with keepCase: false)', (key) => {
    const json = { [key]: 4, child: { [key]: 5 } };
    expect(registry.decode({ typeUrl: URL, json })).toMatchObject({ mixedCaseField: 4, child: { mixedCaseField: 5 } });
    const encoded = registry.encode('widen.v1.Narrow', json);
    expect(registry.decode(encoded)).toMatchObject({ mixedCaseField: 4, child: { mixedCaseField: 5 } });
  });

  test('a root parsed with keepCase: true accepts the proto name and the JSON name', () => {
    const kept = createBuiltinRoot();
    protobuf.parse(PROTO, kept, { keepCase: true });
    const keptRegistry = TypeRegistry.fromRoot(kept);
    for (const key of ['mixedCase_field', 'mixedCaseField']) {
      expect(keptRegistry.decode({ typeUrl: URL, json: { [key]: 4 } })).toMatchObject({ mixedCaseField: 4 });
    }
  });

  test('other keys stay unknown fields', () => {
    for (const key of ['mixedCase_fieldx', 'mixedcase_field', 'MixedCase_field', '_mixedCase_field']) {
      expect(() => registry.decode({ typeUrl: URL, json: { [key]: 4 } })).toThrow(DecodeError);
    }
  });
});

describe('item 5: an Any with bytes but no type URL decodes as an unknown Any', () => {
  const untyped = [...len(2, [1, 2, 3])]; // type_url unset, value 01 02 03
  const unknownAny = { '@type': '', value: 'AQID' };

  test('nested: the Any is { "@type": "", value: <base64> } and the rest of the payload decodes', () => {
    const bytes = [...len(12, untyped), ...len(13, untyped), ...len(13, [...len(1, text(URL)), ...len(2, len(14, text('in')))]), ...len(14, text('hi'))];
    const decoded = decodeAll(bytes);
    expect(decoded).toMatchObject({ detail: unknownAny, details: [unknownAny, { '@type': URL, text: 'in' }], text: 'hi' });
  });

  test('at the top level of a google.protobuf.Any payload', () => {
    expect(decodeAll(untyped, ANY_URL)).toEqual(unknownAny);
  });

  test('an Any with neither type URL nor bytes stays {}', () => {
    expect(decodeAll([...len(12, []), ...len(14, text('hi'))])).toMatchObject({ detail: {}, text: 'hi' });
  });

  test('the JSON form decodes to the same object and encodes back to the same bytes', () => {
    const binary: AnyMessage = { typeUrl: URL, value: new Uint8Array([...len(12, untyped), ...len(14, text('hi'))]) };
    const { '@type': _type, ...json } = registry.toJson(binary);
    expect(json).toMatchObject({ detail: unknownAny });
    expect(registry.decode({ typeUrl: URL, json })).toEqual(registry.decode(binary));
    expect(Buffer.from(registry.toBinary({ typeUrl: URL, json }).value!)).toEqual(Buffer.from(binary.value!));
  });

  test('a non-empty type URL that is unknown is still a DecodeError naming it', () => {
    const bytes = len(12, [...len(1, text('type.googleapis.com/no.Such')), ...len(2, [1])]);
    for (const [, value] of inputs(bytes)) {
      expect(() => registry.decode({ typeUrl: URL, value })).toThrow(expect.objectContaining({ name: 'DecodeError', typeUrl: 'type.googleapis.com/no.Such' }));
    }
  });

  test('JSON for an Any without a type URL other than { "@type": "", value: <base64> } is a DecodeError', () => {
    for (const detail of [{ '@type': '', value: '!!' }, { '@type': '', value: 3 }, { '@type': '', text: 'x' }]) {
      expect(() => registry.decode({ typeUrl: URL, json: { detail } })).toThrow(DecodeError);
    }
    expect(registry.decode({ typeUrl: URL, json: { detail: { '@type': '' } } })).toMatchObject({ detail: {} });
  });
});

describe('item 14: resume tokens nested deeper than the codec decodes are refused', () => {
  function nested(depth: number): Record<string, unknown> {
    let json: Record<string, unknown> = { leaf: true };
    for (let i = 1; i < depth; i++) json = { a: json };
    return json;
  }

  function token(json: Record<string, unknown>): ResumeToken {
    return {
      kind: 'longrunning.operation',
      version: 1,
      name: 'operations/deep',
      resource: { name: 'operations/deep', done: false, metadata: { typeUrl: 'type.googleapis.com/google.protobuf.Struct', json } },
    };
  }

  test('100,000 levels, as a JSON string or an object → InvalidOperationError', () => {
    const server = new FakeOperationsServer();
    // JSON.stringify of such an object overflows the stack: the string is built by hand
    const depth = 100_000;
    const json = `${'{"a":'.repeat(depth - 1)}{"leaf":true}${'}'.repeat(depth - 1)}`;
    const asString = `{"kind":"longrunning.operation","version":1,"name":"operations/deep","resource":{"name":"operations/deep","done":false,"metadata":{"typeUrl":"type.googleapis.com/google.protobuf.Struct","json":${json}}}}`;
    for (const input of [asString, token(nested(depth))]) {
      expect(() => LongRunningOperation.resume(input, { transport: server.transport })).toThrow(InvalidOperationError);
      expect(() => LongRunningOperation.resume(input, { transport: server.transport })).toThrow(/nests deeper than 202 levels/);
    }
  });

  test('deep error details are refused too', () => {
    const server = new FakeOperationsServer();
    const t: ResumeToken = {
      kind: 'longrunning.operation',
      version: 1,
      name: 'operations/deep',
      resource: { name: 'operations/deep', done: true, error: { code: 3, message: 'm', details: [{ typeUrl: 'type.googleapis.com/x.Y', json: nested(MAX_JSON_NESTING_DEPTH + 1) }] } },
    };
    expect(() => LongRunningOperation.resume(t, { transport: server.transport })).toThrow(InvalidOperationError);
  });

  test('a cyclic token object → InvalidOperationError, not a TypeError from JSON.stringify later', () => {
    const server = new FakeOperationsServer();
    const json: Record<string, unknown> = { a: 1 };
    json.self = json;
    expect(() => LongRunningOperation.resume(token(json), { transport: server.transport })).toThrow(InvalidOperationError);
  });

  test('at the limit a token resumes and JSON.stringify(op) gives it back', () => {
    const server = new FakeOperationsServer();
    const t = token(nested(MAX_JSON_NESTING_DEPTH));
    const op = LongRunningOperation.resume(JSON.stringify(t), { transport: server.transport, decode: { metadata: () => 'opaque' } });
    expect(op.metadata).toBe('opaque');
    expect(JSON.parse(JSON.stringify(op))).toEqual(t);
    expect(() => LongRunningOperation.resume(token(nested(MAX_JSON_NESTING_DEPTH + 1)), { transport: server.transport })).toThrow(InvalidOperationError);
  });

  test('a resource with such JSON is refused when built and when a server returns it, and the token stays writable', async () => {
    const server = new FakeOperationsServer();
    const deep: AnyMessage = { typeUrl: 'type.googleapis.com/google.protobuf.Struct', json: nested(MAX_JSON_NESTING_DEPTH + 1) };
    expect(() => new LongRunningOperation({ name: 'operations/built', done: false, metadata: deep }, { transport: server.transport })).toThrow(InvalidOperationError);
    const created = server.create();
    const op = new LongRunningOperation(created.name, { transport: server.transport });
    server.update(created.name, { metadata: deep });
    const failed = op.poll();
    await expect(failed).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(failed).rejects.toThrow(/nested deeper than 202 levels/);
    expect(JSON.parse(JSON.stringify(op))).toMatchObject({ name: created.name });
  });

  test('the limit covers everything the codec decodes: 2 JSON levels per message level', () => {
    // a repeated message field nested MAX_NESTING_DEPTH times: JSON twice as deep
    const recursive = createBuiltinRoot();
    protobuf.parse('syntax = "proto3"; package r.v1; message Tree { repeated Tree kids = 1; }', recursive);
    const treeRegistry = TypeRegistry.fromRoot(recursive);
    let json: Record<string, unknown> = {};
    let depth = 1;
    for (let i = 0; i < 100; i++, depth += 2) json = { kids: [json] };
    expect(depth).toBeLessThanOrEqual(MAX_JSON_NESTING_DEPTH);
    expect(() => treeRegistry.decode({ typeUrl: 'type.googleapis.com/r.v1.Tree', json })).not.toThrow();
    const t: ResumeToken = { ...token(json), resource: { name: 'operations/deep', done: false, metadata: { typeUrl: 'type.googleapis.com/r.v1.Tree', json } } };
    const server = new FakeOperationsServer();
    const op = LongRunningOperation.resume(t, { transport: server.transport, decode: treeRegistry });
    expect(JSON.parse(JSON.stringify(op))).toEqual(t);
  });
});
