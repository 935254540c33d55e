/**
 * The web demo (`npm run demo:web`): two servers on 127.0.0.1.
 *
 * - The fake Operations server over HTTP/JSON (`listenHttp(standard, { cors: true })`),
 *   on its own port: the page reaches it cross-origin, through CORS.
 * - The page's server: index.html, the page script (examples/web/app.ts,
 *   bundled for the browser with esbuild at start-up, `longrunning` resolved
 *   to the browser build) and `POST /demo/operations`, which creates an
 *   operation and drives it: progress every `stepMs`, then success
 *   (`render`), a failure with error details (`broken`), or 90% until
 *   cancelled (`long`).
 *
 * The page sends nothing anywhere else: its Content-Security-Policy allows
 * only these two origins (and 'unsafe-eval', which protobufjs needs).
 *
 * Usage: `npm run demo:web [-- --port 8080] [-- --step-ms 400]`; open the
 * printed URL; Ctrl-C stops it. test/browser.test.ts runs it in Chromium
 * through `startWebDemo()`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { Code, TypeRegistry, restProfiles, type AnyMessage } from '../../src/index.js';
import { FakeOperationsServer } from '../../src/testing/index.js';
import { demoRoot, type DemoKind } from './schema.js';

const ROOT = path.resolve(__dirname, '..', '..');
const HERE = __dirname;
const KINDS: readonly DemoKind[] = ['render', 'broken', 'long'];

/** Options of {@link startWebDemo}. */
export interface WebDemoOptions {
  /** Port of the page on 127.0.0.1 (0: any free port). Default 8080. */
  port?: number;
  /** Port of the fake Operations server (0: any free port). Default 0. */
  apiPort?: number;
  /** Time between two progress updates of an operation, in ms. Default 400. */
  stepMs?: number;
  /** The page's polling interval, in ms. Default 250. */
  pollMs?: number;
}

/** A running web demo. */
export interface WebDemo {
  /** The page: `http://127.0.0.1:<port>/`. */
  readonly pageUrl: string;
  /** The fake Operations server's base URL (another origin). */
  readonly apiUrl: string;
  /** The fake server itself: its `calls` show what the page asked for. */
  readonly server: FakeOperationsServer;
  /** Size of the page script (the browser build of longrunning and the page), in bytes. */
  readonly scriptBytes: number;
  /** Stops driving operations and closes both servers. */
  close(): Promise<void>;
}

/** Bundles the page script for the browser; `longrunning` is the library's browser entry, from source. */
async function bundlePage(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [path.join(HERE, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16.4'],
    minify: true,
    write: false,
    logLevel: 'silent',
    outfile: 'app.js',
    plugins: [
      {
        name: 'longrunning-browser-entry',
        setup(build) {
          build.onResolve({ filter: /^longrunning$/ }, () => ({ path: path.join(ROOT, 'src', 'index.browser.ts') }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 10_000) req.destroy(new Error('request body too large'));
    });
    req.on('end', () => {
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

/** Starts the demo's two servers on 127.0.0.1. */
export async function startWebDemo(options: WebDemoOptions = {}): Promise<WebDemo> {
  const stepMs = options.stepMs ?? 400;
  const pollMs = options.pollMs ?? 250;
  const registry = TypeRegistry.fromRoot(demoRoot());
  const server = new FakeOperationsServer({ types: registry });
  const api = await server.listenHttp(restProfiles.standard, { cors: true, port: options.apiPort ?? 0 });
  const script = await bundlePage();
  const html = fs.readFileSync(path.join(HERE, 'index.html'), 'utf8');
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;

  const progress = (percent: number, stage: string): AnyMessage => registry.encode('demo.v1.RenderProgress', { percent, stage });
  const later = (fn: () => void): void => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, stepMs);
    timers.add(timer);
  };

  /** Moves an operation along until it ends (or is cancelled, which the fake server records as done). */
  async function drive(kind: DemoKind, name: string, percent: number): Promise<void> {
    if (closed || server.get(name)?.done !== false) return; // peek without recording a GetOperation
    if (kind === 'broken' && percent >= 40) {
      const info = registry.encode('google.rpc.ErrorInfo', { reason: 'CODEC_UNSUPPORTED', domain: 'demo.example.com', metadata: { codec: 'opus-xl' } });
      const badRequest = registry.encode('google.rpc.BadRequest', {
        fieldViolations: [{ field: 'output.codec', description: 'opus-xl is not a known codec' }],
      });
      server.fail(name, { code: Code.FAILED_PRECONDITION, message: 'the requested codec is not supported', details: [info, badRequest] });
      return;
    }
    if (kind === 'render' && percent >= 100) {
      server.complete(name, registry.encode('demo.v1.RenderResult', { uri: `gs://demo-renders/${name.split('/').pop()}.mp4`, sizeBytes: '9007199254740993', frames: 1440 }));
      return;
    }
    const stage = percent < 30 ? 'decoding' : percent < 70 ? 'rendering' : 'encoding';
    server.update(name, { metadata: progress(percent, stage) });
    if (kind === 'long' && percent >= 90) return; // waits there until cancelled
    later(() => void drive(kind, name, percent + 10).catch(() => undefined));
  }

  // protobufjs (reflection, as the library uses it) compiles its codecs with
  // `new Function`: a page needs 'unsafe-eval' for it. Everything else is locked down.
  const csp = [
    "default-src 'none'",
    "script-src 'self' 'unsafe-eval'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    `connect-src 'self' ${api.baseUrl}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

  const page = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      send(200, 'text/html; charset=utf-8', html, { 'content-security-policy': csp });
    } else if (req.method === 'GET' && url.pathname === '/app.js') {
      send(200, 'text/javascript; charset=utf-8', script);
    } else if (req.method === 'GET' && url.pathname === '/config.json') {
      send(200, 'application/json', JSON.stringify({ apiUrl: api.baseUrl, pollMs }));
    } else if (req.method === 'POST' && url.pathname === '/demo/operations') {
      readJsonBody(req).then(
        (body) => {
          const kind = (body as { kind?: unknown }).kind;
          if (typeof kind !== 'string' || !KINDS.includes(kind as DemoKind)) {
            send(400, 'application/json', JSON.stringify({ error: `kind must be one of ${KINDS.join(', ')}` }));
            return;
          }
          const created = server.create({ metadata: progress(0, 'queued') });
          later(() => void drive(kind as DemoKind, created.name, 10).catch(() => undefined));
          send(200, 'application/json', JSON.stringify({ name: created.name }));
        },
        () => send(400, 'application/json', JSON.stringify({ error: 'the body is not JSON' })),
      );
    } else {
      send(404, 'text/plain; charset=utf-8', 'not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    page.once('error', reject);
    page.listen(options.port ?? 8080, '127.0.0.1', () => resolve());
  });
  const { port } = page.address() as AddressInfo;
  return {
    pageUrl: `http://127.0.0.1:${port}/`,
    apiUrl: api.baseUrl,
    server,
    scriptBytes: Buffer.byteLength(script),
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        page.close(() => resolve());
        page.closeAllConnections();
      });
      await server.close();
    },
  };
}

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} needs a non-negative integer`);
  return value;
}

if (require.main === module) {
  startWebDemo({ port: flag('--port'), stepMs: flag('--step-ms') }).then(
    (demo) => {
      console.log(`longrunning web demo: open ${demo.pageUrl}`);
      console.log(`fake Operations server (HTTP/JSON, CORS) at ${demo.apiUrl}; page script ${(demo.scriptBytes / 1024).toFixed(1)} kB minified`);
      console.log('Ctrl-C to stop.');
      const stop = (): void => {
        demo.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
