/**
 * A loopback stand-in for the Video Intelligence API, for examples/gapic-client.ts:
 * one grpc-js server on 127.0.0.1 serving
 * `google.cloud.videointelligence.v1.VideoIntelligenceService/AnnotateVideo` and
 * `google.longrunning.Operations`, with a `FakeOperationsServer` from
 * `longrunning/testing` keeping the operations. The schemas are the generated
 * client's own (`protos.json` of @google-cloud/video-intelligence), so the real
 * `VideoIntelligenceServiceClient` runs against it unchanged.
 *
 * Each AnnotateVideo starts an operation that moves one step every time a
 * client reads it (GetOperation or WaitOperation): progress 25, 50, 75, then
 * 100 and done with one "cat" label per input. Deterministic, no timers.
 *
 * Uses only public APIs: copy it next to gapic-client.ts into your project.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { VideoIntelligenceServiceClient } from '@google-cloud/video-intelligence';
import protobuf from 'protobufjs';
import { RpcError, TypeRegistry, type AnyMessage, type OperationResource } from 'longrunning';
import { FakeOperationsServer } from 'longrunning/testing';

const PKG = 'google.cloud.videointelligence.v1';
const PROGRESS_TYPE = `${PKG}.AnnotateVideoProgress`;
const RESPONSE_TYPE = `${PKG}.AnnotateVideoResponse`;

const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(require.resolve('@google-cloud/video-intelligence/build/protos/protos.json'), 'utf8')));
root.resolveAll();
const registry = TypeRegistry.fromRoot(root);

type ProtoObject = Record<string, unknown>;
/** The options `new VideoIntelligenceServiceClient(options)` takes. */
type ClientOptions = NonNullable<ConstructorParameters<typeof VideoIntelligenceServiceClient>[0]>;

const progressJson = (inputUri: string, percent: number): ProtoObject => ({
  annotationProgress: [{ inputUri, progressPercent: percent, startTime: '2024-05-01T12:00:00Z', updateTime: '2024-05-01T12:00:30Z', feature: 'LABEL_DETECTION' }],
});
const responseJson = (inputUri: string): ProtoObject => ({
  annotationResults: [
    {
      inputUri,
      segmentLabelAnnotations: [
        {
          entity: { entityId: '/m/01yrx', description: 'cat', languageCode: 'en-US' },
          segments: [{ segment: { startTimeOffset: '0s', endTimeOffset: '5.500s' }, confidence: 0.5 }],
        },
      ],
    },
  ],
});

/** A `google.protobuf.Any` for protobufjs. */
const anyMessage = (any: AnyMessage): ProtoObject => ({ type_url: any.typeUrl, value: any.value ?? registry.toBinary(any).value });

/** This library's OperationResource → a `google.longrunning.Operation` message object. */
function operationMessage(resource: OperationResource): ProtoObject {
  const message: ProtoObject = { name: resource.name, done: resource.done };
  if (resource.metadata) message.metadata = anyMessage(resource.metadata);
  if (resource.response) message.response = anyMessage(resource.response);
  if (resource.error) message.error = { code: resource.error.code, message: resource.error.message, details: resource.error.details.map(anyMessage) };
  return message;
}

/** A grpc-js service definition for a protobufjs service, requests and responses as plain objects. */
function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<ProtoObject, ProtoObject>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: ProtoObject) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => request.toObject(request.decode(bytes), { longs: String, enums: String, defaults: true }),
      responseSerialize: (value: ProtoObject) => Buffer.from(response.encode(response.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => response.toObject(response.decode(bytes)),
    };
  }
  return definition;
}

/** A unary handler from an async function; an RpcError keeps its code. */
const unary =
  (run: (request: ProtoObject) => Promise<ProtoObject>) =>
  (call: grpc.ServerUnaryCall<ProtoObject, ProtoObject>, callback: grpc.sendUnaryData<ProtoObject>): void => {
    run(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => callback({ code: err instanceof RpcError ? err.code : grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) }),
    );
  };

/** What {@link startVideoStandIn} returns. */
export interface VideoStandIn {
  /** `127.0.0.1:PORT`. */
  address: string;
  /** Options for `new VideoIntelligenceServiceClient(…)` that point it here: insecure channel, no credential lookup. */
  clientOptions(): ClientOptions;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts the stand-in on a free loopback port. */
export async function startVideoStandIn(): Promise<VideoStandIn> {
  const fake = new FakeOperationsServer();
  const steps = new Map<string, { inputUri: string; remaining: number[] }>();
  let counter = 0;

  /** Moves an operation one step on: the next progress, or done with the response. */
  const advance = (name: string): void => {
    const script = steps.get(name);
    if (!script || fake.get(name)?.done !== false) return;
    const next = script.remaining.shift();
    if (next !== undefined) {
      fake.update(name, { metadata: registry.encode(PROGRESS_TYPE, progressJson(script.inputUri, next)) });
    } else {
      fake.update(name, { metadata: registry.encode(PROGRESS_TYPE, progressJson(script.inputUri, 100)) });
      fake.complete(name, registry.encode(RESPONSE_TYPE, responseJson(script.inputUri)));
    }
  };
  const read = async (request: ProtoObject): Promise<ProtoObject> => {
    advance(String(request.name));
    return operationMessage(await fake.transport.getOperation(String(request.name)));
  };

  const server = new grpc.Server();
  server.addService(serviceDefinition(root.lookupService('google.longrunning.Operations')), {
    GetOperation: unary(read),
    WaitOperation: unary(read), // best effort, as the API allows: answers at once with the new state
    CancelOperation: unary(async (request) => (await fake.transport.cancelOperation(String(request.name)), {})),
    DeleteOperation: unary(async (request) => (await fake.transport.deleteOperation(String(request.name)), {})),
    ListOperations: unary(async (request) => {
      const page = await fake.transport.listOperations({ name: String(request.name), filter: String(request.filter || '') || undefined });
      return { operations: page.operations.map(operationMessage), nextPageToken: page.nextPageToken };
    }),
  });
  server.addService(serviceDefinition(root.lookupService(`${PKG}.VideoIntelligenceService`)), {
    AnnotateVideo: unary(async (request) => {
      const inputUri = String(request.inputUri ?? '');
      if (inputUri === '') throw new RpcError(grpc.status.INVALID_ARGUMENT, 'input_uri is required');
      const created = fake.create({
        name: `projects/test-project/locations/us-east1/operations/${++counter}`,
        metadata: registry.encode(PROGRESS_TYPE, progressJson(inputUri, 0)),
      });
      steps.set(created.name, { inputUri, remaining: [25, 50, 75] });
      return operationMessage(created);
    }),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    clientOptions: () => ({
      servicePath: '127.0.0.1',
      port,
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: 'googleapis.com',
      // A stand-in for google-auth-library's GoogleAuth: gax asks it for these and nothing else here.
      auth: {
        getUniverseDomain: async () => 'googleapis.com',
        getClient: async () => ({ getRequestHeaders: async () => new Headers(), universeDomain: 'googleapis.com' }),
        getRequestHeaders: async () => ({}),
        getProjectId: async () => 'test-project',
      } as unknown as ClientOptions['auth'],
    }),
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 250);
        server.tryShutdown(() => (clearTimeout(force), resolve()));
      }).then(() => fake.close()),
  };
}
