/**
 * REST profiles: how a service lays out the `google.longrunning.Operations`
 * methods as HTTP routes. A profile is plain data (method + path mapping per
 * RPC), used by the client to build requests and by the test server to route
 * them back, so both sides always agree.
 * @module
 */
import { InvalidOperationError, RpcError } from '../../errors.js';
import { Code } from '../../types.js';
import { describeName, PathTemplate, splitResourceName } from './template.js';

/**
 * HTTP methods a profile binding can use.
 *
 * @example
 * ```ts
 * const method: HttpMethod = 'POST';
 * ```
 */
export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/**
 * The profile keys, one per `google.longrunning.Operations` method.
 *
 * @example
 * ```ts
 * const key: RestMethodKey = 'cancel';
 * ```
 */
export type RestMethodKey = 'get' | 'cancel' | 'delete' | 'list' | 'wait';

/**
 * The gRPC method name of each profile key.
 *
 * @example
 * ```ts
 * REST_RPC_NAMES.cancel; // 'CancelOperation'
 * ```
 */
export const REST_RPC_NAMES = {
  get: 'GetOperation',
  cancel: 'CancelOperation',
  delete: 'DeleteOperation',
  list: 'ListOperations',
  wait: 'WaitOperation',
} as const satisfies Record<RestMethodKey, string>;

const DEFAULT_METHOD: Record<RestMethodKey, HttpMethod> = {
  get: 'GET',
  cancel: 'POST',
  delete: 'DELETE',
  list: 'GET',
  wait: 'POST',
};

const KEYS: readonly RestMethodKey[] = ['get', 'list', 'cancel', 'delete', 'wait'];

/**
 * Maps a resource name (an operation name, or for `list` the collection name)
 * to a URL path and back. `expand` gets an already-validated name and returns
 * the percent-encoded path (no query string), or `undefined` when the name
 * does not fit this binding. `match` is the inverse, needed only to *serve*
 * the profile (`serveHttp`).
 *
 * @example
 * ```ts
 * const mapper: RestPathMapper = {
 *   pattern: '/jobs/{id}',
 *   expand: (name) => (/^jobs\/[a-z0-9]+$/.test(name) ? `/${name}` : undefined),
 *   match: (path) => (/^\/jobs\/[a-z0-9]+$/.test(path) ? path.slice(1) : undefined),
 * };
 * ```
 */
export interface RestPathMapper {
  /** Shown in error messages, e.g. the template text. */
  readonly pattern: string;
  /**
   * Name → percent-encoded path, or `undefined` when the name does not fit.
   *
   * @example
   * ```ts
   * mapper.expand('jobs/abc'); // '/jobs/abc'
   * ```
   */
  expand(name: string): string | undefined;
  /**
   * Path (percent-encoded, without query) → name, or `undefined`.
   *
   * @example
   * ```ts
   * mapper.match?.('/jobs/abc'); // 'jobs/abc'
   * ```
   */
  match?(path: string): string | undefined;
}

/**
 * One HTTP binding of a profile after {@link defineRestProfile}: a method and
 * a path mapping.
 *
 * @example
 * ```ts
 * const binding: RestBinding = { method: 'GET', path: templateMapper('/v1/{name=operations/**}') };
 * ```
 */
export interface RestBinding {
  /** The HTTP method of the call. */
  readonly method: HttpMethod;
  /** Operation (or collection) name ↔ URL path. */
  readonly path: RestPathMapper;
}

/**
 * How to write one binding in {@link defineRestProfile}:
 * - a template string with the single variable `name`: `'/v1/{name=operations/**}:cancel'`;
 * - `{ name, path }`: a *name template* and a path template sharing variables,
 *   for services whose URLs do not contain the name verbatim (Cloud Storage:
 *   `{ name: 'projects/_/buckets/{bucket}/operations/{op}', path: '/storage/v1/b/{bucket}/operations/{op}' }`);
 * - a {@link RestPathMapper} object, or a plain function `name → path | undefined`
 *   (client-only: a function cannot be served by `serveHttp`);
 * - any of those wrapped as `{ method, path }` to override the HTTP method
 *   (defaults: GET for get and list, POST for cancel and wait, DELETE for delete).
 *
 * @example
 * ```ts
 * const cancel: RestBindingSpec = { method: 'POST', path: '/v2/{name=jobs/*}:abort' };
 * ```
 */
