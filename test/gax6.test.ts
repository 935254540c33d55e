/**
 * google-gax 6 integration, real loopback sockets only: the real generated
 * `ImageAnnotatorClient` of `@google-cloud/vision` 6, on its own google-gax 6
 * (nested under node_modules/@google-cloud/vision; the root google-gax is 5),
 * over gRPC and in REST fallback mode, adopted with fromGaxOperation and
 * driven with gaxTransport(client.operationsClient).
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { ImageAnnotatorClient, protos } from '@google-cloud/vision';
import { TypeRegistry, LongRunningOperation, OperationFailedError, fromGaxOperation, gaxTransport } from '../src/index.js';
import { Code } from '../src/types.js';
import { fakeAuth, type FakeAuth } from './support/gapic-server.js';
import {
  FILES_RESPONSE_TYPE,
  METADATA_TYPE,
  filesResponseJson,
  metadataJson,
  startVisionHttpServer,
  startVisionServer,
  visionRegistry,
  type VisionHttpServer,
  type VisionServer,
} from './support/vision-server.js';

// @google-cloud/vision 6 and google-gax 6 declare `engines: { node: '>=22' }`
// (their google-auth-library 11 / gaxios 7 rely on Node 22 APIs); CI runs this
// file on Node 24 and skips it on Node 20, where google-gax 5 is tested.
const describeGax6 = Number(process.versions.node.split('.')[0]) >= 22 ? describe : describe.skip;

const FAST = { polling: { initialDelayMs: 10, maxDelayMs: 40 } };
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const OUTPUT_URI = 'gs://bucket/ocr/';
const FILES_REQUEST: protos.google.cloud.vision.v1.IAsyncBatchAnnotateFilesRequest = {
  requests: [
    {
      inputConfig: { gcsSource: { uri: 'gs://cloud-samples-data/vision/pdf_tiff/census2010.pdf' }, mimeType: 'application/pdf' },
      features: [{ type: 'DOCUMENT_TEXT_DETECTION' }],
      outputConfig: { gcsDestination: { uri: OUTPUT_URI }, batchSize: 2 },
    },
  ],
};

interface VisionMetadata {
  state: string;
  createTime: string;
  updateTime: string;
}
interface FilesResponse {
  responses: { outputConfig: { gcsDestination: { uri: string }; batchSize: number } }[];
}

/** The plain proto3 JSON form longrunning gives for a Vision payload. */
const plain = (type: string, json: Record<string, unknown>): unknown => visionRegistry.decode(visionRegistry.encode(type, json));
const expectedResponse = plain(FILES_RESPONSE_TYPE, filesResponseJson([OUTPUT_URI])) as FilesResponse;

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

