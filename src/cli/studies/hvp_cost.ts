/**
 * `metagrad study hvp-cost`: the cost of a Hessian-vector product relative to a gradient. By
 * Pearlmutter (1994) an HVP costs a small constant multiple of a gradient (one more forward and
 * backward sweep with R-values), whatever the model size; this study measures that ratio for
 * metagrad's two modes, forward-over-reverse (`fwd-rev`: jvp of the gradient) and
 * reverse-over-reverse (`rev-rev`: double backward), on tanh MLPs width-width-width-width
 * (three layers) with an MSE loss, across widths and batch sizes, on every available device.
 *
 * Timing: per case, rounds of (gradient, fwd-rev, rev-rev), interleaved so that a busy machine
 * slows all three alike; each timing repeats its call until `--min-time` seconds have passed and
 * ends by reading a scalar back (so a GPU has finished); the median over rounds is kept. Each case
 * also checks that the two modes agree (largest difference relative to the HVP's largest entry).
 */
import * as mg from '../../index.js';
import { intOpt, numOpt } from '../args.js';
import { COLORS, figure, fmtNum, lineChart, type LineSeries, type Panel } from '../svg.js';
import { intListOpt } from './options.js';
import { median } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

type Tensor = mg.Tensor;
type Device = 'cpu' | 'cuda';

/** One measured case. */
export interface HvpCase {
  device: Device;
  width: number;
  params: number;
  batch: number;
  gradMs: number;
  fwdRevMs: number;
  revRevMs: number;
  ratioFwdRev: number;
  ratioRevRev: number;
  /** max |HVP_fwd-rev - HVP_rev-rev| / max |HVP_rev-rev|. */
  disagreement: number;
}

