// Memory of long unrolls of a learned optimizer: the meta-gradient of ONE 100-step unroll of the
// coordinate-wise LSTM optimizer (mg.meta.l2l.LSTMOptimizer: 2 x 20 units, preprocessing, first
// order) on a batch of sigmoid MLPs (mg.meta.l2l.MlpClassificationFamily), plain and with every
// segment of S steps under mg.checkpoint (mg.meta.l2l.unroll's checkpointEvery). Reports the peak
// of live native bytes during the forward and backward pass (mg.memory().cpu.peakBytes after
// mg.resetPeakMemory(), minus what was live before), and the time per meta-gradient against the
// same computation in PyTorch (plain and torch.utils.checkpoint) in the same run, with one thread
// (see bench/torch/l2l.py). PyTorch's CPU allocator has no peak counter, so its memory is not
// measured.
import * as mg from '../dist/index.js';
import { jsonMode, measure, report, torchRef } from './lib.mjs';

const { l2l } = mg.meta;
const cfg = { instances: 8, inputs: 4, classes: 5, clustersPerClass: 4, separation: 3, hidden: 20, batch: 32, steps: 100, every: [0, 25, 10, 5] };
mg.manualSeed(0);
const family = new l2l.MlpClassificationFamily({ inputs: cfg.inputs, classes: cfg.classes, clustersPerClass: cfg.clustersPerClass, separation: cfg.separation, hidden: cfg.hidden, batch: cfg.batch });
const problem = family.sample(cfg.instances, cfg.steps + 1);
const rule = new l2l.LSTMOptimizer();
const coordinates = problem.init.reduce((s, p) => s + p.size, 0);

function metaGradient(every) {
  mg.tidy(() => {
    const u = l2l.unroll(rule, problem, problem.init, rule.initState(problem.init), { steps: cfg.steps, checkpointEvery: every });
    u.metaLoss.backward();
  });
  for (const w of rule.weights) {
    w.grad?.dispose();
    w.grad = null;
  }
}

// Peak memory (one run each, after a warm-up run).
const peaks = {};
for (const every of cfg.every) {
  metaGradient(every);
  const base = mg.memory().cpu.bytes;
  mg.resetPeakMemory();
  metaGradient(every);
  peaks[every] = mg.memory().cpu.peakBytes - base;
}
// Check: the same meta-gradient either way.
const grads = (every) =>
  mg.tidy(() => {
    const u = l2l.unroll(rule, problem, problem.init, rule.initState(problem.init), { steps: cfg.steps, checkpointEvery: every });
    return mg.grad(u.metaLoss, rule.weights).map((g) => Array.from(g.data()));
  });
const g0 = grads(0);
const g1 = grads(cfg.every[cfg.every.length - 1]);
let maxDiff = 0;
g0.forEach((g, i) => g.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - g1[i][k]) / (1 + Math.abs(v))))));

const cases = Object.fromEntries(cfg.every.map((e) => [`every ${e}`, () => metaGradient(e)]));
const ours = await measure('l2l_memory', cases, { maxTime: 2, minSamples: 2 });
const ref = torchRef('l2l.py', { ...cfg, rounds: 3, threads: 1 });
const label = (e) => (e === 0 ? 'plain unroll' : `checkpoint every ${e} steps`);
const rows = [];
for (const e of cfg.every) {
  rows.push({ case: `${label(e)}: peak memory`, ours: peaks[e] / 2 ** 20, torch: null, unit: 'MiB', ratio: null });
}
for (const e of cfg.every) {
  if (e !== 0) rows.push({ case: `${label(e)}: memory vs plain`, ours: peaks[e] / peaks[0], torch: null, unit: 'ratio', ratio: null });
}
for (const e of cfg.every) {
  const o = ours[`every ${e}`];
  const t = ref ? ref[`every ${e}`] : null;
  rows.push({ case: `${label(e)}: meta-gradient time`, ours: o * 1e3, torch: t == null ? null : t * 1e3, unit: 'ms', ratio: t == null ? null : t / o });
}
report(
  `Meta-gradient of a ${cfg.steps}-step unroll of the LSTM optimizer on ${cfg.instances} sigmoid MLPs (${coordinates} coordinates), float32, first order` +
    ` (speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}, ${ref.threads} thread${ref.threads === 1 ? '' : 's'}` : ''}; max rel. difference of the meta-gradients plain vs checkpointed ${maxDiff.toExponential(1)}` +
    `${ref ? `, PyTorch's ${ref.check.toExponential(1)}` : ''})`,
  rows,
);
if (!jsonMode) console.log('  (peak memory: live native bytes above those held before the run, mg.memory().cpu.peakBytes)');
rule.dispose();
problem.dispose();