export type RestBindingSpec =
  | string
  | RestPathMapper
  | ((name: string) => string | undefined)
  | {
      /** HTTP method, overriding the method's default. */
      method?: HttpMethod;
      /** The path: a template, a mapper, or a function `name → path | undefined`. */
      path: string | RestPathMapper | ((name: string) => string | undefined);
      /** Name template (no leading `/`) whose variables fill `path`. */
      name?: string;
    };

/**
 * Input of {@link defineRestProfile}. Each method takes one binding or a list
 * (tried in order; the first whose pattern fits the name is used). A method
 * left out is not offered by the service: the transport rejects it with
 * `RpcError` UNIMPLEMENTED without sending anything (and, for `wait`, has no
 * `waitOperation` at all).
 *
 * @example
 * ```ts
 * const spec: RestProfileSpec = { name: 'jobs', get: '/v2/{name=jobs/*}', cancel: '/v2/{name=jobs/*}:cancel' };
 * ```
 */
export interface RestProfileSpec {
  /** Profile name, shown in error messages. */
  name: string;
  /** `GetOperation` binding(s); required. */
  get: RestBindingSpec | readonly RestBindingSpec[];
  /** `CancelOperation` binding(s) (default method POST). */
  cancel?: RestBindingSpec | readonly RestBindingSpec[];
  /** `DeleteOperation` binding(s) (default method DELETE). */
  delete?: RestBindingSpec | readonly RestBindingSpec[];
  /** Maps the *collection* name of `ListOperations` (e.g. `operations`, `projects/p/locations/l`). Query: `filter`, `pageSize`, `pageToken`. */
  list?: RestBindingSpec | readonly RestBindingSpec[];
  /** `:wait` binding; the request body is `{"timeout": "<seconds>s"}`. */
  wait?: RestBindingSpec | readonly RestBindingSpec[];
  /**
   * Whether an HTTP 404 from the wait binding means the service has no such
   * route (→ `RpcError` UNIMPLEMENTED, so callers fall back to polling)
   * rather than that the operation does not exist (→ NOT_FOUND). Default false.
   */
  waitNotFoundIsUnimplemented?: boolean;
}

/**
 * A service's URL layout for the long-running operations methods: for each
 * method (`get`, `cancel`, `delete`, `list`, `wait`) an ordered list of
 * bindings `{ method, path: RestPathMapper }` (empty = the service does not
 * offer it), plus `waitNotFoundIsUnimplemented`. Frozen plain data; build one
 * with {@link defineRestProfile} or take one from {@link restProfiles}.
 *
 * @example
 * ```ts
 * const profile: RestProfile = restProfiles.standard;
 * profile.get[0].path.pattern; // '/v1/{name=operations/**}'
 * ```
 */
export interface RestProfile {
  /** Profile name, shown in error messages. */
  readonly name: string;
  /** `GetOperation` bindings, tried in order. */
  readonly get: readonly RestBinding[];
  /** `CancelOperation` bindings (empty: not offered). */
  readonly cancel: readonly RestBinding[];
  /** `DeleteOperation` bindings (empty: not offered). */
  readonly delete: readonly RestBinding[];
  /** `ListOperations` bindings, mapping the collection name (empty: not offered). */
  readonly list: readonly RestBinding[];
  /** `WaitOperation` bindings (empty: the transport has no `waitOperation`). */
  readonly wait: readonly RestBinding[];
  /** Whether a 404 from the wait binding means UNIMPLEMENTED rather than NOT_FOUND. */
  readonly waitNotFoundIsUnimplemented: boolean;
}

/**
 * A path mapping from a template with the single variable `name`
 * (`/v1/{name=operations/**}`); both directions.
 *
 * @example
 * ```ts
 * templateMapper('/v1/{name=operations/**}:cancel').expand('operations/7'); // '/v1/operations/7:cancel'
 * ```
 */
export function templateMapper(template: string): RestPathMapper {
  const compiled = PathTemplate.parse(template);
  if (compiled.variables.length !== 1 || compiled.variables[0] !== 'name') {
    throw new TypeError(
      `path template ${JSON.stringify(template)} must have exactly one variable, {name}; use { name, path } for other layouts`,
    );
  }
  return Object.freeze({
    pattern: template,
    expand: (name: string) => compiled.tryExpand({ name }),
    match: (path: string) => compiled.match(path)?.name,
  });
}

