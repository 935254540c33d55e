/** The examples run as the README says, against the fake server on real sockets. */
import { main as demo } from '../examples/demo.js';

process.env.METADATA_SERVER_DETECTION = 'none';

test('the demo watches four operations to their four different ends', async () => {
  const lines: string[] = [];
  const outcomes = await demo((l) => lines.push(l), 4);
  expect(outcomes).toEqual([
    'export: succeeded → gs://demo/export.csv (1234567 rows)',
    'import: failed with 9 "column "price" has the wrong type" (ErrorInfo.reason=SCHEMA_MISMATCH)',
    'reindex: cancelled (code 1)',
    'legacy: succeeded → gs://demo/legacy.csv (42 rows)',
  ]);
  expect(lines.some((l) => /legacy server saw 1 WaitOperation/.test(l))).toBe(true);
  expect(lines.some((l) => l.includes('%'))).toBe(true);
});

test('examples/grpc.ts waits over real gRPC and prints progress', async () => {
  const { main } = await import('../examples/grpc.js');
  const lines: string[] = [];
  await expect(main((l) => lines.push(l))).resolves.toEqual({ image: 'registry.example.com/app:1.2.3', sizeBytes: '73400320' });
  expect(lines[lines.length - 1]).toBe('built registry.example.com/app:1.2.3 (73400320 bytes)');
  expect(lines.filter((l) => l.startsWith('progress:')).length).toBeGreaterThanOrEqual(2);
});

test('examples/rest-cloud-storage.ts uses the Cloud Storage URL layout over real HTTP', async () => {
  const { main } = await import('../examples/rest-cloud-storage.js');
  const lines = await main(() => undefined);
  expect(lines).toContain('done: {"objectsRestored":1000,"status":"OK"}');
  expect(lines).toContain('listed projects/_/buckets/media-archive/operations/restore-2024-01 done=true');
});
