// Second-order MAML meta-iterations with the Omniglot conv4 network (Finn et al. 2017: four blocks
// of 3x3 convolution with 64 filters and stride 2, batch norm on the batch's statistics, ReLU; the
// spatial mean; a linear 5-way head), 5-way 1-shot, 15 query images per class, meta-batch 32, one
// inner SGD step (alpha 0.4), Adam on the shared parameters, float32. Images are random 28x28
// (the timing does not depend on the pixels). Two formulations on each side, each iteration
// waiting for the GPU: a per-task loop, and task-batched (the 32 tasks' convolutions as one
// grouped convolution with groups = 32, their heads as one batched matmul), against the same two in
// PyTorch in the same run. GPU benchmark: `node bench/maml_conv.mjs --device cuda [--tf32]`; on
// the CPU it runs only with `--cpu` (slow on 2 cores). --meta-batch N, --query N change the sizes;
// --threads N (CPU, default 2) sets the thread count of both sides; --steps 1,5 (default) the inner
// step counts timed. Peak memory: our tensors' peak (mg.memory) per case, and each process's peak
// RSS over the whole run beside PyTorch's.
import * as mg from '../dist/index.js';
import { benchDevice, conv4, measure, report, tf32Flag, torchRef } from './lib.mjs';

const device = await benchDevice();
const gpu = device === 'cuda';
if (!gpu && !process.argv.includes('--cpu')) {
  console.log('maml_conv: skipped (a GPU benchmark: run with --device cuda, or --cpu to time it on the CPU)');
  process.exit(0);
}
const argNum = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const stepsArg = process.argv.indexOf('--steps');
const stepCounts = (stepsArg >= 0 ? process.argv[stepsArg + 1] : '1,5').split(',').map(Number);
if (stepCounts.some((k) => !Number.isInteger(k) || k < 1)) throw new Error(`maml_conv: --steps must list positive integers, got ${process.argv[stepsArg + 1]}`);
const cfg = { steps: stepCounts, ways: 5, shots: 1, query: argNum('--query', 15), metaBatch: argNum('--meta-batch', 32), innerLr: 0.4, lr: 1e-3, channels: 64, size: 28, threads: argNum('--threads', 2) };
if (!gpu) mg.backend.setNumThreads(cfg.threads);
const F = mg.nn.functional;
const sync = gpu ? () => mg.cuda.synchronize() : () => {};
const T = cfg.metaBatch, W = cfg.ways;
const ns = cfg.ways * cfg.shots, nq = cfg.ways * cfg.query;

mg.manualSeed(0);
// Shared parameters: per block conv weight, conv bias, BN gamma, BN beta; then the head.
const model = conv4(mg, cfg);
const makeParams = () => model.params().map((p) => mg.keep(p.to(device)).requiresGrad_());
const labels = (n) => mg.tensor(Int32Array.from({ length: n }, (_, i) => i % W), { dtype: 'int32', shape: [n] });
const xs = mg.keep(mg.rand([T, ns, 1, cfg.size, cfg.size]).to(device));
const xq = mg.keep(mg.rand([T, nq, 1, cfg.size, cfg.size]).to(device));
const ysT = mg.keep(labels(ns).to(device));
const yqT = mg.keep(labels(nq).to(device));
// Task-batched layout: images [n, T*1, H, W] (task t's channels at t), labels [T*n].
const xsB = mg.keep(xs.permute([1, 0, 2, 3, 4]).reshape([ns, T, cfg.size, cfg.size]));
const xqB = mg.keep(xq.permute([1, 0, 2, 3, 4]).reshape([nq, T, cfg.size, cfg.size]));
const ysB = mg.keep(mg.cat(Array.from({ length: T }, () => ysT)));
const yqB = mg.keep(mg.cat(Array.from({ length: T }, () => yqT)));

const net = model.net;
const netBatched = (ps, x) => model.netBatched(ps, x, T);

function loopLoss(ps, steps = 1) {
  let total = null;
  for (let t = 0; t < T; t++) {
    const x = xs.slice(0, t, t + 1).reshape([ns, 1, cfg.size, cfg.size]);
    let fast = ps;
    for (let k = 0; k < steps; k++) {
      const l = F.crossEntropy(net(fast, x), ysT);
      const gs = mg.grad(l, fast, { createGraph: true });
      fast = fast.map((p, i) => p.sub(gs[i].mul(cfg.innerLr)));
    }
    const q = xq.slice(0, t, t + 1).reshape([nq, 1, cfg.size, cfg.size]);
    const lq = F.crossEntropy(net(fast, q), yqT);
    total = total === null ? lq : total.add(lq);
  }
  return total.div(T);
}

