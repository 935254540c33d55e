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
 *
 * Usage: `tsx scripts/build.ts [--out DIR]` (`npm run build`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
/** ESM-only dependencies inlined into the CommonJS build. */
const BUNDLED_INTO_CJS = ['p-retry', 'is-network-error'];
/** Only the CommonJS tree carries the CLI (`bin`). */
const CLI_DIR = path.join(SRC, 'cli');
const TARGET = 'node20';

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
  const typesDir = path.join(out, 'types');
  const tsc = createRequire(__filename).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', typesDir], { cwd: ROOT, stdio: 'inherit' });
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
  if (!process.argv.includes('--quiet')) {
    console.log(`built ${path.relative(ROOT, out) || out} (esm + cjs + types, ${[...inlined].join(' + ')} inlined in cjs) in ${Date.now() - started} ms`);
  }
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
