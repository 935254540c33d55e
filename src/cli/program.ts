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
  type OperationResource,
  type RestMethodKey,
  type TypeRegistry,
} from '../index.js';
import { enableDebugLog, withCallLog } from '../telemetry/log.js';
import { REST_RPC_NAMES as RPC_NAMES, resolveRestRoute } from '../transports/rest/profiles.js';
import { PROFILE_NAMES, UsageError, connect, loadRegistry, type Connection, type ConnectionOptions } from './connect.js';
import { lineReporter, progressOf, progressText, silentReporter, terminalReporter, type OutputStream, type ProgressReporter } from './progress.js';
import { decodeAny, describeAny, describeError, describeOperation, fieldsOf, operationJson, stateOf } from './render.js';

/** Exit codes of `lro`. */
export const ExitCode = {
  /** The command did what was asked (for `wait`: the operation succeeded). */
  OK: 0,
  /** `wait`: the operation ended with an error (including CANCELLED). */
  OPERATION_FAILED: 1,
  /** Bad command line, including an invalid name or a method the REST profile lacks (nothing was sent). */
  USAGE: 2,
  /** `--timeout` passed, or the server did not answer in time (DEADLINE_EXCEEDED). */
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

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * `30s`, `5m`, `1h`, `1500ms`, compounds such as `1m30s` or `1h15m`, or a
 * plain number of seconds → milliseconds.
 */
export function parseDuration(value: string): number {
  const text = value.trim();
  const hint = 'expected a duration such as 30s, 5m, 1m30s, 1h, 1500ms, or a number of seconds';
  let n: number;
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    n = Number(text) * 1000;
  } else {
    n = 0;
    DURATION_PART.lastIndex = 0;
    let end = 0;
    let parts = 0;
    for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
      n += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
      end = DURATION_PART.lastIndex;
      parts++;
    }
    if (parts === 0 || end !== text.length) throw new InvalidArgumentError(hint);
  }
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive duration');
  if (n > MAX_DURATION_MS) throw new InvalidArgumentError(`expected a duration of at most ${MAX_DURATION_MS / 86_400_000} days`);
  return Math.round(n);
}

/** Longest duration accepted (Node timers hold at most 2^31-1 ms, about 24.8 days). */
const MAX_DURATION_MS = 24 * 86_400_000;

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
  lro wait   operations/123 --grpc 127.0.0.1:50051 --timeout 1m30s
  lro wait   projects/_/buckets/b/operations/abc --rest https://storage.googleapis.com --profile cloudStorage \\
             --header "authorization: Bearer $(gcloud auth print-access-token)"
  lro cancel operations/123 --grpc localhost:50051
  lro list   --grpc 127.0.0.1:50051 --filter "done=false" --page-size 50 --json

Payloads (metadata, response, error details) are shown in proto3 JSON form.
Types known without help: google.protobuf.*, google.rpc.*, google.longrunning.*;
load others with --proto FILE (and --proto-path DIR for imports). A payload of
an unknown type shows its type URL and raw fields; in --json it is
{"@type": URL, "value": "<base64>"} (REST payloads stay as the server sent them).

wait: reads the operation once (GetOperation), so the progress so far shows
within one round trip, then waits. A progress bar on a terminal (percent from
the metadata: progressPercent, progress_percent, percentComplete,
workCompleted/workEstimated, …; a spinner when there is none), plain lines
otherwise. Ctrl-C stops waiting; it never cancels the operation on the server
(lro cancel does).

