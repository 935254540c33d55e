/**
 * src/platform.ts and the codec without Node's Buffer: the portable base64
 * agrees with Buffer's, `emitWarning` falls back to console.warn, and a copy of
 * the codec loaded as if in a browser (no Buffer) decodes exactly what the
 * Node copy decodes: through TypeRegistry and through the single-pass
 * decoder, for valid and invalid UTF-8 alike.
 */
import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { base64Decode, base64Encode } from '../src/codec/wkt.js';
import * as nodeProtos from '../src/codec/protos.js';
import { TypeRegistry } from '../src/index.js';
import { anySignal, base64FromBytes, bytesEqual, bytesFromBase64, emitWarning, nodeBuffer } from '../src/platform.js';

type Json = typeof import('../src/codec/wkt');
type Registry = typeof import('../src/codec/registry');
type Fast = typeof import('../src/codec/fast');
type Protos = typeof import('../src/codec/protos');

const PROTO = `
syntax = "proto3";
package test.v1;
import "google/protobuf/struct.proto";
message Item { string name = 1; bytes blob = 2; repeated string tags = 3; int64 size = 4; map<string, string> labels = 5; google.protobuf.Struct extra = 6; }
`;

function parseRoot(pb: typeof protobuf, protos: Protos): protobuf.Root {
  const root = protos.createBuiltinRoot(); // well-known types, google.protobuf.Struct among them
  pb.parse(PROTO, root, { keepCase: false });
  root.resolveAll();
  return root;
}

/** A copy of the codec modules that sees no Buffer, as in a browser. */
const browser = (() => {
  let json!: Json;
  let registry!: Registry;
  let fast!: Fast;
  let pb!: typeof protobuf;
  let protos!: Protos;
  jest.isolateModules(() => {
    jest.doMock('../src/platform', () => ({ ...jest.requireActual('../src/platform'), nodeBuffer: undefined }));
    json = require('../src/codec/wkt');
    registry = require('../src/codec/registry');
    fast = require('../src/codec/fast');
    pb = require('protobufjs');
    protos = require('../src/codec/protos');
  });
  return { json, registry, fast, pb, protos };
})();

const nodeRoot = parseRoot(protobuf, nodeProtos);
const browserRoot = parseRoot(browser.pb, browser.protos);
const nodeRegistry = TypeRegistry.fromRoot(nodeRoot);
const browserRegistry = browser.registry.TypeRegistry.fromRoot(browserRoot);
const ITEM_URL = 'type.googleapis.com/test.v1.Item';

/** Base64 text as servers send it: either alphabet, padded or not. */
const base64Text = fc.uint8Array({ maxLength: 64 }).chain((bytes) => {
  const std = Buffer.from(bytes).toString('base64');
  return fc.constantFrom(std, std.replace(/=+$/, ''), std.replace(/\+/g, '-').replace(/\//g, '_'), std.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
});

describe('portable base64', () => {
  test('this test runs where Buffer exists, so the comparisons below mean something', () => {
    expect(nodeBuffer).toBe(Buffer);
  });

  test('base64FromBytes prints what Buffer prints', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(base64FromBytes(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }), { numRuns: 500 });
  });

  test('bytesFromBase64 reads what Buffer reads, both alphabets, with or without padding', () => {
    fc.assert(fc.property(base64Text, (text) => {
      const bare = text.replace(/=+$/, '');
      expect(Array.from(bytesFromBase64(bare))).toEqual(Array.from(Buffer.from(bare, 'base64')));
    }), { numRuns: 500 });
  });

  test('bytesFromBase64 rejects a character outside both alphabets', () => {
    expect(() => bytesFromBase64('AB$C')).toThrow(TypeError);
    expect(() => bytesFromBase64('ABé')).toThrow(TypeError);
  });

  test('the Buffer-less codec copy encodes and decodes base64 like the Node one, and rejects the same text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), base64Text, fc.string({ maxLength: 12 }), (bytes, text, junk) => {
      expect(browser.json.base64Encode(bytes)).toBe(base64Encode(bytes));
      for (const t of [text, junk, `${text}=`, `${text}A`]) {
        const a = base64Decode(t);
        const b = browser.json.base64Decode(t);
        expect(b === undefined ? undefined : Array.from(b)).toEqual(a === undefined ? undefined : Array.from(a));
      }
    }), { numRuns: 300 });
  });

  test('bytesEqual compares contents, not identity or views', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(bytesEqual(a, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    expect(bytesEqual(a.subarray(1, 3), new Uint8Array([2, 3]))).toBe(true);
    expect(bytesEqual(a, new Uint8Array([1, 2, 3, 5]))).toBe(false);
    expect(bytesEqual(a, a.subarray(0, 3))).toBe(false);
  });

  test('bytesEqual on long arrays (compared word by word): aligned, unaligned and mixed views, any differing byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 300 }), fc.nat(3), fc.nat(3), fc.nat(), (bytes, offA, offB, at) => {
        const place = (off: number) => {
          const view = new Uint8Array(new ArrayBuffer(bytes.length + off), off, bytes.length);
          view.set(bytes);
          return view;
        };
        const a = place(offA);
        const b = place(offB);
        expect(bytesEqual(a, b)).toBe(true);
        const i = at % bytes.length;
        b[i] ^= 0x80;
        expect(bytesEqual(a, b)).toBe(false);
      }),
    );
  });
});

