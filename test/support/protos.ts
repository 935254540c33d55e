/** Test payload types: a progress metadata message and a result message. */
import * as protobuf from 'protobufjs';
import { TypeRegistry, type AnyMessage } from '../../src/index.js';

export const root = protobuf.parse(`
syntax = "proto3";
package test.v1;
message Progress { int32 percent = 1; string stage = 2; }
message Result { string uri = 1; int64 size_bytes = 2; Kind kind = 3; }
enum Kind { KIND_UNSPECIFIED = 0; VIDEO = 1; AUDIO = 2; }
`).root;
root.resolveAll();

export const registry = TypeRegistry.fromRoot(root);
const Progress = root.lookupType('test.v1.Progress');
const Result = root.lookupType('test.v1.Result');

export const PROGRESS_URL = 'type.googleapis.com/test.v1.Progress';
export const RESULT_URL = 'type.googleapis.com/test.v1.Result';

/** A binary Any of test.v1.Progress. */
export function progress(percent: number, stage = ''): AnyMessage {
  return { typeUrl: PROGRESS_URL, value: Progress.encode(Progress.fromObject({ percent, stage })).finish() };
}

/** A binary Any of test.v1.Result. */
export function result(uri: string, sizeBytes: number | string = 0, kind: 'VIDEO' | 'AUDIO' | 'KIND_UNSPECIFIED' = 'VIDEO'): AnyMessage {
  return { typeUrl: RESULT_URL, value: Result.encode(Result.fromObject({ uri, sizeBytes, kind })).finish() };
}

/** Fake timers that leave Node's own microtask and immediate queues alone. */
export function useFakeTime(): void {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'], now: 1_000_000 });
}

/** Lets pending promises run without moving time. */
export async function flush(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}
