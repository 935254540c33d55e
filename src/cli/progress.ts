/**
 * Progress for `lro wait`: reading a percentage out of arbitrary operation
 * metadata, and showing it as a live bar (cli-progress) on a terminal or as
 * plain lines otherwise.
 * @module
 */
import { Format, SingleBar, type Options as BarOptions, type Params as BarParams } from 'cli-progress';
import { isObject, progressPercent } from '../watch/progress.js';

/** What `lro` shows about a running operation. */
export interface ProgressView {
  /** 0–100, when the metadata has a recognisable percentage or done/total counts. */
  percent?: number;
  /** A short state text from the metadata (`stage`, `state`, `status`, …). */
  label?: string;
}

const norm = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Keys whose string value describes the state. */
const LABEL_KEYS = ['stage', 'state', 'status', 'phase', 'step', 'statusmessage', 'progressmessage'];

function findLabel(obj: Record<string, unknown>): string | undefined {
  const entries = Object.entries(obj).map(([k, v]) => [norm(k), v] as const);
  for (const key of LABEL_KEYS) {
    const hit = entries.find(([k, v]) => k === key && typeof v === 'string' && v !== '');
    if (hit) return (hit[1] as string).slice(0, 80);
  }
  return undefined;
}

/**
 * Reads progress from decoded metadata fields: a percentage under a common
 * name (`progressPercent`, `progress_percent`, `percentComplete`,
 * `percentDone`, `progress`, …, nested objects searched too), or a done/total
 * pair (`workCompleted`/`workEstimated`, …); and a label from `stage`,
 * `state`, `status`, `phase`, ….
 */
export function progressOf(metadata: unknown): ProgressView {
  if (!isObject(metadata)) return {};
  const view: ProgressView = {};
  const percent = progressPercent(metadata);
  if (percent !== undefined) view.percent = Math.round(percent * 10) / 10;
  const label = findLabel(metadata) ?? Object.values(metadata).filter(isObject).map(findLabel).find((l) => l !== undefined);
  if (label !== undefined) view.label = label;
  return view;
}

/** `40%`, `40% exporting`, `exporting`, or ''. */
export function progressText(view: ProgressView): string {
  const parts: string[] = [];
  if (view.percent !== undefined) parts.push(`${view.percent}%`);
  if (view.label) parts.push(view.label);
  return parts.join(' ');
}

/** Where `lro wait` reports progress. */
export interface ProgressReporter {
  /** New metadata was seen. */
  update(view: ProgressView): void;
  /** Waiting ended; `final` is shown as the last state (e.g. 100% on success). */
  stop(final?: ProgressView): void;
}

/** A stream as the reporters need it. */
export interface OutputStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A live single-line display on a terminal: a bar with the percentage when
 * the metadata has one, a spinner when it does not, plus the label and the
 * elapsed time. `initial` is what is known when it starts.
 */
export function terminalReporter(stream: OutputStream, name: string, now: () => number = Date.now, initial: ProgressView = {}): ProgressReporter {
  const started = now();
  let view: ProgressView = initial;
  const format = (options: BarOptions, params: BarParams): string => {
    const time = elapsed(now() - started);
    const label = view.label ? ` ${view.label}` : '';
    if (view.percent === undefined) {
      const frame = SPINNER[Math.floor((now() - started) / 100) % SPINNER.length];
      return `${frame} ${name}${label} · ${time}`;
    }
    return `${Format.BarFormat(params.progress, options)} ${String(Math.floor(view.percent)).padStart(3)}% ${name}${label} · ${time}`;
  };
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream,
    format,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
    barCompleteChar: '█',
    barIncompleteChar: '░',
  } as BarOptions);
  bar.start(100, initial.percent ?? 0);
  return {
    update(next) {
      view = next;
      bar.update(next.percent ?? 0);
    },
    stop(final) {
      if (final) {
        view = { ...view, ...final };
        bar.update(view.percent ?? 0);
      }
      bar.stop();
    },
  };
}

/** One line per change of the progress text, for logs and pipes; the first line shows `initial`. */
export function lineReporter(stream: OutputStream, name: string, now: () => number = Date.now, initial: ProgressView = {}): ProgressReporter {
  const started = now();
  let last = '';
  const line = (view: ProgressView) => {
    const text = progressText(view) || 'running';
    if (text === last) return;
    last = text;
    stream.write(`${name}: ${text} (${elapsed(now() - started)})\n`);
  };
  line(initial);
  return {
    update: line,
    stop(final) {
      if (final) line(final);
    },
  };
}

/** Reports nothing (`--quiet`). */
export const silentReporter: ProgressReporter = { update() {}, stop() {} };
