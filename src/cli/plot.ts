/**
 * `metagrad plot DIR`: DIR/learning_curve.svg (the meta-loss in metrics.jsonl against the
 * iteration, log scale) and DIR/fits.svg (three held-out tasks: the true curve, the support
 * points and the predictions after 0, 1, 5 and 10 adaptation steps). Hand-written SVG (./svg.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../index.js';
import { deviceOpt, intOpt, jsonLine, parse, UsageError, type CliIO } from './args.js';
import { evalLearner, FITS_SEED, metricsPath, restore, writeFigure } from './common.js';
import { axes, esc, num, polyline, svgDocument as svg, sx, sy, type Frame } from './svg.js';

export const PLOT_USAGE = `usage: metagrad plot DIR [--seed S] [--device cpu] [--json]
  (a sinusoid run: DIR/learning_curve.svg from DIR/metrics.jsonl, DIR/fits.svg from the checkpoint)

examples:
  metagrad plot runs/maml`;

const OPTIONS = { seed: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' } } as const;

const COLORS = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4', '#9467bd'];

/** The learning curve from metrics.jsonl records `{iteration, loss}`. */
export function learningCurveSvg(records: readonly { iteration: number; loss: number }[], title: string): string {
  const pts = records.filter((r) => Number.isFinite(r.loss) && r.loss > 0);
  if (pts.length === 0) return svg(640, 400, `<text x="320" y="200" text-anchor="middle">no finite losses in metrics.jsonl</text>\n`);
  const xs = pts.map((r) => r.iteration);
  const ly = pts.map((r) => Math.log10(r.loss));
  let ymin = Math.floor(Math.min(...ly));
  let ymax = Math.ceil(Math.max(...ly));
  if (ymax === ymin) ymax = ymin + 1;
  const f: Frame = { x: 70, y: 40, w: 540, h: 300, xmin: Math.min(0, ...xs), xmax: Math.max(...xs, 1), ymin, ymax };
  ymin = f.ymin;
  const yt: number[] = [];
  for (let e = ymin; e <= ymax; e++) yt.push(e);
  let body = `<text x="320" y="24" font-size="14" text-anchor="middle">${esc(title)}</text>\n`;
  body += axes(f, 'iteration', 'meta-loss (log scale)', (v) => `1e${v}`, yt);
  body += polyline(f, xs, ly, COLORS[3]);
  return svg(640, 400, body);
}

export async function plot(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError(`plot: expected one DIR, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const dir = positionals[0];
  deviceOpt(values);
  const seed = values.seed === undefined ? FITS_SEED : intOpt(values, 'seed', 0, 0);
  const { cfg, learner, iteration } = restore(dir);
  // Learning curve.
  const records: { iteration: number; loss: number }[] = [];
  if (fs.existsSync(metricsPath(dir))) {
    for (const line of fs.readFileSync(metricsPath(dir), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = JSON.parse(line) as { iteration: number; loss: number };
        if (typeof r.iteration === 'number' && typeof r.loss === 'number') records.push(r);
      } catch {
        /* a torn last line: skip */
      }
    }
  }
  const curve = path.join(dir, 'learning_curve.svg');
  const written = writeFigure(curve, learningCurveSvg(records, `${cfg.algo} on ${cfg.task}: meta-loss (${iteration} iterations)`));

  // Fits on three held-out tasks.
  const maml = evalLearner(learner);
  const steps = [0, 1, 5, 10];
  mg.manualSeed(seed);
  const sampler = new mg.data.MamlSinusoid({ shots: cfg.shots, query: cfg.query });
  const grid = Array.from({ length: 101 }, (_, i) => -5 + i / 10);
  const W = 300;
  const H = 260;
  let body = '';
  for (let k = 0; k < 3; k++) {
    mg.tidy(() => {
      const [task] = sampler.sample(1);
      const xg = mg.tensor(Float32Array.from(grid), { shape: [grid.length, 1] });
      const preds: number[][] = [];
      let params = maml.initialParameters();
      let done = 0;
      for (const s of steps) {
        params = maml.adapt(task.support, params, s - done, { mode: 'eval' });
        done = s;
        preds.push(Array.from(mg.noGrad(() => maml.predict(params, xg)).data()));
      }
      const truth = grid.map((x) => task.f(x));
      const f: Frame = { x: 50 + k * W, y: 40, w: W - 70, h: H - 80, xmin: -5, xmax: 5, ymin: -5.5, ymax: 5.5 };
      body += `<text x="${f.x + f.w / 2}" y="${f.y - 10}" font-size="12" text-anchor="middle">A=${task.amplitude.toFixed(2)}, phase=${task.phase.toFixed(2)}</text>\n`;
      body += axes(f, 'x', k === 0 ? 'y' : '');
      body += polyline(f, grid, truth, '#000', 'stroke-dasharray="4 3"');
      preds.forEach((p, i) => (body += polyline(f, grid, p, COLORS[i])));
      const sxv = Array.from(task.support.x.data());
      const syv = Array.from(task.support.y.data());
      sxv.forEach((x, i) => (body += `<circle cx="${num(sx(f, x))}" cy="${num(sy(f, syv[i]))}" r="3.5" fill="#000"/>\n`));
    });
  }
  // Legend.
  const legend: [string, string, string][] = [['true function', '#000', 'stroke-dasharray="4 3"'], ...steps.map((s, i): [string, string, string] => [`${s} step${s === 1 ? '' : 's'}`, COLORS[i], ''])];
  legend.forEach(([label, color, extra], i) => {
    const x = 50 + i * 140;
    body += `<line x1="${x}" y1="${H + 10}" x2="${x + 24}" y2="${H + 10}" stroke="${color}" stroke-width="2" ${extra}/><text x="${x + 30}" y="${H + 14}" font-size="12">${esc(label)}</text>\n`;
  });
  body += `<circle cx="${50 + legend.length * 140}" cy="${H + 10}" r="3.5" fill="#000"/><text x="${58 + legend.length * 140}" y="${H + 14}" font-size="12">support (${cfg.shots} shots)</text>\n`;
  const fits = path.join(dir, 'fits.svg');
  written.push(...writeFigure(fits, svg(3 * W + 20, H + 30, `<text x="${(3 * W + 20) / 2}" y="16" font-size="14" text-anchor="middle">${esc(`${cfg.algo}: adapted fits on held-out tasks`)}</text>\n${body}`)));
  if (values.json === true) jsonLine(io, { summary: true, files: written });
  else io.stdout.write(`wrote ${written.join(', ')}\n`);
  return 0;
}
