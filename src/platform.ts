/**
 * The few things the library needs from its runtime, written so they work in
 * Node, browsers, web workers and edge runtimes alike: Node's `Buffer` and
 * `process.emitWarning` are used when they exist (reached through
 * `globalThis`, so no bundler injects a polyfill), portable code otherwise.
 * Internal: not exported from the package.
 * @module
 */

/** The part of Node's `Buffer` the codec uses. */
export interface NodeBufferLike {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array & {
    toString(encoding: 'base64', start?: number, end?: number): string;
    utf8Slice?(start: number, end: number): string;
  };
  from(text: string, encoding: 'base64'): Uint8Array;
  isBuffer(value: unknown): boolean;
}

/** Node's `Buffer`, or `undefined` in a runtime without it (browsers, workers, most edge runtimes). */
export const nodeBuffer: NodeBufferLike | undefined = (() => {
  const candidate = (globalThis as { Buffer?: NodeBufferLike }).Buffer;
  return typeof candidate?.from === 'function' && typeof candidate.isBuffer === 'function' ? candidate : undefined;
})();

interface ProcessLike {
  emitWarning?(message: string, options: { code: string }): void;
}

/**
 * Reports a warning the program should see but that is no error: through
 * `process.emitWarning(message, { code })` where Node's `process` exists (so
 * `--no-warnings` and `process.on('warning')` apply), else `console.warn`
 * with the code in front. Never throws.
 */
export function emitWarning(message: string, code: string): void {
  try {
    const proc = (globalThis as { process?: ProcessLike }).process;
    if (typeof proc?.emitWarning === 'function') {
      proc.emitWarning(message, { code });
      return;
    }
    if (typeof console !== 'undefined' && typeof console.warn === 'function') console.warn(`[${code}] ${message}`);
  } catch {
    // A warning must never break the caller.
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Char code → 6-bit value, for both the standard and the URL-safe alphabet; 255 = not base64. */
const DECODE_TABLE = (() => {
  const table = new Uint8Array(128).fill(255);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  table['-'.charCodeAt(0)] = 62;
  table['_'.charCodeAt(0)] = 63;
  return table;
})();

/** Standard base64 with padding, in plain JavaScript (the runtime without `Buffer`). */
export function base64FromBytes(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] + ALPHABET[v & 63];
  }
  if (i + 1 === n) {
    const v = bytes[i] << 16;
    out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + '==';
  } else if (i + 2 === n) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] + '=';
  }
  return out;
}

/**
 * Decodes base64 (standard or URL-safe alphabet, padding already removed, a
 * length that is not 1 mod 4) in plain JavaScript; bits past the last whole
 * byte are ignored, as Node's `Buffer` does. Throws on a character outside
 * both alphabets (callers validate first).
 */
export function bytesFromBase64(bare: string): Uint8Array {
  const n = bare.length;
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = bare.charCodeAt(i);
    const v = c < 128 ? DECODE_TABLE[c] : 255;
    if (v === 255) throw new TypeError(`not a base64 character at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.subarray(0, o);
}

/** True when both byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.byteLength;
  if (n !== b.byteLength) return false;
  if (a === b) return true;
  let i = 0;
  if (n >= 64 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    // Four bytes at a time (a 10 KB metadata compared per poll: 8x faster than byte by byte).
    const words = n >>> 2;
    const wa = new Int32Array(a.buffer, a.byteOffset, words);
    const wb = new Int32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false;
    i = words << 2;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A signal that aborts when any of `signals` does, with that signal's reason:
 * `AbortSignal.any` where the runtime has it (Node ≥ 20.3, Chrome 116,
 * Firefox 124, Safari 17.4), else one listener per input signal, removed
 * from all of them once the result aborts.
 */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  const native = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof native === 'function') return native.call(AbortSignal, [...signals]);
  const controller = new AbortController();
  const already = signals.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return controller.signal;
  }
  const listeners: [AbortSignal, () => void][] = [];
  const release = (): void => {
    for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
    listeners.length = 0;
  };
  for (const signal of signals) {
    const listener = (): void => {
      release();
      controller.abort(signal.reason);
    };
    listeners.push([signal, listener]);
    signal.addEventListener('abort', listener, { once: true });
  }
  return controller.signal;
}
