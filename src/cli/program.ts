/**
 * The `lro` command line: get, wait, cancel, delete and list long-running
 * operations over gRPC or REST. {@link run} is the whole program; `main.ts`
 * only wires it to the process.
 * @module
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  Code,
  InvalidOperationError,
  LongRunningError,
  LongRunningOperation,
  OperationFailedError,
  OperationTimeoutError,
  RpcError,
  codeName,
  resolveRestRoute,
  type OperationResource,
  type RestMethodKey,
  type TypeRegistry,
} from '../index.js';
import { enableDebugLog } from '../telemetry/log.js';
import { PROFILE_NAMES, UsageError, connect, loadRegistry, type Connection, type ConnectionOptions } from './connect.js';
import { lineReporter, progressOf, progressText, silentReporter, terminalReporter, type OutputStream, type ProgressReporter } from './progress.js';
import { decodeAny, describeAny, describeError, describeOperation, fieldsOf, operationJson, stateOf } from './render.js';

/** Exit codes of `lro`. */
export const ExitCode = {
  /** The command did what was asked (for `wait`: the operation succeeded). */
  OK: 0,
  /** `wait`: the operation ended with an error (including CANCELLED). */
  OPERATION_FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** `--timeout` passed (or the server answered DEADLINE_EXCEEDED). */
  TIMEOUT: 3,
  /** A call to the Operations service failed (NOT_FOUND, UNAVAILABLE, …) or returned something invalid. */
  RPC_FAILED: 4,
  /** Ctrl-C (SIGINT); the operation keeps running on the server. */
  INTERRUPTED: 130,
} as const;

