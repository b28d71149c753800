/**
 * `metagrad study memory`: unrolled against implicit differentiation (issue 9). Peak memory and
 * time of one meta-iteration against the number of inner steps K, on conv4 few-shot
 * classification (synthetic image tasks, or Omniglot episodes with `--data PATH`), for
 *
 * - `maml`: second-order MAML, every inner step's graph (activations and the gradient's own
 *   graph) kept until the backward pass: memory grows linearly with K;
 * - `checkpoint`: the same meta-gradient with each inner step under `mg.checkpoint` (MAML++'s
 *   `checkpoint` option): a step's intermediates are recomputed in the backward pass, so only the
 *   adapted parameters are kept per step, at the cost of a second forward and inner gradient;
 * - `fomaml`: first-order MAML (the inner gradients are constants);
 * - `imaml`: iMAML (Rajeswaran et al. 2019): a graph-free proximal inner loop and a
 *   conjugate-gradient solve with Hessian-vector products at the adapted parameters, whose memory
 *   does not depend on K.
 *
 * The three MAML variants are `mg.meta.MAMLpp` with every MAML++ switch off (shared batch norm,
 * every parameter adapted, one fixed inner rate), as `metagrad train --algo maml|fomaml --task
 * omniglot` runs them; iMAML is `mg.meta.IMAML`. Every case starts from the same initialisation and
 * meta-trains on the same tasks.
 *
 * Peak memory is measured as bench/memory.mjs does: after one warm-up meta-iteration (so Adam's
 * state and the `.grad`s exist), the peak native bytes of a meta-iteration above the live bytes
 * before it (`mg.resetPeakMemory()`, then `mg.memory().cpu.peakBytes`). Time: wall-clock and
 * process CPU time of each timed meta-iteration, medians over `--repeats`.
 */
import * as mg from '../../index.js';
import { choiceOpt, intOpt, numOpt, UsageError } from '../args.js';
import { COLORS, figure, fmtNum, lineChart, type LineSeries, type Panel } from '../svg.js';
import { openEpisodes, syntheticOpts } from './fewshot.js';
import { disposeTasks } from './image_tasks.js';
import { intListOpt } from './options.js';
import { median, polyfit } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

type Tensor = mg.Tensor;

/** The learners compared. */
export const MEMORY_METHODS = ['maml', 'checkpoint', 'fomaml', 'imaml'] as const;
export type MemoryMethod = (typeof MEMORY_METHODS)[number];

const LABELS: Record<MemoryMethod, string> = {
  maml: 'MAML, second order',
  checkpoint: 'MAML, checkpointed steps',
  fomaml: 'first-order MAML',
  imaml: 'iMAML (implicit)',
};

/** Settings of the learners. */
export interface MemoryLearnerConfig {
  ways: number;
  filters: number;
  imageSize: number;
  downsample: 'maxpool' | 'stride';
  /** Inner rate of the MAML variants. */
  innerLr: number;
  /** iMAML's inner rate, proximal strength and CG iterations. */
  imamlLr: number;
  lambda: number;
  cgSteps: number;
  metaLr: number;
}

/** A learner of the study: one meta-iteration, and its meta-parameters. */
export interface MemoryLearner {
  step(tasks: readonly mg.data.Task[], opt: mg.optim.Adam): number;
  metaParameters(): Tensor[];
}

/** The learner of `method` with `steps` inner steps over `net`. */
export function memoryLearner(method: MemoryMethod, net: mg.nn.Conv4, steps: number, cfg: MemoryLearnerConfig): MemoryLearner {
  if (method === 'imaml') return new mg.meta.IMAML(net, { innerSteps: steps, innerLr: cfg.imamlLr, lambda: cfg.lambda, cgSteps: cfg.cgSteps });
  return new mg.meta.MAMLpp(net, {
    innerSteps: steps, innerLr: cfg.innerLr, multiStepLoss: false, learnInnerLr: false, firstOrderEpochs: 0, cosineAnnealing: null, adaptBatchNorm: true,
    secondOrder: method !== 'fomaml', checkpoint: method === 'checkpoint',
  });
}

/** One measured case. */
export interface MemoryCase {
  method: MemoryMethod;
  steps: number;
  /** Peak MB above the live bytes before the meta-iteration (the largest over the repeats). */
  peakMB: number;
  /** Median wall-clock and CPU milliseconds per meta-iteration. */
  wallMs: number;
  cpuMs: number;
  /** The meta-gradient of the warm-up iteration (flattened), for comparing methods. */
  grad: Float32Array;
}

