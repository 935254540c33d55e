/**
 * What the loopback stand-ins for generated Google Cloud clients share
 * (video-server.ts on google-gax 5, vision-server.ts on google-gax 6): a fake
 * google-auth-library client, client options that point at 127.0.0.1, scripted
 * operations that advance one step each time a client reads them, and a
 * grpc-js server that serves `google.longrunning.Operations` (forwarded to a
 * FakeOperationsServer) next to one service's long-running methods.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { TypeRegistry } from '../../src/codec/registry.js';
import { RpcError } from '../../src/errors.js';
import type { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { toGrpcStatus } from '../../src/testing/grpc-server.js';
import { durationToMs, encodeOperation, operationToMessage, operationsServiceDefinition } from '../../src/transports/grpc.js';
import { Code, type AnyMessage, type CallOptions, type OperationResource } from '../../src/types.js';

/**
 * A generated client package's own schemas (its `build/protos/protos.json`),
 * resolved, and a registry over them for building payloads and for comparisons.
 *
 * @example
 * ```ts
 * const { root, registry } = generatedClientProtos('@google-cloud/vision');
 * ```
 */
export function generatedClientProtos(packageName: string): { root: protobuf.Root; registry: TypeRegistry } {
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(require.resolve(`${packageName}/build/protos/protos.json`), 'utf8')));
  root.resolveAll();
  return { root, registry: TypeRegistry.fromRoot(root) };
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

/**
 * Options for a generated GAPIC client in REST fallback mode (`fallback: true`)
 * that talks HTTP/JSON to a loopback server, with a fake auth client.
 *
 * @example
 * ```ts
 * const client = new ImageAnnotatorClient(loopbackFallbackOptions(port));
 * ```
 */
export function loopbackFallbackOptions(port: number, auth: FakeAuth = fakeAuth()) {
  return {
    servicePath: '127.0.0.1',
    port,
    protocol: 'http',
    fallback: true,
    universeDomain: 'googleapis.com',
    auth: auth as never,
  };
}

/** One RPC a stand-in server received. */
export interface GapicServerCall<M extends string = string> {
  method: M;
  name: string;
  /** Milliseconds to the call's deadline when it arrived. */
  deadlineMs?: number;
  /** WaitOperation's `timeout`, in milliseconds. */
  timeoutMs?: number;
  /** The call's `x-goog-api-client` header, if any. */
  apiClient?: string;
}

/** How a scripted operation looks at each step and at its end. */
export interface ScriptShape<C, S> {
  /** Metadata shown at `step` (one of the steps given to `start`). */
  progress(context: C, step: S): AnyMessage;
  /** The response and final metadata once the steps are used up. */
  done(context: C): { response: AnyMessage; metadata: AnyMessage };
}

/**
 * Operations of a FakeOperationsServer that advance one step per read:
 * `advance(name)` shows the next step's metadata, or completes the operation
 * once the steps are used up. Deterministic, no timers.
 */
export function scriptedOperations<C, S>(fake: FakeOperationsServer, shape: ScriptShape<C, S>) {
  const scripts = new Map<string, { context: C; remaining: S[] }>();
  return {
    /** Scripts the operation `name` (already created on the fake). */
    start(name: string, context: C, steps: readonly S[]): void {
      scripts.set(name, { context, remaining: [...steps] });
    },
    /** Moves the operation one step on; unknown or finished operations stay as they are. */
    advance(name: string): void {
      const script = scripts.get(name);
      const current = fake.get(name);
      if (!script || !current || current.done) return;
      if (script.remaining.length > 0) {
        fake.update(name, { metadata: shape.progress(script.context, script.remaining.shift()!) });
      } else {
        const { response, metadata } = shape.done(script.context);
        fake.complete(name, response, { metadata });
      }
    },
  };
}

type ProtoObject = Record<string, unknown>;

