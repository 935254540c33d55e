/**
 * A loopback stand-in for the Cloud Vision API (v1), for the real generated
 * `ImageAnnotatorClient` of `@google-cloud/vision` 6 (on google-gax 6):
 * - over gRPC, one grpc-js server on 127.0.0.1 that serves
 *   `google.cloud.vision.v1.ImageAnnotator/AsyncBatchAnnotateFiles` and
 *   `google.longrunning.Operations` (forwarded to a FakeOperationsServer);
 * - over HTTP/JSON (the client's REST fallback, `fallback: true`), one HTTP
 *   server on 127.0.0.1 that answers `POST /v1/files:asyncBatchAnnotate` and
 *   passes everything else to the FakeOperationsServer's own HTTP listener
 *   with Vision's URL layout (`restProfiles.vision`: GetOperation only).
 *
 * Each AsyncBatchAnnotateFiles creates an operation (OperationMetadata
 * CREATED) that advances one step every time a client reads it: RUNNING at
 * each step, then DONE with an AsyncBatchAnnotateFilesResponse naming each
 * request's output. Deterministic, no timers.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcError } from '../../src/errors.js';
import { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { errorBody, httpStatusFromGrpcCode, operationToJson } from '../../src/transports/rest/json.js';
import { restProfiles } from '../../src/transports/rest/profiles.js';
import { Code, type AnyMessage, type OperationResource } from '../../src/types.js';
import {
  generatedClientProtos,
  loopbackFallbackOptions,
  scriptedOperations,
  startGapicServer,
  type FakeAuth,
  type GapicServer,
  type GapicServerCall,
} from './gapic-server.js';

/** The generated client's own schemas (protos.json of @google-cloud/vision), and a registry over them. */
export const { root: visionRoot, registry: visionRegistry } = generatedClientProtos('@google-cloud/vision');

const PKG = 'google.cloud.vision.v1';
export const METADATA_TYPE = `${PKG}.OperationMetadata`;
export const FILES_RESPONSE_TYPE = `${PKG}.AsyncBatchAnnotateFilesResponse`;

/** When every operation was created; steps are seconds after it. */
export const CREATE_TIME = '2024-05-01T12:00:00Z';
/** When every operation ends. */
export const DONE_TIME = '2024-05-01T12:05:00Z';

