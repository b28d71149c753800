/**
 * A small chart module for the command line's figures (`plot`, `study`): hand-written SVG, no
 * dependencies. Panels are drawn into a rectangle of a figure:
 *
 * - {@link lineChart}: lines with markers, error bars or shaded error bands, linear or log axes,
 *   horizontal reference lines and a legend;
 * - {@link barChart}: grouped bars with error bars and optional reference marks;
 * - {@link heatMap}: a matrix of coloured cells with a colour bar (sequential or diverging);
 * - {@link figure}: lays panels out on a grid under a title and returns the whole SVG document.
 *
 * {@link svgToPng} rasterises a document with `@resvg/resvg-js` (prebuilt binaries, no network)
 * when it can be loaded, and returns `null` otherwise.
 */
import { createRequire } from 'node:module';

/** The categorical palette (matplotlib's tab10). */
export const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Escapes text for SVG. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A coordinate with two decimals (non-finite values become 0). */
export const num = (v: number): number => (Number.isFinite(v) ? Number(v.toFixed(2)) : 0);

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A compact label for a tick or a table cell: 0.012, 1.5, 250, 1.2e-5, 3e+6. */
export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(digits)));
}

/** A data frame: where a panel's plotting area lies and the data ranges it shows. */
export interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
}

/** Data x to pixels (linear). */
export const sx = (f: Frame, v: number): number => f.x + ((v - f.xmin) / (f.xmax - f.xmin || 1)) * f.w;
/** Data y to pixels (linear). */
export const sy = (f: Frame, v: number): number => f.y + f.h - ((v - f.ymin) / (f.ymax - f.ymin || 1)) * f.h;

/** A frame with ticks and axis labels (linear axes; pass transformed values for log axes). */
export function axes(f: Frame, xlabel: string, ylabel: string, yfmt: (v: number) => string = (v) => String(v), yticks = ticks(f.ymin, f.ymax)): string {
  let s = `<rect x="${f.x}" y="${f.y}" width="${f.w}" height="${f.h}" fill="none" stroke="#333"/>\n`;
  for (const t of ticks(f.xmin, f.xmax)) {
    const X = num(sx(f, t));
    s += `<line x1="${X}" y1="${f.y + f.h}" x2="${X}" y2="${f.y + f.h + 4}" stroke="#333"/><text x="${X}" y="${f.y + f.h + 16}" font-size="11" text-anchor="middle">${esc(String(t))}</text>\n`;
  }
  for (const t of yticks) {
    const Y = num(sy(f, t));
    s += `<line x1="${f.x - 4}" y1="${Y}" x2="${f.x}" y2="${Y}" stroke="#333"/><text x="${f.x - 6}" y="${Y + 4}" font-size="11" text-anchor="end">${esc(yfmt(t))}</text>\n`;
  }
  s += `<text x="${f.x + f.w / 2}" y="${f.y + f.h + 32}" font-size="12" text-anchor="middle">${esc(xlabel)}</text>\n`;
  s += `<text x="${f.x - 45}" y="${f.y + f.h / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${f.x - 45} ${f.y + f.h / 2})">${esc(ylabel)}</text>\n`;
  return s;
}

/** A polyline through (xs, ys) in a linear frame, y clipped to the frame. */
export function polyline(f: Frame, xs: readonly number[], ys: readonly number[], color: string, extra = ''): string {
  const pts = xs.map((x, i) => `${num(sx(f, x))},${num(sy(f, Math.min(Math.max(ys[i], f.ymin), f.ymax)))}`).join(' ');
  return `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5" ${extra}/>\n`;
}

