/**
 * `lro` connection and decoding setup: the transport from `--grpc` or
 * `--rest`/`--profile`, headers, and the type registry from `--proto` files.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import {
  TypeRegistry,
  grpcTransport,
  restProfiles,
  restTransport,
  type OperationsTransport,
  type RestProfile,
} from '../index.js';

/** A command-line mistake: exit code 2, message shown with a hint to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The connection options every command takes. */
export interface ConnectionOptions {
  grpc?: string;
  rest?: string;
  profile?: string;
  header?: string[];
  plaintext?: boolean;
  tls?: boolean;
  proto?: string[];
  protoPath?: string[];
}

/** A transport plus how to release it. */
export interface Connection {
  transport: OperationsTransport;
  /** `grpc` or `rest (profile)`, for messages. */
  describe: string;
  /** The REST profile, when `--rest`. */
  profile?: RestProfile;
  close(): void;
}

/** Names `--profile` accepts. */
export const PROFILE_NAMES = Object.keys(restProfiles) as (keyof typeof restProfiles)[];

function parseHeaders(values: string[] = []): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of values) {
    const at = raw.indexOf(':');
    if (at <= 0) throw new UsageError(`--header expects "name: value", got ${JSON.stringify(raw)}`);
    const name = raw.slice(0, at).trim().toLowerCase();
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new UsageError(`--header: invalid header name ${JSON.stringify(name)}`);
    headers[name] = raw.slice(at + 1).trim();
  }
  return headers;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function splitHostPort(address: string): { host: string; port: string } {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--grpc expects HOST:PORT, got ${JSON.stringify(address)}`);
  return { host: m[1], port: m[2] };
}

/**
 * Opens the transport the options ask for. gRPC uses TLS unless the host is
 * loopback (`--plaintext` / `--tls` override); `--header` values go out as
 * gRPC metadata or HTTP headers.
 */
export function connect(options: ConnectionOptions): Connection {
  if (options.grpc && options.rest) throw new UsageError('use either --grpc HOST:PORT or --rest URL, not both');
  if (!options.grpc && !options.rest) throw new UsageError('say where the Operations service is: --grpc HOST:PORT or --rest URL [--profile NAME]');
  if (options.plaintext && options.tls) throw new UsageError('--plaintext and --tls exclude each other');
  const headers = parseHeaders(options.header);
  if (options.grpc) {
    if (options.profile !== undefined) throw new UsageError('--profile applies to --rest only');
    const { host } = splitHostPort(options.grpc);
    const useTls = options.tls || (!options.plaintext && !isLoopback(host));
    const transport = grpcTransport({
      address: options.grpc,
      credentials: useTls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
      metadata: headers,
    });
    return { transport, describe: `gRPC ${options.grpc}${useTls ? ' (TLS)' : ''}`, close: () => transport.close() };
  }
  const profileName = options.profile ?? 'standard';
  if (!(PROFILE_NAMES as string[]).includes(profileName)) {
    throw new UsageError(`unknown --profile ${JSON.stringify(profileName)}; one of: ${PROFILE_NAMES.join(', ')}`);
  }
  if (options.plaintext || options.tls) throw new UsageError('--plaintext and --tls apply to --grpc only; --rest takes http:// or https://');
  let url: URL;
  try {
    url = new URL(options.rest!);
  } catch {
    throw new UsageError(`--rest expects an absolute http(s) URL, got ${JSON.stringify(options.rest)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--rest expects an http(s) URL, got ${url.protocol}`);
  const profile = restProfiles[profileName as keyof typeof restProfiles];
  const transport = restTransport({ baseUrl: options.rest!, profile, headers });
  return { transport, profile, describe: `REST ${options.rest} (${profileName})`, close: () => undefined };
}

/**
 * The registry for decoding payloads: the bundled types (well-known,
 * google.rpc, google.longrunning) plus those of the `--proto` files. Imports
 * are looked up in `--proto-path` directories, then next to the importing
 * file; google/protobuf/* come with protobufjs; an import found nowhere is
 * skipped (with a warning, except google/api/*, which is usually options
 * only), and a type that needed it stays undecoded.
 */
export async function loadRegistry(
  files: string[] = [],
  includeDirs: string[] = [],
  warn: (message: string) => void = () => undefined,
): Promise<TypeRegistry> {
  if (files.length === 0) return TypeRegistry.default();
  for (const file of files) {
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--proto: no such file ${file}`);
  }
  for (const dir of includeDirs) {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--proto-path: no such directory ${dir}`);
  }
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (path.isAbsolute(target)) return fs.existsSync(target) ? target : null;
    if (origin === '') return path.resolve(target);
    const candidates = [...includeDirs.map((dir) => path.resolve(dir, target)), path.resolve(path.dirname(origin), target)];
    const found = candidates.find((c) => fs.existsSync(c));
    if (found) return found;
    if (!target.startsWith('google/api/')) warn(`import "${target}" (from ${path.basename(origin)}) not found; skipped (add --proto-path DIR)`);
    return null;
  };
  try {
    await root.load(files.map((f) => path.resolve(f)), { keepCase: false });
  } catch (err) {
    throw new UsageError(`--proto: cannot load ${files.join(', ')}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return TypeRegistry.fromRoot(root);
}
