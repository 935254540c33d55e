/**
 * Example: a Cloud Storage JSON API long-running operation over REST.
 *
 * Cloud Storage names its operations `projects/_/buckets/{bucket}/operations/{id}`
 * and serves them at `/storage/v1/b/{bucket}/operations/{id}`;
 * `restProfiles.cloudStorage` knows that layout. Here the fake server speaks
 * it on loopback HTTP. Against the real API you would pass
 * `baseUrl: 'https://storage.googleapis.com'` and auth headers, e.g.
 * `headers: () => auth.getRequestHeaders()` from google-auth-library.
 * Run: `npx tsx examples/rest-cloud-storage.ts`.
 */
import { LongRunningOperation, OperationsClient, TypeRegistry, restProfiles, restTransport } from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';

/** Runs the example; resolves with what it printed. */
export async function main(log: (line: string) => void = console.log): Promise<string[]> {
  const lines: string[] = [];
  const say = (l: string) => (lines.push(l), log(l));
  const server = new FakeOperationsServer();
  const { baseUrl, close } = await server.listenHttp(restProfiles.cloudStorage);
  try {
    const transport = restTransport({
      baseUrl,
      profile: restProfiles.cloudStorage,
      headers: async () => ({ authorization: 'Bearer example-token' }),
    });
    const registry = TypeRegistry.default();

    // A bulk restore started earlier; its operation name came back from the API.
    const name = 'projects/_/buckets/media-archive/operations/restore-2024-01';
    server.create({ name, metadata: registry.encode('google.protobuf.Struct', { value: { objectsRestored: 0 } }) });
    setTimeout(() => server.update(name, { metadata: registry.encode('google.protobuf.Struct', { value: { objectsRestored: 500 } }) }), 100);
    setTimeout(() => server.complete(name, registry.encode('google.protobuf.Struct', { value: { objectsRestored: 1000, status: 'OK' } })), 250);

    const op = new LongRunningOperation<Record<string, unknown>, Record<string, unknown>>(name, {
      transport,
      polling: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    op.on('metadata', (m) => say(`restored so far: ${String(m.objectsRestored)}`));
    const result = await op.promise({ timeoutMs: 30_000 });
    say(`done: ${JSON.stringify(result)}`);

    // List the bucket's operations (GET /storage/v1/b/media-archive/operations).
    const client = new OperationsClient({ transport });
    for await (const listed of client.list({ name: 'projects/_/buckets/media-archive' })) say(`listed ${listed.name} done=${listed.done}`);
    return lines;
  } finally {
    await close();
  }
}

if (process.argv[1]?.endsWith('rest-cloud-storage.ts')) {
  main().then(() => process.exit(0), (err) => (console.error(err), process.exit(1)));
}
