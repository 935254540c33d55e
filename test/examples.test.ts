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
