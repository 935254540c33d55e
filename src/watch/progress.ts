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
const MARGIN_SHARE = 0.02;
const MIN_MARGIN_MS = 5;
/** Never poll sooner than this after the previous poll on an estimate alone. */
const MIN_ESTIMATE_DELAY_MS = 20;
/** Local and overall rate agree within this share: the progress looks linear. */
const LINEAR_TOLERANCE = 0.25;
/** A linear verdict needs at least this much progress seen (percentage points). */
const LINEAR_MIN_MOVED = 10;
/** A trusted estimate reaches at most this many times as far ahead as progress has been watched… */
const TRUSTED_REACH = 2;
/** …but always at least this far. */
const TRUSTED_MIN_REACH_MS = 300;
/** A trusted estimate further away than this is checked once on the way, at {@link CHECKPOINT_SHARE} of it. */
const CHECKPOINT_ABOVE_MS = 1_000;
const CHECKPOINT_SHARE = 0.85;

/** When to poll next by the progress seen: the delay, and whether it may be later than the backoff. */
export interface ProgressDelay {
  /** Milliseconds from now. */
  delayMs: number;
  /**
   * True when the progress has advanced linearly so far (each new reading on
   * the line the earlier ones drew): the delay may then exceed the backoff.
   * False: the estimate can only shorten the backoff.
   */
  trusted: boolean;
}

/**
 * The progress seen so far of one operation: the first reading (the anchor),
 * and the last two changes. The completion estimate extrapolates the faster of
 * the overall rate and the latest one (accelerating progress is not waited
 * out); regressions start the estimate over; a stall lets the estimate grow
 * until the backoff wins again.
 *
 * @example
 * ```ts
 * const est = new ProgressEstimate();
 * est.observe(0, 10); est.observe(1000, 20);
 * est.delayUntilDone(1000)?.delayMs; // ≈ 8110 (79.5 % left at 10 % per second, plus a 2 % margin)
 * ```
 */
export class ProgressEstimate {
  private anchorAt = NaN;
  private anchorPercent = NaN;
  private prevAt = NaN;
  private prevPercent = NaN;
  private lastAt = NaN;
  private lastPercent = NaN;
  private linear = false;

  /** Records the percentage seen at time `now` (undefined: the metadata reports none). */
  observe(now: number, percent: number | undefined): void {
    if (percent === undefined || !Number.isFinite(percent)) return;
    if (Number.isNaN(this.lastPercent) || percent < this.lastPercent) {
      this.anchorAt = this.prevAt = this.lastAt = now;
      this.anchorPercent = this.prevPercent = this.lastPercent = percent;
      this.linear = false;
      return;
    }
    if (percent === this.lastPercent) {
      // No change where the line predicts a clear one: not linear (any more).
      if (this.linear && this.overallRate() * (now - this.lastAt) > 2) this.linear = false;
      return;
    }
    this.prevAt = this.lastAt;
    this.prevPercent = this.lastPercent;
    this.lastAt = now;
    this.lastPercent = percent;
    const overall = this.overallRate();
    const latest = this.latestRate();
    this.linear =
      this.prevAt > this.anchorAt && percent - this.anchorPercent >= LINEAR_MIN_MOVED && Math.abs(latest / overall - 1) <= LINEAR_TOLERANCE;
  }

  /**
   * When to poll next by the estimate: just after the estimated completion
   * (see {@link ProgressDelay}), or undefined when there is no estimate (fewer
   * than two distinct readings, or the estimate is already past: progress
   * stalled). `misses`: polls made at an estimate that found the operation not
   * done yet; each doubles the margin.
   */
  delayUntilDone(now: number, misses = 0): ProgressDelay | undefined {
    const overall = this.overallRate();
    if (!(overall > 0)) return undefined;
    const rate = this.prevAt < this.lastAt ? Math.max(overall, this.latestRate()) : overall;
    // Readings are often whole percentages (the true value lies in [p, p+1)): aim at the middle.
    const left = Math.max(0, 99.5 - this.lastPercent) / rate;
    const until = this.lastAt + left - now;
    if (until < 0) return undefined; // overdue: the rate was wrong, the backoff decides
    let delayMs = Math.max(MIN_ESTIMATE_DELAY_MS, until + Math.max(MIN_MARGIN_MS, left * MARGIN_SHARE) * 2 ** Math.min(misses, 10));
    if (this.linear) {
      if (until > CHECKPOINT_ABOVE_MS) delayMs = Math.min(delayMs, until * CHECKPOINT_SHARE);
      delayMs = Math.min(delayMs, Math.max(TRUSTED_MIN_REACH_MS, (now - this.anchorAt) * TRUSTED_REACH));
    }
    return { delayMs, trusted: this.linear };
  }

  /** Percentage points per ms since the anchor (NaN before a change). */
  private overallRate(): number {
    const span = this.lastAt - this.anchorAt;
    return span > 0 ? (this.lastPercent - this.anchorPercent) / span : NaN;
  }

  /** Percentage points per ms over the latest change. */
  private latestRate(): number {
    return (this.lastPercent - this.prevPercent) / (this.lastAt - this.prevAt);
  }
}
