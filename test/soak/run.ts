/**
 * `npm run soak`: 10,000 operations over loopback gRPC with every fault on
 * (bounded to 5 minutes). Prints a report, writes it to
 * test/soak/last-report.json, and exits non-zero when any check fails.
 *
 *   npm run soak                                  # the full run
 *   npm run soak -- --operations 2000 --seed 7    # smaller / another schedule
 *   npm run soak -- --protocol http               # over HTTP/JSON instead
 *
 * Options: --operations N, --concurrency N, --seed N, --protocol grpc|http,
 * --channels N, --max-minutes N, --no-faults, --out FILE.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SOAK, formatReport, runSoak, type SoakOptions } from './soak.js';

process.env.METADATA_SERVER_DETECTION = 'none';

function parseArgs(argv: string[]): { options: Partial<SoakOptions>; out: string } {
  const options: Partial<SoakOptions> = {};
  let out = path.resolve('test/soak/last-report.json'); // npm scripts run at the package root
  const int = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${String(value)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--operations':
        options.operations = int(flag, value(), 1);
        break;
      case '--concurrency':
        options.concurrency = int(flag, value(), 1);
        break;
      case '--seed':
        options.seed = int(flag, value(), 0);
        break;
      case '--channels':
        options.channels = int(flag, value(), 1);
        break;
      case '--max-minutes':
        options.maxDurationMs = Math.min(5, int(flag, value(), 1)) * 60_000;
        break;
      case '--protocol': {
        const p = value();
        if (p !== 'grpc' && p !== 'http') throw new Error('--protocol is grpc or http');
        options.protocol = p;
        break;
      }
      case '--no-faults':
        options.faults = false;
        options.cutEveryMs = 0;
        options.restartEveryMs = 0;
        break;
      case '--out':
        out = path.resolve(value() ?? out);
        break;
      case '--help':
      case '-h':
        console.log('usage: npm run soak -- [--operations N] [--concurrency N] [--seed N] [--protocol grpc|http] [--channels N] [--max-minutes N<=5] [--no-faults] [--out FILE]');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  return { options, out };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`soak: ${(err as Error).message}`);
    process.exit(2);
  }
  const { options, out } = parsed;
  const o = { ...DEFAULT_SOAK, ...options };
  console.log(
    `soak: ${o.operations} operations over ${o.protocol}, ${o.concurrency} at a time, seed ${o.seed}, ` +
      `faults ${o.faults === false ? 'off' : 'on'}, at most ${o.maxDurationMs / 60_000} min`,
  );
  const report = await runSoak({ ...options, log: (line) => console.log(line) });
  console.log(formatReport(report));
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`report written to ${path.relative(process.cwd(), out)}`);
  // Exit on our own: a leak must not keep a CI job hanging (it is in the report already).
  process.exit(report.ok ? 0 : 1);
}

void main();