/** A whole SVG document of the given size with a white background. */
export const svgDocument = (w: number, h: number, body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}</svg>\n`;

// ---------------------------------------------------------------------------------------------
// Scales

/** A pixel rectangle. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** How an axis is drawn; the range is taken from the data unless given. */
export interface AxisSpec {
  label?: string;
  /** Logarithmic (base 10); non-positive values are left out. */
  log?: boolean;
  min?: number;
  max?: number;
  /** Tick positions (data units). */
  ticks?: number[];
  /** Tick labels. */
  format?: (v: number) => string;
  /** Extend a linear automatic range to include 0. */
  includeZero?: boolean;
}

interface Scale {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
  fmt: (v: number) => string;
  /** Data value to [0, 1] (NaN when it cannot be shown). */
  unit(v: number): number;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  // Every `every`-th power of ten when the range spans many decades.
  const every = Math.max(1, Math.ceil((e1 - e0) / 8));
  for (const mults of every > 1 ? [[1]] : [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    out.length = 0;
    for (let e = e0; e <= e1; e++) for (const m of mults) {
      if ((e - e0) % every !== 0) continue;
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
    if (out.length >= 3) break;
  }
  return out.length >= 2 ? [...out] : ticks(lo, hi, 4).filter((v) => v > 0);
}

function makeScale(spec: AxisSpec, values: readonly number[]): Scale {
  const log = spec.log === true;
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = spec.min ?? (vs.length ? Math.min(...vs) : log ? 1 : 0);
  let hi = spec.max ?? (vs.length ? Math.max(...vs) : log ? 10 : 1);
  if (!log && spec.includeZero) {
    if (spec.min === undefined) lo = Math.min(lo, 0);
    if (spec.max === undefined) hi = Math.max(hi, 0);
  }
  if (log) {
    if (!(lo > 0)) lo = hi > 0 ? hi / 10 : 1;
    if (!(hi > lo)) hi = lo * 10;
    const pad = (Math.log10(hi) - Math.log10(lo)) * 0.05;
    if (spec.min === undefined) lo = 10 ** (Math.log10(lo) - pad);
    if (spec.max === undefined) hi = 10 ** (Math.log10(hi) + pad);
  } else {
    if (!(hi > lo)) {
      const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
      lo -= d;
      hi += d;
    }
    const pad = (hi - lo) * 0.05;
    if (spec.min === undefined && !(spec.includeZero && lo === 0)) lo -= pad;
    if (spec.max === undefined && !(spec.includeZero && hi === 0)) hi += pad;
  }
  const tk = (spec.ticks ?? (log ? logTicks(lo, hi) : ticks(lo, hi, 6))).filter((t) => t >= lo - 1e-12 * Math.abs(lo) && t <= hi + 1e-12 * Math.abs(hi));
  const L0 = log ? Math.log10(lo) : lo;
  const L1 = log ? Math.log10(hi) : hi;
  return {
    min: lo,
    max: hi,
    log,
    ticks: tk,
    fmt: spec.format ?? ((v) => fmtNum(v)),
    unit: (v) => {
      if (!Number.isFinite(v) || (log && !(v > 0))) return NaN;
      return ((log ? Math.log10(v) : v) - L0) / (L1 - L0 || 1);
    },
  };
}

const TITLE_SIZE = 13;

function panelTitle(r: Rect, title: string | undefined): string {
  return title ? `<text x="${num(r.x + r.w / 2)}" y="${num(r.y - 10)}" font-size="${TITLE_SIZE}" font-weight="bold" text-anchor="middle">${esc(title)}</text>\n` : '';
}

function drawAxes(r: Rect, xs: Scale, ys: Scale, xlabel: string | undefined, ylabel: string | undefined, grid = true): string {
  let s = '';
  for (const t of xs.ticks) {
    const X = num(r.x + xs.unit(t) * r.w);
    if (grid) s += `<line x1="${X}" y1="${r.y}" x2="${X}" y2="${r.y + r.h}" stroke="#e6e6e6"/>`;
    s += `<line x1="${X}" y1="${r.y + r.h}" x2="${X}" y2="${r.y + r.h + 4}" stroke="#333"/><text x="${X}" y="${r.y + r.h + 16}" font-size="11" text-anchor="middle">${esc(xs.fmt(t))}</text>\n`;
  }
  for (const t of ys.ticks) {
    const Y = num(r.y + r.h - ys.unit(t) * r.h);
    if (grid) s += `<line x1="${r.x}" y1="${Y}" x2="${r.x + r.w}" y2="${Y}" stroke="#e6e6e6"/>`;
    s += `<line x1="${r.x - 4}" y1="${Y}" x2="${r.x}" y2="${Y}" stroke="#333"/><text x="${r.x - 6}" y="${Y + 4}" font-size="11" text-anchor="end">${esc(ys.fmt(t))}</text>\n`;
  }
  s += `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="none" stroke="#333"/>\n`;
  if (xlabel) s += `<text x="${num(r.x + r.w / 2)}" y="${r.y + r.h + 34}" font-size="12" text-anchor="middle">${esc(xlabel)}</text>\n`;
  if (ylabel) {
    const X = r.x - 50;
    const Y = num(r.y + r.h / 2);
    s += `<text x="${X}" y="${Y}" font-size="12" text-anchor="middle" transform="rotate(-90 ${X} ${Y})">${esc(ylabel)}</text>\n`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Legend

/** One legend entry: a line sample (with an optional marker), or a filled box. */
export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  marker?: boolean;
  box?: boolean;
}

/**
 * Where a legend goes: inside the plotting area, or `'outside-right'` beside it (draw the chart into
 * a narrower rectangle to leave room).
 */
export type LegendPosition = 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'outside-right' | 'none';

/** Approximate width of a text in pixels (sans-serif). */
const textWidth = (s: string, size: number): number => s.length * size * 0.56;

function legend(r: Rect, items: readonly LegendItem[], pos: LegendPosition): string {
  if (pos === 'none' || items.length === 0) return '';
  const size = 11;
  const lh = 15;
  const w = 34 + Math.max(...items.map((i) => textWidth(i.label, size)));
  const h = items.length * lh + 6;
  const x = pos === 'outside-right' ? r.x + r.w + 10 : pos.endsWith('right') ? r.x + r.w - w - 6 : r.x + 6;
  const y = pos.startsWith('top') || pos === 'outside-right' ? r.y + (pos === 'outside-right' ? 0 : 6) : r.y + r.h - h - 6;
  let s = `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${h}" fill="white" fill-opacity="0.85" stroke="#bbb"/>\n`;
  items.forEach((it, i) => {
    const Y = y + 4 + lh * i + lh / 2;
    if (it.box) s += `<rect x="${num(x + 6)}" y="${num(Y - 5)}" width="20" height="10" fill="${it.color}"/>`;
    else s += `<line x1="${num(x + 6)}" y1="${num(Y)}" x2="${num(x + 26)}" y2="${num(Y)}" stroke="${it.color}" stroke-width="2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`;
    if (it.marker) s += `<circle cx="${num(x + 16)}" cy="${num(Y)}" r="3" fill="${it.color}"/>`;
    s += `<text x="${num(x + 30)}" y="${num(Y + 4)}" font-size="${size}">${esc(it.label)}</text>\n`;
  });
  return s;
}