/**
 * A path mapping between a name template and a path template that share the
 * same variables: for services whose URLs rename parts of the resource name.
 *
 * @example
 * ```ts
 * const m = renameMapper('projects/_/buckets/{bucket}/operations/{op}', '/storage/v1/b/{bucket}/operations/{op}');
 * m.expand('projects/_/buckets/b1/operations/o1'); // '/storage/v1/b/b1/operations/o1'
 * m.match!('/storage/v1/b/b1/operations/o1');      // 'projects/_/buckets/b1/operations/o1'
 * ```
 */
export function renameMapper(nameTemplate: string, pathTemplate: string): RestPathMapper {
  const nameT = PathTemplate.parse(nameTemplate, { leadingSlash: false });
  const pathT = PathTemplate.parse(pathTemplate);
  const a = [...nameT.variables].sort().join(',');
  const b = [...pathT.variables].sort().join(',');
  if (a !== b) {
    throw new TypeError(
      `name template ${JSON.stringify(nameTemplate)} and path template ${JSON.stringify(pathTemplate)} must use the same variables`,
    );
  }
  return Object.freeze({
    pattern: `${pathTemplate} (name ${nameTemplate})`,
    expand(name: string) {
      const encoded = splitResourceName(name).map((s) => encodeURIComponent(s)).join('/');
      const values = nameT.match(encoded);
      return values ? pathT.tryExpand(values) : undefined;
    },
    match(path: string) {
      const values = pathT.match(path);
      return values ? nameT.format(values) : undefined;
    },
  });
}

function isMapper(value: unknown): value is RestPathMapper {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RestPathMapper).expand === 'function' &&
    typeof (value as RestPathMapper).pattern === 'string'
  );
}

function toMapper(path: unknown, nameTemplate: string | undefined, where: string): RestPathMapper {
  if (typeof path === 'string') {
    return nameTemplate === undefined ? templateMapper(path) : renameMapper(nameTemplate, path);
  }
  if (nameTemplate !== undefined) throw new TypeError(`${where}: "name" needs a template string as "path"`);
  if (typeof path === 'function') {
    const fn = path as (name: string) => string | undefined;
    return Object.freeze({ pattern: fn.name ? `${fn.name}()` : 'custom mapping', expand: (name: string) => fn(name) });
  }
  if (isMapper(path)) return path;
  throw new TypeError(`${where}: a binding must be a template string, { name, path }, a RestPathMapper or a function`);
}

function toBinding(key: RestMethodKey, spec: RestBindingSpec, where: string): RestBinding {
  if (typeof spec === 'string' || typeof spec === 'function' || isMapper(spec)) {
    return Object.freeze({ method: DEFAULT_METHOD[key], path: toMapper(spec, undefined, where) });
  }
  if (typeof spec !== 'object' || spec === null || !('path' in spec)) {
    throw new TypeError(`${where}: a binding must be a template string, { name, path }, a RestPathMapper or a function`);
  }
  const method = spec.method ?? DEFAULT_METHOD[key];
  if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') {
    throw new TypeError(`${where}: unsupported HTTP method ${JSON.stringify(method)}`);
  }
  return Object.freeze({ method, path: toMapper(spec.path, spec.name, where) });
}

/**
 * Builds a {@link RestProfile} from a {@link RestProfileSpec}, compiling every
 * template (throws `TypeError` for a bad one). Idempotent: a RestProfile is a
 * valid spec, so `defineRestProfile({ ...restProfiles.standard, wait: undefined })`
 * derives a profile.
 *
 * @example
 * ```ts
 * const jobs = defineRestProfile({
 *   name: 'jobs',
 *   get: '/v2/{name=jobs/*}',
 *   cancel: '/v2/{name=jobs/*}:cancel',
 *   list: '/v2/{name=jobs}',
 *   wait: '/v2/{name=jobs/*}:wait',
 *   waitNotFoundIsUnimplemented: true,
 * });
 * ```
 */
export function defineRestProfile(spec: RestProfileSpec): RestProfile {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('a REST profile must be an object');
  const name = typeof spec.name === 'string' && spec.name !== '' ? spec.name : 'custom';
  const out: Record<string, unknown> = { name };
  for (const key of KEYS) {
    const value = spec[key];
    const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
    out[key] = Object.freeze(
      list.map((b: RestBindingSpec, i: number) => toBinding(key, b, `profile ${name}, ${key}[${i}]`)),
    );
  }
  if ((out.get as RestBinding[]).length === 0) throw new TypeError(`profile ${name}: "get" needs at least one binding`);
  out.waitNotFoundIsUnimplemented = spec.waitNotFoundIsUnimplemented === true;
  return Object.freeze(out) as unknown as RestProfile;
}