Exit codes:
  0    success (wait: the operation succeeded)
  1    wait: the operation failed or was cancelled
  2    usage error (also: an invalid name, or a method the REST profile lacks;
       nothing is sent then)
  3    timeout (--timeout passed, or the server did not answer in time)
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
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option('--grpc <host:port>', 'the Operations service over gRPC (TLS unless the host is loopback)').env('LRO_GRPC'))
    .addOption(new Option('--rest <url>', 'the Operations service over REST/JSON, e.g. https://storage.googleapis.com').env('LRO_REST'))
    .addOption(new Option('--profile <name>', `URL layout of the REST API: ${PROFILE_NAMES.join(', ')} (default standard)`).env('LRO_PROFILE'))
    .addOption(new Option('-H, --header <name: value>', 'header or gRPC metadata sent with every call (repeatable)').argParser(collect))
    .addOption(new Option('--plaintext', 'gRPC without TLS'))
    .addOption(new Option('--tls', 'gRPC with TLS even to a loopback host'))
    .addOption(new Option('--proto <file>', 'a .proto file whose types decode payloads (repeatable)').argParser(collect))
    .addOption(new Option('--proto-path <dir>', 'where imports of --proto files are found (repeatable)').argParser(collect))
    .addOption(new Option('--timeout <duration>', 'give up after this long (30s, 5m, 1m30s, 1500ms; a plain number is seconds); default: wait waits as long as it takes, other commands 30s per call').argParser(parseDuration))
    .addOption(new Option('--json', 'machine-readable output (proto3 JSON) on stdout'))
    .addOption(new Option('-q, --quiet', 'no progress output'))
    .addOption(new Option('-v, --verbose', 'debug log on stderr: each call, and each sleep and retry while waiting (as GOOGLE_SDK_NODE_LOGGING=longrunning)'))
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
  /** What the failed call talked to, for messages about connection problems. */
  let target: Connection | undefined;
  /**
   * Connects, loads `--proto` types, and checks the name before any call (a
   * usage error when it is not a valid name, or over REST when the profile
   * does not map it or has no binding for the method).
   */
  const open = async (opts: GlobalOptions, key: RestMethodKey, name: string) => {
    const registry = await loadRegistry(opts.proto, opts.protoPath, (m) => err(`lro: warning: ${m}`));
    const connection = connect(opts);
    connections.push(connection);
    if (opts.verbose) connection.transport = withCallLog(connection.transport); // calls made outside a wait are logged too
    target = connection;
    checkName(name, key === 'list' ? 'collection name' : 'operation name', connection.profile === undefined && key === 'list');
    if (connection.profile) {
      if (connection.profile[key].length === 0) {
        throw new UsageError(
          `the REST profile ${connection.profile.name} has no HTTP binding for ${RPC_NAMES[key]}, so lro ${COMMAND_OF[key]} cannot work over it; nothing was sent` +
            (key === 'wait' ? '' : ` (this API may offer it over gRPC: --grpc HOST:PORT)`),
        );
      }
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
      const rows: string[][] = [];
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
          if (!opts.json) rows.push(listRow(op, registry));
        }
        pageToken = page.nextPageToken ?? '';
        if (pageToken && seen.has(pageToken)) throw new LongRunningError(`ListOperations returned page token ${JSON.stringify(pageToken)} twice`);
        seen.add(pageToken);
      } while (pageToken !== '' && (local.limit === undefined || found.length < local.limit));
      if (opts.json) out(JSON.stringify(found.map((op) => operationJson(op, registry)), null, 2));
      else if (found.length === 0) err(`no operations in ${collection}${local.filter ? ` matching ${JSON.stringify(local.filter)}` : ''}`);
      else for (const line of alignColumns(rows)) out(line);
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
    const started = Date.now();
    // One GetOperation first: the progress so far is on screen within one
    // round trip (a WaitOperation would show nothing until it returns), and a
    // server that is not there, or an unknown name, fails here, before waiting.
    let initial: OperationResource;
    try {
      initial = await connection.transport.getOperation(name, { signal: interruption.signal, timeoutMs: opts.timeout ?? 30_000 });
    } catch (error) {
      if (error instanceof RpcError && error.code === Code.DEADLINE_EXCEEDED) {
        const after = opts.timeout === undefined ? '30s' : formatMs(opts.timeout);
        err(`lro: timed out after ${after}: ${connection.describe} did not answer GetOperation ${name}; nothing is known about the operation`);
        return ExitCode.TIMEOUT;
      }
      throw error;
    }
    const known = initial.metadata ? progressOf(decodeFields(initial.metadata)) : {};
    let reporter: ProgressReporter = silentReporter;
    if (!opts.quiet) reporter = io.stderr.isTTY ? terminalReporter(io.stderr, name, Date.now, known) : lineReporter(io.stderr, name, Date.now, known);
    const op = new LongRunningOperation<Record<string, unknown>, Record<string, unknown>>(initial, {
      transport: connection.transport,
      decode: { metadata: decodeFields, response: decodeFields },
      waitOperation: local.waitOperation ? 'auto' : 'never',
      progressIntervalMs: local.pollInterval,
      polling: { initialDelayMs: Math.min(1000, local.pollInterval), maxDelayMs: local.pollInterval },
      signal: interruption.signal,
    });
    op.on('metadata', (metadata) => reporter.update(progressOf(metadata)));
    let last: OperationResource | undefined;
    try {
      await op.promise(opts.timeout === undefined ? {} : { timeoutMs: Math.max(1, opts.timeout - (Date.now() - started)) });
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
        const seen = progressText(progressOf(op.metadata));
        err(`lro: timed out after ${formatMs(opts.timeout ?? error.timeoutMs)} waiting for ${name}; it was still running when last seen${seen ? ` (${seen})` : ''}; lro wait ${name} waits again`);
        return ExitCode.TIMEOUT;
      }
      throw error;
    }
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    exitCode = exitCodeFor(error, err, interruption.signal, target);
  } finally {
    removeInterrupt();
    for (const c of connections) c.close();
  }
  return exitCode;
}

/** The `lro` command that calls each Operations method. */
const COMMAND_OF: Record<RestMethodKey, string> = { get: 'get/wait', wait: 'wait', cancel: 'cancel', delete: 'delete', list: 'list' };

/**
 * Checks a name given on the command line before anything is sent, for every
 * transport (a REST profile checks its own layout on top): not empty, no
 * whitespace or control characters, no empty path segment.
 */
function checkName(name: string, what: string, allowEmpty: boolean): void {
  if (name === '') {
    if (allowEmpty) return;
    throw new UsageError(`${what} is empty`);
  }
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(name)) throw new UsageError(`${what} ${shown} contains whitespace or a control character`);
  if (name.split('/').includes('')) throw new UsageError(`${what} ${shown} has an empty path segment`);
}

