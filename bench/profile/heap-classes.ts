/**
 * Heap composition of pending operations: takes a heap snapshot before and
 * after creating N waiting operations and prints the object kinds that grew,
 * by retained count and self size (per operation).
 * Run: node --expose-gc --import tsx bench/profile/heap-classes.ts [library|grpc|polled]
 * (polled: a loopback gRPC server answers each operation's first poll, then all sleep)
 * (LONGRUNNING_BENCH_LIB=<bundle from bench/run.ts> to measure the built library; RETAINERS='' to skip retainers)
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import * as grpc from '@grpc/grpc-js';
import { readFileSync, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import type { OperationsTransport } from '../../src/types.js';
import { oursRegistry } from '../clients.js';
import { smallProgress } from '../common.js';
import { lib, libSource } from '../library.js';

const { LongRunningOperation, grpcTransport, operationsServiceDefinition } = lib;

const N = Number(process.env.N ?? 2_000);
const mode = process.argv[2] ?? 'library';
const gc = (globalThis as { gc?: () => void }).gc!;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** For nodes of the `watch` kinds: which kinds hold them (by edge name), counted. */
const retainers = new Map<string, Map<string, number>>();
const WATCH = new Set((process.env.RETAINERS ?? 'array:(object properties),closure:,object:Object,object:Promise,object:system / Context,array:').split(','));

function census(): Map<string, { count: number; size: number }> {
  gc();
  gc();
  const file = writeHeapSnapshot(path.join(os.tmpdir(), `lr-heap-${process.pid}-${Date.now()}.heapsnapshot`));
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  if (process.env.KEEP_SNAPSHOT) console.log("snapshot", file); else unlinkSync(file);
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  const keyOf = (i: number): string => {
    const type = types[snap.nodes[i + iType]];
    let name = snap.strings[snap.nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    if (type === 'code' || type === 'hidden') name = `(${type})`;
    return `${type}:${name.slice(0, 60)}`;
  };
  retainers.clear();
  const eFields = snap.snapshot.meta.edge_fields;
  const eTypes = snap.snapshot.meta.edge_types[0];
  const eWidth = eFields.length;
  const iEdgeCount = fields.indexOf('edge_count');
  let e = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const from = keyOf(i);
    const count = snap.nodes[i + iEdgeCount];
    for (let k = 0; k < count; k++, e += eWidth) {
      const etype = eTypes[snap.edges[e]];
      if (etype === 'weak') continue;
      const to = snap.edges[e + 2];
      const toKey = keyOf(to);
      if (!WATCH.has(toKey)) continue;
      const nameOrIndex = snap.edges[e + 1];
      const edgeName = etype === 'element' || etype === 'hidden' ? `[${etype}]` : String(snap.strings[nameOrIndex]);
      const m = retainers.get(toKey) ?? new Map<string, number>();
      const rk = `${from} .${edgeName}`;
      m.set(rk, (m.get(rk) ?? 0) + 1);
      retainers.set(toKey, m);
    }
  }
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    let name = snap.strings[snap.nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    if (type === 'code' || type === 'hidden') name = `(${type})`;
    const key = `${type}:${name.slice(0, 60)}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += snap.nodes[i + iSize];
    out.set(key, e);
  }
  return out;
}

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

async function main(): Promise<void> {
  const md = smallProgress(0);
  const registry = oursRegistry();
  let transport: OperationsTransport = hangingTransport();
  let server: grpc.Server | undefined;
  if (mode === 'grpc' || mode === 'polled') {
    server = new grpc.Server();
    const hang = () => undefined;
    // 'polled': every GetOperation answers at once, not done, with newer metadata; no WaitOperation.
    const polled = smallProgress(1);
    const answer = (call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { name: call.request.name, done: false, metadata: { typeUrl: polled.typeUrl, value: Buffer.from(polled.value!) } });
    const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'no' } as grpc.ServiceError);
    server.addService(
      operationsServiceDefinition,
      mode === 'polled'
        ? { GetOperation: answer, WaitOperation: unimplemented, CancelOperation: hang, DeleteOperation: hang, ListOperations: hang }
        : { GetOperation: hang, WaitOperation: hang, CancelOperation: hang, DeleteOperation: hang, ListOperations: hang },
    );
    const port = await new Promise<number>((res, rej) => server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const t = grpcTransport({ address: `127.0.0.1:${port}` });
    await t.getOperation('warm', { timeoutMs: 200 }).catch(() => undefined);
    transport = t;
  }
  // one op first, so lazily built shared state is in the baseline
  new LongRunningOperation({ name: 'operations/warm', done: false }, { transport, decode: registry }).promise().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 100));
  const before = census();
  const ops: unknown[] = [];
  // One options object for all, as an OperationsClient (or the bench's client) shares it.
  // 'polled': one poll soon after the start, the next one long after the census.
  const options =
    mode === 'polled' ? { transport, decode: registry, polling: { initialDelayMs: 100, multiplier: 1000, maxDelayMs: 600_000 } } : { transport, decode: registry };
  for (let i = 0; i < N; i++) {
    const op = new LongRunningOperation({ name: `operations/${i}`, done: false, metadata: { typeUrl: md.typeUrl, value: new Uint8Array(md.value!) } }, options);
    op.promise().catch(() => undefined);
    ops.push(op);
  }
  await new Promise((r) => setTimeout(r, mode === 'polled' ? Number(process.env.SETTLE_MS ?? 4000) : 500));
  const after = census();
  const rows: { key: string; count: number; size: number }[] = [];
  let total = 0;
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, size: 0 };
    const dc = a.count - b.count;
    const ds = a.size - b.size;
    total += ds;
    if (ds > 0) rows.push({ key, count: dc, size: ds });
  }
  rows.sort((x, y) => y.size - x.size);
  console.log(`${libSource}, mode ${mode}: ${N} pending operations, heap-snapshot self size grew ${(total / N).toFixed(0)} B/op`);
  console.log('objects/op  bytes/op  kind');
  for (const r of rows.slice(0, 40)) console.log(`${(r.count / N).toFixed(2).padStart(10)}  ${(r.size / N).toFixed(0).padStart(8)}  ${r.key}`);
  if (process.env.RETAINERS !== '') {
    for (const [kind, m] of retainers) {
      const top = [...m].sort((a, b) => b[1] - a[1]).slice(0, 12);
      console.log(`\nretainers of ${kind} (edges, whole heap):`);
      for (const [k, c] of top) console.log(`${String(c).padStart(8)}  ${k}`);
    }
  }
  server?.forceShutdown();
  process.exit(0);
}
void main();
