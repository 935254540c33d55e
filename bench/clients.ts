/**
 * The two clients under test, set up as their users set them up:
 * - ours: `grpcTransport` + `LongRunningOperation` with a TypeRegistry over the service's schemas;
 * - google-gax: an OperationsClient from `gax.lro(...).operationsClient(opts)` and
 *   `new gax.Operation(raw, new LongrunningDescriptor(operationsClient, Response.decode, Metadata.decode),
 *   createDefaultBackoffSettings())`, exactly what a generated GAPIC client's
 *   `check…Progress()` does (see @google-cloud/video-intelligence's client).
 * Loopback only: explicit endpoint, insecure `sslCreds`, `universeDomain` and
 * a fake auth client, so nothing looks up credentials or probes the GCE metadata server.
 * @module
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import * as gax from 'google-gax';
import type * as protobuf from 'protobufjs';
import type { OperationOptions } from '../src/operation.js';
import type { GrpcTransport } from '../src/transports/grpc.js';
import type { AnyMessage, OperationResource } from '../src/types.js';
import type { TypeRegistry } from '../src/codec/registry.js';
import { NO_PROGRESS_OPTIONS, PROGRESS_TYPE, RESPONSE_TYPE, videoProtosJson, videoRoot, type Variant } from './common.js';
import { lib } from './library.js';

let registry: TypeRegistry | undefined;
/** Our TypeRegistry over the service's schemas, from the library under test. */
export function oursRegistry(): TypeRegistry {
  return (registry ??= lib.TypeRegistry.fromRoot(videoRoot()));
}

/** A fake google-auth-library client: all google-gax needs with explicit `sslCreds`. */
export function fakeAuth() {
  return {
    getUniverseDomain: async () => 'googleapis.com',
    getClient: async () => ({ getRequestHeaders: async () => new Headers(), universeDomain: 'googleapis.com' }),
    getRequestHeaders: async () => ({}),
    getProjectId: async () => 'bench-project',
  };
}

/** Client options pointing google-gax at the loopback server. */
export function gaxClientOptions(port: number) {
  return {
    servicePath: '127.0.0.1',
    port,
    sslCreds: gax.grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
    auth: fakeAuth() as never,
  };
}

/** One client: watch an operation given as the resource its start call returned. */
export interface BenchClient {
  /** Opens the channel (one RPC the server does not count). */
  warmUp(name: string): Promise<void>;
  /** Starts watching and returns the promise of its settlement. */
  watch(name: string, initialMetadata: AnyMessage): Promise<unknown>;
  close(): void;
}

/** Ours: grpcTransport + LongRunningOperation (defaults, or with progress-aware polling off). */
export function oursClient(port: number, variant: Exclude<Variant, 'gax' | 'ours-gax-operation'>): BenchClient {
  const transport: GrpcTransport = lib.grpcTransport({ address: `127.0.0.1:${port}` });
  const options: OperationOptions = { transport, decode: oursRegistry() };
  if (variant === 'ours-no-progress') options.polling = { ...NO_PROGRESS_OPTIONS.polling };
  return {
    async warmUp(name) {
      await transport.getOperation(name);
    },
    watch(name, initialMetadata) {
      const resource: OperationResource = { name, done: false, metadata: { typeUrl: initialMetadata.typeUrl, value: new Uint8Array(initialMetadata.value!) } };
      return new lib.LongRunningOperation(resource, options).promise();
    },
    close() {
      transport.close();
    },
  };
}

/** What a generated client builds its LongrunningDescriptor from. */
export interface GaxDecoders {
  response: protobuf.Type;
  metadata: protobuf.Type;
}

/** The response and metadata types looked up as generated clients do (`gax.protobufFromJSON(protos.json)`). */
export function gaxDecoders(): GaxDecoders {
  const protoFilesRoot = gax.protobufFromJSON(videoProtosJson());
  return {
    response: protoFilesRoot.lookup(`.${RESPONSE_TYPE}`) as protobuf.Type,
    metadata: protoFilesRoot.lookup(`.${PROGRESS_TYPE}`) as protobuf.Type,
  };
}

/** google-gax's Operation, built the way a generated client's `check…Progress()` builds it, from the resource a start call returned. */
function gaxOperations(port: number): { operation(name: string, initialMetadata: AnyMessage): gax.Operation; operationsClient: gax.OperationsClient } {
  const opts = gaxClientOptions(port);
  const gaxGrpc = new gax.GrpcClient(opts);
  const operationsClient = gax.lro({ auth: gaxGrpc.auth, grpc: gaxGrpc.grpc }).operationsClient(opts);
  const types = gaxDecoders();
  const descriptor = new gax.LongrunningDescriptor(
    operationsClient,
    types.response.decode.bind(types.response),
    types.metadata.decode.bind(types.metadata),
  );
  return {
    operationsClient,
    operation(name, initialMetadata) {
      // The shape a generated client's start call hands to gax (proto-loader objects: Buffer bytes).
      const raw = { name, done: false, metadata: { typeUrl: initialMetadata.typeUrl, value: Buffer.from(initialMetadata.value!) }, result: 'metadata' };
      return new gax.Operation(raw as never, descriptor, gax.createDefaultBackoffSettings());
    },
  };
}

/**
 * google-gax: Operation with its default backoff, built the way generated clients build it;
 * `viaOurs`: the same Operation handed to our `fromGaxOperation` (what a user of a generated client does).
 */
export function gaxClient(port: number, viaOurs = false): BenchClient {
  const { operation, operationsClient } = gaxOperations(port);
  return {
    async warmUp(name) {
      await operationsClient.getOperation({ name } as never);
    },
    watch(name, initialMetadata) {
      const op = operation(name, initialMetadata);
      return viaOurs ? lib.fromGaxOperation(op).promise() : op.promise();
    },
    close() {
      operationsClient.close();
    },
  };
}

/** The client of a variant. */
export function makeClient(variant: Variant, port: number): BenchClient {
  if (variant === 'gax' || variant === 'ours-gax-operation') return gaxClient(port, variant === 'ours-gax-operation');
  return oursClient(port, variant);
}
