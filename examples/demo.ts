/**
 * The demo (`npm start`): the fake Operations server on real loopback gRPC,
 * and four operations watched at once:
 *   1. one that reports progress and succeeds,
 *   2. one that fails with error details,
 *   3. one cancelled half-way,
 *   4. one on a server without WaitOperation (the client falls back to polling).
 * On a terminal it draws one live progress bar per operation (cli-progress);
 * otherwise (a pipe, a log, the test suite) it prints plain lines. Then each
 * outcome; exits 0.
 */
import { MultiBar, type Options as BarOptions, type Params as BarParams, Format } from 'cli-progress';
import protobuf from 'protobufjs';
import {
  Code,
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  TypeRegistry,
  grpcTransport,
  type AnyMessage,
} from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';

const root = protobuf.parse(`
syntax = "proto3";
package demo.v1;
message ExportProgress { int32 progress_percent = 1; string stage = 2; }
message ExportResult { string uri = 1; int64 rows = 2; }
`).root;
const registry = TypeRegistry.fromRoot(root);

type Progress = { progressPercent: number; stage: string };
type Result = { uri: string; rows: string };

const progress = (percent: number, stage: string): AnyMessage => registry.encode('demo.v1.ExportProgress', { progressPercent: percent, stage });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the demo draws: live bars on a terminal stream, or plain lines through `out`. */
export interface DemoDisplay {
  /** Draw live progress bars on this stream (a TTY). Default: process.stdout when it is a TTY and `out` is the default. */
  bars?: NodeJS.WritableStream | false;
}

const defaultOut = (l: string) => void process.stdout.write(l + '\n');

/**
 * Runs the demo; resolves with the outcome line of each operation. `speed`
 * divides every delay (the test suite runs it at 4×).
 */
export async function main(out: (line: string) => void = defaultOut, speed = 1, display: DemoDisplay = {}): Promise<string[]> {
  const step = (ms: number) => sleep(ms / speed);
  const server = new FakeOperationsServer();
  const legacy = new FakeOperationsServer({ waitOperation: false });
  const [grpc, legacyGrpc] = await Promise.all([server.listenGrpc(), legacy.listenGrpc()]);
  const transport = grpcTransport({ address: grpc.address });
  const legacyTransport = grpcTransport({ address: legacyGrpc.address });
  out(`fake Operations server on ${grpc.address} (with WaitOperation) and ${legacyGrpc.address} (without)`);

  const common = { decode: registry, progressIntervalMs: 200 / speed, polling: { initialDelayMs: 100 / speed, maxDelayMs: 400 / speed } };
  const names = ['export', 'import', 'reindex', 'legacy'];
  const barStream = display.bars ?? (out === defaultOut && process.stdout.isTTY ? process.stdout : false);
  const bars = barStream ? liveBars(barStream, names) : undefined;
  const bar = (pct: number) => `[${'#'.repeat(Math.round(pct / 5)).padEnd(20, '.')}] ${String(pct).padStart(3)}%`;
  /** One operation's state changed: move its bar, or print a line. */
  const render = (label: string, text: string, pct?: number) => {
    if (bars) bars.update(label, text, pct);
    else out(`  ${label.padEnd(10)} ${pct === undefined ? text : `${bar(pct)} ${text}`}`);
  };

  const watchOne = async (label: string, op: LongRunningOperation<Result, Progress>): Promise<string> => {
    op.on('metadata', (m) => render(label, m.stage, m.progressPercent));
    try {
      const result = await op.promise({ timeoutMs: 30_000 });
      render(label, `✔ succeeded → ${result?.uri}`);
      return `${label}: succeeded → ${result?.uri} (${result?.rows} rows)`;
    } catch (err) {
      if (err instanceof OperationCancelledError) {
        render(label, '⊘ cancelled');
        return `${label}: cancelled (code ${err.code})`;
      }
      if (err instanceof OperationFailedError) {
        const reason = err.details.find((d) => d['@type'].endsWith('google.rpc.ErrorInfo'))?.reason;
        render(label, `✖ failed: ${String(reason)}`);
        return `${label}: failed with ${err.code} "${err.status.message}" (ErrorInfo.reason=${String(reason)})`;
      }
      throw err;
    }
  };

  const ops = names.map((label) => {
    const srv = label === 'legacy' ? legacy : server;
    const created = srv.create({ metadata: progress(0, 'queued') });
    return new LongRunningOperation<Result, Progress>(created, { ...common, transport: label === 'legacy' ? legacyTransport : transport });
  });
  const outcomes = Promise.all(names.map((label, i) => watchOne(label, ops[i])));

  // The "server side": advance each operation on its own schedule.
  const script = (async () => {
    for (let pct = 10; pct <= 100; pct += 10) {
      await step(120);
      server.update(ops[0].name, { metadata: progress(pct, pct < 100 ? 'exporting' : 'finishing') });
      if (pct <= 40) server.update(ops[1].name, { metadata: progress(pct, 'importing') });
      if (pct <= 50) server.update(ops[2].name, { metadata: progress(pct, 'reindexing') });
      legacy.update(ops[3].name, { metadata: progress(pct, 'copying') });
      if (pct === 50) {
        render('reindex', 'cancel() requested at 50%');
        await ops[2].cancel();
      }
      if (pct === 40) {
        const info = registry.encode('google.rpc.ErrorInfo', { reason: 'SCHEMA_MISMATCH', domain: 'demo.example.com', metadata: { column: 'price' } });
        server.fail(ops[1].name, { code: Code.FAILED_PRECONDITION, message: 'column "price" has the wrong type', details: [info] });
      }
    }
    server.complete(ops[0].name, registry.encode('demo.v1.ExportResult', { uri: 'gs://demo/export.csv', rows: '1234567' }));
    legacy.complete(ops[3].name, registry.encode('demo.v1.ExportResult', { uri: 'gs://demo/legacy.csv', rows: '42' }));
  })();

  const [lines] = await Promise.all([outcomes, script]).finally(() => bars?.stop());
  out('outcomes:');
  for (const line of lines) out(`  ${line}`);
  const legacyCalls = legacy.calls.map((c) => c.method);
  out(`legacy server saw ${legacyCalls.filter((m) => m === 'WaitOperation').length} WaitOperation (UNIMPLEMENTED) then ${legacyCalls.filter((m) => m === 'GetOperation').length} GetOperation polls`);
  transport.close();
  legacyTransport.close();
  await Promise.all([grpc.close(), legacyGrpc.close()]);
  return lines;
}

/** One cli-progress bar per operation, redrawn in place. */
function liveBars(stream: NodeJS.WritableStream, labels: string[]) {
  const width = Math.max(...labels.map((l) => l.length));
  const format = (options: BarOptions, params: BarParams, payload: { label: string; text: string }) =>
    `  ${payload.label.padEnd(width)} ${Format.BarFormat(params.progress, options)} ${String(Math.round(params.progress * 100)).padStart(3)}% ${payload.text}`;
  const multi = new MultiBar({ stream, format, hideCursor: true, clearOnComplete: false, barsize: 30, fps: 15, barCompleteChar: '█', barIncompleteChar: '░' } as BarOptions);
  const rows = new Map(labels.map((label) => [label, multi.create(100, 0, { label, text: 'queued' })]));
  return {
    update(label: string, text: string, pct?: number) {
      const row = rows.get(label);
      if (!row) return;
      if (pct === undefined) row.update({ text });
      else row.update(pct, { text });
    },
    stop: () => multi.stop(),
  };
}

if (process.argv[1]?.endsWith('demo.ts') || process.argv[1]?.endsWith('demo.js')) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