/** The reason the interrupt signal aborts with. */
class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor() {
    super('interrupted');
  }
}

/** `[name, state, progress or error]` of one operation, e.g. `operations/1`, `running`, `40% exporting`. */
function listRow(resource: OperationResource, registry: TypeRegistry): string[] {
  const state = stateOf(resource);
  const progress = resource.metadata && !resource.done ? progressText(progressOf(fieldsOf(decodeAny(resource.metadata, registry)))) : '';
  const error = resource.error ? `${codeName(resource.error.code)}: ${resource.error.message}` : '';
  return [resource.name || '(no name)', state, progress || error];
}

/** Rows as lines whose columns line up (two spaces between columns, no trailing spaces). */
function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length))).join('  ').trimEnd());
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The innermost local cause of a failed request (the `cause` chain, or the
 * first of an AggregateError's `errors`), as text: what the network stack
 * said, e.g. `connect ECONNREFUSED 127.0.0.1:8080`. Errors that came from the
 * server (a numeric gRPC `code`) are not local causes. Undefined without one.
 */
function rootCause(error: unknown): string | undefined {
  let current: unknown = error;
  let found: string | undefined;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const next: unknown = current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
    if (!(next instanceof Error)) break;
    const code: unknown = (next as { code?: unknown }).code;
    if (typeof code === 'number') break;
    if (next.message) found = typeof code === 'string' && !next.message.includes(code) ? `${next.message} (${code})` : next.message;
    current = next;
  }
  return found;
}

/** TLS spoken to a port that does not speak it: what OpenSSL says then. */
const NOT_TLS = /wrong version number|WRONG_VERSION_NUMBER|packet length too long|http request|unknown protocol/i;

/**
 * The message of a failed call as `lro` prints it: gRPC's connection errors
 * without their empty `Resolution note:`, the network cause of a REST
 * failure, and a plain-words hint for TLS spoken to a plaintext port.
 */
function rpcErrorMessage(error: RpcError, target: Connection | undefined): string[] {
  let message = error.message.replace(/\.?\s*Resolution note:\s*$/, '').trim();
  const where = target?.describe ?? 'the server';
  if (error.code === Code.DEADLINE_EXCEEDED) {
    const said = message.replace(/^DEADLINE_EXCEEDED: /, '').split(',')[0];
    return [`lro: DEADLINE_EXCEEDED: ${where} did not answer in time (${said})`];
  }
  const noConnection = /^(\w+): No connection established\. Last error: (?:[A-Za-z]*Error: )?([\s\S]*)$/.exec(message);
  if (noConnection) {
    // grpc-js adds when the last error happened, e.g. "Protocol error (2026-01-01T00:00:00.000Z)".
    const reason = noConnection[2].trim().replace(/\.$/, '').replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/, '');
    if (error.code === Code.UNAVAILABLE && /SSL routines|ssl3_|tls_|OPENSSL|SSL_/i.test(reason) && NOT_TLS.test(reason)) {
      return [
        `lro: ${noConnection[1]}: TLS handshake with ${where} failed: the server does not speak TLS on that port (OpenSSL: ${opensslReason(reason)})`,
        '  for a plaintext port use --plaintext (without --tls)',
      ];
    }
    message = `${noConnection[1]}: cannot connect to ${where}: ${reason}`;
    if (/^Protocol error\b/.test(reason)) {
      return [`lro: ${message}`, `  ${where} answered, but not in HTTP/2: is it a gRPC port? (a REST/JSON service takes --rest URL)`];
    }
  } else if (error.code === Code.UNAVAILABLE) {
    const cause = rootCause(error);
    if (cause && /SSL routines/.test(cause) && NOT_TLS.test(cause)) {
      const call = /^(.*?:) request to /.exec(message)?.[1] ?? `${codeName(error.code)}:`;
      return [
        `lro: ${call} TLS handshake with ${where} failed: the server does not speak TLS on that port (OpenSSL: ${opensslReason(cause)})`,
        '  for a plaintext port use an http:// URL',
      ];
    }
    if (cause && !message.includes(cause)) {
      const parenthetical = / \((?:[A-Z][A-Z0-9_]+|[A-Za-z]*Error|network error)\)$/;
      message = parenthetical.test(message) ? message.replace(parenthetical, `: ${cause}`) : `${message}: ${cause}`;
    }
  }
  const lines = [`lro: ${message}`];
  if (error.code === Code.UNAVAILABLE && /ECONNREFUSED/.test(message)) lines.push(`  nothing is listening at ${where}; is the server running, and is the address right?`);
  return lines;
}

/** `wrong version number` out of `80DC…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/…`. */
function opensslReason(text: string): string {
  const m = /SSL routines:[^:]*:([^:]+)/.exec(text);
  return (m ? m[1] : text).trim();
}

function exitCodeFor(error: unknown, err: (line: string) => void, interrupt: AbortSignal, target?: Connection): number {
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
    for (const line of rpcErrorMessage(error, target)) err(line);
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