function timeAfter(seconds: number): string {
  return new Date(Date.parse(CREATE_TIME) + seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * OperationMetadata (proto3 JSON form).
 *
 * @example
 * ```ts
 * metadataJson('RUNNING', 10); // { state: 'RUNNING', createTime: CREATE_TIME, updateTime: '2024-05-01T12:00:10Z' }
 * ```
 */
export function metadataJson(state: 'CREATED' | 'RUNNING' | 'DONE', secondsAfterCreate: number): Record<string, unknown> {
  return { state, createTime: CREATE_TIME, updateTime: state === 'DONE' ? DONE_TIME : timeAfter(secondsAfterCreate) };
}

/**
 * AsyncBatchAnnotateFilesResponse (proto3 JSON form): one response per output prefix.
 *
 * @example
 * ```ts
 * filesResponseJson(['gs://bucket/out/']);
 * ```
 */
export function filesResponseJson(outputUris: string[]): Record<string, unknown> {
  return { responses: outputUris.map((uri) => ({ outputConfig: { gcsDestination: { uri }, batchSize: 2 } })) };
}

type ProtoObject = Record<string, unknown>;

const requestType = visionRoot.lookupType(`${PKG}.AsyncBatchAnnotateFilesRequest`);

/** Options of the Vision stand-ins. */
export interface VisionServerOptions {
  /** Seconds after creation of each RUNNING step shown before the operation is done; default [10, 20]. */
  steps?: number[];
  /** Whether WaitOperation is implemented (gRPC only; default true); it answers at once after advancing. */
  waitOperation?: boolean;
}

/**
 * The Vision side of both stand-ins: a FakeOperationsServer with Vision's
 * types, and AsyncBatchAnnotateFiles creating scripted operations on it.
 */
function visionOperations(options: VisionServerOptions) {
  const steps = options.steps ?? [10, 20];
  const fake = new FakeOperationsServer({ waitOperation: options.waitOperation ?? true, types: visionRegistry });
  const encode = (type: string, json: ProtoObject): AnyMessage => visionRegistry.encode(type, json);
  const scripts = scriptedOperations<string[], number>(fake, {
    progress: (_outputUris, seconds) => encode(METADATA_TYPE, metadataJson('RUNNING', seconds)),
    done: (outputUris) => ({ response: encode(FILES_RESPONSE_TYPE, filesResponseJson(outputUris)), metadata: encode(METADATA_TYPE, metadataJson('DONE', 0)) }),
  });
  let counter = 0;
  /** AsyncBatchAnnotateFiles for a request in protobufjs object form (enums as names, defaults on). */
  const start = (request: ProtoObject): OperationResource => {
    const requests = Array.isArray(request.requests) ? (request.requests as ProtoObject[]) : [];
    if (requests.length === 0) throw new RpcError(Code.INVALID_ARGUMENT, 'requests must not be empty');
    const outputUris = requests.map((r) => ((r.outputConfig as ProtoObject | null)?.gcsDestination as ProtoObject | null)?.uri);
    if (!outputUris.every((uri): uri is string => typeof uri === 'string' && uri !== '')) {
      throw new RpcError(Code.INVALID_ARGUMENT, 'every request needs output_config.gcs_destination.uri');
    }
    const created = fake.create({
      name: `projects/test-project/locations/eu/operations/${++counter}`,
      metadata: encode(METADATA_TYPE, metadataJson('CREATED', 0)),
    });
    scripts.start(created.name, outputUris, steps);
    return created;
  };
  return { fake, start, advance: scripts.advance };
}

/** One RPC the gRPC stand-in received. */
export type VisionServerCall = GapicServerCall<
  'AsyncBatchAnnotateFiles' | 'GetOperation' | 'WaitOperation' | 'CancelOperation' | 'DeleteOperation' | 'ListOperations'
>;

/** A running gRPC Vision stand-in. */
export type VisionServer = GapicServer<VisionServerCall>;

/**
 * Starts the gRPC Vision stand-in on 127.0.0.1 (free port).
 *
 * @example
 * ```ts
 * const server = await startVisionServer();
 * const client = new ImageAnnotatorClient(server.clientOptions());
 * // …
 * await client.close();
 * await server.close();
 * ```
 */
export async function startVisionServer(options: VisionServerOptions = {}): Promise<VisionServer> {
  const { fake, start, advance } = visionOperations(options);
  return startGapicServer<VisionServerCall>({
    fake,
    registry: visionRegistry,
    advance,
    waitOperation: options.waitOperation ?? true,
    service: `${PKG}.ImageAnnotator`,
    methods: { AsyncBatchAnnotateFiles: { requestType, start } },
  });
}

/** One HTTP request the REST stand-in received. */
export interface VisionHttpRequest {
  method: string;
  /** The path, without the query. */
  path: string;
}

/** A running HTTP/JSON Vision stand-in. */
export interface VisionHttpServer {
  /** `http://127.0.0.1:PORT`. */
  baseUrl: string;
  port: number;
  /** The operations store behind the server. */
  fake: FakeOperationsServer;
  /** Every request received, in order. */
  requests: VisionHttpRequest[];
  /** REST fallback client options (`fallback: true`) pointing at this server, with a fresh fake auth client. */
  clientOptions(auth?: FakeAuth): ReturnType<typeof loopbackFallbackOptions>;
  /** Stops the server (and the operations listener behind it) and releases the ports. */
  close(): Promise<void>;
}

/** Vision's bindings of AsyncBatchAnnotateFiles: `/v1/files:asyncBatchAnnotate` and `/v1/{parent=projects/*}/files:asyncBatchAnnotate`. */
const ANNOTATE_FILES_PATH = /^\/v1\/(projects\/[^/]+\/)?files:asyncBatchAnnotate$/;

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Starts the HTTP/JSON Vision stand-in on 127.0.0.1 (free port), for the
 * client's REST fallback. Operation reads (`GET /v1/{name}`) advance the
 * operation, then go to `fake.listenHttp(restProfiles.vision)`.
 *
 * @example
 * ```ts
 * const server = await startVisionHttpServer();
 * const client = new ImageAnnotatorClient(server.clientOptions());
 * ```
 */
export async function startVisionHttpServer(options: Omit<VisionServerOptions, 'waitOperation'> = {}): Promise<VisionHttpServer> {
  const { fake, start, advance } = visionOperations(options);
  const operations = await fake.listenHttp(restProfiles.vision);
  const requests: VisionHttpRequest[] = [];

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method, path: url.pathname });
    const body = await readBody(req);
    if (method === 'POST' && ANNOTATE_FILES_PATH.test(url.pathname)) {
      try {
        const request = requestType.toObject(requestType.fromObject(JSON.parse(body) as ProtoObject), { enums: String, defaults: true });
        sendJson(res, 200, operationToJson(start(request), visionRegistry));
      } catch (err) {
        const code = err instanceof RpcError ? err.code : Code.INVALID_ARGUMENT;
        sendJson(res, httpStatusFromGrpcCode(code), errorBody(code, err instanceof RpcError ? err.rawMessage : String(err)));
      }
      return;
    }
    if (method === 'GET' && url.pathname.startsWith('/v1/')) advance(decodeURIComponent(url.pathname.slice('/v1/'.length)));
    const answer = await fetch(`${operations.baseUrl}${url.pathname}${url.search}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'GET' || method === 'DELETE' ? {} : { body }),
    });
    const text = await answer.text();
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(text);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.destroyed) res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    fake,
    requests,
    clientOptions: (auth?: FakeAuth) => loopbackFallbackOptions(port, auth),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => fake.close());
      return closing;
    },
  };
}
