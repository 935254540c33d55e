/**
 * The web demo (examples/web, `npm run demo:web`) in real headless Chromium
 * (Debian's `chromium`, driven with puppeteer-core): the page runs the
 * browser build of longrunning against the fake Operations server over
 * HTTP/JSON on another 127.0.0.1 origin (CORS). An operation with progress
 * resolves with its decoded response; a failure shows its decoded error
 * details; Stop (an AbortSignal) ends the wait without CancelOperation;
 * Cancel ends in CANCELLED. A screenshot goes to test/artifacts/ (git-ignored).
 *
 * Nothing leaves 127.0.0.1: Chromium gets a dead proxy on 127.0.0.1 for every
 * other host and no name resolution, the page's requests are intercepted and
 * any to another host is refused and reported, and the page's CSP allows
 * only its two origins.
 *
 * Skipped, with a message, only when no Chromium binary exists (.ci/run
 * installs Debian's chromium, so CI runs it). CHROMIUM_PATH overrides the lookup.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startWebDemo, type WebDemo } from '../examples/web/serve.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const ARTIFACTS = path.join(__dirname, 'artifacts');

function findChromium(): string | undefined {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) return fs.existsSync(explicit) ? explicit : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const chromium = findChromium();

if (!chromium) {
  test.skip('SKIPPED: no Chromium binary (apt-get install chromium, or set CHROMIUM_PATH); .ci/run installs it', () => undefined);
} else {
  let demo: WebDemo;
  let browser: Browser;
  let page: Page;
  let profileDir: string;
  const refused: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    demo = await startWebDemo({ port: 0, stepMs: 60, pollMs: 50 });
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrunning-chromium-'));
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      userDataDir: profileDir,
      args: [
        '--no-sandbox', // CI runs as root
        '--disable-gpu',
        '--disable-dev-shm-usage',
        // Every connection goes to 127.0.0.1: other hosts to a dead proxy there, no DNS at all.
        '--proxy-server=http://127.0.0.1:9',
        '--proxy-bypass-list=127.0.0.1',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-domain-reliability',
        '--disable-sync',
        '--no-pings',
        '--no-first-run',
        '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication',
      ],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1000, height: 900 });
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const host = new URL(request.url()).hostname;
      if (request.url().startsWith('data:') || host === '127.0.0.1') void request.continue();
      else {
        refused.push(request.url());
        void request.abort('blockedbyclient');
      }
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  });

  const row = (name: string) => `.op[data-op="${name}"]`;
  const calls = (method: string, name: string) => demo.server.calls.filter((c) => c.method === method && c.name === name).length;

  /** Clicks a start button; resolves with the new operation's name (rows are prepended). */
  async function start(kind: 'render' | 'broken' | 'long'): Promise<string> {
    const before = await page.$$eval('.op', (rows) => rows.length);
    await page.click(`#start-${kind}`);
    await page.waitForFunction((n) => document.querySelectorAll('.op').length > n, {}, before);
    return page.$eval('.op', (el) => (el as HTMLElement).dataset.op!);
  }

  async function waitState(name: string, state: string): Promise<void> {
    await page.waitForSelector(`${row(name)}[data-state="${state}"]`, { timeout: 20_000 });
  }

  async function waitPercent(name: string, atLeast: number): Promise<void> {
    await page.waitForFunction((sel, p) => Number((document.querySelector(sel) as HTMLElement | null)?.dataset.percent) >= p, { timeout: 20_000 }, row(name), atLeast);
  }

  const outcome = (name: string) => page.$eval(`${row(name)} .outcome`, (el) => el.textContent ?? '');
  const data = (name: string, key: string) => page.$eval(row(name), (el, k) => (el as HTMLElement).dataset[k] ?? '', key);

  test('the demo page, in Chromium: progress and a decoded result, decoded error details, Stop without CancelOperation, Cancel to CANCELLED', async () => {
    expect(new URL(demo.pageUrl).origin).not.toBe(new URL(demo.apiUrl).origin); // the API is cross-origin: CORS is in play
    await page.goto(demo.pageUrl, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready]', { timeout: 15_000 }).catch(() => undefined);
    // On failure, show what the page said rather than a bare timeout.
    const ready = await page.$eval('body', (b) => ({ state: b.dataset.ready ?? 'never', said: b.dataset.ready === 'error' ? b.querySelector('pre')?.textContent : undefined }));
    expect({ ready, pageErrors }).toEqual({ ready: { state: 'true' }, pageErrors: [] });
    // The Node-only transport is there by name and says why it cannot run.
    const nodeOnly = await page.$eval('#node-only', (el) => el.textContent ?? '');
    expect(nodeOnly).toContain('UnsupportedRuntimeError');
    expect(nodeOnly).toContain('grpcTransport needs Node.js');

    const render = await start('render');
    const broken = await start('broken');
    const stopped = await start('long');
    const cancelled = await start('long');

    // Stop: the local wait ends; the server is not asked to cancel, and the operation goes on there.
    await waitPercent(stopped, 20);
    await page.click(`${row(stopped)} button.stop`);
    await waitState(stopped, 'stopped');
    expect(await outcome(stopped)).toContain('AbortError');

    // Cancel: CancelOperation, then the wait goes on until the server reports CANCELLED.
    await waitPercent(cancelled, 20);
    await page.click(`${row(cancelled)} button.cancel`);
    await waitState(cancelled, 'cancelled');
    expect(await outcome(cancelled)).toContain('CANCELLED (code 1)');
    expect(calls('CancelOperation', cancelled)).toBe(1);

    await waitState(render, 'succeeded');
    const result = JSON.parse((await outcome(render)).replace(/^done → /, '')) as Record<string, unknown>;
    expect(result).toEqual({ uri: `gs://demo-renders/${render.split('/').pop()}.mp4`, sizeBytes: '9007199254740993', frames: 1440 });
    expect(Number(await data(render, 'progressEvents'))).toBeGreaterThanOrEqual(2);

    await waitState(broken, 'failed');
    const failure = await outcome(broken);
    expect(failure).toContain('FAILED_PRECONDITION (code 9) "the requested codec is not supported"');
    const details = JSON.parse(failure.slice(failure.indexOf('details: ') + 'details: '.length)) as unknown[];
    expect(details).toEqual([
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'CODEC_UNSUPPORTED', domain: 'demo.example.com', metadata: { codec: 'opus-xl' } },
      // decoded as the codec decodes everywhere: scalar fields with their defaults
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'output.codec', description: 'opus-xl is not a known codec', reason: '' }] },
    ]);

    // The stopped operation: still running on the server, never cancelled, and no longer polled
    // while another operation runs from start to finish.
    const polledAfterStop = calls('GetOperation', stopped);
    const another = await start('render');
    await waitState(another, 'succeeded');
    expect(calls('GetOperation', stopped)).toBe(polledAfterStop);
    expect(calls('CancelOperation', stopped)).toBe(0);
    expect((await demo.server.transport.getOperation(stopped)).done).toBe(false);
    expect(demo.server.calls.filter((c) => c.method === 'CancelOperation').map((c) => c.name)).toEqual([cancelled]);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'web-demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.readFileSync(shot).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    expect(refused).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 45_000);
}