// ---------------------------------------------------------------------------------------------
// Line chart

/** One line of a {@link lineChart}. */
export interface LineSeries {
  label?: string;
  x: readonly number[];
  y: readonly number[];
  /** Lower and upper ends of an error bar or band at each point. */
  lo?: readonly number[];
  hi?: readonly number[];
  /** How `lo`/`hi` are drawn. Default `'band'`. */
  errorStyle?: 'band' | 'bars';
  color?: string;
  /** An SVG dash pattern, e.g. `'5 3'`. */
  dash?: string;
  /** Draw a dot at each point. */
  markers?: boolean;
  /** Draw no line between the points (markers only). */
  noLine?: boolean;
  width?: number;
}

/** A {@link lineChart}'s content. */
export interface LineChartSpec {
  title?: string;
  x: AxisSpec;
  y: AxisSpec;
  series: readonly LineSeries[];
  /** Horizontal reference lines. */
  hlines?: readonly { y: number; color?: string; dash?: string; label?: string }[];
  legend?: LegendPosition;
}

/** Draws a line chart into `r` (the plotting area; labels go outside it). Returns SVG elements. */
export function lineChart(r: Rect, spec: LineChartSpec): string {
  const xsAll = spec.series.flatMap((s) => s.x);
  const ysAll = spec.series.flatMap((s) => [...s.y, ...(s.lo ?? []), ...(s.hi ?? [])]).concat((spec.hlines ?? []).map((h) => h.y));
  const xs = makeScale(spec.x, xsAll);
  const ys = makeScale(spec.y, ysAll);
  const X = (v: number) => r.x + xs.unit(v) * r.w;
  const Y = (v: number) => r.y + r.h - ys.unit(v) * r.h;
  const clipId = `clip${Math.round(r.x)}_${Math.round(r.y)}_${Math.round(r.w)}`;
  let s = panelTitle(r, spec.title) + drawAxes(r, xs, ys, spec.x.label, spec.y.label);
  s += `<clipPath id="${clipId}"><rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}"/></clipPath>\n<g clip-path="url(#${clipId})">\n`;
  const items: LegendItem[] = [];
  spec.series.forEach((ser, si) => {
    const color = ser.color ?? COLORS[si % COLORS.length];
    const n = Math.min(ser.x.length, ser.y.length);
    if (ser.lo && ser.hi) {
      if ((ser.errorStyle ?? 'band') === 'band') {
        // One polygon per run of drawable points.
        let run: [number, number, number][] = [];
        const flush = () => {
          if (run.length > 1) {
            const top = run.map(([x, , h]) => `${num(x)},${num(h)}`);
            const bot = run.map(([x, l]) => `${num(x)},${num(l)}`).reverse();
            s += `<polygon points="${[...top, ...bot].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>\n`;
          }
          run = [];
        };
        for (let i = 0; i < n; i++) {
          const px = X(ser.x[i]);
          const lo = Y(ser.lo[i]);
          const hi = Y(ser.hi[i]);
          if ([px, lo, hi].every(Number.isFinite)) run.push([px, lo, hi]);
          else flush();
        }
        flush();
      } else {
        for (let i = 0; i < n; i++) {
          const px = X(ser.x[i]);
          const lo = Y(ser.lo[i]);
          const hi = Y(ser.hi[i]);
          if (![px, lo, hi].every(Number.isFinite)) continue;
          s += `<line x1="${num(px)}" y1="${num(lo)}" x2="${num(px)}" y2="${num(hi)}" stroke="${color}" stroke-width="1.3"/><line x1="${num(px - 3)}" y1="${num(lo)}" x2="${num(px + 3)}" y2="${num(lo)}" stroke="${color}" stroke-width="1.3"/><line x1="${num(px - 3)}" y1="${num(hi)}" x2="${num(px + 3)}" y2="${num(hi)}" stroke="${color}" stroke-width="1.3"/>\n`;
        }
      }
    }
    if (!ser.noLine) {
      // Break the line at points that cannot be drawn (NaN, or <= 0 on a log axis).
      let pts: string[] = [];
      const flush = () => {
        if (pts.length > 1) s += `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${ser.width ?? 1.6}"${ser.dash ? ` stroke-dasharray="${ser.dash}"` : ''} stroke-linejoin="round"/>\n`;
        pts = [];
      };
      for (let i = 0; i < n; i++) {
        const px = X(ser.x[i]);
        const py = Y(ser.y[i]);
        if (Number.isFinite(px) && Number.isFinite(py)) pts.push(`${num(px)},${num(py)}`);
        else flush();
      }
      flush();
    }
    if (ser.markers || ser.noLine) {
      for (let i = 0; i < n; i++) {
        const px = X(ser.x[i]);
        const py = Y(ser.y[i]);
        if (Number.isFinite(px) && Number.isFinite(py)) s += `<circle cx="${num(px)}" cy="${num(py)}" r="3" fill="${color}"/>`;
      }
      s += '\n';
    }
    if (ser.label) items.push({ label: ser.label, color, dash: ser.dash, marker: ser.markers || ser.noLine });
  });
  for (const h of spec.hlines ?? []) {
    const py = Y(h.y);
    if (!Number.isFinite(py)) continue;
    const color = h.color ?? '#555';
    s += `<line x1="${r.x}" y1="${num(py)}" x2="${r.x + r.w}" y2="${num(py)}" stroke="${color}" stroke-width="1.2" stroke-dasharray="${h.dash ?? '6 4'}"/>\n`;
    if (h.label) items.push({ label: h.label, color, dash: h.dash ?? '6 4' });
  }
  s += '</g>\n';
  return s + legend(r, items, spec.legend ?? 'top-right');
}

