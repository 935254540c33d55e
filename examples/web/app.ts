/**
 * The web demo's page script, bundled for the browser by examples/web/serve.ts
 * (esbuild, `--platform=browser`): `longrunning` here is the package's browser
 * build. Starts operations on the demo server, then watches each one over
 * REST/JSON (CORS, another origin) with a live progress bar, its decoded
 * outcome, a Cancel button (server-side CancelOperation) and a Stop button
 * (AbortSignal: stops local waiting only).
 *
 * Each row carries its state in `data-state` (running, succeeded, failed,
 * cancelled, stopped) and `data-percent`, for people and for
 * test/browser.test.ts alike.
 */
import {
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  TypeRegistry,
  UnsupportedRuntimeError,
  codeName,
  grpcTransport,
  restProfiles,
  restTransport,
} from 'longrunning';
import { demoRoot, type DemoKind, type RenderProgress, type RenderResult } from './schema.js';

const TITLES: Record<DemoKind, string> = { render: 'Render video', broken: 'Transcode audio', long: 'Long job' };

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as { apiUrl: string; pollMs: number };
  document.getElementById('api-url')!.textContent = config.apiUrl;
  const registry = TypeRegistry.fromRoot(demoRoot());
  const transport = restTransport({ baseUrl: config.apiUrl, profile: restProfiles.standard });
  // The fake server has WaitOperation (POST …:wait): while a progress bar listens, each wait is
  // capped at progressIntervalMs so progress keeps flowing; without it, polling at this pace.
  const options = {
    transport,
    decode: registry,
    progressIntervalMs: config.pollMs * 4,
    polling: { initialDelayMs: config.pollMs, maxDelayMs: config.pollMs * 2 },
  };

  // The Node-only transports are there by name, and say why they cannot run here.
  try {
    grpcTransport({ address: '127.0.0.1:1' });
  } catch (err) {
    const text = err instanceof UnsupportedRuntimeError ? `${err.name}: ${err.message}` : `unexpected: ${String(err)}`;
    document.getElementById('node-only')!.textContent = `grpcTransport in this build → ${text}`;
  }

  async function start(kind: DemoKind): Promise<void> {
    const answer = await fetch('/demo/operations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind }) });
    if (!answer.ok) throw new Error(`the demo server refused: HTTP ${answer.status}`);
    const { name } = (await answer.json()) as { name: string };
    watch(kind, name);
  }

  function watch(kind: DemoKind, name: string): void {
    const row = element('div', 'op');
    row.dataset.op = name;
    row.dataset.kind = kind;
    row.dataset.state = 'running';
    row.dataset.percent = '0';
    row.dataset.progressEvents = '0';
    const head = element('div', '');
    head.append(element('div', 'title', TITLES[kind]), element('div', 'name', name));
    const buttons = element('div', 'buttons');
    const cancel = element('button', 'cancel', 'Cancel');
    const stop = element('button', 'stop', 'Stop');
    buttons.append(cancel, ' ', stop);
    const bar = element('div', 'bar');
    const fill = element('div', '');
    bar.append(fill);
    const stage = element('div', 'stage', 'queued');
    const outcome = element('pre', 'outcome');
    row.append(head, buttons, bar, stage, outcome);
    document.getElementById('ops')!.prepend(row);

    const op = new LongRunningOperation<RenderResult, RenderProgress>(name, options);
    const local = new AbortController();
    op.on('metadata', (progress) => {
      const percent = Math.max(0, Math.min(100, progress.percent ?? 0));
      fill.style.width = `${percent}%`;
      stage.textContent = `${percent}% · ${progress.stage ?? ''}`;
      row.dataset.percent = String(percent);
      row.dataset.progressEvents = String(Number(row.dataset.progressEvents) + 1);
    });
    const settle = (state: string, text: string): void => {
      row.dataset.state = state;
      outcome.textContent = text;
      cancel.disabled = true;
      stop.disabled = true;
    };
    cancel.addEventListener('click', () => {
      cancel.disabled = true;
      stage.textContent += ' · cancelling…';
      op.cancel().catch((err: unknown) => {
        outcome.textContent = `CancelOperation failed: ${err instanceof Error ? err.message : String(err)}`;
      });
    });
    stop.addEventListener('click', () => local.abort());

    op.promise({ signal: local.signal }).then(
      (result) => {
        fill.style.width = '100%';
        stage.textContent = '100% · done';
        settle('succeeded', `done → ${JSON.stringify(result, null, 2)}`);
      },
      (err: unknown) => {
        if (err instanceof OperationCancelledError) {
          settle('cancelled', `cancelled on the server: ${codeName(err.code)} (code ${err.code}) "${err.status.message}"`);
        } else if (err instanceof OperationFailedError) {
          settle('failed', `failed: ${codeName(err.code)} (code ${err.code}) "${err.status.message}"\ndetails: ${JSON.stringify(err.details, null, 2)}`);
        } else if (local.signal.aborted) {
          settle('stopped', `stopped waiting (${err instanceof Error ? err.name : String(err)}); the operation still runs on the server`);
        } else {
          settle('error', `error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
      },
    );
  }

  for (const button of document.querySelectorAll<HTMLButtonElement>('.controls button')) {
    button.addEventListener('click', () => {
      start(button.dataset.kind as DemoKind).catch((err: unknown) => {
        document.getElementById('node-only')!.textContent = `could not start: ${err instanceof Error ? err.message : String(err)}`;
      });
    });
  }
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => {
  document.body.dataset.ready = 'error';
  document.body.prepend(element('pre', 'outcome', `the demo failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
});
