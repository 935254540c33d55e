/**
 * The library under test as the client processes load it: the esbuild bundle
 * of bench/lib.ts that bench/run.ts built (path in LONGRUNNING_BENCH_LIB), or
 * the TypeScript sources through tsx when run without it.
 * @module
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Lib from './lib.js';

const built = process.env.LONGRUNNING_BENCH_LIB;

/** The library's exports the bench uses. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lib: typeof Lib = built ? (require(built) as typeof Lib) : (require('./lib.js') as typeof Lib);

/** How the library was loaded, for the report. */
export const libSource: string = built ? `esbuild bundle ${path.basename(built)}` : 'TypeScript sources through tsx';

/** Bundles bench/lib.ts into `outFile` (CommonJS, node20, dependencies external except the ESM-only ones). */
export async function buildLibrary(outFile: string): Promise<void> {
  const esbuild = await import('esbuild');
  const root = path.resolve(__dirname, '..');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  const inlined = new Set(['p-retry', 'is-network-error']);
  const external = [...new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})])]
    .filter((name) => !inlined.has(name))
    .flatMap((name) => [name, `${name}/*`]);
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'lib.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external,
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
