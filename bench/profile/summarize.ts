/**
 * Summarizes a .cpuprofile (from node --cpu-prof, e.g. `npm run bench -- --cpu-prof`):
 * busy time by package, the top functions by self time, and by inclusive time.
 * Run: node --import tsx bench/profile/summarize.ts FILE.cpuprofile... [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

// With `--import tsx`, Node 20 also profiles the loader's worker thread: take the file with the most samples.
const args = process.argv.slice(2);
const top = /^\d+$/.test(args[args.length - 1] ?? '') ? Number(args.pop()) : 25;
const profile = args.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Profile).sort((a, b) => b.samples.length - a.samples.length)[0];

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const IDLE = new Set(['(idle)', '(program)']);
function where(url: string): string {
  if (url === '') return '(vm)';
  if (url.startsWith('node:')) return url.startsWith('node:internal/http2') ? 'node http2' : 'node internals';
  if (url.includes('.cache/longrunning-bench/lib')) return 'longrunning (bundle)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/src/')) return 'longrunning (src)';
  return url.replace(/^.*\/work\/main\//, '');
}
function label(n: Node): string {
  const url = n.callFrame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/main\//, '').replace(/lib-\d+\.cjs/, 'lib.cjs');
  return `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
}

let busy = 0;
const pkg = new Map<string, number>();
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  if (IDLE.has(n.callFrame.functionName)) continue;
  busy += us;
  const p = n.callFrame.functionName === '(garbage collector)' ? '(garbage collector)' : where(n.callFrame.url);
  pkg.set(p, (pkg.get(p) ?? 0) + us);
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
console.log(`busy ${(busy / 1000).toFixed(0)} ms (idle excluded)\n\nby package:`);
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(v)}  ${k}`);
console.log('\nself time:');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
console.log('\ninclusive time (library and transport frames):');
for (const [k, v] of [...inclusive]
  .filter(([k]) => k.includes('lib.cjs') || k.includes('src/'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pct(v)}  ${k}`);
