/**
 * A generated Google Cloud client (google-gax GAPIC) + longrunning.
 *
 * Starts a loopback stand-in for the Video Intelligence API, calls it with
 * the real `VideoIntelligenceServiceClient` exactly as its README does, then
 * hands the returned Operation to `fromGaxOperation`: progress events, a
 * plain-object result, WaitOperation where the server has it.
 *
 * Run: `npx tsx examples/gapic-client.ts` (copied into a project: with
 * `video-stand-in.ts` next to it, after
 * `npm install longrunning @google-cloud/video-intelligence tsx`). Loopback
 * only: the client gets an explicit endpoint, insecure channel credentials, a
 * universe domain and a fake auth client, so it never looks for credentials
 * or a metadata server. Against the real API: `new VideoIntelligenceServiceClient()`.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { VideoIntelligenceServiceClient, protos } from '@google-cloud/video-intelligence';
import { fromGaxOperation } from 'longrunning';
import { startVideoStandIn } from './video-stand-in.js';

/**
 * The shape of `AnnotateVideoProgress` as longrunning presents it (proto3 JSON).
 *
 * @example
 * ```ts
 * op.on('metadata', (p: VideoProgress) => console.log(p.annotationProgress[0]?.progressPercent));
 * ```
 */
export interface VideoProgress {
  annotationProgress: { inputUri: string; progressPercent: number; startTime: string; updateTime: string; feature: string }[];
}

/**
 * The parts of `AnnotateVideoResponse` this example prints (proto3 JSON).
 *
 * @example
 * ```ts
 * const labels = result.annotationResults[0]?.segmentLabelAnnotations.map((l) => l.entity.description);
 * ```
 */
export interface VideoResult {
  annotationResults: {
    inputUri: string;
    segmentLabelAnnotations: {
      entity: { entityId: string; description: string; languageCode: string };
      segments: { segment: { startTimeOffset: string; endTimeOffset: string }; confidence: number }[];
    }[];
  }[];
}

/**
 * Runs the example and returns what it saw: the progress percentages and the result.
 * `log` receives each line it prints (default `console.log`).
 *
 * @example
 * ```ts
 * const { progress, result } = await main(() => undefined);
 * ```
 */
export async function main(log: (line: string) => void = console.log): Promise<{ progress: number[]; result: VideoResult }> {
  const server = await startVideoStandIn();
  const client = new VideoIntelligenceServiceClient(server.clientOptions());
  try {
    // As in the client's README:
    const request = {
      inputUri: 'gs://cloud-samples-data/video/cat.mp4',
      features: [protos.google.cloud.videointelligence.v1.Feature.LABEL_DETECTION],
    };
    const [operation] = await client.annotateVideo(request);
    log(`started ${operation.name}`);

    // Adopt it: same OperationsClient and decoders as the client, our loop and events.
    const op = fromGaxOperation<VideoResult, VideoProgress>(operation, { polling: { initialDelayMs: 20, maxDelayMs: 100 } });
    const progress: number[] = [];
    op.on('metadata', (metadata) => {
      const percent = metadata.annotationProgress[0]?.progressPercent ?? 0;
      progress.push(percent);
      log(`progress ${percent}%`);
    });
    const result = await op.promise({ timeoutMs: 30_000 });

    for (const annotation of result.annotationResults) {
      for (const label of annotation.segmentLabelAnnotations) {
        const segment = label.segments[0];
        log(
          `${annotation.inputUri}: ${label.entity.description} (${segment?.segment.startTimeOffset}–${segment?.segment.endTimeOffset}, confidence ${segment?.confidence})`,
        );
      }
    }
    return { progress, result };
  } finally {
    await client.close();
    await server.close();
  }
}

if (process.argv[1]?.endsWith('gapic-client.ts') || process.argv[1]?.endsWith('gapic-client.js')) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