/** What the CLI talks to: its streams, environment and interrupt signal. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** Calls `handler` on Ctrl-C (SIGINT); returns a function that unregisters it. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process: stdout, stderr, env, SIGINT. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onInterrupt(handler) {
      let count = 0;
      // The first Ctrl-C stops waiting gracefully; a second one exits at once.
      const listener = () => (++count === 1 ? handler() : process.exit(ExitCode.INTERRUPTED));
      process.on('SIGINT', listener);
      return () => process.off('SIGINT', listener);
    },
  };
}

interface GlobalOptions extends ConnectionOptions {
  timeout?: number;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
  verbose?: boolean;
}

/** `30s`, `5m`, `1h`, `1500ms`, or a number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 5m, 1h, 1500ms, or seconds');
  const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive duration');
  return Math.round(n);
}

function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2 ** 31 - 1) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function version(): string {
  // src/cli → package root is two levels up; dist/cjs/cli → three.
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'longrunning' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

const EXAMPLES = `
Examples:
  lro get    operations/123 --grpc 127.0.0.1:50051
  lro wait   operations/123 --grpc 127.0.0.1:50051 --timeout 10m
  lro wait   projects/_/buckets/b/operations/abc --rest https://storage.googleapis.com --profile cloudStorage \\
             --header "authorization: Bearer $(gcloud auth print-access-token)"
  lro cancel operations/123 --grpc localhost:50051
  lro list   --grpc 127.0.0.1:50051 --filter "done=false" --page-size 50 --json

Payloads (metadata, response, error details) are shown in proto3 JSON form.
Types known without help: google.protobuf.*, google.rpc.*, google.longrunning.*;
load others with --proto FILE (and --proto-path DIR for imports). A payload of
an unknown type shows its type URL and raw fields; in --json it is
{"@type": URL, "value": "<base64>"} (REST payloads stay as the server sent them).

wait: a progress bar on a terminal (percent from the metadata: progressPercent,
progress_percent, percentComplete, workCompleted/workEstimated, …; a spinner
when there is none), plain lines otherwise. Ctrl-C stops waiting; it never
cancels the operation on the server (lro cancel does).

Exit codes:
  0    success (wait: the operation succeeded)
  1    wait: the operation failed or was cancelled
  2    usage error
  3    timeout (--timeout passed; the operation may still be running)
  4    a call to the Operations service failed (NOT_FOUND, UNAVAILABLE, …)
  130  interrupted (Ctrl-C)
`;

/**
 * Runs `lro` with the given arguments (without `node` and the script) and
 * resolves with the exit code. Never rejects and never exits the process.
 */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const out = (line = '') => io.stdout.write(line + '\n');
  const err = (line: string) => io.stderr.write(line + '\n');
  let exitCode: number = ExitCode.OK;

  const program = new Command('lro');
  program
    .description('Get, wait for, cancel, delete and list Google-style long-running operations (google.longrunning.Operations).')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(lro --help for usage)')
    .addOption(new Option('--grpc <host:port>', 'the Operations service over gRPC (TLS unless the host is loopback)').env('LRO_GRPC'))
    .addOption(new Option('--rest <url>', 'the Operations service over REST/JSON, e.g. https://storage.googleapis.com').env('LRO_REST'))
    .addOption(new Option('--profile <name>', `URL layout of the REST API: ${PROFILE_NAMES.join(', ')} (default standard)`).env('LRO_PROFILE'))
    .addOption(new Option('-H, --header <name: value>', 'header or gRPC metadata sent with every call (repeatable)').argParser(collect))
    .addOption(new Option('--plaintext', 'gRPC without TLS'))
    .addOption(new Option('--tls', 'gRPC with TLS even to a loopback host'))
    .addOption(new Option('--proto <file>', 'a .proto file whose types decode payloads (repeatable)').argParser(collect))
    .addOption(new Option('--proto-path <dir>', 'where imports of --proto files are found (repeatable)').argParser(collect))
    .addOption(new Option('--timeout <duration>', 'give up after this long (30s, 5m, 1500ms; a plain number is seconds); default: wait waits as long as it takes, other commands 30s per call').argParser(parseDuration))
    .addOption(new Option('--json', 'machine-readable output (proto3 JSON) on stdout'))
    .addOption(new Option('-q, --quiet', 'no progress output'))
    .addOption(new Option('-v, --verbose', 'debug log on stderr: each call, sleep and retry of the wait (the same as GOOGLE_SDK_NODE_LOGGING=longrunning)'))
    .addHelpText('after', EXAMPLES);

  const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();
  program.hook('preAction', (_program, action) => {
    if (globals(action).verbose) enableDebugLog();
  });
  const interruption = new AbortController();
  const removeInterrupt = io.onInterrupt(() => {
    if (interruption.signal.aborted) return;
    interruption.abort(new InterruptedError());
  });
  const connections: Connection[] = [];
  /** Connects, loads `--proto` types, and checks the name fits the REST profile (else a usage error). */
  const open = async (opts: GlobalOptions, key: RestMethodKey, name: string) => {
    const registry = await loadRegistry(opts.proto, opts.protoPath, (m) => err(`lro: warning: ${m}`));
    const connection = connect(opts);
    connections.push(connection);
    if (connection.profile && connection.profile[key].length > 0) {
      try {
        resolveRestRoute(connection.profile, key, name);
      } catch (error) {
        if (error instanceof InvalidOperationError) throw new UsageError(error.message);
        throw error;
      }
    }
    return { connection, registry };
  };
  const callOptions = (opts: GlobalOptions) => ({ signal: interruption.signal, timeoutMs: opts.timeout ?? 30_000 });

  program
    .command('get')
    .description('show the current state of an operation (GetOperation)')
    .argument('<name>', 'operation name, e.g. operations/123')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const { connection, registry } = await open(opts, 'get', name);
      const resource = await connection.transport.getOperation(name, callOptions(opts));
      printOperation(resource, registry, opts);
    });

  program
    .command('wait')
    .description('wait until an operation is done, showing its progress; exit 0 if it succeeded, 1 if it failed')
    .argument('<name>', 'operation name')
    .addOption(new Option('--poll-interval <duration>', 'longest pause between polls, and how often progress is refreshed').argParser(parseDuration).default(5000, '5s'))
    .addOption(new Option('--no-wait-operation', 'always poll GetOperation, never call WaitOperation'))
    .action(async (name: string, local: { pollInterval: number; waitOperation: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const { connection, registry } = await open(opts, 'get', name);
      exitCode = await waitFor(name, connection, registry, opts, local);
    });

  program
    .command('cancel')
    .description('ask the server to cancel an operation (CancelOperation); it then ends with CANCELLED')
    .argument('<name>', 'operation name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const { connection } = await open(opts, 'cancel', name);
      await connection.transport.cancelOperation(name, callOptions(opts));
      if (opts.json) out(JSON.stringify({ name, cancelRequested: true }));
      else out(`cancel requested for ${name}; it ends when the server says so (lro wait ${name})`);
    });

  program
    .command('delete')
    .description('delete an operation (DeleteOperation): the client is no longer interested in its result')
    .argument('<name>', 'operation name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const { connection } = await open(opts, 'delete', name);
      await connection.transport.deleteOperation(name, callOptions(opts));
      if (opts.json) out(JSON.stringify({ name, deleted: true }));
      else out(`deleted ${name}`);
    });

  program
    .command('list')
    .description('list operations (ListOperations), all pages')
    .argument('[collection]', 'the collection or parent whose operations are listed', 'operations')
    .option('--filter <expr>', 'server-side filter, e.g. "done=false"')
    .addOption(new Option('--page-size <n>', 'operations per page').argParser(parsePositiveInt))
    .addOption(new Option('--limit <n>', 'stop after this many operations').argParser(parsePositiveInt))
    .action(async (collection: string, local: { filter?: string; pageSize?: number; limit?: number }, cmd: Command) => {
      const opts = globals(cmd);
      const { connection, registry } = await open(opts, 'list', collection);
      const deadline = opts.timeout === undefined ? Infinity : Date.now() + opts.timeout;
      const found: OperationResource[] = [];
      const seen = new Set<string>();
      let pageToken = '';
      do {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new RpcError(Code.DEADLINE_EXCEEDED, `listing ${collection} took longer than --timeout`);
        const page = await connection.transport.listOperations(
          { name: collection, filter: local.filter, pageSize: local.pageSize, pageToken: pageToken || undefined },
          { signal: interruption.signal, timeoutMs: opts.timeout === undefined ? 30_000 : remaining },
        );
        for (const op of page.operations) {
          if (local.limit !== undefined && found.length >= local.limit) break;
          found.push(op);
          if (!opts.json) out(listLine(op, registry));
        }
        pageToken = page.nextPageToken ?? '';
        if (pageToken && seen.has(pageToken)) throw new LongRunningError(`ListOperations returned page token ${JSON.stringify(pageToken)} twice`);
        seen.add(pageToken);
      } while (pageToken !== '' && (local.limit === undefined || found.length < local.limit));
      if (opts.json) out(JSON.stringify(found.map((op) => operationJson(op, registry)), null, 2));
      else if (found.length === 0) err(`no operations in ${collection}${local.filter ? ` matching ${JSON.stringify(local.filter)}` : ''}`);
    });

  function printOperation(resource: OperationResource, registry: TypeRegistry, opts: GlobalOptions): void {
    if (opts.json) {
      out(JSON.stringify(operationJson(resource, registry), null, 2));
      return;
    }
    const progress = resource.metadata && !resource.done ? progressText(progressOf(fieldsOf(decodeAny(resource.metadata, registry)))) : '';
    for (const line of describeOperation(resource, registry, progress)) out(line);
  }

  async function waitFor(
    name: string,
    connection: Connection,
    registry: TypeRegistry,
    opts: GlobalOptions,
    local: { pollInterval: number; waitOperation: boolean },
  ): Promise<number> {
    const decodeFields = (any: Parameters<TypeRegistry['decode']>[0]) => fieldsOf(decodeAny(any, registry));
    const op = new LongRunningOperation<Record<string, unknown>, Record<string, unknown>>(name, {
      transport: connection.transport,
      decode: { metadata: decodeFields, response: decodeFields },
      waitOperation: local.waitOperation ? 'auto' : 'never',
      progressIntervalMs: local.pollInterval,
      polling: { initialDelayMs: Math.min(1000, local.pollInterval), maxDelayMs: local.pollInterval },
      signal: interruption.signal,
    });
    let reporter: ProgressReporter = silentReporter;
    if (!opts.quiet) reporter = io.stderr.isTTY ? terminalReporter(io.stderr, name) : lineReporter(io.stderr, name);
    op.on('metadata', (metadata) => reporter.update(progressOf(metadata)));
    let last: OperationResource | undefined;
    try {
      await op.promise(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout });
      last = op.latest;
      reporter.stop({ ...progressOf(op.metadata), percent: 100 });
      if (opts.json) out(JSON.stringify(operationJson(last, registry), null, 2));
      else {
        out(`${name}: ${stateOf(last)}`);
        if (last.response) out(`  response  ${describeAny(last.response, registry)}`);
      }
      return ExitCode.OK;
    } catch (error) {
      reporter.stop();
      if (interruption.signal.aborted) {
        err(`lro: interrupted; stopped waiting for ${name}. It keeps running on the server (lro cancel ${name} cancels it).`);
        return ExitCode.INTERRUPTED;
      }
      if (error instanceof OperationFailedError) {
        last = op.latest;
        if (opts.json) out(JSON.stringify(operationJson(last, registry), null, 2));
        else {
          out(`${name}: ${stateOf(last)}`);
          for (const line of describeError(last.error ?? error.status, registry)) out(line);
        }
        return ExitCode.OPERATION_FAILED;
      }
      if (error instanceof OperationTimeoutError) {
        err(`lro: timed out after ${formatMs(error.timeoutMs)} waiting for ${name}; it may still be running on the server`);
        return ExitCode.TIMEOUT;
      }
      throw error;
    }
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    exitCode = exitCodeFor(error, err, interruption.signal);
  } finally {
    removeInterrupt();
    for (const c of connections) c.close();
  }
  return exitCode;
}

