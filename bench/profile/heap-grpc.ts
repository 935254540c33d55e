/**
 * Heap per pending operation over real loopback gRPC, the server in a child
 * process: a bare grpc-js WaitOperation call in flight (the floor of any
 * client that holds a WaitOperation open), ours (the library bundle in
 * LONGRUNNING_BENCH_LIB, or src through tsx), and google-gax's Operation.
 * Run: node --expose-gc --import tsx bench/profile/heap-grpc.ts [raw|ours|gax] (N=2000 by default)
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import { fork } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { serveGrpc } from '../../src/testing/grpc-server.js';
import { makeClient } from '../clients.js';
import { smallProgress } from '../common.js';
import { lib, libSource } from '../library.js';

const N = Number(process.env.N ?? 2_000);

async function server(): Promise<void> {
  const fake = new FakeOperationsServer();
  for (let i = 0; i < N; i++) fake.create({ name: `operations/${i}`, metadata: smallProgress(0) });
  const s = await serveGrpc(fake.service);
  process.on('disconnect', () => process.exit(0)); // never outlive the measuring process
  process.send!({ port: s.port });
}

async function client(mode: string, port: number): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const md = smallProgress(0);
  let base: number;
  if (mode === 'raw') {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const def = lib.operationsServiceDefinition.WaitOperation;
    await new Promise<void>((r) => c.waitForReady(Date.now() + 5000, () => r()));
    base = heap();
    for (let i = 0; i < N; i++) {
      c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { name: `operations/${i}`, timeout: { seconds: 60 } }, new grpc.Metadata(), { deadline: Date.now() + 66_000 }, () => undefined);
    }
  } else {
    const variant = mode === 'gax' ? 'gax' : 'ours';
    const bench = makeClient(variant, port);
    await bench.warmUp('operations/0');
    base = heap();
    for (let i = 0; i < N; i++) bench.watch(`operations/${i}`, md).catch(() => undefined);
  }
  await sleep(3_000);
  const per = (heap() - base) / N;
  return `${mode}${mode === 'ours' ? ` (${libSource})` : ''}: ${N} pending, ${per.toFixed(0)} B/op (heapUsed after GC, 3 s in)`;
}

if (process.argv[2] === 'server') void server();
else {
  const mode = process.argv[2] ?? 'raw';
  const child = fork(__filename, ['server'], { execArgv: ['--import', 'tsx'], env: process.env });
  child.once('message', (m: { port: number }) =>
    void client(mode, m.port).then(
      (line) => {
        console.log(line);
        child.kill();
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        child.kill();
        process.exit(1);
      },
    ),
  );
}
