/**
 * A loopback stand-in for the Video Intelligence API: one grpc-js server on
 * 127.0.0.1 that serves `google.cloud.videointelligence.v1.VideoIntelligenceService/AnnotateVideo`
 * and `google.longrunning.Operations` (forwarded to a FakeOperationsServer),
 * so the real generated `VideoIntelligenceServiceClient` can run against it.
 *
 * Each AnnotateVideo creates an operation that advances one step every time a
 * client reads it (GetOperation or WaitOperation): progress 25, 50, 75, then
 * 100 and done with an AnnotateVideoResponse. Deterministic, no timers.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { TypeRegistry } from '../../src/codec/registry.js';
import { RpcError } from '../../src/errors.js';
import { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { toGrpcStatus } from '../../src/testing/grpc-server.js';
import { durationToMs, encodeOperation, operationToMessage, operationsServiceDefinition } from '../../src/transports/grpc.js';
import { Code, type AnyMessage, type CallOptions, type OperationResource } from '../../src/types.js';

/**
 * The generated client's own schemas (protos.json of @google-cloud/video-intelligence).
 *
 * @example
 * ```ts
 * const Progress = videoRoot.lookupType(PROGRESS_TYPE);
 * ```
 */
export const videoRoot: protobuf.Root = protobuf.Root.fromJSON(
  JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')),
);
videoRoot.resolveAll();

/**
 * A registry over the video schemas, for building payloads and for comparisons.
 *
 * @example
 * ```ts
 * const any = videoRegistry.encode(PROGRESS_TYPE, progressJson([uri], 50));
 * ```
 */
export const videoRegistry = TypeRegistry.fromRoot(videoRoot);

const PKG = 'google.cloud.videointelligence.v1';
export const PROGRESS_TYPE = `${PKG}.AnnotateVideoProgress`;
export const RESPONSE_TYPE = `${PKG}.AnnotateVideoResponse`;

/** Fixed timestamps so results are predictable. */
export const START_TIME = '2024-05-01T12:00:00Z';
export const UPDATE_TIME = '2024-05-01T12:00:30Z';

/** The label every annotation finds. */
export const LABEL = { entityId: '/m/01yrx', description: 'cat', languageCode: 'en-US' };

/**
 * AnnotateVideoProgress (proto3 JSON form) at `percent` for each input.
 *
 * @example
 * ```ts
 * progressJson(['gs://b/cat.mp4'], 50); // { annotationProgress: [{ inputUri, progressPercent: 50, … }] }
 * ```
 */
export function progressJson(inputUris: string[], percent: number): Record<string, unknown> {
  return {
    annotationProgress: inputUris.map((inputUri) => ({
      inputUri,
      progressPercent: percent,
      startTime: START_TIME,
      updateTime: percent === 0 ? START_TIME : UPDATE_TIME,
      feature: 'LABEL_DETECTION',
    })),
  };
}

/**
 * AnnotateVideoResponse (proto3 JSON form) for the inputs: one 'cat' label each.
 *
 * @example
 * ```ts
 * const any = videoRegistry.encode(RESPONSE_TYPE, responseJson(['gs://b/cat.mp4']));
 * ```
 */
export function responseJson(inputUris: string[]): Record<string, unknown> {
  return {
    annotationResults: inputUris.map((inputUri) => ({
      inputUri,
      segmentLabelAnnotations: [
        {
          entity: LABEL,
          segments: [{ segment: { startTimeOffset: '0s', endTimeOffset: '5.500s' }, confidence: 0.5 }],
        },
      ],
    })),
  };
}

/** One RPC the server received. */
export interface VideoServerCall {
  method: 'AnnotateVideo' | 'GetOperation' | 'WaitOperation' | 'CancelOperation' | 'DeleteOperation' | 'ListOperations';
  name: string;
  /** Milliseconds to the call's deadline when it arrived. */
  deadlineMs?: number;
  /** WaitOperation's `timeout`, in milliseconds. */
  timeoutMs?: number;
  /** The call's `x-goog-api-client` header, if any. */
  apiClient?: string;
}

/**
 * A fake google-auth-library client: enough for google-gax with explicit
 * `sslCreds`, no credential lookup, no metadata server. `calls` records every
 * method gax used.
 */
