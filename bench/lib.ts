/**
 * The part of the library the benchmark's clients use. bench/run.ts bundles
 * this entry with esbuild (as scripts/build.ts builds the package: plain
 * transpiled JavaScript, ESM-only dependencies inlined) and the client
 * processes load that bundle, so ours is measured as users run it, not
 * through tsx (whose `keepNames` wraps every closure in `__name()`, which
 * gives each one its own property store: about 3 KB per pending operation).
 * @module
 */
export { LongRunningOperation, TypeRegistry, fromGaxOperation, grpcTransport } from '../src/index.js';
export { operationFromMessage, operationsServiceDefinition } from '../src/transports/grpc.js';
