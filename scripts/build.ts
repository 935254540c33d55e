/**
 * Builds the publishable package into `dist/` (or `--out DIR`):
 *
 *   dist/esm/   ES modules ("type": "module") + .d.ts         ← `import 'longrunning'`
 *   dist/cjs/   CommonJS ("type": "commonjs") + .d.ts         ← `require('longrunning')`, the `lro` CLI
 *
 * - Declarations come from `tsc -p tsconfig.build.json` (which also type-checks
 *   the sources); the same .d.ts files go into both trees, where the nested
 *   package.json makes TypeScript read them as ESM or CommonJS respectively.
 * - JavaScript is transpiled file by file with esbuild (relative imports keep
 *   their `.js` paths, so both trees have the source layout).
 * - The CommonJS tree bundles the ESM-only p-retry and is-network-error into
 *   the one module that imports them (`watch/retry.js`): a CommonJS consumer,
 *   including Jest with its default configuration, never has to load ESM.
 *   Every other dependency stays an ordinary `require()`.
 * - protobufjs is CommonJS, and Node's ESM loader exposes its API only as the
 *   default export: the sources default-import it, and the build fails if a
 *   namespace import of it reaches the ESM tree.
 * - The browser entry (`index.browser.js` in both trees; package.json
 *   conditions `browser`, `worker`, `workerd`, `edge-light`) is bundled once
 *   here for the browser, from each tree: the build fails if that bundle
 *   reaches a `node:` module (or any Node built-in), @grpc/grpc-js or
 *   google-gax, and prints its minified and gzipped size.
 *
 * Usage: `tsx scripts/build.ts [--out DIR] [--no-types] [--quiet]` (`npm run build`).
 * `--no-types` skips the declarations (and tsc's type-check): JavaScript only,
 * for quick checks such as test/bundle.test.ts; never for publishing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
/** ESM-only dependencies inlined into the CommonJS build. */
const BUNDLED_INTO_CJS = ['p-retry', 'is-network-error'];
/** Only the CommonJS tree carries the CLI (`bin`). */
const CLI_DIR = path.join(SRC, 'cli');
const TARGET = 'node20';
/** The browser entry, in both trees. */
const BROWSER_ENTRY = 'index.browser.js';
/** Packages the browser entry must never reach. */
const NODE_ONLY_PACKAGES = ['@grpc/grpc-js', 'google-gax'];
/** Browsers the browser bundle check targets (what esbuild may assume of the syntax). */
const BROWSER_TARGET = ['chrome110', 'firefox115', 'safari16.4'];

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

