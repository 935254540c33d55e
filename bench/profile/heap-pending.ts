/**
 * Heap per pending operation of the library alone: N operations polling an
 * in-memory transport that never answers (all asleep between polls, or all
 * parked behind one WaitOperation probe), heap after a forced GC ÷ N.
 * Builds the library bundle first (as bench/run.ts does), so tsx's
 * keepNames wrappers do not bias the number.
 * Run: npx tsx bench/profile/heap-pending.ts [N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildLibrary } from '../library.js';

const N = Number(process.argv[2] ?? 20_000);

async function main(): Promise<void> {
  const dir = path.resolve(__dirname, '..', '..', 'node_modules', '.cache', 'longrunning-bench');
  mkdirSync(dir, { recursive: true });
  const bundle = path.join(dir, 'lib-heap.cjs');
  await buildLibrary(bundle);
  const child = path.join(dir, 'heap-pending-child.cjs');
  writeFileSync(
    child,
    `const { LongRunningOperation } = require(${JSON.stringify(bundle)});
const [mode, n] = [process.argv[2], Number(process.argv[3])];
const transport = { getOperation: () => new Promise(() => {}), cancelOperation: async () => {}, deleteOperation: async () => {}, listOperations: async () => ({ operations: [], nextPageToken: '' }) };
if (mode === 'probe') transport.waitOperation = () => new Promise(() => {});
const names = Array.from({ length: n }, (_, i) => 'operations/op-' + i);
global.gc(); const before = process.memoryUsage().heapUsed;
const ops = [];
for (const name of names) { const op = new LongRunningOperation({ name, done: false }, { transport, polling: { initialDelayMs: 600000 }, waitOperation: mode === 'probe' ? 'auto' : 'never' }); ops.push(op); op.promise().catch(() => {}); }
setTimeout(() => { global.gc(); console.log(mode.padEnd(8), Math.round((process.memoryUsage().heapUsed - before) / n), 'bytes per pending operation'); process.exit(0); }, 500);
`,
  );
  for (const mode of ['polling', 'probe']) {
    process.stdout.write(execFileSync(process.execPath, ['--expose-gc', child, mode, String(N)], { encoding: 'utf8' }));
  }
}

void main();
