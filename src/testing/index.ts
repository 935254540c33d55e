/**
 * longrunning/testing: a fake google.longrunning.Operations server for your
 * tests, in memory or on real loopback gRPC and HTTP sockets.
 *
 * @example
 * ```ts
 * import { FakeOperationsServer } from 'longrunning/testing';
 * const server = new FakeOperationsServer();
 * const { address, close } = await server.listenGrpc();
 * ```
 * @module longrunning/testing
 */
export { FakeOperationsServer, type FakeCall, type FakeOperationsServerOptions, type InjectedError, type ListenHttpOptions, type OperationsMethod } from './fake-server.js';
export { serveGrpc, type GrpcTestServer, type ServeGrpcOptions, type ServedCall } from './grpc-server.js';
export { serveHttp, type HttpListener, type ServeHttpOptions, type ServedRequest } from './http-server.js';
export {
  FaultProxy,
  FaultyOperationsService,
  FaultyServer,
  HTTP2_FRAME,
  type FaultOptions,
  type Http2FrameRecord,
  type FaultRates,
  type FaultStats,
  type FaultyServerOptions,
  type MsRange,
  type ProxyStats,
} from './faults.js';
export { seededRandom } from './random.js';
