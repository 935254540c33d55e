/**
 * Hand-built or server-sent JSON nested far beyond the codec's depth limit
 * is refused with a typed error, never a RangeError later (JSON.stringify,
 * structuredClone).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOperationError, LongRunningOperation, restTransport } from '../src/index.js';
import { MAX_JSON_NESTING_DEPTH as MAX_NESTING_DEPTH } from '../src/codec/schema.js';
import { FakeOperationsServer } from '../src/testing/index.js';

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

function tokenWith(json: Record<string, unknown>): string {
  const inner = JSON.stringify(json);
  return `{"kind":"longrunning.operation","version":1,"name":"operations/deep","resource":{"name":"operations/deep","done":false,"metadata":{"typeUrl":"type.googleapis.com/x.Y","json":${inner}}}}`;
}

describe('resume() and the codec depth limit', () => {
  const transport = new FakeOperationsServer().transport;

  test('a token 100,000 levels deep is an InvalidOperationError', () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const token = `{"kind":"longrunning.operation","version":1,"name":"operations/deep","resource":{"name":"operations/deep","done":false,"metadata":{"typeUrl":"type.googleapis.com/x.Y","json":${deep}}}}`;
    expect(() => LongRunningOperation.resume(token, { transport })).toThrow(InvalidOperationError);
    expect(() => LongRunningOperation.resume(token, { transport })).toThrow(new RegExp(`nests deeper than ${MAX_NESTING_DEPTH} levels`));
  });

  test('the limit is the codec’s: at the limit the token round-trips, one deeper it is refused', () => {
    const ok = LongRunningOperation.resume(tokenWith(nested(MAX_NESTING_DEPTH)), { transport });
    expect(JSON.parse(JSON.stringify(ok)).resource.metadata.json).toEqual(nested(MAX_NESTING_DEPTH));
    expect(() => LongRunningOperation.resume(tokenWith(nested(MAX_NESTING_DEPTH + 1)), { transport })).toThrow(InvalidOperationError);
  });
});

describe('a REST body nested too deep', () => {
  test('is an InvalidOperationError naming the operation', async () => {
    const deep = JSON.stringify(nested(MAX_NESTING_DEPTH + 50));
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"name":"operations/deep","done":false,"metadata":{"@type":"type.googleapis.com/x.Y","v":${deep}}}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const t = restTransport({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const err = await t.getOperation('operations/deep').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOperationError);
      expect((err as Error).message).toMatch(new RegExp(`operations/deep.*nests deeper than ${MAX_NESTING_DEPTH} levels`));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
