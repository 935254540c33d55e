/**
 * The REST/JSON transport: `restTransport`, the built-in `restProfiles`, and
 * the pieces to describe other services (`defineRestProfile`, URL templates).
 * @module
 */
export { restTransport, type RestHeaders, type RestTransportOptions } from './transport.js';
export {
  defineRestProfile,
  matchRestRoute,
  renameMapper,
  resolveRestRoute,
  restProfiles,
  restRoutes,
  templateMapper,
  type HttpMethod,
  type RestBinding,
  type RestBindingSpec,
  type RestMethodKey,
  type RestPathMapper,
  type RestProfile,
  type RestProfileSpec,
  type RestRoute,
} from './profiles.js';
export { PathTemplate, compileTemplate, splitResourceName } from './template.js';
export { grpcCodeFromHttp, httpStatusFromGrpcCode } from './json.js';
