/**
 * longrunning, browser build: what package.json's `browser`, `worker`,
 * `workerd` and `edge-light` conditions of `longrunning` load. The same
 * public names as the Node entry (`index.ts`); `grpcTransport`,
 * `gaxTransport` and `fromGaxOperation` are stand-ins that throw
 * {@link UnsupportedRuntimeError} (they need Node.js). Nothing reachable from
 * here imports a `node:` module, @grpc/grpc-js or google-gax; the build
 * (scripts/build.ts) checks that, and test/bundle.test.ts and
 * test/browser.test.ts prove it in esbuild and in Chromium.
 *
 * @example
 * ```ts
 * import { LongRunningOperation, restTransport, restProfiles } from 'longrunning';
 * const transport = restTransport({ baseUrl: 'https://storage.googleapis.com', profile: restProfiles.cloudStorage, headers: { authorization } });
 * const op = new LongRunningOperation('projects/_/buckets/b/operations/42', { transport });
 * console.log(await op.promise());
 * ```
 * @module longrunning
 */
export * from './exports.js';
// Need Node.js: stand-ins that throw UnsupportedRuntimeError.
export { fromGaxOperation, gaxTransport, grpcTransport } from './transports/node-only.js';
