/**
 * CPU profile of scenario 4's per-poll path (ours): 10 KB metadata that
 * changes every poll, through grpc deserializer → poll() → TypeRegistry.
 * Run: node --cpu-prof --cpu-prof-dir=bench/results --import tsx bench/profile/decode.ts [ours|registry|protobufjs]
 * then summarize with: node --import tsx bench/profile/summarize.ts bench/results/<file>.cpuprofile
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import { encodeOperation } from '../../src/transports/grpc.js';
import type { OperationsTransport } from '../../src/types.js';
import { oursRegistry } from '../clients.js';
import { PROGRESS_TYPE, largeProgress, now, videoRoot } from '../common.js';
import { lib, libSource } from '../library.js';

const N = Number(process.env.N ?? 20_000);
const what = process.argv[2] ?? 'ours';

async function main(): Promise<void> {
  const frames = [50, 51].map((p) => Buffer.from(encodeOperation({ name: 'operations/p', done: false, metadata: largeProgress(10 * 1024, p) })));
  const metas = [50, 51].map((p) => largeProgress(10 * 1024, p));
  let i = 0;
  let step: () => Promise<unknown> | unknown;
  if (what === 'ours') {
    const deserialize = lib.operationsServiceDefinition.GetOperation.responseDeserialize;
    const transport: OperationsTransport = {
      getOperation: async () => lib.operationFromMessage(deserialize(frames[process.env.SAME ? 0 : i++ & 1])),
      cancelOperation: async () => undefined,
      deleteOperation: async () => undefined,
      listOperations: async () => ({ operations: [], nextPageToken: '' }),
    };
    const op = new lib.LongRunningOperation('operations/p', { transport, decode: oursRegistry() });
    step = () => op.poll();
  } else if (what === 'registry') {
    const registry = oursRegistry();
    step = () => registry.decode(metas[i++ & 1]);
  } else {
    const type = videoRoot().lookupType(PROGRESS_TYPE);
    step = () => type.toObject(type.decode(metas[i++ & 1].value!), { longs: String, enums: String });
  }
  for (let k = 0; k < 1000; k++) await step();
  const t = now();
  for (let k = 0; k < N; k++) await step();
  const ms = now() - t;
  console.log(`${libSource}: ${what}: ${(N / (ms / 1000)).toFixed(0)} /s`);
}
void main();
