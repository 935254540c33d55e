/**
 * The demo's payload types, shared by the page (examples/web/app.ts, bundled
 * for the browser) and the demo server (examples/web/serve.ts): progress
 * metadata and the result of a "render" job. Browser-safe: protobufjs only.
 */
import protobuf from 'protobufjs';

/** Proto source of the demo's payloads. */
export const DEMO_PROTO = `
syntax = "proto3";
package demo.v1;
message RenderProgress { int32 percent = 1; string stage = 2; }
message RenderResult { string uri = 1; int64 size_bytes = 2; int32 frames = 3; }
`;

/** The demo's payload types, parsed and resolved. */
export function demoRoot(): protobuf.Root {
  const root = protobuf.parse(DEMO_PROTO).root;
  root.resolveAll();
  return root;
}

/** Decoded `demo.v1.RenderProgress` (proto3 JSON form). */
export interface RenderProgress {
  percent?: number;
  stage?: string;
}

/** Decoded `demo.v1.RenderResult` (int64 as a string). */
export interface RenderResult {
  uri: string;
  sizeBytes: string;
  frames: number;
}

/** The kinds of operation the page can start. */
export type DemoKind = 'render' | 'broken' | 'long';
