/**
 * 10,000 operations resolved by Pub/Sub notifications vs by polling, in one
 * run: the same operations, completed at the same moment on a loopback
 * FakeOperationsServer (real gRPC transport); once watched by polling
 * (GetOperation, the default schedule), once by the real @google-cloud/pubsub
 * client pulling the completed Operations (JSON) from the loopback fake
 * Subscriber service (test/support/pubsub-server.ts). Prints the Operations
 * RPCs, the Pub/Sub RPCs, and the latency from completion to `promise()`.
 * Run: npx tsx bench/profile/pubsub.ts (N=10000 by default; WAIT_MS before completing, default 3000)
 */
process.env.METADATA_SERVER_DETECTION = 'none';
import { PubSub } from '@google-cloud/pubsub';
import { OperationsClient, grpcTransport, pubsubNotifications } from '../../src/index.js';
import { TypeRegistry } from '../../src/codec/registry.js';
import { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { operationToJson } from '../../src/transports/rest/json.js';
import { startPubSubServer } from '../../test/support/pubsub-server.js';

const N = Number(process.env.N ?? 10_000);
const WAIT_MS = Number(process.env.WAIT_MS ?? 3_000);
const SUBSCRIPTION = 'projects/test-project/subscriptions/operations';
const registry = TypeRegistry.default();
const response = registry.encode('google.protobuf.Struct', {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function run(mode: 'polling' | 'pubsub'): Promise<string> {
  const operations = new FakeOperationsServer();
  const listener = await operations.listenGrpc();
  const transport = grpcTransport({ address: listener.address });
  const client = new OperationsClient({ transport, decode: registry, waitOperation: 'never' });
  const pubsubServer = mode === 'pubsub' ? await startPubSubServer() : undefined;
  const pubsub = pubsubServer ? new PubSub(pubsubServer.clientOptions()) : undefined;
  const subscription = pubsub?.subscription(SUBSCRIPTION, { streamingOptions: { maxStreams: 1 }, flowControl: { maxMessages: N } });
  const notifications = subscription ? pubsubNotifications(client, subscription) : undefined;

  const created = Array.from({ length: N }, () => operations.create());
  const latencies: number[] = [];
  let completedAt = 0;
  const all = Promise.all(
    created.map((resource) =>
      client
        .wrap(resource)
        .promise()
        .then(() => latencies.push(performance.now() - completedAt)),
    ),
  );
  await sleep(WAIT_MS);
  const callsBefore = operations.calls.length;
  completedAt = performance.now();
  for (const { name } of created) {
    operations.complete(name, response);
    pubsubServer?.publish(SUBSCRIPTION, JSON.stringify(operationToJson({ name, done: true, response }, registry)));
  }
  await all;
  const rpcs = operations.calls.length;
  latencies.sort((a, b) => a - b);
  const pubsubRpcs = pubsubServer ? pubsubServer.calls.length : 0;
  await notifications?.close();
  await subscription?.close();
  await pubsub?.close();
  await pubsubServer?.close();
  transport.close();
  await listener.close();
  return (
    `${mode.padEnd(7)} N=${N}: Operations RPCs ${rpcs} (${callsBefore} before completion), Pub/Sub RPCs ${pubsubRpcs}; ` +
    `latency after completion p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies[latencies.length - 1]!.toFixed(0)} ms`
  );
}

async function main(): Promise<void> {
  console.log(await run('polling'));
  console.log(await run('pubsub'));
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