// ---------------------------------------------------------------------------------------------
// Bar chart

/** One series of a {@link barChart}: a value (and error bar) per group. */
export interface BarSeries {
  label: string;
  values: readonly number[];
  lo?: readonly number[];
  hi?: readonly number[];
  /** A reference value per group, drawn as a black tick across the bar (e.g. a predicted value). */
  reference?: readonly number[];
  color?: string;
}

/** A {@link barChart}'s content. */
export interface BarChartSpec {
  title?: string;
  /** Group names along x. */
  groups: readonly string[];
  series: readonly BarSeries[];
  xlabel?: string;
  y: AxisSpec;
  legend?: LegendPosition;
  /** Legend label for the reference ticks. */
  referenceLabel?: string;
}

/** Draws grouped bars (with error bars and reference ticks) into `r`. Returns SVG elements. */
export function barChart(r: Rect, spec: BarChartSpec): string {
  const vals = spec.series.flatMap((s) => [...s.values, ...(s.lo ?? []), ...(s.hi ?? []), ...(s.reference ?? [])]);
  const ys = makeScale({ includeZero: !spec.y.log, ...spec.y }, vals);
  const Y = (v: number) => r.y + r.h - ys.unit(v) * r.h;
  const G = spec.groups.length;
  const S = spec.series.length;
  const gw = r.w / Math.max(G, 1);
  const bw = (gw * 0.8) / Math.max(S, 1);
  const xScale: Scale = { min: 0, max: 1, log: false, ticks: [], fmt: String, unit: () => NaN };
  let s = panelTitle(r, spec.title) + drawAxes(r, xScale, ys, spec.xlabel, spec.y.label);
  const base = ys.log ? r.y + r.h : Y(Math.min(Math.max(0, ys.min), ys.max));
  spec.groups.forEach((g, gi) => {
    s += `<text x="${num(r.x + gw * (gi + 0.5))}" y="${r.y + r.h + 16}" font-size="11" text-anchor="middle">${esc(g)}</text>\n`;
  });
  spec.series.forEach((ser, si) => {
    const color = ser.color ?? COLORS[si % COLORS.length];
    for (let gi = 0; gi < G; gi++) {
      const x0 = r.x + gw * gi + gw * 0.1 + bw * si;
      const top = Y(ser.values[gi]);
      if (Number.isFinite(top)) {
        const y0 = Math.min(top, base);
        s += `<rect x="${num(x0 + 1)}" y="${num(y0)}" width="${num(bw - 2)}" height="${num(Math.abs(base - top))}" fill="${color}" fill-opacity="0.85"/>`;
      }
      const cx = x0 + bw / 2;
      if (ser.lo && ser.hi) {
        const lo = Y(ser.lo[gi]);
        const hi = Y(ser.hi[gi]);
        if (Number.isFinite(lo) && Number.isFinite(hi)) {
          s += `<line x1="${num(cx)}" y1="${num(lo)}" x2="${num(cx)}" y2="${num(hi)}" stroke="#222" stroke-width="1.2"/><line x1="${num(cx - 3)}" y1="${num(lo)}" x2="${num(cx + 3)}" y2="${num(lo)}" stroke="#222"/><line x1="${num(cx - 3)}" y1="${num(hi)}" x2="${num(cx + 3)}" y2="${num(hi)}" stroke="#222"/>`;
        }
      }
      if (ser.reference) {
        const ry = Y(ser.reference[gi]);
        if (Number.isFinite(ry)) s += `<line x1="${num(x0)}" y1="${num(ry)}" x2="${num(x0 + bw)}" y2="${num(ry)}" stroke="#000" stroke-width="2.2"/>`;
      }
      s += '\n';
    }
  });
  if (!ys.log && ys.min < 0 && ys.max > 0) s += `<line x1="${r.x}" y1="${num(Y(0))}" x2="${r.x + r.w}" y2="${num(Y(0))}" stroke="#333"/>\n`;
  const items: LegendItem[] = spec.series.map((ser, si) => ({ label: ser.label, color: ser.color ?? COLORS[si % COLORS.length], box: true }));
  if (spec.referenceLabel && spec.series.some((x) => x.reference)) items.push({ label: spec.referenceLabel, color: '#000' });
  return s + legend(r, items, spec.legend ?? 'top-right');
}

