/**
 * Progress-aware polling: reading a percentage out of arbitrary decoded
 * metadata, and estimating from its observed rate when the operation will be
 * done, so the next poll comes just after that instead of on the backoff.
 * @module
 */

const norm = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Keys (normalized: lower case, no `_`/`-`) that hold a percentage 0–100. */
const PERCENT_KEYS = new Set([
  'progresspercent',
  'progresspercentage',
  'percentcomplete',
  'percentcompleted',
  'percentdone',
  'percentage',
  'percent',
  'completionpercent',
  'completionpercentage',
  'progress',
]);
/** Keys of a done/total pair (`workCompleted`/`workEstimated`, `processedCount`/`totalCount`, …). */
const DONE_KEY = /^(work)?(completed|processed|finished|done|succeeded)(work|count|items|units|bytes|documents)?$/;
const TOTAL_KEY = /^(work)?(estimated|total|expected)(work|count|items|units|bytes|documents)?$/;
const MAX_DEPTH = 4;

/** A finite number, or a decimal string of one. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const clamp = (n: number) => Math.min(100, Math.max(0, n));

/** A percentage directly in this object (a percent key, or a done/total pair), else undefined. */
function ownPercent(obj: Record<string, unknown>): number | undefined {
  let done: number | undefined;
  let total: number | undefined;
  for (const [key, value] of Object.entries(obj)) {
    const k = norm(key);
    const n = asNumber(value);
    if (n === undefined) continue;
    if (PERCENT_KEYS.has(k)) return clamp(n);
    if (done === undefined && DONE_KEY.test(k)) done = n;
    else if (total === undefined && TOTAL_KEY.test(k)) total = n;
  }
  if (done !== undefined && total !== undefined && total > 0) return clamp((done / total) * 100);
  return undefined;
}

/**
 * The percentage (0–100) in decoded metadata: a percentage under a common
 * name (`progressPercent`, `progress_percent`, `percentComplete`,
 * `percentDone`, `progress`, …) or a done/total pair (`workCompleted` /
 * `workEstimated`, `processedCount` / `totalCount`, …); the shallowest one,
 * searching nested objects breadth-first; several at the same depth in an
 * array (e.g. one per input file) are averaged. Undefined when none is found.
 *
 * @example
 * ```ts
 * progressPercent({ progressPercent: 40 }); // 40
 * progressPercent({ inputs: [{ progress: 10 }, { progress: 30 }] }); // 20
 * ```
 */
export function progressPercent(root: unknown): number | undefined {
  let level: unknown[] = [root];
  for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    const found: number[] = [];
    for (const node of level) {
      if (Array.isArray(node)) {
        const items = node.filter(isObject).map(ownPercent).filter((n): n is number => n !== undefined);
        if (items.length > 0) found.push(items.reduce((a, b) => a + b, 0) / items.length);
        else next.push(...node.filter((item) => typeof item === 'object' && item !== null));
        continue;
      }
      if (!isObject(node)) continue;
      const own = ownPercent(node);
      if (own !== undefined) {
        found.push(own);
        continue;
      }
      for (const value of Object.values(node)) if (typeof value === 'object' && value !== null) next.push(value);
    }
    if (found.length > 0) return found[0];
    level = next;
  }
  return undefined;
}

/** A poll is scheduled this much after the estimated completion (share of the time left), at least {@link MIN_MARGIN_MS}. */
const MARGIN_SHARE = 0.05;
const MIN_MARGIN_MS = 50;
/** Never poll sooner than this after the previous poll on an estimate alone. */
const MIN_ESTIMATE_DELAY_MS = 50;

/**
 * The progress seen so far of one operation: when it was first seen to move,
 * and the latest change. Regressions start the estimate over; a stall lets the
 * estimate grow until the backoff wins again.
 *
 * @example
 * ```ts
 * const est = new ProgressEstimate();
 * est.observe(0, 10); est.observe(1000, 20);
 * est.delayUntilDone(1000); // ≈ 8400 (80 % left at 10 % per second, plus a margin)
 * ```
 */
export class ProgressEstimate {
  private firstAt = NaN;
  private firstPercent = NaN;
  private lastAt = NaN;
  private lastPercent = NaN;

  /** Records the percentage seen at time `now` (undefined: the metadata reports none). */
  observe(now: number, percent: number | undefined): void {
    if (percent === undefined || !Number.isFinite(percent)) return;
    if (Number.isNaN(this.lastPercent) || percent < this.lastPercent) {
      this.firstAt = this.lastAt = now;
      this.firstPercent = this.lastPercent = percent;
      return;
    }
    if (percent > this.lastPercent) {
      this.lastAt = now;
      this.lastPercent = percent;
    }
  }

  /**
   * Milliseconds from `now` until just after the estimated completion, or
   * undefined when there is no estimate (fewer than two distinct readings, or
   * the estimate is already past: progress stalled). `misses`: polls made at
   * an estimate that found the operation not done yet; each doubles the margin.
   */
  delayUntilDone(now: number, misses = 0): number | undefined {
    const moved = this.lastPercent - this.firstPercent;
    const span = this.lastAt - this.firstAt;
    if (!(moved > 0) || !(span > 0)) return undefined;
    const msPerPercent = span / moved;
    const left = Math.max(0, 100 - this.lastPercent) * msPerPercent;
    const doneAt = this.lastAt + left;
    const until = doneAt - now;
    if (until < 0) return undefined; // overdue: the rate was wrong, the backoff decides
    return Math.max(MIN_ESTIMATE_DELAY_MS, until + Math.max(MIN_MARGIN_MS, left * MARGIN_SHARE) * 2 ** Math.min(misses, 10));
  }
}