/** Rejects a path a custom mapping produced that could escape the service's URL space. */
function checkMappedPath(path: unknown, pattern: string): string {
  const bad = (why: string): never => {
    throw new InvalidOperationError(`path mapping ${pattern} produced an unsafe path (${why})`);
  };
  if (typeof path !== 'string') return bad('not a string');
  if (!path.startsWith('/') || path.startsWith('//')) bad('must start with a single "/"');
  if (/[?#\\\s\p{Cc}\p{Cf}]/u.test(path)) bad('contains ?, #, backslash, whitespace or control characters');
  for (const raw of path.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return bad('bad percent-encoding');
    }
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('/')) bad('empty, dot or encoded-slash segment');
  }
  return path;
}

/**
 * The HTTP method and path for calling `key` on `name` with `profile`.
 * Throws `RpcError` UNIMPLEMENTED when the profile has no binding for the
 * method, and {@link InvalidOperationError} (naming the name and the
 * templates) when the name is unsafe or fits none of the bindings.
 *
 * @example
 * ```ts
 * resolveRestRoute(restProfiles.standard, 'cancel', 'operations/1'); // { method: 'POST', path: '/v1/operations/1:cancel' }
 * ```
 */
export function resolveRestRoute(
  profile: RestProfile,
  key: RestMethodKey,
  name: unknown,
): {
  /** The HTTP method. */
  method: HttpMethod;
  /** The percent-encoded URL path. */
  path: string;
} {
  const bindings = profile[key];
  if (!bindings || bindings.length === 0) {
    throw new RpcError(Code.UNIMPLEMENTED, `REST profile ${profile.name} has no HTTP binding for ${REST_RPC_NAMES[key]}`);
  }
  const what = key === 'list' ? 'collection name' : 'operation name';
  splitResourceName(name, what);
  const checked = name as string;
  for (const binding of bindings) {
    const path = binding.path.expand(checked);
    if (path !== undefined) return { method: binding.method, path: checkMappedPath(path, binding.path.pattern) };
  }
  throw new InvalidOperationError(
    `${what} ${describeName(checked)} does not match the ${REST_RPC_NAMES[key]} URL template` +
      `${bindings.length > 1 ? 's' : ''} of REST profile ${profile.name}: ${bindings.map((b) => b.path.pattern).join(', ')}`,
  );
}

/**
 * One row of a profile's route table, as a server sees it.
 *
 * @example
 * ```ts
 * for (const r of restRoutes(restProfiles.standard)) console.log(r.rpc, r.method, r.pattern);
 * ```
 */
export interface RestRoute {
  /** Which method of the profile (`get`, `cancel`, `delete`, `list`, `wait`). */
  readonly key: RestMethodKey;
  /** The RPC it serves, e.g. `GetOperation`. */
  readonly rpc: (typeof REST_RPC_NAMES)[RestMethodKey];
  /** The HTTP method. */
  readonly method: HttpMethod;
  /** The path pattern, for messages. */
  readonly pattern: string;
  /** Path → resource name (the operation, or for `list` the collection), or undefined. */
  readonly match: (path: string) => string | undefined;
}

/**
 * The profile as a route table for a server: every binding that has a
 * `match`, in the order routes are tried (list, get, cancel, delete, wait).
 * Throws `TypeError` if a binding is client-only (a function mapping).
 *
 * @example
 * ```ts
 * restRoutes(restProfiles.vision).length; // 4
 * ```
 */
export function restRoutes(profile: RestProfile): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const key of KEYS) {
    for (const binding of profile[key] ?? []) {
      const { match } = binding.path;
      if (typeof match !== 'function') {
        throw new TypeError(
          `REST profile ${profile.name}: the ${key} binding ${binding.path.pattern} cannot be served (it has no match())`,
        );
      }
      routes.push(
        Object.freeze({
          key,
          rpc: REST_RPC_NAMES[key],
          method: binding.method,
          pattern: binding.path.pattern,
          match: (path: string) => match.call(binding.path, path),
        }),
      );
    }
  }
  return routes;
}

/**
 * Finds the route a request takes: the RPC and the resource name, or
 * `undefined` when no binding of the profile matches method and path.
 *
 * @example
 * ```ts
 * matchRestRoute(restProfiles.standard, 'POST', '/v1/operations/1:cancel'); // { key: 'cancel', rpc: 'CancelOperation', name: 'operations/1' }
 * ```
 */
