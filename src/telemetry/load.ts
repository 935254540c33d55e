/**
 * Loads an optional package once, without a static import (so neither the
 * CommonJS nor the ES module build, nor a browser bundle, depends on it):
 * synchronously through `require` where the module system has one (the
 * CommonJS build, the CLI, Jest), else (the ES module build on Node.js) by a
 * dynamic `import()` started on the first request, whose result later
 * requests see. In a browser, nothing is loaded.
 * @module
 */

interface Slot {
  value?: unknown;
}

const slots = new Map<string, Slot>();

/** The CommonJS `require` of this module, when there is one. */
const localRequire: ((id: string) => unknown) | undefined = typeof require === 'function' ? require : undefined;

/**
 * The package `name`, or undefined when it is not installed, cannot load, or
 * (ES module build) is still loading.
 */
export function loadOptional<T>(name: string): T | undefined {
  let slot = slots.get(name);
  if (slot) return slot.value as T | undefined;
  slot = {};
  slots.set(name, slot);
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
