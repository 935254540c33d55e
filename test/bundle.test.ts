/**
 * The browser build, bundled as a web app's bundler would: a file importing
 * LongRunningOperation, restTransport, restProfiles and TypeRegistry from
 * `longrunning` (resolved through package.json `exports`, from a fresh
 * JavaScript build) bundles with `esbuild --bundle --platform=browser`, the
 * `browser` condition picks `index.browser.js`, and nothing in it is a Node
 * built-in, @grpc/grpc-js or google-gax. The same for the `worker`, `workerd`
 * and `edge-light` conditions. Prints the bundle's size.
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const NODE_ONLY_PACKAGES = ['@grpc/grpc-js', 'google-gax'];

const APP = `
import { LongRunningOperation, restTransport, restProfiles, TypeRegistry } from 'longrunning';
const transport = restTransport({ baseUrl: 'http://127.0.0.1:8080', profile: restProfiles.cloudStorage });
export const op = new LongRunningOperation('projects/_/buckets/b/operations/1', { transport, decode: TypeRegistry.default() });
`;

let scratch: string;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'longrunning-bundle-'));
  const pkgDir = path.join(scratch, 'node_modules', 'longrunning');
  fs.mkdirSync(pkgDir, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkgDir, 'package.json'));
  execFileSync(process.execPath, [TSX, path.join(ROOT, 'scripts', 'build.ts'), '--out', path.join(pkgDir, 'dist'), '--no-types', '--quiet'], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  fs.writeFileSync(path.join(scratch, 'app.js'), APP);
}, 120_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function bundle(options: esbuild.BuildOptions): Promise<{ text: string; bytes: Uint8Array; meta: esbuild.Metafile }> {
  const result = await esbuild.build({
    entryPoints: [path.join(scratch, 'app.js')],
    bundle: true,
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: path.join(scratch, 'out.js'),
    absWorkingDir: scratch,
    nodePaths: [path.join(ROOT, 'node_modules')], // the dependencies, as a consumer's node_modules would hold them
    ...options,
  });
  const out = result.outputFiles!.find((f) => f.path.endsWith('.js'))!;
  return { text: out.text, bytes: out.contents, meta: result.metafile! };
}

/**
 * protobufjs loads `fs` optionally, inside try/catch, and maps it to `false`
 * in its `browser` field; a bundler that ignores that field (esbuild's
 * neutral platform) leaves it external. That one is the dependency's own
 * guarded probe, not something the browser entry needs.
 */
const PROTOBUFJS_OPTIONAL_FS = (importer: string, specifier: string) => specifier === 'fs' && /node_modules\/(protobufjs|@protobufjs\/fetch)\//.test(importer);

/** Every reason the bundle is not browser-clean; empty when it is. */
function nodeOnlyParts(meta: esbuild.Metafile, text: string, allowProtobufjsFs = false): string[] {
  const problems: string[] = [];
  for (const [input, info] of Object.entries(meta.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
    if (pkg && NODE_ONLY_PACKAGES.includes(pkg)) problems.push(`${input} is from ${pkg}`);
    // A browser field mapping a built-in to false gives "(disabled):fs", an empty module: fine.
    if (BUILTINS.has(input)) problems.push(`${input} is a Node built-in`);
    for (const imp of info.imports) {
      if (imp.external && !(allowProtobufjsFs && PROTOBUFJS_OPTIONAL_FS(input, imp.path))) problems.push(`${input} leaves ${imp.path} external`);
    }
  }
  for (const match of text.matchAll(/(?:from\s*|require\(\s*|import\(\s*)["']([^"']+)["']/g)) {
    if (BUILTINS.has(match[1]) && !(allowProtobufjsFs && match[1] === 'fs')) problems.push(`the output loads ${match[1]}`);
  }
  if (/["']node:[a-z_/]+["']/.test(text)) problems.push('the output names a node: module');
  return problems;
}

test('esbuild --bundle --platform=browser of an app importing from longrunning: the browser entry, no Node built-ins, grpc-js or google-gax', async () => {
  const { text, bytes, meta } = await bundle({ platform: 'browser' });
  const inputs = Object.keys(meta.inputs);
  expect(inputs).toContain('node_modules/longrunning/dist/esm/index.browser.js');
  expect(inputs).not.toContain('node_modules/longrunning/dist/esm/index.js');
  expect(inputs.some((i) => i.includes('transports/grpc.js'))).toBe(false);
  expect(nodeOnlyParts(meta, text)).toEqual([]);

  const minified = await bundle({ platform: 'browser', minify: true });
  expect(nodeOnlyParts(minified.meta, minified.text)).toEqual([]);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
  console.log(
    `browser bundle of LongRunningOperation + restTransport + restProfiles + TypeRegistry: ${kb(bytes.byteLength)} unminified, ` +
      `${kb(minified.bytes.byteLength)} minified, ${kb(gzipSync(minified.bytes).byteLength)} minified+gzip`,
  );
});

test.each(['worker', 'workerd', 'edge-light'])('the %s condition picks the browser entry too', async (condition) => {
  const { text, meta } = await bundle({ platform: 'neutral', conditions: [condition], mainFields: ['browser', 'module', 'main'] });
  expect(Object.keys(meta.inputs)).toContain('node_modules/longrunning/dist/esm/index.browser.js');
  expect(nodeOnlyParts(meta, text, true)).toEqual([]);
});

test('Node (no browser condition) still gets the Node entry, with grpcTransport from grpc-js', async () => {
  const { meta } = await bundle({ platform: 'node', external: ['@grpc/grpc-js', 'google-gax'] });
  const inputs = Object.keys(meta.inputs);
  expect(inputs).toContain('node_modules/longrunning/dist/esm/index.js');
  expect(inputs).toContain('node_modules/longrunning/dist/esm/transports/grpc.js');
});

test('the browser entry exports exactly the names of the Node entry', () => {
  const node = Object.keys(require('../src/index') as object).sort();
  const browser = Object.keys(require('../src/index.browser') as object).sort();
  expect(browser).toEqual(node);
  expect(node).toEqual(expect.arrayContaining(['grpcTransport', 'gaxTransport', 'fromGaxOperation', 'restTransport', 'UnsupportedRuntimeError']));
});

test('the browser entry’s own code uses no Node globals (Buffer, process)', async () => {
  // Our modules only: dependencies stay external (protobufjs guards its own Buffer and process use).
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'index.browser.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    packages: 'external',
    minifyWhitespace: true, // drops comments, keeps names
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    outfile: 'own.js',
  });
  const text = result.outputFiles[0].text;
  const found = [...text.matchAll(/(?<![.\w$])(Buffer|process)\b(?:\.\w+)?/g)].map((m) => m[0]);
  expect(found).toEqual([]);
});