export function matchRestRoute(
  routesOrProfile: RestProfile | readonly RestRoute[],
  method: string,
  path: string,
):
  | {
      /** Which method of the profile matched. */
      key: RestMethodKey;
      /** The RPC, e.g. `CancelOperation`. */
      rpc: RestRoute['rpc'];
      /** The operation (or collection) name taken from the path. */
      name: string;
    }
  | undefined {
  const routes = Array.isArray(routesOrProfile) ? routesOrProfile : restRoutes(routesOrProfile as RestProfile);
  for (const route of routes as readonly RestRoute[]) {
    if (route.method !== method) continue;
    const name = route.match(path);
    if (name !== undefined) return { key: route.key, rpc: route.rpc, name };
  }
  return undefined;
}

const storageOperation = 'projects/_/buckets/{bucket}/operations/{operationId}';

/**
 * Built-in profiles (DESIGN §1):
 * - `standard`: `GET /v1/{name=operations/**}`, list `GET /v1/{name=operations}`,
 *   `DELETE /v1/{name=operations/**}`, `POST /v1/{name=operations/**}:cancel`, and
 *   `POST /v1/{name=operations/**}:wait`. The wait binding is not part of the
 *   standard mapping, so a 404 from it is taken as UNIMPLEMENTED (callers fall
 *   back to polling; a missing operation then shows up as NOT_FOUND from GetOperation).
 * - `cloudStorage`: name `projects/_/buckets/{bucket}/operations/{operationId}` ↔
 *   `/storage/v1/b/{bucket}/operations/{operationId}` (get), `…/cancel` (POST),
 *   list `GET /storage/v1/b/{bucket}/operations` for `projects/_/buckets/{bucket}`; no delete, no wait.
 * - `dialogflowCx`: `GET /v3/{name}` and `POST /v3/{name}:cancel` for names
 *   `projects/{p}/locations/{l}/operations/{o}` and `projects/{p}/operations/{o}`;
 *   list `GET /v3/{name}/operations` for `projects/{p}/locations/{l}`; no delete, no wait.
 * - `vision`: `GET /v1/{name}` only, for names `projects/{p}/locations/{l}/operations/{o}`,
 *   `operations/{o}`, `projects/{p}/operations/{o}` and `locations/{l}/operations/{o}`.
 *
 * @example
 * ```ts
 * const transport = restTransport({ baseUrl: 'https://storage.googleapis.com', profile: restProfiles.cloudStorage });
 * ```
 */
export const restProfiles: {
  /** The standard HTTP mapping of google.longrunning.Operations under `/v1`, plus `:wait`. */
  readonly standard: RestProfile;
  /** Cloud Storage JSON API bucket operations (`/storage/v1/b/{bucket}/operations/…`). */
  readonly cloudStorage: RestProfile;
  /** Dialogflow CX v3 (`/v3/projects/…/operations/…`). */
  readonly dialogflowCx: RestProfile;
  /** Cloud Vision v1 (get only). */
  readonly vision: RestProfile;
} = Object.freeze({
  standard: defineRestProfile({
    name: 'standard',
    get: '/v1/{name=operations/**}',
    list: '/v1/{name=operations}',
    delete: '/v1/{name=operations/**}',
    cancel: '/v1/{name=operations/**}:cancel',
    wait: '/v1/{name=operations/**}:wait',
    waitNotFoundIsUnimplemented: true,
  }),
  cloudStorage: defineRestProfile({
    name: 'cloudStorage',
    get: { name: storageOperation, path: '/storage/v1/b/{bucket}/operations/{operationId}' },
    cancel: { method: 'POST', name: storageOperation, path: '/storage/v1/b/{bucket}/operations/{operationId}/cancel' },
    list: { name: 'projects/_/buckets/{bucket}', path: '/storage/v1/b/{bucket}/operations' },
  }),
  dialogflowCx: defineRestProfile({
    name: 'dialogflowCx',
    get: ['/v3/{name=projects/*/locations/*/operations/*}', '/v3/{name=projects/*/operations/*}'],
    cancel: ['/v3/{name=projects/*/locations/*/operations/*}:cancel', '/v3/{name=projects/*/operations/*}:cancel'],
    list: '/v3/{name=projects/*/locations/*}/operations',
  }),
  vision: defineRestProfile({
    name: 'vision',
    get: [
      '/v1/{name=projects/*/locations/*/operations/*}',
      '/v1/{name=operations/*}',
      '/v1/{name=projects/*/operations/*}',
      '/v1/{name=locations/*/operations/*}',
    ],
  }),
});
