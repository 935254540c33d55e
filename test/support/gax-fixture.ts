/** The behaviour suite's google-gax fixture: gaxTransport over a real gax OperationsClient on loopback gRPC. */
import * as gax from 'google-gax';
import { gaxTransport, type GaxOperationsClient } from '../../src/index.js';
import { FakeOperationsServer } from '../../src/testing/index.js';
import { registry } from './protos.js';
import type { TransportFixture } from './transports.js';
import { loopbackClientOptions } from './video-server.js';

process.env.METADATA_SERVER_DETECTION = 'none';

export const gaxFixture: TransportFixture = {
  label: 'gax',
  opName: (i) => `operations/gax-${i}`,
  listName: 'operations',
  supports: { wait: true, cancel: true, delete: true, list: true },
  async connect(options) {
    const server = new FakeOperationsServer({ types: registry, ...options });
    const listener = await server.listenGrpc();
    const clientOptions = loopbackClientOptions(listener.port);
    const client = gax.lro({ auth: clientOptions.auth }).operationsClient(clientOptions);
    return {
      server,
      transport: gaxTransport(client as unknown as GaxOperationsClient),
      close: async () => {
        await client.close();
        await server.close();
      },
    };
  },
};