// ---------------------------------------------------------------------------------------------
// Heat map

/** A {@link heatMap}'s content: `values[row][col]`, rows along y (first row at the top). */
export interface HeatMapSpec {
  title?: string;
  xLabels: readonly string[];
  yLabels: readonly string[];
  values: readonly (readonly number[])[];
  xlabel?: string;
  ylabel?: string;
  /** The colour bar's label. */
  colorLabel?: string;
  /** `'sequential'` (viridis-like, default) or `'diverging'` (blue-white-red around `center`: 0, or 1 with `log`). */
  scale?: 'sequential' | 'diverging';
  center?: number;
  min?: number;
  max?: number;
  /** Colour by log10 of the values (a diverging scale is then centred on log10(center), default 1). */
  log?: boolean;
  /** Writes each cell's value in it (formatted by `format`). Default true. */
  annotate?: boolean;
  format?: (v: number) => string;
}

const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
const DIVERGING = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];

function hexToRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** A colour from a palette at t in [0, 1] (linear interpolation between stops). */
export function interpolateColor(palette: readonly string[], t: number): string {
  if (!Number.isFinite(t)) return '#cccccc';
  const u = Math.min(Math.max(t, 0), 1) * (palette.length - 1);
  const i = Math.min(Math.floor(u), palette.length - 2);
  const f = u - i;
  const a = hexToRgb(palette[i]);
  const b = hexToRgb(palette[i + 1]);
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Draws a heat map into `r` with a colour bar at its right (keep ~70 px free there). */
export function heatMap(r: Rect, spec: HeatMapSpec): string {
  const rows = spec.yLabels.length;
  const cols = spec.xLabels.length;
  const diverging = spec.scale === 'diverging';
  const useLog = spec.log === true;
  const tr = (v: number) => (useLog ? (v > 0 ? Math.log10(v) : NaN) : v);
  const flat = spec.values.flat().map(tr).filter(Number.isFinite);
  let lo = spec.min !== undefined ? tr(spec.min) : flat.length ? Math.min(...flat) : 0;
  let hi = spec.max !== undefined ? tr(spec.max) : flat.length ? Math.max(...flat) : 1;
  if (diverging) {
    const c = tr(spec.center ?? (useLog ? 1 : 0));
    const m = Math.max(Math.abs(lo - c), Math.abs(hi - c)) || 1;
    lo = c - m;
    hi = c + m;
  }
  if (!(hi > lo)) hi = lo + 1;
  const palette = diverging ? DIVERGING : VIRIDIS;
  const t = (v: number) => (tr(v) - lo) / (hi - lo);
  const cw = r.w / Math.max(cols, 1);
  const ch = r.h / Math.max(rows, 1);
  const fmt = spec.format ?? ((v: number) => fmtNum(v, 2));
  let s = panelTitle(r, spec.title);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = spec.values[i]?.[j] ?? NaN;
      const tv = t(v);
      const color = interpolateColor(palette, tv);
      s += `<rect x="${num(r.x + j * cw)}" y="${num(r.y + i * ch)}" width="${num(cw + 0.5)}" height="${num(ch + 0.5)}" fill="${color}"/>`;
      if (spec.annotate !== false && !Number.isFinite(v)) {
        s += `<text x="${num(r.x + (j + 0.5) * cw)}" y="${num(r.y + (i + 0.5) * ch + 4)}" font-size="11" text-anchor="middle" fill="#333">n/a</text>`;
      } else if (spec.annotate !== false) {
        // Dark text on light cells, white on dark ones.
        const [R, G, B] = hexToRgb(color);
        const light = 0.299 * R + 0.587 * G + 0.114 * B > 140;
        const size = Math.min(11, ch * 0.45, (cw / Math.max(fmt(v).length, 1)) * 1.6);
        s += `<text x="${num(r.x + (j + 0.5) * cw)}" y="${num(r.y + (i + 0.5) * ch + size * 0.35)}" font-size="${num(size)}" text-anchor="middle" fill="${light ? '#000' : '#fff'}">${esc(fmt(v))}</text>`;
      }
    }
    s += '\n';
  }
  s += `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="none" stroke="#333"/>\n`;
  spec.xLabels.forEach((l, j) => (s += `<text x="${num(r.x + (j + 0.5) * cw)}" y="${r.y + r.h + 16}" font-size="11" text-anchor="middle">${esc(l)}</text>\n`));
  spec.yLabels.forEach((l, i) => (s += `<text x="${r.x - 6}" y="${num(r.y + (i + 0.5) * ch + 4)}" font-size="11" text-anchor="end">${esc(l)}</text>\n`));
  if (spec.xlabel) s += `<text x="${num(r.x + r.w / 2)}" y="${r.y + r.h + 34}" font-size="12" text-anchor="middle">${esc(spec.xlabel)}</text>\n`;
  if (spec.ylabel) {
    const X = r.x - 50;
    const Y = num(r.y + r.h / 2);
    s += `<text x="${X}" y="${Y}" font-size="12" text-anchor="middle" transform="rotate(-90 ${X} ${Y})">${esc(spec.ylabel)}</text>\n`;
  }
  // Colour bar.
  const bx = r.x + r.w + 14;
  const bw = 12;
  const steps = 40;
  for (let k = 0; k < steps; k++) {
    const y0 = r.y + (r.h * k) / steps;
    s += `<rect x="${bx}" y="${num(y0)}" width="${bw}" height="${num(r.h / steps + 0.5)}" fill="${interpolateColor(palette, 1 - (k + 0.5) / steps)}"/>`;
  }
  s += `\n<rect x="${bx}" y="${r.y}" width="${bw}" height="${r.h}" fill="none" stroke="#333"/>\n`;
  // At least three ticks on the colour bar (a narrow range can leave one at the default density).
  let barTicks = ticks(lo, hi, 4);
  if (barTicks.length < 3) barTicks = ticks(lo, hi, 8);
  for (const tv of barTicks) {
    const Y = num(r.y + r.h - ((tv - lo) / (hi - lo)) * r.h);
    const label = useLog ? fmtNum(10 ** tv) : fmtNum(tv);
    s += `<line x1="${bx + bw}" y1="${Y}" x2="${bx + bw + 3}" y2="${Y}" stroke="#333"/><text x="${bx + bw + 5}" y="${Y + 4}" font-size="10">${esc(label)}</text>\n`;
  }
  if (spec.colorLabel) {
    const X = bx + bw + 48;
    const Y = num(r.y + r.h / 2);
    s += `<text x="${X}" y="${Y}" font-size="11" text-anchor="middle" transform="rotate(-90 ${X} ${Y})">${esc(spec.colorLabel)}</text>\n`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Figures

/** Draws one panel into its plotting area. */
export type Panel = (r: Rect) => string;

/** Layout of a {@link figure}. */
export interface FigureSpec {
  title?: string;
  /** A line of smaller text under the title (the settings, say). */
  subtitle?: string;
  panels: readonly Panel[];
  /** Panels per row. Default: all in one row. */
  cols?: number;
  /** Size of each panel's cell (plotting area plus its margins). Default 460 x 340. */
  panelWidth?: number;
  panelHeight?: number;
  /** Margins of the plotting area inside a cell. */
  margin?: { left: number; right: number; top: number; bottom: number };
}

/** Lays panels out on a grid and returns the whole SVG document. */
export function figure(spec: FigureSpec): string {
  const cols = Math.max(1, spec.cols ?? spec.panels.length);
  const rowsN = Math.ceil(spec.panels.length / cols);
  const pw = spec.panelWidth ?? 460;
  const ph = spec.panelHeight ?? 340;
  const m = spec.margin ?? { left: 75, right: 25, top: 34, bottom: 50 };
  const head = (spec.title ? 30 : 8) + (spec.subtitle ? 18 : 0);
  const W = cols * pw;
  const H = head + rowsN * ph;
  let body = '';
  if (spec.title) body += `<text x="${W / 2}" y="22" font-size="16" font-weight="bold" text-anchor="middle">${esc(spec.title)}</text>\n`;
  if (spec.subtitle) body += `<text x="${W / 2}" y="${spec.title ? 42 : 18}" font-size="11" fill="#444" text-anchor="middle">${esc(spec.subtitle)}</text>\n`;
  spec.panels.forEach((p, i) => {
    const cx = (i % cols) * pw;
    const cy = head + Math.floor(i / cols) * ph;
    body += p({ x: cx + m.left, y: cy + m.top, w: pw - m.left - m.right, h: ph - m.top - m.bottom });
  });
  return svgDocument(W, H, body);
}

let resvg: { Resvg: new (svg: string, opts?: unknown) => { render(): { asPng(): Uint8Array } } } | null | undefined;

/** Whether {@link svgToPng} can rasterise (the `@resvg/resvg-js` binary loads on this machine). */
export function pngAvailable(): boolean {
  if (resvg === undefined) {
    try {
      resvg = createRequire(import.meta.url)('@resvg/resvg-js') as typeof resvg;
    } catch {
      resvg = null;
    }
  }
  return resvg !== null;
}

/**
 * Rasterises an SVG document to PNG (twice the SVG's pixel size) with `@resvg/resvg-js`, or returns
 * `null` when that package cannot be loaded on this platform.
 */
export function svgToPng(svg: string, scale = 2): Uint8Array | null {
  if (!pngAvailable()) return null;
  const r = new resvg!.Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  });
  return r.render().asPng();
}