function batchedLoss(ps, steps = 1) {
  const ex = ps.map((p) => p.unsqueeze(0).expand([T, ...p.shape]));
  let fast = ex;
  for (let k = 0; k < steps; k++) {
    const l = F.crossEntropy(netBatched(fast, xsB).reshape([T * ns, W]), ysB, { reduction: 'sum' }).div(ns);
    const gs = mg.grad(l, fast, { createGraph: true });
    fast = fast.map((p, i) => p.sub(gs[i].mul(cfg.innerLr)));
  }
  return F.crossEntropy(netBatched(fast, xqB).reshape([T * nq, W]), yqB, { reduction: 'sum' }).div(nq * T);
}

// The two formulations agree (same parameters, same data): meta-gradients within float32 noise.
{
  const ps = makeParams();
  const diff = mg.tidy(() => {
    const ga = mg.grad(loopLoss(ps), ps);
    const gb = mg.grad(batchedLoss(ps), ps);
    return Math.max(...ga.map((g, i) => mg.max(mg.abs(g.sub(gb[i]))).item()));
  });
  console.log(`  (check: loop and task-batched meta-gradients differ by at most ${diff.toExponential(2)})`);
}

const cases = {};
const name = (k, form) => `SO ${k} step${k > 1 ? 's' : ''} ${form}`;
for (const k of cfg.steps) {
  for (const [form, lossFn] of [['loop', loopLoss], ['batched', batchedLoss]]) {
    const ps = makeParams();
    const opt = new mg.optim.Adam(ps, { lr: cfg.lr });
    cases[name(k, form)] = () => {
      opt.zeroGrad();
      mg.tidy(() => { lossFn(ps, k).backward(); });
      opt.step();
      sync();
    };
  }
}
const peaks = {};
for (const [k, fn] of Object.entries(cases)) {
  fn();
  mg.resetPeakMemory();
  const base = mg.memory()[device].bytes;
  fn();
  peaks[k] = mg.memory()[device].peakBytes - base;
}
const before = mg.memory();
const ours = await measure('maml_conv', cases, { maxTime: 3, minSamples: 3 });
const after = mg.memory();
const ref = torchRef('maml_conv.py', { ...cfg, device, tf32: tf32Flag });
const rows = [];
for (const k of cfg.steps) {
  for (const form of ['loop', 'batched']) {
    const c = name(k, form);
    rows.push({ case: c, ours: ours[c] * 1e3, torch: ref ? ref[c] * 1e3 : null, unit: 'ms', ratio: ref ? ref[c] / ours[c] : null });
  }
  if (ref) {
    const [l, b] = [name(k, 'loop'), name(k, 'batched')];
    const best = Math.min(ref[l], ref[b]);
    const oursBest = Math.min(ours[l], ours[b]);
    rows.push({ case: `${k} step${k > 1 ? 's' : ''}: best vs best`, ours: oursBest * 1e3, torch: best * 1e3, unit: 'ms', ratio: best / oursBest });
  }
}
for (const [k, v] of Object.entries(peaks)) rows.push({ case: `${k}: peak tensor memory`, ours: v / 2 ** 20, torch: null, unit: 'MiB', ratio: null });
const rss = process.resourceUsage().maxRSS / 1024;
rows.push({ case: 'peak RSS of the whole run', ours: rss, torch: ref ? ref.maxrss_mib : null, unit: 'MiB', ratio: ref ? ref.maxrss_mib / rss : null });
report(`MAML Omniglot conv4 meta-iteration, 5-way 1-shot, ${cfg.query} query/class, meta-batch ${T}, second order, ${cfg.steps.join(' and ')} inner steps, float32, on ${device}${gpu ? (tf32Flag ? ' (TF32 on both sides)' : ' (exact fp32 on both sides)') : ''} (ms; speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}` : ''})`, rows);
console.log(`  (memory: ${before.cuda.tensors} -> ${after.cuda.tensors} cuda tensors, ${before.tensors} -> ${after.tensors} in all across the timed iterations; torch check: loop vs batched ${ref ? ref.check : '-'})`);
