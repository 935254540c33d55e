/**
 * Example: wait for an operation over gRPC (@grpc/grpc-js).
 *
 * A real service would hand you the Operation from its own RPC; here the fake
 * server on loopback gRPC plays the service. Run: `npx tsx examples/grpc.ts`.
 */
import protobuf from 'protobufjs';
import { LongRunningOperation, TypeRegistry, grpcTransport } from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';

const root = protobuf.parse(`
syntax = "proto3";
package example.v1;
message BuildProgress { int32 percent_complete = 1; }
message BuildResult { string image = 1; int64 size_bytes = 2; }
`).root;
const registry = TypeRegistry.fromRoot(root);

/** Runs the example; resolves with the build result. */
export async function main(log: (line: string) => void = console.log): Promise<{ image: string; sizeBytes: string }> {
  const server = new FakeOperationsServer();
  const { address, close } = await server.listenGrpc();
  const transport = grpcTransport({ address });
  try {
    // The service answered a slow call with this Operation.
    const created = server.create({ metadata: registry.encode('example.v1.BuildProgress', { percentComplete: 0 }) });

    const op = new LongRunningOperation<{ image: string; sizeBytes: string }, { percentComplete: number }>(created, {
      transport,
      decode: registry,
      progressIntervalMs: 100,
    });
    op.on('metadata', (m) => log(`progress: ${m.percentComplete}%`));

    // Meanwhile, the service makes progress and finishes.
    const work = (async () => {
      for (const pct of [30, 60, 90]) {
        await new Promise((r) => setTimeout(r, 150));
        server.update(created.name, { metadata: registry.encode('example.v1.BuildProgress', { percentComplete: pct }) });
      }
      server.complete(created.name, registry.encode('example.v1.BuildResult', { image: 'registry.example.com/app:1.2.3', sizeBytes: '73400320' }));
    })();

    const result = await op.promise({ timeoutMs: 30_000 });
    await work;
    log(`built ${result.image} (${result.sizeBytes} bytes)`);
    return result;
  } finally {
    transport.close();
    await close();
  }
}

if (process.argv[1]?.endsWith('grpc.ts')) {
  main().then(() => process.exit(0), (err) => (console.error(err), process.exit(1)));
}