describeGax6('google-gax 6: fromGaxOperation with the generated ImageAnnotatorClient over gRPC', () => {
  let server: VisionServer;
  let client: ImageAnnotatorClient;
  let auth: FakeAuth;

  async function start(options: { waitOperation?: boolean } = {}): Promise<void> {
    server = await startVisionServer(options);
    auth = fakeAuth();
    client = new ImageAnnotatorClient(server.clientOptions(auth));
  }

  afterEach(async () => {
    await client?.close();
    await server?.close();
  });

  it('runs on google-gax 6, not the root google-gax 5', () => {
    const nested = require(require.resolve('google-gax', { paths: [require.resolve('@google-cloud/vision')] })) as { version: string };
    const root = require('google-gax') as { version: string };
    expect(nested.version).toMatch(/^6\./);
    expect(root.version).toMatch(/^5\./);
  });

  it('resolves with the decoded AsyncBatchAnnotateFilesResponse and reports OperationMetadata progress', async () => {
    await start();
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    expect(operation.name).toBe('projects/test-project/locations/eu/operations/1');

    const op = fromGaxOperation<FilesResponse, VisionMetadata>(operation, FAST);
    expect(op.metadata).toEqual(plain(METADATA_TYPE, metadataJson('CREATED', 0)));
    const seen: VisionMetadata[] = [];
    op.on('metadata', (metadata) => seen.push(metadata));
    const response = await op.promise({ timeoutMs: 20_000 });

    expect(seen).toEqual([
      { state: 'RUNNING', createTime: '2024-05-01T12:00:00Z', updateTime: '2024-05-01T12:00:10Z' },
      { state: 'RUNNING', createTime: '2024-05-01T12:00:00Z', updateTime: '2024-05-01T12:00:20Z' },
      { state: 'DONE', createTime: '2024-05-01T12:00:00Z', updateTime: '2024-05-01T12:05:00Z' },
    ]);
    expect(response).toEqual(expectedResponse);
    expect(response.responses[0]).toEqual({ outputConfig: { gcsDestination: { uri: OUTPUT_URI }, batchSize: 2 } });
    expect(Object.getPrototypeOf(response)).toBe(Object.prototype);
    // WaitOperation through gax 6's gRPC stub (the server answers at once), never a poll.
    const methods = server.calls.map((c) => c.method);
    expect(methods[0]).toBe('AsyncBatchAnnotateFiles');
    expect(methods.slice(1).length).toBeGreaterThan(0);
    expect(methods.slice(1).every((m) => m === 'WaitOperation')).toBe(true);
    const waits = server.calls.filter((c) => c.method === 'WaitOperation');
    expect(waits.every((c) => c.deadlineMs! > c.timeoutMs!)).toBe(true);
    // The WaitOperation carries the headers gax 6 sends with its own calls.
    expect(waits.every((c) => /\bgax\/6\./.test(c.apiClient ?? ''))).toBe(true);
    // Nothing looked for credentials.
    expect(auth.calls.filter((c) => c !== 'getUniverseDomain')).toEqual([]);
  });

  it("works side by side with gax 6's own operation.promise()", async () => {
    await start();
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const op = fromGaxOperation<FilesResponse, VisionMetadata>(operation, FAST);
    const [ours, [gaxResponse, gaxMetadata]] = await Promise.all([op.promise({ timeoutMs: 20_000 }), operation.promise()]);
    expect(ours).toEqual(expectedResponse);
    expect(gaxResponse.responses?.[0]?.outputConfig?.gcsDestination?.uri).toBe(OUTPUT_URI);
    expect(gaxMetadata.state).toBe(protos.google.cloud.vision.v1.OperationMetadata.State.DONE);
  });

  it('a failed operation rejects with OperationFailedError and decoded details', async () => {
    await start();
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    server.fake.fail(operation.name!, {
      code: Code.PERMISSION_DENIED,
      message: 'cannot write to the output bucket',
      details: [TypeRegistry.default().encode('google.rpc.ErrorInfo', { reason: 'BUCKET_ACCESS', domain: 'vision.googleapis.com' })],
    });
    const err = (await rejection(fromGaxOperation(operation, FAST).promise())) as OperationFailedError;
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toContain('cannot write to the output bucket');
    expect(err.details).toEqual([{ '@type': ERROR_INFO, reason: 'BUCKET_ACCESS', domain: 'vision.googleapis.com', metadata: {} }]);
  });

  it('gaxTransport(client.operationsClient) waits with WaitOperation', async () => {
    await start();
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const transport = gaxTransport(client.operationsClient);
    expect(typeof transport.waitOperation).toBe('function');
    const op = new LongRunningOperation<FilesResponse, VisionMetadata>(operation.name!, { transport, decode: visionRegistry, ...FAST });
    const states: string[] = [];
    op.on('metadata', (metadata) => states.push(metadata.state));
    await expect(op.promise({ timeoutMs: 20_000 })).resolves.toEqual(expectedResponse);
    expect(states.at(-1)).toBe('DONE');
    // Built from a name with a metadata listener: one GetOperation for the current state, then WaitOperation.
    expect(server.calls.map((c) => c.method)).toEqual(['AsyncBatchAnnotateFiles', 'GetOperation', 'WaitOperation', 'WaitOperation']);
    // The operations client's other methods work on gax 6 too.
    expect(await transport.getOperation(operation.name!)).toMatchObject({ name: operation.name, done: true });
    const page = await transport.listOperations({ name: 'projects/test-project/locations/eu' });
    expect(page.operations.map((o) => o.name)).toEqual([operation.name]);
  });

  it('falls back to polling after exactly one WaitOperation probe when the server answers UNIMPLEMENTED', async () => {
    await start({ waitOperation: false });
    const transport = gaxTransport(client.operationsClient);
    const [first] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const firstOp = new LongRunningOperation<FilesResponse, VisionMetadata>(first.name!, { transport, decode: visionRegistry, ...FAST });
    await expect(firstOp.promise({ timeoutMs: 20_000 })).resolves.toEqual(expectedResponse);
    // A second operation on the same transport goes straight to polling.
    const [second] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const secondOp = new LongRunningOperation<FilesResponse>(second.name!, { transport, decode: visionRegistry, ...FAST });
    await expect(secondOp.promise({ timeoutMs: 20_000 })).resolves.toEqual(expectedResponse);

    expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
    expect(server.calls.filter((c) => c.method === 'GetOperation').length).toBeGreaterThanOrEqual(6);
    expect(server.calls.map((c) => c.method).filter((m) => m !== 'GetOperation')).toEqual([
      'AsyncBatchAnnotateFiles',
      'WaitOperation',
      'AsyncBatchAnnotateFiles',
    ]);
  });

  it('fromGaxOperation shares one transport per client: one probe, then polling', async () => {
    await start({ waitOperation: false });
    const [first] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    await expect(fromGaxOperation<FilesResponse>(first, FAST).promise()).resolves.toEqual(expectedResponse);
    const [second] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    await expect(fromGaxOperation<FilesResponse>(second, FAST).promise()).resolves.toEqual(expectedResponse);
    expect(server.calls.filter((c) => c.method === 'WaitOperation')).toHaveLength(1);
  });

  it('cancel() goes through the client’s gax 6 OperationsClient', async () => {
    await start();
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const op = fromGaxOperation(operation, FAST);
    await op.cancel();
    await expect(op.promise()).rejects.toMatchObject({ name: 'OperationCancelledError', code: Code.CANCELLED });
    expect(server.calls.map((c) => c.method)).toContain('CancelOperation');
  });
});

