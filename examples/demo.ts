/**
 * The demo (`npm start`): the fake Operations server on real loopback gRPC,
 * and four operations watched at once:
 *   1. one that reports progress and succeeds,
 *   2. one that fails with error details,
 *   3. one cancelled half-way,
 *   4. one on a server without WaitOperation (the client falls back to polling).
 * Prints progress and each outcome; exits 0.
 */
import * as protobuf from 'protobufjs';
import {
  Code,
  LongRunningOperation,
  OperationCancelledError,
  OperationFailedError,
  TypeRegistry,
  grpcTransport,
  type AnyMessage,
} from '../src/index.js';
import { FakeOperationsServer } from '../src/testing/index.js';

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

/** Runs the demo; resolves with the outcome line of each operation. */
export async function main(out: (line: string) => void = (l) => process.stdout.write(l + '\n'), speed = 1): Promise<string[]> {
  const step = (ms: number) => sleep(ms / speed);
  const server = new FakeOperationsServer();
  const legacy = new FakeOperationsServer({ waitOperation: false });
  const [grpc, legacyGrpc] = await Promise.all([server.listenGrpc(), legacy.listenGrpc()]);
  const transport = grpcTransport({ address: grpc.address });
  const legacyTransport = grpcTransport({ address: legacyGrpc.address });
  out(`fake Operations server on ${grpc.address} (with WaitOperation) and ${legacyGrpc.address} (without)`);

  const common = { decode: registry, progressIntervalMs: 200 / speed, polling: { initialDelayMs: 100 / speed, maxDelayMs: 400 / speed } };
  const rows: Record<string, string> = {};
  const render = (label: string, text: string) => {
    rows[label] = text;
    out(`  ${label.padEnd(10)} ${text}`);
  };
  const bar = (pct: number) => `[${'#'.repeat(Math.round(pct / 5)).padEnd(20, '.')}] ${String(pct).padStart(3)}%`;

  const watchOne = async (label: string, op: LongRunningOperation<Result, Progress>): Promise<string> => {
    op.on('metadata', (m) => render(label, `${bar(m.progressPercent)} ${m.stage}`));
    try {
      const result = await op.promise({ timeoutMs: 30_000 });
      return `${label}: succeeded → ${result?.uri} (${result?.rows} rows)`;
    } catch (err) {
      if (err instanceof OperationCancelledError) return `${label}: cancelled (code ${err.code})`;
      if (err instanceof OperationFailedError) {
        const reason = err.details.find((d) => d['@type'].endsWith('google.rpc.ErrorInfo'))?.reason;
        return `${label}: failed with ${err.code} "${err.status.message}" (ErrorInfo.reason=${String(reason)})`;
      }
      throw err;
    }
  };

  const names = ['export', 'import', 'reindex', 'legacy'];
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

  const [lines] = await Promise.all([outcomes, script]);
  out('outcomes:');
  for (const line of lines) out(`  ${line}`);
  const legacyCalls = legacy.calls.map((c) => c.method);
  out(`legacy server saw ${legacyCalls.filter((m) => m === 'WaitOperation').length} WaitOperation (UNIMPLEMENTED) then ${legacyCalls.filter((m) => m === 'GetOperation').length} GetOperation polls`);
  transport.close();
  legacyTransport.close();
  await Promise.all([grpc.close(), legacyGrpc.close()]);
  return lines;
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
