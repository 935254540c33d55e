/**
 * Where the heap of a pending operation goes: the library's own objects
 * (a transport whose WaitOperation never answers) versus a grpc-js call in
 * flight (raw makeUnaryRequest against a server that never answers).
 * Run: node --expose-gc --import tsx bench/profile/heap-split.ts
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import * as grpc from '@grpc/grpc-js';
import { LongRunningOperation } from '../../src/operation.js';
import { grpcTransport, operationsServiceDefinition } from '../../src/transports/grpc.js';
import type { OperationsTransport } from '../../src/types.js';
import { smallProgress, videoRegistry } from '../common.js';

const N = Number(process.env.N ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc!;
const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

function hangingTransport(): OperationsTransport {
  const never = (signal?: AbortSignal) => new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
  return {
    getOperation: (_n, o) => never(o?.signal),
    waitOperation: (_n, _t, o) => never(o?.signal),
    cancelOperation: async () => undefined,
    deleteOperation: async () => undefined,
    listOperations: async () => ({ operations: [], nextPageToken: '' }),
  };
}

async function hangingServer(): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  const hang = () => undefined; // never calls back
  server.addService(operationsServiceDefinition, { GetOperation: hang, WaitOperation: hang, CancelOperation: hang, DeleteOperation: hang, ListOperations: hang });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, close: () => server.forceShutdown() };
}

async function main(): Promise<void> {
  const md = smallProgress(0);
  const registry = videoRegistry();
  const res = (i: number) => ({ name: `operations/${i}`, done: false, metadata: { typeUrl: md.typeUrl, value: new Uint8Array(md.value!) } });

  // 1. library only
  {
    const transport = hangingTransport();
    const base = heap();
    const ops: unknown[] = [];
    for (let i = 0; i < N; i++) { const op = new LongRunningOperation(res(i), { transport, decode: registry }); op.promise().catch(() => undefined); ops.push(op); }
    await tick();
    console.log(`library only (hanging in-process transport): ${((heap() - base) / N).toFixed(0)} B/op`);
    ops.length = 0;
  }
  // 2. library objects without waiting (constructed, no promise())
  {
    const transport = hangingTransport();
    const base = heap();
    const ops: unknown[] = [];
    for (let i = 0; i < N; i++) ops.push(new LongRunningOperation(res(i), { transport, decode: registry }));
    await tick();
    console.log(`constructed, not waited: ${((heap() - base) / N).toFixed(0)} B/op`);
  }
  const server = await hangingServer();
  // 3. raw grpc-js calls in flight
  {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    await new Promise<void>((r) => client.waitForReady(Date.now() + 5000, () => r()));
    const def = operationsServiceDefinition.WaitOperation;
    const base = heap();
    const calls: grpc.ClientUnaryCall[] = [];
    for (let i = 0; i < N; i++) calls.push(client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { name: `operations/${i}`, timeout: { seconds: 60 } }, new grpc.Metadata(), { deadline: Date.now() + 66_000 }, () => undefined));
    await tick(500);
    console.log(`raw grpc-js unary call in flight: ${((heap() - base) / N).toFixed(0)} B/call`);
    for (const c of calls) c.cancel();
    client.close();
  }
  // 4. ours over grpcTransport
  {
    const transport = grpcTransport({ address: `127.0.0.1:${server.port}` });
    await transport.getOperation('warm', { timeoutMs: 200 }).catch(() => undefined);
    const base = heap();
    const ops: unknown[] = [];
    for (let i = 0; i < N; i++) { const op = new LongRunningOperation(res(i), { transport, decode: registry }); op.promise().catch(() => undefined); ops.push(op); }
    await tick(500);
    console.log(`ours over grpcTransport: ${((heap() - base) / N).toFixed(0)} B/op`);
    transport.close();
  }
  server.close();
  process.exit(0);
}
void main();