function copyTree(from: string, to: string, filter: (file: string) => boolean): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, filter);
    else if (filter(src)) {
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

function isBundled(specifier: string): boolean {
  return BUNDLED_INTO_CJS.some((name) => specifier === name || specifier.startsWith(`${name}/`));
}

/** esbuild plugin: bundle only the ESM-only dependencies; every other import stays as written. */
const onlyBundleEsmOnlyDeps: esbuild.Plugin = {
  name: 'only-bundle-esm-only-deps',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const fromDependency = args.importer.includes(`${path.sep}node_modules${path.sep}`);
      if (fromDependency || isBundled(args.path)) return undefined; // esbuild resolves and inlines it
      return { path: args.path, external: true };
    });
  },
};

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const out = path.resolve(ROOT, argValue('--out') ?? 'dist');
  if (out === ROOT || out === SRC || ROOT.startsWith(out + path.sep)) throw new Error(`refusing to build into ${out}`);
  fs.rmSync(out, { recursive: true, force: true });
  const sources = listSources(SRC);
  const librarySources = sources.filter((file) => !file.startsWith(CLI_DIR + path.sep));
  const common: esbuild.BuildOptions = {
    outbase: SRC,
    platform: 'node',
    target: TARGET,
    tsconfig: path.join(ROOT, 'tsconfig.build.json'),
    logLevel: 'warning',
    charset: 'utf8',
    legalComments: 'inline',
  };

  // 1. Declarations (and a full type-check of src/).
  const withTypes = !process.argv.includes('--no-types');
  const typesDir = path.join(out, 'types');
  const tsc = createRequire(__filename).resolve('typescript/bin/tsc');
  if (withTypes) execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', typesDir], { cwd: ROOT, stdio: 'inherit' });
  else fs.mkdirSync(typesDir, { recursive: true });
  const isLibraryDeclaration = (file: string) => file.endsWith('.d.ts') && !file.startsWith(path.join(typesDir, 'cli') + path.sep);

  // 2. ES modules.
  const esmDir = path.join(out, 'esm');
  await esbuild.build({ ...common, entryPoints: librarySources, outdir: esmDir, format: 'esm', bundle: false });
  writeJson(path.join(esmDir, 'package.json'), { type: 'module' });
  copyTree(typesDir, esmDir, isLibraryDeclaration);
  for (const file of listJs(esmDir)) {
    if (/\bimport \* as \w+ from "protobufjs"/.test(fs.readFileSync(file, 'utf8'))) throw new Error(`${file}: namespace import of protobufjs left in the ESM build`);
  }

  // 3. CommonJS, with the ESM-only dependencies inlined.
  const cjsDir = path.join(out, 'cjs');
  const result = await esbuild.build({
    ...common,
    entryPoints: sources,
    outdir: cjsDir,
    format: 'cjs',
    bundle: true,
    metafile: true,
    plugins: [onlyBundleEsmOnlyDeps],
  });
  writeJson(path.join(cjsDir, 'package.json'), { type: 'commonjs' });
  copyTree(typesDir, cjsDir, isLibraryDeclaration);
  fs.rmSync(typesDir, { recursive: true, force: true });

  // Check what got inlined: exactly the ESM-only dependencies, nothing else.
  const inlined = new Set<string>();
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (!match) continue;
      if (!isBundled(match[1])) throw new Error(`${match[1]} was bundled into ${file}; only ${BUNDLED_INTO_CJS.join(', ')} may be`);
      inlined.add(match[1]);
    }
  }
  for (const name of BUNDLED_INTO_CJS) {
    if (!inlined.has(name)) throw new Error(`expected ${name} to be bundled into the CommonJS build`);
  }
  for (const file of listJs(cjsDir)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const name of BUNDLED_INTO_CJS) {
      if (text.includes(`require("${name}")`)) throw new Error(`${file} still requires ${name}`);
    }
  }

  // Licences of the inlined code travel with it.
  const notices = BUNDLED_INTO_CJS.map((name) => {
    const dir = path.join(ROOT, 'node_modules', name);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string; license: string };
    const licenseFile = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    const text = licenseFile ? fs.readFileSync(path.join(dir, licenseFile), 'utf8').trim() : `${pkg.license}`;
    return `${name}@${pkg.version} (${pkg.license}), bundled into cjs/watch/retry.js\n\n${text}\n`;
  });
  fs.writeFileSync(path.join(out, 'THIRD_PARTY_LICENSES.txt'), notices.join('\n' + '-'.repeat(72) + '\n\n'));

  fs.chmodSync(path.join(cjsDir, 'cli', 'main.js'), 0o755);

  // 4. The browser entry, bundled for the browser from each tree.
  const esmBrowser = await checkBrowserBundle(path.join(esmDir, BROWSER_ENTRY), 'esm');
  await checkBrowserBundle(path.join(cjsDir, BROWSER_ENTRY), 'cjs');
  if (!process.argv.includes('--quiet')) {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    console.log(
      `built ${path.relative(ROOT, out) || out} (esm + cjs${withTypes ? ' + types' : ', no types'}, ${[...inlined].join(' + ')} inlined in cjs) in ${Date.now() - started} ms; ` +
        `browser bundle ${kb(esmBrowser.minified)} minified, ${kb(esmBrowser.gzipped)} gzipped`,
    );
  }
}

/** Where a bundle input comes from: a package name, a Node built-in, or undefined for the package's own files. */
function inputOrigin(input: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

/**
 * Bundles `entry` for the browser (esbuild `--platform=browser`, minified, in
 * memory) and fails when it reaches a Node built-in, @grpc/grpc-js or
 * google-gax. esbuild itself refuses an unresolvable built-in (`net`, `fs` …)
 * on this platform; a `browser` field that maps one to `false` (protobufjs's
 * optional `fs`) yields an empty module, which is fine. Returns the sizes.
 */
async function checkBrowserBundle(entry: string, tree: string): Promise<{ minified: number; gzipped: number }> {
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: BROWSER_TARGET,
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: 'browser-check.js',
      nodePaths: [path.join(ROOT, 'node_modules')], // --out may be outside the repository
    });
  } catch (err) {
    throw new Error(`${tree}/${BROWSER_ENTRY} does not bundle for the browser (a Node built-in reached?): ${err instanceof Error ? err.message : String(err)}`);
  }
  const problems: string[] = [];
  for (const [input, info] of Object.entries(result.metafile.inputs)) {
    const origin = inputOrigin(input);
    if (origin && NODE_ONLY_PACKAGES.includes(origin)) problems.push(`${input} (${origin})`);
    for (const imp of info.imports) {
      if (imp.path.startsWith('node:') || (imp.external && !imp.path.startsWith('.'))) problems.push(`${input} imports ${imp.path}`);
    }
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))!.contents;
  const text = new TextDecoder().decode(code);
  if (/\bfrom\s*["']node:|\brequire\(\s*["']node:|\bimport\(\s*["']node:/.test(text)) problems.push('the output loads a node: module');
  if (problems.length > 0) throw new Error(`${tree}/${BROWSER_ENTRY}: the browser bundle reaches Node-only code:\n  ${problems.join('\n  ')}`);
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength };
}

function listJs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listJs(full));
    else if (entry.name.endsWith('.js')) out.push(full);
  }
  return out;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