/** One long-running method of the stand-in service: its request type and what it starts. */
export interface GapicLroMethod {
  requestType: protobuf.Type;
  /** Creates (and scripts) the operation for a decoded request; throw an RpcError to fail the call. */
  start(request: ProtoObject): OperationResource;
}

/** Options of {@link startGapicServer}. */
export interface GapicServerOptions {
  /** The operations store behind the server. */
  fake: FakeOperationsServer;
  /** Encodes the operations' payloads. */
  registry: TypeRegistry;
  /** Called before every GetOperation and WaitOperation answers: advances scripted operations. */
  advance(name: string): void;
  /** Whether WaitOperation is implemented (default true); it answers at once after advancing. */
  waitOperation?: boolean;
  /** Full name of the service, e.g. `google.cloud.vision.v1.ImageAnnotator`. */
  service: string;
  /** Its long-running methods by RPC name, e.g. `AsyncBatchAnnotateFiles`. */
  methods: Record<string, GapicLroMethod>;
}

/** A running {@link startGapicServer} server. */
export interface GapicServer<C extends GapicServerCall = GapicServerCall> {
  /** `127.0.0.1:PORT`. */
  address: string;
  port: number;
  /** The operations store behind the server. */
  fake: FakeOperationsServer;
  /** Every RPC received, in order. */
  calls: C[];
  /** Client options pointing at this server, with a fresh fake auth client. */
  clientOptions(auth?: FakeAuth): ReturnType<typeof loopbackClientOptions>;
  /** Stops the server and releases the port (the fake too). */
  close(): Promise<void>;
}

function deadlineRemaining(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return typeof at === 'number' && Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * Starts a grpc-js server on 127.0.0.1 (free port) that serves
 * `google.longrunning.Operations` from `options.fake` and the long-running
 * methods of `options.service`, recording every call.
 *
 * @example
 * ```ts
 * const server = await startGapicServer({ fake, registry, advance, service: 'my.v1.Service', methods: { Start: { requestType, start } } });
 * ```
 */
export async function startGapicServer<C extends GapicServerCall = GapicServerCall>(options: GapicServerOptions): Promise<GapicServer<C>> {
  const { fake, registry, advance } = options;
  const calls: C[] = [];
  const server = new grpc.Server();

  const unary =
    (method: string, run: (request: ProtoObject, callOptions: CallOptions) => Promise<unknown>) =>
    (call: grpc.ServerUnaryCall<ProtoObject, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      const deadlineMs = deadlineRemaining(call);
      const entry: GapicServerCall = { method, name: typeof call.request.name === 'string' ? call.request.name : '' };
      if (deadlineMs !== undefined) entry.deadlineMs = deadlineMs;
      const timeout = call.request.timeout as ProtoObject | null | undefined;
      if (method === 'WaitOperation' && timeout != null) entry.timeoutMs = durationToMs(timeout);
      const apiClient = call.metadata.get('x-goog-api-client')[0];
      if (typeof apiClient === 'string') entry.apiClient = apiClient;
      calls.push(entry as C);
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

  const toMessage = (resource: OperationResource): ProtoObject => operationToMessage(resource, registry);

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

  const definition: Record<string, grpc.MethodDefinition<ProtoObject, OperationResource>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [rpc, method] of Object.entries(options.methods)) {
    const { requestType } = method;
    definition[rpc] = {
      path: `/${options.service}/${rpc}`,
      originalName: rpc[0]!.toLowerCase() + rpc.slice(1),
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: ProtoObject) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => requestType.toObject(requestType.decode(bytes), { enums: String, defaults: true }) as ProtoObject,
      responseSerialize: (resource: OperationResource) => Buffer.from(encodeOperation(resource, registry)),
      responseDeserialize: () => {
        throw new Error('server side only');
      },
    };
    implementation[rpc] = unary(rpc, async (request) => method.start(request));
  }
  server.addService(definition satisfies grpc.ServiceDefinition, implementation);

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
