/**
 * The benchmark's Operations server, in its own process (forked by
 * bench/run.ts): one loopback gRPC server for the whole invocation, backed by
 * a fresh FakeOperationsServer per run. It completes each operation at its
 * scheduled time, stamps the completion on the shared clock, and counts every
 * RPC per method and per operation.
 * @module
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { RpcError } from '../src/errors.js';
import { FakeOperationsServer } from '../src/testing/fake-server.js';
import { serveGrpc } from '../src/testing/grpc-server.js';
import { Code, type OperationsTransport } from '../src/types.js';
import { WARMUP_NAME, now, packNumbers, progressAt, smallProgress, smallResponse, type ServerCommand, type ServerReply } from './common.js';

interface Run {
  id: string;
  prefix: string;
  fake: FakeOperationsServer;
  calls: Record<string, number>;
  perOp: number[];
  completedAt: number[];
  cpuStart: NodeJS.CpuUsage;
  timer?: NodeJS.Timeout;
  progressTimer?: NodeJS.Timeout;
  completeAll?: () => void;
}

let current: Run | undefined;

function send(reply: ServerReply): void {
  process.send?.(reply);
}

function fake(): FakeOperationsServer {
  if (!current) throw new RpcError(Code.NOT_FOUND, 'no run armed');
  return current.fake;
}

const warm = { name: WARMUP_NAME, done: true };

/** Forwards to the current run's fake; the warm-up name answers at once. */
const backend: OperationsTransport = {
  getOperation: async (name, options) => (name === WARMUP_NAME ? { ...warm } : fake().service.getOperation(name, options)),
  waitOperation: async (name, timeoutMs, options) =>
    name === WARMUP_NAME ? { ...warm } : fake().service.waitOperation!(name, timeoutMs, options),
  cancelOperation: (name, options) => fake().service.cancelOperation(name, options),
  deleteOperation: (name, options) => fake().service.deleteOperation(name, options),
  listOperations: (request, options) => fake().service.listOperations(request, options),
};

function stop(run: Run | undefined): void {
  if (run?.timer) clearTimeout(run.timer);
  if (run?.progressTimer) clearInterval(run.progressTimer);
}

function arm(command: Extract<ServerCommand, { type: 'arm' }>): void {
  stop(current);
  const f = new FakeOperationsServer({ waitOperation: command.waitOperation });
  const prefix = `operations/${command.run}-`;
  const metadata = smallProgress(0);
  const finalMetadata = smallProgress(100);
  const response = smallResponse();
  const n = command.durationsMs.length;
  for (let i = 0; i < n; i++) f.create({ name: `${prefix}${i}`, metadata });
  const run: Run = {
    id: command.run,
    prefix,
    fake: f,
    calls: {},
    perOp: new Array<number>(n).fill(0),
    completedAt: new Array<number>(n).fill(NaN),
    cpuStart: process.cpuUsage(),
  };
  current = run;
  // Completions in time order, one timer at a time: each is stamped when it actually happens.
  const order = command.durationsMs.map((d, i) => ({ i, at: command.t0 + d })).sort((a, b) => a.at - b.at);
  let next = 0;
  run.completeAll = () => {
    if (current !== run) return;
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(run.completedAt[i])) continue;
      f.complete(`${prefix}${i}`, response, { metadata: finalMetadata });
      run.completedAt[i] = now();
    }
  };
  const tick = (): void => {
    if (current !== run) return;
    const t = now();
    while (next < order.length && order[next].at <= t + 0.5) {
      const { i } = order[next++];
      f.complete(`${prefix}${i}`, response, { metadata: finalMetadata });
      run.completedAt[i] = now();
    }
    if (next < order.length) run.timer = setTimeout(tick, Math.max(0, order[next].at - now()));
  };
  if (!command.manual && n > 0) run.timer = setTimeout(tick, Math.max(0, order[0].at - now()));
  if (command.progress) {
    // Progress in the metadata: every `progressEveryMs` from t0, each pending operation's percentage
    // by the shape; the Any is re-encoded (and the fake updated) only when the percentage changes.
    const shape = command.progress;
    const encoded = new Map<number, ReturnType<typeof smallProgress>>();
    const reported = new Array<number>(n).fill(0);
    const every = command.progressEveryMs ?? 50;
    const report = (): void => {
      if (current !== run) return;
      const t = now();
      for (let i = 0; i < n; i++) {
        if (Number.isFinite(run.completedAt[i])) continue;
        const percent = progressAt(shape, (t - command.t0) / command.durationsMs[i]);
        if (percent === reported[i] || percent >= 100) continue;
        reported[i] = percent;
        let any = encoded.get(percent);
        if (!any) encoded.set(percent, (any = smallProgress(percent)));
        f.update(`${prefix}${i}`, { metadata: any });
      }
    };
    setTimeout(() => {
      report();
      run.progressTimer = setInterval(report, every);
    }, Math.max(0, command.t0 - now()));
  }
  send({ type: 'armed', run: run.id });
}

async function main(): Promise<void> {
  const server = await serveGrpc(backend, {
    onCall: (call) => {
      const run = current;
      if (!run || !call.name.startsWith(run.prefix)) return;
      run.calls[call.method] = (run.calls[call.method] ?? 0) + 1;
      const i = Number(call.name.slice(run.prefix.length));
      if (Number.isInteger(i) && i >= 0 && i < run.perOp.length) run.perOp[i]++;
    },
  });
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'arm') arm(command);
    else if (command.type === 'stats') {
      const run = current;
      if (!run || run.id !== command.run) {
        send({ type: 'stats', run: command.run, calls: {}, perOp: [], completedAt: [], cpuMicros: 0 });
        return;
      }
      const cpu = process.cpuUsage(run.cpuStart);
      send({
        type: 'stats',
        run: run.id,
        calls: run.calls,
        perOp: packNumbers(run.perOp, `${run.id}-perop`),
        completedAt: packNumbers(run.completedAt, `${run.id}-completed`),
        cpuMicros: cpu.user + cpu.system,
      });
    } else if (command.type === 'complete') {
      if (current?.id === command.run) current.completeAll?.();
    } else if (command.type === 'exit') {
      stop(current);
      void server.close().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'listening', port: server.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