export interface FakeAuth {
  calls: string[];
  getUniverseDomain(): Promise<string>;
  getClient(): Promise<{ getRequestHeaders(): Promise<Headers>; universeDomain: string }>;
  getRequestHeaders(): Promise<Record<string, string>>;
  getProjectId(): Promise<string>;
  /** What google-gax's REST fallback sends requests through; 127.0.0.1 only. */
  fetch(url: string, init: { method?: string; headers?: Headers; body?: unknown; signal?: AbortSignal }): Promise<Response>;
}

/**
 * A fresh {@link FakeAuth}.
 *
 * @example
 * ```ts
 * const auth = fakeAuth();
 * const client = new VideoIntelligenceServiceClient(loopbackClientOptions(port, auth));
 * ```
 */
export function fakeAuth(): FakeAuth {
  const calls: string[] = [];
  return {
    calls,
    async getUniverseDomain() {
      calls.push('getUniverseDomain');
      return 'googleapis.com';
    },
    async getClient() {
      calls.push('getClient');
      return { getRequestHeaders: async () => new Headers(), universeDomain: 'googleapis.com' };
    },
    async getRequestHeaders() {
      calls.push('getRequestHeaders');
      return {};
    },
    async getProjectId() {
      calls.push('getProjectId');
      return 'test-project';
    },
    async fetch(url, init) {
      calls.push('fetch');
      if (new URL(url).hostname !== '127.0.0.1') throw new Error(`fake auth: refusing to fetch ${url} (loopback only)`);
      return fetch(url, { method: init.method, headers: init.headers, body: init.body as BodyInit | undefined, signal: init.signal });
    },
  };
}

/**
 * Options for a generated GAPIC client (or `gax.lro().operationsClient()`) that
 * talk to a loopback server: explicit endpoint, insecure channel, universe
 * domain and a fake auth client, so nothing looks for credentials.
 *
 * @example
 * ```ts
 * const options = loopbackClientOptions(port);
 * const operationsClient = gax.lro({ auth: options.auth }).operationsClient(options);
 * ```
 */
export function loopbackClientOptions(port: number, auth: FakeAuth = fakeAuth()) {
  return {
    servicePath: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
    // The generated client types `auth` as GoogleAuth; gax only calls the methods FakeAuth has.
    auth: auth as never,
  };
}

/** Options of {@link startVideoServer}. */
export interface VideoServerOptions {
  /** Progress percentages shown before the operation is done; default [25, 50, 75]. */
  steps?: number[];
  /** Whether WaitOperation is implemented (default true); it answers at once after advancing. */
  waitOperation?: boolean;
}

/** A running video server. */
export interface VideoServer {
  /** `127.0.0.1:PORT`. */
  address: string;
  port: number;
  /** The operations store behind the server. */
  fake: FakeOperationsServer;
  /** Every RPC received, in order. */
  calls: VideoServerCall[];
  /** Client options pointing at this server, with a fresh fake auth client. */
  clientOptions(auth?: FakeAuth): ReturnType<typeof loopbackClientOptions>;
  /** Stops the server and releases the port. */
  close(): Promise<void>;
}

interface Script {
  inputUris: string[];
  /** Steps still to show; the operation is done once they are used up. */
  remaining: number[];
}

type ProtoObject = Record<string, unknown>;

