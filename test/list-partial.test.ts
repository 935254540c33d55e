/**
 * ListOperations `returnPartialSuccess` / `unreachable` (the current
 * google.longrunning definition) on every transport that lists, against the
 * fake server on real loopback sockets.
 */
import { Code } from '../src/index.js';
import { transportFixtures, type Connected } from './support/transports.js';

describe.each(transportFixtures.filter((f) => f.supports.list).map((f) => [f.label, f] as const))('%s', (_label, fixture) => {
  let conn: Connected | undefined;
  afterEach(async () => {
    await conn?.close();
    conn = undefined;
  });

  test('returnPartialSuccess reaches the server; unreachable comes back; without it the list fails', async () => {
    conn = await fixture.connect();
    const { server, transport } = conn;
    const a = server.create({ name: fixture.opName(1) });
    const b = server.create({ name: fixture.opName(2) });
    const plain = await transport.listOperations({ name: fixture.listName });
    expect(plain.operations.map((o) => o.name)).toEqual([a.name, b.name]);
    expect(plain.unreachable).toBeUndefined();

    server.setUnreachable(['projects/p/locations/eu', 'projects/p/locations/asia']);
    await expect(transport.listOperations({ name: fixture.listName })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    const partial = await transport.listOperations({ name: fixture.listName, returnPartialSuccess: true });
    expect(partial.operations.map((o) => o.name)).toEqual([a.name, b.name]);
    expect(partial.unreachable).toEqual(['projects/p/locations/eu', 'projects/p/locations/asia']);
    expect(partial.nextPageToken).toBe('');

    server.setUnreachable([]);
    expect((await transport.listOperations({ name: fixture.listName, returnPartialSuccess: true })).unreachable).toBeUndefined();
    expect(() => server.setUnreachable([''])).toThrow(TypeError);
  });
});