describeGax6('google-gax 6: the generated ImageAnnotatorClient in REST fallback mode', () => {
  let server: VisionHttpServer;
  let client: ImageAnnotatorClient;
  let auth: FakeAuth;

  beforeEach(async () => {
    server = await startVisionHttpServer();
    auth = fakeAuth();
    client = new ImageAnnotatorClient(server.clientOptions(auth));
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('resolves the operation over HTTP/JSON by polling with Vision’s own HTTP rules, no WaitOperation', async () => {
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    expect(operation.name).toBe('projects/test-project/locations/eu/operations/1');
    const op = fromGaxOperation<FilesResponse, VisionMetadata>(operation, FAST);
    expect(op.metadata).toEqual(plain(METADATA_TYPE, metadataJson('CREATED', 0)));
    const states: string[] = [];
    op.on('metadata', (metadata) => states.push(`${metadata.state}@${metadata.updateTime}`));
    await expect(op.promise({ timeoutMs: 20_000 })).resolves.toEqual(expectedResponse);
    expect(states).toEqual(['RUNNING@2024-05-01T12:00:10Z', 'RUNNING@2024-05-01T12:00:20Z', 'DONE@2024-05-01T12:05:00Z']);

    // Vision's binding `GET /v1/{name=projects/*/locations/*/operations/*}`, as the client gave its fallback.
    expect(server.requests[0]).toEqual({ method: 'POST', path: '/v1/files:asyncBatchAnnotate' });
    expect(server.requests.slice(1).every((r) => r.method === 'GET' && r.path === `/v1/${operation.name}`)).toBe(true);
    expect(server.fake.calls.map((c) => c.method)).toEqual(['GetOperation', 'GetOperation', 'GetOperation']);
    expect(auth.calls).toContain('fetch');
  });

  it('gaxTransport(client.operationsClient) over the fallback polls and rejects WaitOperation without a request', async () => {
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    const transport = gaxTransport(client.operationsClient);
    const before = server.requests.length;
    await expect(transport.waitOperation!(operation.name!, 1_000)).rejects.toMatchObject({ name: 'RpcError', code: Code.UNIMPLEMENTED });
    expect(server.requests.length).toBe(before);

    const op = new LongRunningOperation<FilesResponse>(operation.name!, { transport, decode: visionRegistry, ...FAST });
    await expect(op.promise({ timeoutMs: 20_000 })).resolves.toEqual(expectedResponse);
    expect(server.fake.calls.every((c) => c.method === 'GetOperation')).toBe(true);
    // A name none of Vision's rules binds: NOT_FOUND from the server, mapped to RpcError.
    await expect(transport.getOperation('projects/test-project/locations/eu/operations/404')).rejects.toMatchObject({
      name: 'RpcError',
      code: Code.NOT_FOUND,
    });
  });

  it('a failed operation rejects with OperationFailedError over REST', async () => {
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    server.fake.fail(operation.name!, { code: Code.INVALID_ARGUMENT, message: 'unsupported file' });
    const err = (await rejection(fromGaxOperation(operation, FAST).promise())) as OperationFailedError;
    expect(err).toBeInstanceOf(OperationFailedError);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('unsupported file');
    expect(err.details).toEqual([]);
  });

  it('an answer gax 6 cannot decode (an Any its protos lack) is INTERNAL at once, not a retried UNAVAILABLE', async () => {
    // The Vision protos carry google.rpc.Status but not ErrorInfo: gax 6's fallback cannot read this
    // Operation's JSON and calls the failure UNAVAILABLE; retrying would read the same body again.
    const [operation] = await client.asyncBatchAnnotateFiles(FILES_REQUEST);
    server.fake.fail(operation.name!, {
      code: Code.INVALID_ARGUMENT,
      message: 'unsupported file',
      details: [TypeRegistry.default().encode('google.rpc.ErrorInfo', { reason: 'BAD_PDF', domain: 'vision.googleapis.com' })],
    });
    const err = await rejection(fromGaxOperation(operation, FAST).promise());
    expect(err).toMatchObject({ name: 'RpcError', code: Code.INTERNAL });
    expect((err as Error).message).toContain('google.rpc.ErrorInfo');
    expect(server.fake.calls.map((c) => c.method)).toEqual(['GetOperation']);
  });
});
