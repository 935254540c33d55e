/**
 * The public surface: what `longrunning` and `longrunning/testing` export at
 * run time. Every name of the design's public contract is there; the
 * internal helpers (URL templates, routes, HTTP status mapping, google-gax
 * conversions, the system clock) are not. A change here is a change of the
 * public API: update the CHANGELOG with it.
 */
import * as api from '../src/index.js';
import * as browser from '../src/index.browser.js';
import * as testing from '../src/testing/index.js';

const names = (module: object) => Object.keys(module).filter((key) => key !== '__esModule').sort();

test('longrunning exports exactly the public API', () => {
  expect(names(api)).toEqual(
    [
      'Code',
      'DecodeError',
      'InvalidOperationError',
      'LongRunningError',
      'LongRunningOperation',
      'OperationCancelledError',
      'OperationFailedError',
      'OperationTimeoutError',
      'OperationsClient',
      'PollingLimitError',
      'RpcError',
      'TypeRegistry',
      'UnsupportedRuntimeError',
      'codeName',
      'defineRestProfile',
      'fromGaxOperation',
      'gaxTransport',
      'grpcTransport',
      'memoryTransport',
      'progressPercent',
      'pubsubNotifications',
      'restProfiles',
      'restTransport',
    ].sort(),
  );
});

test('the browser entry (browser, worker, workerd, edge-light conditions) exports the same names', () => {
  expect(names(browser)).toEqual(names(api));
});

test('internal helpers are not in the main entry', () => {
  for (const helper of [
    'compileTemplate', 'PathTemplate', 'splitResourceName', 'templateMapper', 'renameMapper', 'resolveRestRoute', 'matchRestRoute',
    'restRoutes', 'grpcCodeFromHttp', 'httpStatusFromGrpcCode', 'anyFromGax', 'operationFromGax', 'rpcErrorFromGax', 'systemClock',
  ]) {
    expect(names(api)).not.toContain(helper);
    expect(names(browser)).not.toContain(helper);
  }
});

test('longrunning/testing exports the fake server, its listeners and the fault layer', () => {
  expect(names(testing)).toEqual(['FakeOperationsServer', 'FaultProxy', 'FaultyOperationsService', 'FaultyServer', 'HTTP2_FRAME', 'seededRandom', 'serveGrpc', 'serveHttp'].sort());
});
