/**
 * Child process of test/debug-log.test.ts: one operation on the in-memory
 * fake with a sleep, a failed poll, its retry and a successful poll, so the
 * debug log (when GOOGLE_SDK_NODE_LOGGING enables it) writes each kind of line
 * to stderr. Prints `done` on stdout at the end.
 */
import { Code, LongRunningOperation } from '../../src/index.js';
import { FakeOperationsServer } from '../../src/testing/index.js';

async function main(): Promise<void> {
  const fake = new FakeOperationsServer({ waitOperation: false });
  const created = fake.create({ name: 'operations/log-1' });
  fake.failNext('GetOperation', { code: Code.UNAVAILABLE, message: 'flaky' }, 1);
  fake.complete(created.name);
  const op = new LongRunningOperation(created, { transport: fake.transport, waitOperation: 'never', polling: { initialDelayMs: 5 }, retry: { initialDelayMs: 5 } });
  await op.promise();
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stdout.write(`failed: ${String(err)}\n`);
  process.exitCode = 1;
});
