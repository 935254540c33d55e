/**
 * Loads an optional package once, without a static import (so neither the
 * CommonJS nor the ES module build, nor a browser bundle, depends on it):
 * synchronously through a `require` of Node.js where this is a CommonJS
 * module (the CommonJS build, the CLI, Jest); in the ES module build on
 * Node.js, as the application resolves it from its working directory, else
 * by a dynamic `import()` started on the first request, whose result later
 * requests see. In a browser, nothing is loaded.
 * @module
 */

interface Slot {
  value?: unknown;
}

const slots = new Map<string, Slot>();

type Require = (id: string) => unknown;

/**
 * A `require` resolving from this file, in the CommonJS build on Node.js
 * (through `process.getBuiltinModule`, so no bundler sees a `require`);
 * undefined in the ES module build and in browsers.
 */
function commonJsRequire(): Require | undefined {
  return typeof __filename === 'string' ? nodeRequireFrom(__filename) : undefined;
}

/** Node's `require` resolving from `from` (through `process.getBuiltinModule`), or undefined outside Node.js. */
function nodeRequireFrom(from: string): Require | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  const nodeModule = proc.getBuiltinModule('module') as { createRequire?: (from: string) => Require } | undefined;
  return nodeModule?.createRequire?.(from);
}

/**
 * The ES module build on Node.js: the package as the application would
 * resolve it from its working directory, synchronously; undefined when it is
 * not found there.
 */
function fromWorkingDirectory(name: string): unknown {
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  try {
    return nodeRequireFrom(`${proc!.cwd!()}/`)?.(name);
  } catch {
    return undefined;
  }
}

let localRequire: Require | null | undefined;

/**
 * The package `name`, or undefined when it is not installed, cannot load, or
 * (ES module build) is still loading.
 */
export function loadOptional<T>(name: string): T | undefined {
  let slot = slots.get(name);
  if (slot) return slot.value as T | undefined;
  slot = {};
  slots.set(name, slot);
  if (localRequire === undefined) localRequire = commonJsRequire() ?? null;
  if (localRequire) {
    try {
      slot.value = localRequire(name);
    } catch {
      // not installed: stays undefined
    }
    return slot.value as T | undefined;
  }
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return undefined; // a browser: optional packages are not looked for
  slot.value = fromWorkingDirectory(name);
  if (slot.value !== undefined) return slot.value as T;
  const filled = slot;
  const specifier = name; // not a literal: bundlers leave it alone
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier).then(
    (module: { default?: unknown }) => {
      // Both packages loaded this way are CommonJS: Node's ESM loader puts their API on `default`.
      filled.value = module.default ?? module;
    },
    () => undefined,
  );
  return undefined;
}