describe('emitWarning', () => {
  afterEach(() => jest.restoreAllMocks());

  test('uses process.emitWarning with the code where Node’s process has it', () => {
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    emitWarning('something odd', 'LONGRUNNING_TEST');
    expect(spy).toHaveBeenCalledWith('something odd', { code: 'LONGRUNNING_TEST' });
  });

  test('falls back to console.warn where there is no process.emitWarning (browsers), and never throws', () => {
    const original = process.emitWarning;
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    (process as { emitWarning?: unknown }).emitWarning = undefined;
    try {
      emitWarning('something odd', 'LONGRUNNING_TEST');
      expect(warn).toHaveBeenCalledWith('[LONGRUNNING_TEST] something odd');
      warn.mockImplementation(() => {
        throw new Error('console is broken');
      });
      expect(() => emitWarning('again', 'LONGRUNNING_TEST')).not.toThrow();
    } finally {
      process.emitWarning = original;
    }
  });
});

describe('anySignal', () => {
  const native = AbortSignal.any;
  /** Runs `body` as in a runtime without AbortSignal.any (older browsers). */
  function withoutNative(body: () => void): void {
    (AbortSignal as { any?: unknown }).any = undefined;
    try {
      body();
    } finally {
      AbortSignal.any = native;
    }
  }

  test.each([['with', false], ['without', true]])('%s AbortSignal.any: aborts with the first reason, at once when one input already aborted', (_label, fallback) => {
    const run = (): void => {
      const a = new AbortController();
      const b = new AbortController();
      const combined = anySignal([a.signal, b.signal]);
      expect(combined.aborted).toBe(false);
      b.abort('second');
      a.abort('first');
      expect(combined.aborted).toBe(true);
      expect(combined.reason).toBe('second');
      const early = new AbortController();
      early.abort('early');
      const again = anySignal([new AbortController().signal, early.signal]);
      expect(again.aborted).toBe(true);
      expect(again.reason).toBe('early');
    };
    if (fallback) withoutNative(run);
    else run();
  });

  test('the fallback removes its listeners from every input once it aborts', () => {
    withoutNative(() => {
      const a = new AbortController();
      const b = new AbortController();
      const removed: string[] = [];
      for (const [label, signal] of [['a', a.signal], ['b', b.signal]] as const) {
        const remove = signal.removeEventListener.bind(signal);
        signal.removeEventListener = ((type: string, listener: EventListener) => {
          removed.push(label);
          remove(type, listener);
        }) as typeof signal.removeEventListener;
      }
      const combined = anySignal([a.signal, b.signal]);
      a.abort(new Error('stop'));
      expect(combined.reason).toEqual(new Error('stop'));
      expect(removed.sort()).toEqual(['a', 'b']);
    });
  });
});

describe('the codec without Buffer decodes what the Node codec decodes', () => {
  const Item = nodeRoot.lookupType('test.v1.Item');
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', 'é', '€', '𝄞', '\uFFFD', '\uFEFFbom'));
  const item = fc.record({
    name: text,
    blob: fc.uint8Array({ maxLength: 40 }),
    tags: fc.array(text, { maxLength: 4 }),
    size: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
    labels: fc.dictionary(fc.string({ maxLength: 5 }), text, { maxKeys: 3 }),
    extra: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(text, fc.integer(), fc.boolean()), { maxKeys: 3 }),
  }, { requiredKeys: [] });

  function decodeBoth(value: Uint8Array): [unknown, unknown] {
    const outcome = (f: () => unknown): unknown => {
      try {
        return { ok: f() };
      } catch (err) {
        return { error: (err as Error).name, message: (err as Error).message };
      }
    };
    return [
      outcome(() => nodeRegistry.decode({ typeUrl: ITEM_URL, value: new Uint8Array(value) })),
      outcome(() => browserRegistry.decode({ typeUrl: ITEM_URL, value: new Uint8Array(value) })),
    ];
  }

  test('well-formed messages (strings, bytes, int64, maps, Struct)', () => {
    fc.assert(fc.property(item, (fields) => {
      const object = { ...fields, extra: fields.extra ? { fields: Object.fromEntries(Object.entries(fields.extra).map(([k, v]) => [k, typeof v === 'string' ? { stringValue: v } : typeof v === 'number' ? { numberValue: v } : { boolValue: v }])) } : undefined };
      const bytes = Item.encode(Item.fromObject(object)).finish();
      const [node, web] = decodeBoth(bytes);
      expect(web).toEqual(node);
      expect(node).toHaveProperty('ok');
    }), { numRuns: 300 });
  });

  test('invalid UTF-8 and random bytes: the same result or the same error', () => {
    for (const raw of [[0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f], [0x80, 0x41], [0xef, 0xbf, 0xbd], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const bytes = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(new Uint8Array([0x61, ...raw, 0x62])).finish();
      const [node, web] = decodeBoth(bytes);
      expect(web).toEqual(node);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const [node, web] = decodeBoth(bytes);
      expect(web).toEqual(node);
    }), { numRuns: 500 });
  });

  test('the single-pass decoder itself runs (and agrees) without Buffer', () => {
    const type = browserRoot.lookupType('test.v1.Item');
    const bytes = Item.encode(Item.fromObject({ name: 'héllo 𝄞', blob: new Uint8Array([251, 255, 0]), size: '-9007199254740993' })).finish();
    const out = browser.fast.decodeBinaryFast(type, new Uint8Array(bytes), (url) => browserRoot.lookupType(url.slice(url.lastIndexOf('/') + 1)));
    expect(out).toEqual({ name: 'héllo 𝄞', blob: '+/8A', tags: [], size: '-9007199254740993', labels: {} });
    expect(out).toEqual(nodeRegistry.decode({ typeUrl: ITEM_URL, value: bytes }));
  });
});