/**
 * Measures `method` with `steps` inner steps: builds the conv4 net (seeded with `seed`), one
 * warm-up meta-iteration on `tasks`, then `repeats` measured ones. Frees the net, the learner and
 * the optimizer.
 */
export function measureMemoryCase(method: MemoryMethod, steps: number, cfg: MemoryLearnerConfig, tasks: readonly mg.data.Task[], repeats: number, seed: number): MemoryCase {
  mg.manualSeed(seed);
  const net = new mg.nn.Conv4({ ways: cfg.ways, filters: cfg.filters, imageSize: cfg.imageSize, downsample: cfg.downsample });
  const learner = memoryLearner(method, net, steps, cfg);
  const opt = new mg.optim.Adam(learner.metaParameters(), { lr: cfg.metaLr });
  try {
    learner.step(tasks, opt); // Adam's state and the .grads exist from here on
    const gs = learner.metaParameters().map((p) => (p.grad === null ? new Float32Array(p.size) : Float32Array.from(p.grad.data())));
    const grad = new Float32Array(gs.reduce((a, g) => a + g.length, 0));
    gs.reduce((o, g) => (grad.set(g, o), o + g.length), 0);
    const peaks: number[] = [];
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const before = mg.memory().cpu.bytes;
      mg.resetPeakMemory();
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      learner.step(tasks, opt);
      wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e3);
      peaks.push((mg.memory().cpu.peakBytes - before) / 1e6);
    }
    return { method, steps, peakMB: Math.max(...peaks), wallMs: median(wall), cpuMs: median(cpu), grad };
  } finally {
    opt.dispose();
    net.dispose();
  }
}