/** Seconds per call of `fn`, repeated until at least `minTime` seconds have passed. */
function timeIt(fn: () => number, minTime: number): number {
  let n = 0;
  const t0 = process.hrtime.bigint();
  let el = 0;
  do {
    fn();
    n++;
    el = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (el < minTime);
  return el / n;
}

/**
 * Measures one case: a tanh MLP with three width x width layers on `batch` random inputs, on
 * `device`. Frees everything it makes.
 */
export function measureHvpCase(device: Device, width: number, batch: number, rounds: number, minTime: number): HvpCase {
  return mg.tidy(() => {
    const opts = { device } as const;
    const params: Tensor[] = [];
    for (let i = 0; i < 3; i++) {
      params.push(mg.randn([width, width], opts).mul(1 / Math.sqrt(width)));
      params.push(mg.zeros([width], opts));
    }
    const x = mg.randn([batch, width], opts);
    const y = mg.randn([batch, width], opts);
    const vs = params.map((p) => mg.randn(p.shape, opts));
    const F = mg.nn.functional;
    const loss = (...ps: Tensor[]) => {
      let h = x;
      for (let i = 0; i < 3; i++) {
        h = F.linear(h, ps[2 * i], ps[2 * i + 1]);
        if (i < 2) h = h.tanh();
      }
      return F.mseLoss(h, y);
    };
    const vg = mg.valueAndGrad(loss);
    // Each call ends by reading one number back, so asynchronous devices have finished.
    const grad = () => mg.tidy(() => vg(...params)[1][0].sum().item());
    const fwdRev = () => mg.tidy(() => mg.hvp(loss, params, vs, { mode: 'fwd-rev' })[1][0].sum().item());
    const revRev = () => mg.tidy(() => mg.hvp(loss, params, vs, { mode: 'rev-rev' })[1][0].sum().item());
    // Agreement of the two modes (and a warm-up of every path).
    const disagreement = mg.tidy(() => {
      const a = mg.hvp(loss, params, vs, { mode: 'fwd-rev' })[1];
      const b = mg.hvp(loss, params, vs, { mode: 'rev-rev' })[1];
      let diff = 0;
      let scale = 0;
      a.forEach((t, i) => {
        diff = Math.max(diff, t.sub(b[i]).abs().max().item());
        scale = Math.max(scale, b[i].abs().max().item());
      });
      return scale > 0 ? diff / scale : diff;
    });
    grad();
    const g: number[] = [];
    const f: number[] = [];
    const r: number[] = [];
    for (let k = 0; k < rounds; k++) {
      g.push(timeIt(grad, minTime));
      f.push(timeIt(fwdRev, minTime));
      r.push(timeIt(revRev, minTime));
    }
    const gradMs = median(g) * 1e3;
    const fwdRevMs = median(f) * 1e3;
    const revRevMs = median(r) * 1e3;
    return { device, width, params: 3 * (width * width + width), batch, gradMs, fwdRevMs, revRevMs, ratioFwdRev: fwdRevMs / gradMs, ratioRevRev: revRevMs / gradMs, disagreement };
  });
}

const OPTIONS = {
  widths: { type: 'string' },
  batches: { type: 'string' },
  rounds: { type: 'string' },
  'min-time': { type: 'string' },
} as const;

const DEFAULTS = { widths: [16, 64, 256, 1024], batches: [1, 16, 128, 512], rounds: 5, minTime: 0.05 };

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext, device: Device | undefined): Promise<StudyOutput> {
  const widths = [...new Set(intListOpt(values, 'widths', DEFAULTS.widths))].sort((a, b) => a - b);
  const batches = [...new Set(intListOpt(values, 'batches', DEFAULTS.batches))].sort((a, b) => a - b);
  const rounds = intOpt(values, 'rounds', DEFAULTS.rounds);
  const minTime = numOpt(values, 'min-time', DEFAULTS.minTime, false);
  const devices: Device[] = device !== undefined ? [device] : mg.cuda.isAvailable() ? ['cpu', 'cuda'] : ['cpu'];
  const cases: HvpCase[] = [];
  const total = devices.length * widths.length * batches.length;
  const t0 = Date.now();
  for (const d of devices) {
    for (const w of widths) {
      for (const b of batches) {
        ctx.progress(cases.length, total, `${d}: width ${w}, batch ${b}`);
        mg.manualSeed(ctx.seed);
        cases.push(measureHvpCase(d, w, b, rounds, minTime));
      }
    }
  }
  ctx.progress(total, total, 'done');
  const wall = (Date.now() - t0) / 1000;

  const table = {
    columns: [
      { key: 'device', label: 'device' },
      { key: 'width', label: 'width' },
      { key: 'params', label: 'parameters' },
      { key: 'batch', label: 'batch' },
      { key: 'gradMs', label: 'gradient ms', digits: 3 },
      { key: 'fwdRevMs', label: 'HVP fwd-rev ms', digits: 3 },
      { key: 'revRevMs', label: 'HVP rev-rev ms', digits: 3 },
      { key: 'ratioFwdRev', label: 'fwd-rev / gradient', digits: 3 },
      { key: 'ratioRevRev', label: 'rev-rev / gradient', digits: 3 },
      { key: 'disagreement', label: 'modes differ by', digits: 2 },
    ],
    rows: cases.map((c) => ({ ...c })),
  };

  const panels: Panel[] = [];
  for (const d of devices) {
    const dc = cases.filter((c) => c.device === d);
    const ratioPanel = (mode: 'fwd-rev' | 'rev-rev'): Panel => (r) =>
      lineChart(r, {
        title: `${d}: HVP ${mode} time / gradient time`,
        x: { label: 'parameters (log)', log: true },
        y: { label: 'time ratio', min: 0, max: Math.max(5, ...dc.map((c) => (mode === 'fwd-rev' ? c.ratioFwdRev : c.ratioRevRev))) * 1.05 },
        series: batches.map((b, i): LineSeries => {
          const bc = dc.filter((c) => c.batch === b);
          return { label: `batch ${b}`, x: bc.map((c) => c.params), y: bc.map((c) => (mode === 'fwd-rev' ? c.ratioFwdRev : c.ratioRevRev)), color: COLORS[i % COLORS.length], markers: true };
        }),
        hlines: [{ y: 1, color: '#999', dash: '3 3' }],
        legend: 'top-right',
      });
    panels.push(ratioPanel('fwd-rev'), ratioPanel('rev-rev'), (r) =>
      lineChart(r, {
        title: `${d}: gradient time`,
        x: { label: 'parameters (log)', log: true },
        y: { label: 'ms per gradient (log)', log: true },
        series: batches.map((b, i): LineSeries => {
          const bc = dc.filter((c) => c.batch === b);
          return { label: `batch ${b}`, x: bc.map((c) => c.params), y: bc.map((c) => c.gradMs), color: COLORS[i % COLORS.length], markers: true };
        }),
        legend: 'top-left',
      }));
  }
  const svg = figure({
    title: 'Hessian-vector product cost relative to a gradient (tanh MLP, MSE, float32)',
    subtitle: `three width x width tanh layers; median of ${rounds} interleaved rounds of >= ${minTime} s per timing; devices: ${devices.join(', ')}`,
    panels,
    cols: 3,
    panelWidth: 440,
    panelHeight: 340,
  });

  const findings: string[] = [];
  for (const d of devices) {
    const dc = cases.filter((c) => c.device === d);
    const fr = dc.map((c) => c.ratioFwdRev);
    const rr = dc.map((c) => c.ratioRevRev);
    // Cases with enough arithmetic (batch x parameters >= 1e6) that the per-op overhead does not dominate.
    const large = dc.filter((c) => c.batch * c.params >= 1e6);
    findings.push(
      `${d}: HVP / gradient time ranges over ${fmtNum(Math.min(...fr))}–${fmtNum(Math.max(...fr))} (fwd-rev) and ${fmtNum(Math.min(...rr))}–${fmtNum(Math.max(...rr))} (rev-rev) across ${dc.length} (width, batch) cases, median ${fmtNum(median(fr))} and ${fmtNum(median(rr))}.` +
        (large.length
          ? ` Where the arithmetic dominates the per-op overhead (batch × parameters ≥ 10^6, ${large.length} cases), the ratio is ${fmtNum(Math.min(...large.map((c) => c.ratioFwdRev)))}–${fmtNum(Math.max(...large.map((c) => c.ratioFwdRev)))} (fwd-rev) and ${fmtNum(Math.min(...large.map((c) => c.ratioRevRev)))}–${fmtNum(Math.max(...large.map((c) => c.ratioRevRev)))} (rev-rev): a small constant, as Pearlmutter's bound says, flat in the model size.`
          : '') +
        ` For the smallest cases the ratio reflects the number of ops recorded (per-op overhead), not arithmetic.`,
    );
  }
  findings.push(`The two modes agree to ${fmtNum(Math.max(...cases.map((c) => c.disagreement)), 2)} (largest difference relative to the HVP's largest entry, float32). ${mg.cuda.isAvailable() || device === 'cuda' ? '' : 'No CUDA device was available: CPU only. '}Wall time ${wall.toFixed(0)} s; timings depend on the machine's load (ratios less so: the three timings of a round are interleaved).`);
  return {
    settings: { widths, batches, rounds, minTime, devices, layers: 3, activation: 'tanh', loss: 'mse', dtype: 'float32', seed: ctx.seed },
    table,
    svg,
    findings,
    data: { cases },
  };
}

/** The `hvp-cost` study. */
export const hvpCostStudy: Study = {
  name: 'hvp-cost',
  title: 'Hessian-vector product time over gradient time (Pearlmutter)',
  summary: 'HVP / gradient time for fwd-rev and rev-rev across model and batch sizes, on every available device',
  options: OPTIONS,
  devices: ['cpu', 'cuda'],
  usage: `  [--widths W,W,..]   layer widths of the tanh MLP (default ${DEFAULTS.widths.join(',')})
  [--batches B,B,..]  batch sizes (default ${DEFAULTS.batches.join(',')})
  [--rounds R]        interleaved timing rounds per case; the median is kept (default ${DEFAULTS.rounds})
  [--min-time S]      seconds each timing repeats its call for, at least (default ${DEFAULTS.minTime})
  --device cpu|cuda   measure on that device only (default: cpu, and cuda when available)`,
  run,
};