/** The reason the interrupt signal aborts with. */
class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor() {
    super('interrupted');
  }
}

/** `operations/1  running  40% exporting` */
function listLine(resource: OperationResource, registry: TypeRegistry): string {
  const state = stateOf(resource);
  const progress = resource.metadata && !resource.done ? progressText(progressOf(fieldsOf(decodeAny(resource.metadata, registry)))) : '';
  const error = resource.error ? `${codeName(resource.error.code)}: ${resource.error.message}` : '';
  return [resource.name, state.padEnd(9), progress || error].join('  ').trimEnd();
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function exitCodeFor(error: unknown, err: (line: string) => void, interrupt: AbortSignal): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return ExitCode.OK;
    return ExitCode.USAGE; // commander has printed the message
  }
  if (error instanceof UsageError) {
    err(`lro: ${error.message}`);
    err('(lro --help for usage)');
    return ExitCode.USAGE;
  }
  if (interrupt.aborted && (error === interrupt.reason || (error as Error)?.name === 'AbortError' || error instanceof InterruptedError)) {
    err('lro: interrupted');
    return ExitCode.INTERRUPTED;
  }
  if (error instanceof RpcError) {
    err(`lro: ${error.message}`);
    for (const detail of error.details) err(`  ${JSON.stringify(detail)}`);
    return error.code === Code.DEADLINE_EXCEEDED ? ExitCode.TIMEOUT : ExitCode.RPC_FAILED;
  }
  if (error instanceof LongRunningError) {
    err(`lro: ${error.message}`);
    return ExitCode.RPC_FAILED;
  }
  err(`lro: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return ExitCode.RPC_FAILED;
}