function deadlineRemaining(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return typeof at === 'number' && Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * Starts the loopback Video Intelligence server on 127.0.0.1 (free port).
 *
 * @example
 * ```ts
 * const server = await startVideoServer();
 * const client = new VideoIntelligenceServiceClient(server.clientOptions());
 * // …
 * await client.close();
 * await server.close();
 * ```
 */
export async function startVideoServer(options: VideoServerOptions = {}): Promise<VideoServer> {
  const steps = options.steps ?? [25, 50, 75];
  const fake = new FakeOperationsServer({ waitOperation: options.waitOperation ?? true });
  const calls: VideoServerCall[] = [];
  const scripts = new Map<string, Script>();
  const server = new grpc.Server();
  let counter = 0;

  const encode = (type: string, json: Record<string, unknown>): AnyMessage => videoRegistry.encode(type, json);

  /** Moves a scripted operation one step on. */
  const advance = (name: string): void => {
    const script = scripts.get(name);
    const current = fake.get(name);
    if (!script || !current || current.done) return;
    const next = script.remaining.shift();
    if (next !== undefined) {
      fake.update(name, { metadata: encode(PROGRESS_TYPE, progressJson(script.inputUris, next)) });
    } else {
      fake.complete(name, encode(RESPONSE_TYPE, responseJson(script.inputUris)), {
        metadata: encode(PROGRESS_TYPE, progressJson(script.inputUris, 100)),
      });
    }
  };

  const unary =
    (method: VideoServerCall['method'], run: (request: ProtoObject, callOptions: CallOptions) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<ProtoObject, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      const deadlineMs = deadlineRemaining(call);
      const entry: VideoServerCall = { method, name: typeof call.request.name === 'string' ? call.request.name : '' };
      if (deadlineMs !== undefined) entry.deadlineMs = deadlineMs;
      const timeout = call.request.timeout as ProtoObject | null | undefined;
      if (method === 'WaitOperation' && timeout != null) entry.timeoutMs = durationToMs(timeout);
      const apiClient = call.metadata.get('x-goog-api-client')[0];
      if (typeof apiClient === 'string') entry.apiClient = apiClient;
      calls.push(entry);
      const controller = new AbortController();
      const onCancelled = (): void => controller.abort(new RpcError(Code.CANCELLED, 'call cancelled by the client'));
      call.on('cancelled', onCancelled);
      run(call.request, { signal: controller.signal }).then(
        (response) => {
          call.removeListener('cancelled', onCancelled);
          callback(null, response);
        },
        (err: unknown) => {
          call.removeListener('cancelled', onCancelled);
          callback(toGrpcStatus(err));
        },
      );
    };

  const toMessage = (resource: OperationResource): ProtoObject => operationToMessage(resource, videoRegistry);

  server.addService(operationsServiceDefinition, {
    GetOperation: unary('GetOperation', async (request, callOptions) => {
      advance(request.name as string);
      return toMessage(await fake.service.getOperation(request.name as string, callOptions));
    }),
    WaitOperation: unary('WaitOperation', async (request, callOptions) => {
      if (options.waitOperation === false) throw new RpcError(Code.UNIMPLEMENTED, 'WaitOperation is not implemented by this server');
      advance(request.name as string);
      // Best effort, as the API allows: answer at once with the new state.
      return toMessage(await fake.service.getOperation(request.name as string, callOptions));
    }),
    CancelOperation: unary('CancelOperation', async (request, callOptions) => {
      await fake.service.cancelOperation(request.name as string, callOptions);
      return {};
    }),
    DeleteOperation: unary('DeleteOperation', async (request, callOptions) => {
      await fake.service.deleteOperation(request.name as string, callOptions);
      return {};
    }),
    ListOperations: unary('ListOperations', async (request, callOptions) => {
      const page = await fake.service.listOperations(
        {
          name: request.name as string,
          filter: (request.filter as string) || undefined,
          pageSize: (request.pageSize as number) || undefined,
          pageToken: (request.pageToken as string) || undefined,
        },
        callOptions,
      );
      return { operations: page.operations.map(toMessage), nextPageToken: page.nextPageToken };
    }),
  } satisfies grpc.UntypedServiceImplementation);

  const requestType = videoRoot.lookupType(`${PKG}.AnnotateVideoRequest`);
  const annotateVideo: grpc.MethodDefinition<ProtoObject, OperationResource> = {
    path: `/${PKG}.VideoIntelligenceService/AnnotateVideo`,
    originalName: 'annotateVideo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
    requestDeserialize: (bytes) => requestType.toObject(requestType.decode(bytes), { enums: String, defaults: true }) as ProtoObject,
    responseSerialize: (resource) => Buffer.from(encodeOperation(resource, videoRegistry)),
    responseDeserialize: () => {
      throw new Error('server side only');
    },
  };
  server.addService({ AnnotateVideo: annotateVideo } satisfies grpc.ServiceDefinition, {
    AnnotateVideo: unary('AnnotateVideo', async (request) => {
      const inputUri = typeof request.inputUri === 'string' ? request.inputUri : '';
      if (inputUri === '') throw new RpcError(Code.INVALID_ARGUMENT, 'input_uri is required');
      const inputUris = [inputUri];
      const created = fake.create({
        name: `projects/test-project/locations/us-east1/operations/${++counter}`,
        metadata: encode(PROGRESS_TYPE, progressJson(inputUris, 0)),
      });
      scripts.set(created.name, { inputUris, remaining: [...steps] });
      return created;
    }),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  let closing: Promise<void> | undefined;
  return {
    address: `127.0.0.1:${port}`,
    port,
    fake,
    calls,
    clientOptions: (auth?: FakeAuth) => loopbackClientOptions(port, auth),
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 250);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }).then(() => fake.close());
      return closing;
    },
  };
}
