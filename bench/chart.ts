/**
 * A dependency-free SVG chart of done→resolved latency distributions
 * (empirical CDFs on a log time axis), one panel per scenario.
 * @module
 */

/** One curve. */
export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** Latencies in milliseconds. */
  values: number[];
}

/** One panel. */
export interface Panel {
  title: string;
  series: Series[];
}

const WIDTH = 1100;
const PANEL_HEIGHT = 330;
const MARGIN = { left: 58, right: 26, top: 44, bottom: 118 };
const MIN_MS = 0.1;
const MAX_MS = 10_000;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tickLabel(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** Renders the panels side by side; `subtitle` goes under the title (machine, load, command). */
export function latencyChart(title: string, subtitle: string, panels: Panel[]): string {
  const panelWidth = (WIDTH - 20) / panels.length;
  const plotW = panelWidth - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom + 60;
  const height = PANEL_HEIGHT + 60;
  const x = (ms: number) => {
    const clamped = Math.min(MAX_MS, Math.max(MIN_MS, ms));
    return (Math.log10(clamped) - Math.log10(MIN_MS)) / (Math.log10(MAX_MS) - Math.log10(MIN_MS)) * plotW;
  };
  const y = (f: number) => plotH - f * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="16" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#5f6368">${esc(subtitle)}</text>`);
  panels.forEach((panel, p) => {
    const ox = 10 + p * panelWidth + MARGIN.left;
    const oy = MARGIN.top + 30;
    out.push(`<g transform="translate(${ox.toFixed(1)},${oy})">`);
    out.push(`<text x="${plotW / 2}" y="-10" text-anchor="middle" font-weight="600">${esc(panel.title)}</text>`);
    // grid and axes
    for (let ms = MIN_MS; ms <= MAX_MS + 1e-9; ms *= 10) {
      const gx = x(ms).toFixed(1);
      out.push(`<line x1="${gx}" y1="0" x2="${gx}" y2="${plotH}" stroke="#e0e0e0"/>`);
      out.push(`<text x="${gx}" y="${plotH + 16}" text-anchor="middle" fill="#3c4043">${tickLabel(Number(ms.toPrecision(1)))}</text>`);
    }
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const gy = y(f).toFixed(1);
      out.push(`<line x1="0" y1="${gy}" x2="${plotW}" y2="${gy}" stroke="${f === 0.5 ? '#bdbdbd' : '#eeeeee'}"/>`);
      out.push(`<text x="-6" y="${(y(f) + 4).toFixed(1)}" text-anchor="end" fill="#3c4043">${f === 0.5 ? 'p50' : f.toFixed(2)}</text>`);
    }
    const p99 = y(0.99).toFixed(1);
    out.push(`<line x1="0" y1="${p99}" x2="${plotW}" y2="${p99}" stroke="#bdbdbd" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${plotW + 4}" y="${(y(0.99) + 4).toFixed(1)}" fill="#3c4043" font-size="10">p99</text>`);
    out.push(`<rect x="0" y="0" width="${plotW}" height="${plotH}" fill="none" stroke="#9e9e9e"/>`);
    out.push(`<text x="${plotW / 2}" y="${plotH + 34}" text-anchor="middle" fill="#3c4043">done → resolved latency (log scale)</text>`);
    // curves: empirical CDF as a step line
    for (const s of panel.series) {
      const sorted = [...s.values].sort((a, b) => a - b);
      if (sorted.length === 0) continue;
      const pts: string[] = [`${x(sorted[0]).toFixed(1)},${y(0).toFixed(1)}`];
      sorted.forEach((v, i) => {
        const px = x(v).toFixed(1);
        pts.push(`${px},${y(i / sorted.length).toFixed(1)}`, `${px},${y((i + 1) / sorted.length).toFixed(1)}`);
      });
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''} points="${pts.join(' ')}"/>`);
    }
    // legend
    panel.series.forEach((s, i) => {
      const ly = plotH + 52 + i * 16;
      out.push(`<line x1="-40" y1="${ly - 4}" x2="-18" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      out.push(`<text x="-12" y="${ly}" fill="#202124" font-size="11">${esc(s.label)}</text>`);
    });
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