/** Largest |a - b| relative to the largest |b|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s > 0 ? d / s : d;
}

const OPTIONS = {
  steps: { type: 'string' },
  methods: { type: 'string' },
  data: { type: 'string' },
  ways: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  'meta-batch': { type: 'string' },
  filters: { type: 'string' },
  'image-size': { type: 'string' },
  noise: { type: 'string' },
  downsample: { type: 'string' },
  'inner-lr': { type: 'string' },
  'imaml-lr': { type: 'string' },
  lambda: { type: 'string' },
  'cg-steps': { type: 'string' },
  repeats: { type: 'string' },
} as const;

const DEFAULTS = { steps: [1, 2, 4, 8, 16], ways: 5, shots: 1, query: 5, metaBatch: 4, filters: 32, imageSize: 28, noise: 1.2, innerLr: 0.4, imamlLr: 0.1, lambda: 2, cgSteps: 5, repeats: 5, metaLr: 1e-3 };

function methodsOpt(values: Record<string, unknown>): MemoryMethod[] {
  const v = values.methods;
  if (v === undefined) return [...MEMORY_METHODS];
  const names = String(v).split(',').map((s) => s.trim());
  const bad = names.find((n) => !(MEMORY_METHODS as readonly string[]).includes(n));
  if (bad !== undefined || names.length === 0) throw new UsageError(`--methods: '${bad ?? v}' is not one of ${MEMORY_METHODS.join(', ')} (in '${String(v)}')`);
  return MEMORY_METHODS.filter((m) => names.includes(m));
}

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext): Promise<StudyOutput> {
  const steps = [...new Set(intListOpt(values, 'steps', DEFAULTS.steps))].sort((a, b) => a - b);
  const methods = methodsOpt(values);
  const ways = intOpt(values, 'ways', DEFAULTS.ways, 2);
  const shots = intOpt(values, 'shots', DEFAULTS.shots);
  const query = intOpt(values, 'query', DEFAULTS.query);
  const T = intOpt(values, 'meta-batch', DEFAULTS.metaBatch);
  const filters = intOpt(values, 'filters', DEFAULTS.filters);
  const data = typeof values.data === 'string' ? values.data : undefined;
  const { size, noise } = syntheticOpts(values, data, { size: DEFAULTS.imageSize, noise: DEFAULTS.noise });
  const downsample = choiceOpt(values, 'downsample', ['maxpool', 'stride'] as const, 'maxpool');
  const repeats = intOpt(values, 'repeats', DEFAULTS.repeats);
  const cfg: MemoryLearnerConfig = {
    ways, filters, imageSize: size, downsample,
    innerLr: numOpt(values, 'inner-lr', DEFAULTS.innerLr),
    imamlLr: numOpt(values, 'imaml-lr', DEFAULTS.imamlLr),
    lambda: numOpt(values, 'lambda', DEFAULTS.lambda),
    cgSteps: intOpt(values, 'cg-steps', DEFAULTS.cgSteps),
    metaLr: DEFAULTS.metaLr,
  };

  const episodes = openEpisodes({ data, ways, shots, query, size, noise, seed: ctx.seed * 7919 + 11 });
  cfg.imageSize = episodes.size;
  mg.manualSeed(ctx.seed * 1_000_003 + 17);
  const tasks = mg.tidy(() => episodes.train.sample(T)); // one task batch for every case
  const cases: MemoryCase[] = [];
  const totalWork = steps.reduce((a, k) => a + k, 0) * methods.length * (repeats + 1);
  let done = 0;
  const t0 = Date.now();
  try {
    for (const k of steps) {
      for (const m of methods) {
        ctx.progress(done, totalWork, `${LABELS[m]}, ${k} inner step${k === 1 ? '' : 's'}`);
        cases.push(measureMemoryCase(m, k, cfg, tasks, repeats, ctx.seed * 1_000_003 + 29));
        done += k * (repeats + 1);
      }
    }
  } finally {
    disposeTasks(tasks);
    episodes.dispose();
  }
  ctx.progress(totalWork, totalWork, 'done');
  const wall = (Date.now() - t0) / 1000;

  const get = (m: MemoryMethod, k: number) => cases.find((c) => c.method === m && c.steps === k);
  const gradDiff = (c: MemoryCase) => {
    const ref = get('maml', c.steps);
    return c.method === 'checkpoint' && ref !== undefined ? relDiff(c.grad, ref.grad) : null;
  };
  const table = {
    columns: [
      { key: 'method', label: 'method' },
      { key: 'steps', label: 'inner steps' },
      { key: 'peakMB', label: 'peak MB', digits: 4 },
      { key: 'vsMaml', label: 'peak / second-order MAML', digits: 3 },
      { key: 'wallMs', label: 'ms per meta-iteration (wall)', digits: 4 },
      { key: 'cpuMs', label: 'CPU ms per meta-iteration', digits: 4 },
      { key: 'gradDiff', label: 'meta-gradient vs second order (rel.)', digits: 2 },
    ],
    rows: cases.map((c) => {
      const ref = get('maml', c.steps);
      return { method: LABELS[c.method], steps: c.steps, peakMB: c.peakMB, vsMaml: ref ? c.peakMB / ref.peakMB : null, wallMs: c.wallMs, cpuMs: c.cpuMs, gradDiff: gradDiff(c) };
    }),
  };

  const series = (m: MemoryMethod, y: (c: MemoryCase) => number, dash?: string, label = true): LineSeries => {
    const cs = steps.map((k) => get(m, k)!);
    return { label: label ? LABELS[m] : undefined, x: steps, y: cs.map(y), color: COLORS[MEMORY_METHODS.indexOf(m) % COLORS.length], markers: true, dash };
  };
  const xAxis = { label: 'inner steps K', min: 0, ticks: steps, format: String };
  const panels: Panel[] = [
    (r) =>
      lineChart(r, {
        title: 'peak memory of one meta-iteration',
        x: xAxis,
        y: { label: 'MB above the live bytes before it', min: 0 },
        series: methods.map((m) => series(m, (c) => c.peakMB)),
        legend: 'top-left',
      }),
    (r) =>
      lineChart(r, {
        title: `time per meta-iteration: CPU (dashed: wall clock), median of ${repeats}`,
        x: xAxis,
        y: { label: 'ms', min: 0 },
        series: [...methods.map((m) => series(m, (c) => c.cpuMs)), ...methods.map((m) => series(m, (c) => c.wallMs, '4 3', false))],
        legend: 'top-left',
      }),
  ];
  const svg = figure({
    title: 'Unrolled against implicit differentiation: memory and time per meta-iteration against inner steps',
    subtitle: `conv4 (${filters} filters, ${downsample}), ${episodes.short}, meta-batch ${T}; MAML rate ${cfg.innerLr}; iMAML λ ${cfg.lambda}, rate ${cfg.imamlLr}, ${cfg.cgSteps} CG steps; float32, CPU`,
    panels,
    cols: 2,
    panelWidth: 560,
    panelHeight: 400,
  });

  // Findings: linear fits of the peak and the time against K.
  const fit = (m: MemoryMethod, y: (c: MemoryCase) => number) => {
    const cs = steps.map((k) => get(m, k)!);
    if (steps.length < 2) return { at0: y(cs[0]), perStep: 0 };
    const ys = cs.map(y);
    const [a, b] = polyfit(steps, ys, 1);
    // A flat line fits with a slope of rounding size: call it 0.
    return { at0: a, perStep: Math.abs(b) < 1e-9 * Math.max(...ys.map(Math.abs)) ? 0 : b };
  };
  const k0 = steps[0];
  const k1 = steps[steps.length - 1];
  const findings: string[] = [];
  const peakLine = (m: MemoryMethod) => {
    const f = fit(m, (c) => c.peakMB);
    return `${LABELS[m]} ${fmtNum(get(m, k0)!.peakMB)} → ${fmtNum(get(m, k1)!.peakMB)} MB (${fmtNum(f.perStep)} MB per step)`;
  };
  findings.push(`Peak memory from K = ${k0} to K = ${k1} (least-squares slope in brackets): ${methods.map(peakLine).join('; ')}.`);
  if (methods.includes('maml') && steps.length > 1) {
    const maml = fit('maml', (c) => c.peakMB);
    const parts: string[] = [`Second-order MAML keeps every inner step's activations and the graph of its gradient until the backward pass: its peak grows linearly, ${fmtNum(maml.perStep)} MB per inner step on top of ${fmtNum(maml.at0)} MB.`];
    if (methods.includes('checkpoint')) {
      const ck = fit('checkpoint', (c) => c.peakMB);
      parts.push(`Checkpointing each step keeps only the adapted parameters per step (${fmtNum(ck.perStep)} MB per step, ${fmtNum(maml.perStep / Math.max(ck.perStep, 1e-9))}× less growth): at K = ${k1} it needs ${fmtNum(get('checkpoint', k1)!.peakMB / get('maml', k1)!.peakMB)}× the memory of the plain unroll.`);
    }
    if (methods.includes('imaml')) {
      const im = steps.map((k) => get('imaml', k)!.peakMB);
      const flat = Math.max(...im) - Math.min(...im) <= 0.05 * Math.max(...im);
      parts.push(`iMAML's peak is ${flat ? `flat in K (${fmtNum(Math.min(...im))} to ${fmtNum(Math.max(...im))} MB)` : `${fmtNum(Math.min(...im))} to ${fmtNum(Math.max(...im))} MB`}: its inner loop records no graph and the CG solve needs one gradient graph at the adapted parameters, so at K = ${k1} it uses ${fmtNum(get('imaml', k1)!.peakMB / get('maml', k1)!.peakMB)}× the memory of second-order MAML.`);
    }
    if (methods.includes('fomaml')) {
      const fo = fit('fomaml', (c) => c.peakMB);
      parts.push(
        fo.perStep > 0.1 * maml.perStep
          ? `First-order MAML still grows by ${fmtNum(fo.perStep)} MB per step (${fmtNum(fo.perStep / maml.perStep)}× second order's growth): metagrad's MAML and MAMLpp take each inner gradient with retainGraph and the meta-iteration's tidy frees the support graphs only at its end, so every step's forward activations stay alive although the first-order meta-gradient never walks them.`
          : `First-order MAML grows by only ${fmtNum(fo.perStep)} MB per step.`,
      );
    }
    findings.push(parts.join(' '));
  }
  const timeParts: string[] = [];
  for (const m of methods) {
    const f = fit(m, (c) => c.cpuMs);
    timeParts.push(`${LABELS[m]} ${fmtNum(get(m, k0)!.cpuMs)} → ${fmtNum(get(m, k1)!.cpuMs)} ms (${fmtNum(f.perStep)} ms per step)`);
  }
  let timeText = `CPU time per meta-iteration from K = ${k0} to K = ${k1}: ${timeParts.join('; ')}.`;
  if (methods.includes('maml') && methods.includes('checkpoint')) {
    const ratios = steps.map((k) => get('checkpoint', k)!.cpuMs / get('maml', k)!.cpuMs);
    const r = median(ratios);
    const range = `median over K; ${fmtNum(Math.min(...ratios))} to ${fmtNum(Math.max(...ratios))}`;
    timeText +=
      r > 1.1
        ? ` Checkpointing costs ${fmtNum(r)}× the CPU time of the plain unroll (${range}): each step's forward pass and inner gradient run again in the backward pass.`
        : ` Checkpointing costs no more CPU time than the plain unroll (${fmtNum(r)}×, ${range}) although each step's forward pass and inner gradient run again in the backward pass.`;
  }
  if (methods.includes('maml') && methods.includes('imaml')) {
    const faster = steps.filter((k) => get('imaml', k)!.cpuMs < get('maml', k)!.cpuMs);
    const from = steps.findIndex((k) => faster.includes(k));
    timeText +=
      faster.length === 0
        ? ` iMAML is slower than second-order MAML at every K measured.`
        : faster.length === steps.length - from && from > 0
          ? ` iMAML (${cfg.cgSteps} CG steps) is faster than second-order MAML from K = ${steps[from]} on (${fmtNum(get('maml', k1)!.cpuMs / get('imaml', k1)!.cpuMs)}× at K = ${k1}).`
          : ` iMAML (${cfg.cgSteps} CG steps) is faster than second-order MAML at K = ${faster.join(', ')}.`;
  }
  findings.push(timeText);
  const diffs = cases.map(gradDiff).filter((d): d is number => d !== null);
  if (diffs.length) findings.push(`The checkpointed meta-gradient equals the second-order one: largest difference ${fmtNum(Math.max(...diffs), 2)} relative to its largest entry (float32), over the ${diffs.length} step counts.`);
  findings.push(`Wall time ${wall.toFixed(0)} s. Times are medians over ${repeats} meta-iterations after a warm-up on a shared machine (wall-clock times depend on its load; CPU times less so). Peak bytes are the library's live native buffers (mg.memory().cpu.peakBytes), not the process's resident memory.`);

  return {
    settings: { data: data ?? 'synthetic', tasks: episodes.description, steps, methods, ways, shots, query, metaBatch: T, filters, imageSize: cfg.imageSize, noise: data === undefined ? noise : null, downsample, innerLr: cfg.innerLr, imamlLr: cfg.imamlLr, lambda: cfg.lambda, cgSteps: cfg.cgSteps, repeats, metaLr: cfg.metaLr, dtype: 'float32', device: 'cpu', seed: ctx.seed },
    table,
    svg,
    findings,
    data: { cases: cases.map(({ grad: _grad, ...c }) => c) },
  };
}

/** The `memory` study. */
export const memoryStudy: Study = {
  name: 'memory',
  title: 'Unrolled against implicit differentiation: peak memory and time per meta-iteration against inner steps',
  summary: 'peak memory and time of second-order, checkpointed and first-order MAML and iMAML (conv4) against inner steps',
  options: OPTIONS,
  usage: `  [--steps K,K,..]      inner step counts (default ${DEFAULTS.steps.join(',')}; e.g. 1,2,4,8,16,32 for more)
  [--methods M,M,..]    of ${MEMORY_METHODS.join(', ')} (default all)
  [--data PATH]         Omniglot episodes (folder with the official zips, or one zip); default synthetic image tasks
  [--ways N]            classes per task (default ${DEFAULTS.ways})
  [--shots K]           support images per class (default ${DEFAULTS.shots})
  [--query Q]           query images per class (default ${DEFAULTS.query})
  [--meta-batch T]      tasks per meta-iteration (default ${DEFAULTS.metaBatch})
  [--filters F]         conv4 filters (default ${DEFAULTS.filters})
  [--image-size S]      side of the synthetic images, >= 16 (default ${DEFAULTS.imageSize})
  [--noise SD]          noise of the synthetic images around their class prototype (default ${DEFAULTS.noise})
  [--downsample maxpool|stride]  conv4's downsampling (default maxpool)
  [--inner-lr A]        inner rate of the MAML variants (default ${DEFAULTS.innerLr})
  [--imaml-lr A]        iMAML's inner rate (default ${DEFAULTS.imamlLr})
  [--lambda L]          iMAML's proximal strength (default ${DEFAULTS.lambda})
  [--cg-steps N]        iMAML's conjugate-gradient steps (default ${DEFAULTS.cgSteps})
  [--repeats R]         timed meta-iterations per case after one warm-up (default ${DEFAULTS.repeats})`,
  run,
};
