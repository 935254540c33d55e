/**
 * Every transport over a FakeOperationsServer, the way a user would connect
 * it: in memory, real loopback gRPC, real loopback HTTP per REST profile, and
 * (when available) google-gax's OperationsClient.
 */
import { grpcTransport, restProfiles, restTransport, type OperationsTransport, type RestProfile } from '../../src/index.js';
import { FakeOperationsServer, type FakeOperationsServerOptions } from '../../src/testing/index.js';
import { registry } from './protos.js';

export interface Connected {
  server: FakeOperationsServer;
  transport: OperationsTransport;
  close(): Promise<void>;
}

export interface TransportFixture {
  label: string;
  /** Operation names this transport's URL layout accepts. */
  opName(i: number): string;
  /** The collection ListOperations is called with. */
  listName: string;
  supports: { wait: boolean; cancel: boolean; delete: boolean; list: boolean };
  connect(options?: FakeOperationsServerOptions): Promise<Connected>;
}

const memory: TransportFixture = {
  label: 'memory',
  opName: (i) => `operations/mem-${i}`,
  listName: 'operations',
  supports: { wait: true, cancel: true, delete: true, list: true },
  async connect(options) {
    const server = new FakeOperationsServer({ types: registry, ...options });
    return { server, transport: server.transport, close: () => server.close() };
  },
};

const grpc: TransportFixture = {
  label: 'grpc',
  opName: (i) => `operations/grpc-${i}`,
  listName: 'operations',
  supports: { wait: true, cancel: true, delete: true, list: true },
  async connect(options) {
    const server = new FakeOperationsServer({ types: registry, ...options });
    const listener = await server.listenGrpc();
    const transport = grpcTransport({ address: listener.address });
    return {
      server,
      transport,
      close: async () => {
        transport.close();
        await server.close();
      },
    };
  },
};

function rest(profileName: keyof typeof restProfiles, layout: Pick<TransportFixture, 'opName' | 'listName' | 'supports'>): TransportFixture {
  const profile: RestProfile = restProfiles[profileName];
  return {
    label: `rest:${profileName}`,
    ...layout,
    async connect(options) {
      const server = new FakeOperationsServer({ types: registry, ...options });
      const listener = await server.listenHttp(profile);
      const transport = restTransport({ baseUrl: listener.baseUrl, profile });
      return { server, transport, close: () => server.close() };
    },
  };
}

/** The fixtures of every transport this library ships. */
export const transportFixtures: TransportFixture[] = [
  memory,
  grpc,
  rest('standard', { opName: (i) => `operations/rest-${i}`, listName: 'operations', supports: { wait: true, cancel: true, delete: true, list: true } }),
  rest('cloudStorage', {
    opName: (i) => `projects/_/buckets/media-bucket/operations/op${i}`,
    listName: 'projects/_/buckets/media-bucket',
    supports: { wait: false, cancel: true, delete: false, list: true },
  }),
  rest('dialogflowCx', {
    opName: (i) => `projects/p1/locations/global/operations/op${i}`,
    listName: 'projects/p1/locations/global',
    supports: { wait: false, cancel: true, delete: false, list: true },
  }),
  rest('vision', {
    opName: (i) => `projects/p1/locations/us/operations/op${i}`,
    listName: 'projects/p1/locations/us',
    supports: { wait: false, cancel: false, delete: false, list: false },
  }),
];

/** Counts of the active libuv resources by kind, for leak checks. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Kinds of resource that are more numerous now than in `before`. */
export function leakedSince(before: Record<string, number>): Record<string, number> {
  const leaked: Record<string, number> = {};
  for (const [kind, n] of Object.entries(activeResources())) if (n > (before[kind] ?? 0)) leaked[kind] = n - (before[kind] ?? 0);
  return leaked;
}
