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

import { RpcError } from '../../src/errors.js';
import { FakeOperationsServer } from '../../src/testing/fake-server.js';
import { Code, type AnyMessage } from '../../src/types.js';
import { generatedClientProtos, scriptedOperations, startGapicServer, type GapicServer, type GapicServerCall } from './gapic-server.js';

/** The generated client's own schemas (protos.json of @google-cloud/video-intelligence), and a registry over them. */
export const { root: videoRoot, registry: videoRegistry } = generatedClientProtos('@google-cloud/video-intelligence');

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
export type VideoServerCall = GapicServerCall<
  'AnnotateVideo' | 'GetOperation' | 'WaitOperation' | 'CancelOperation' | 'DeleteOperation' | 'ListOperations'
>;

export { fakeAuth, loopbackClientOptions, type FakeAuth } from './gapic-server.js';

/** Options of {@link startVideoServer}. */
export interface VideoServerOptions {
  /** Progress percentages shown before the operation is done; default [25, 50, 75]. */
  steps?: number[];
  /** Whether WaitOperation is implemented (default true); it answers at once after advancing. */
  waitOperation?: boolean;
}

/** A running video server. */
export type VideoServer = GapicServer<VideoServerCall>;

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
  const encode = (type: string, json: Record<string, unknown>): AnyMessage => videoRegistry.encode(type, json);
  const scripts = scriptedOperations<string[], number>(fake, {
    progress: (inputUris, percent) => encode(PROGRESS_TYPE, progressJson(inputUris, percent)),
    done: (inputUris) => ({ response: encode(RESPONSE_TYPE, responseJson(inputUris)), metadata: encode(PROGRESS_TYPE, progressJson(inputUris, 100)) }),
  });
  let counter = 0;
  return startGapicServer<VideoServerCall>({
    fake,
    registry: videoRegistry,
    advance: scripts.advance,
    waitOperation: options.waitOperation ?? true,
    service: `${PKG}.VideoIntelligenceService`,
    methods: {
      AnnotateVideo: {
        requestType: videoRoot.lookupType(`${PKG}.AnnotateVideoRequest`),
        start(request) {
          const inputUri = typeof request.inputUri === 'string' ? request.inputUri : '';
          if (inputUri === '') throw new RpcError(Code.INVALID_ARGUMENT, 'input_uri is required');
          const inputUris = [inputUri];
          const created = fake.create({
            name: `projects/test-project/locations/us-east1/operations/${++counter}`,
            metadata: encode(PROGRESS_TYPE, progressJson(inputUris, 0)),
          });
          scripts.start(created.name, inputUris, steps);
          return created;
        },
      },
    },
  });
}
