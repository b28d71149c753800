// Memory against inner steps (issue 6), conv4 5-way 1-shot (64 filters, 28x28, float32):
// peak native bytes of one meta-iteration (above the live bytes before it; mg.memory().cpu.peakBytes
// after mg.resetPeakMemory()) for 1, 2, 4, 8 inner steps, for
//   - second-order MAML (mg.meta.MAML, every inner step's graph kept until the backward pass),
//   - the same with each inner step under mg.checkpoint (mg.meta.MAMLpp with every MAML++ switch
//     off, adaptBatchNorm, checkpoint: the step's intermediates are recomputed in the backward pass),
//   - iMAML (mg.meta.IMAML: graph-free proximal inner loop, 5 CG steps),
// and then the second-order MAML meta-iteration time at meta-batch 32 against PyTorch in the same
// run (bench/torch/conv4_maml.py), each as a per-task loop and task-batched.
//
// `node bench/memory.mjs [--steps 1,2,4,8] [--meta-batch 2] [--query 5] [--speed-meta-batch 32] [--speed-steps 1]
//   [--speed-query 1] [--threads 2] [--speed-only|--memory-only] [--json]`
import * as mg from '../dist/index.js';
import { jsonMode, measure, report, torchRef } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const F = mg.nn.functional;
const ce = (p, y) => F.crossEntropy(p, y);
const cfg = {
  ways: 5, shots: 1, filters: 64, innerLr: 0.4, lr: 1e-3,
  steps: arg('steps', '1,2,4,8').split(',').map(Number),
  memMetaBatch: Number(arg('meta-batch', 2)),
  query: Number(arg('query', 5)),
  threads: Number(arg('threads', 2)),
  speed: { metaBatch: Number(arg('speed-meta-batch', 32)), innerSteps: Number(arg('speed-steps', 1)), query: Number(arg('speed-query', 1)) },
};

/** Random 28x28 tasks in the Omniglot loader's format (support [N*K,1,28,28], int32 labels). */
function tasks(n, query) {
  return Array.from({ length: n }, () => {
    const batch = (k) => ({
      x: mg.randn([cfg.ways * k, 1, 28, 28]),
      y: mg.tensor(Int32Array.from({ length: cfg.ways * k }, (_, i) => i % cfg.ways), { shape: [cfg.ways * k], dtype: 'int32' }),
    });
    return { support: batch(cfg.shots), query: batch(query) };
  });
}

const net = () => new mg.nn.Conv4({ ways: cfg.ways, filters: cfg.filters });
const learners = {
  'MAML (second order)': (K) => new mg.meta.MAML(net(), { innerSteps: K, innerLr: cfg.innerLr, lossFn: ce }),
  'MAML, checkpointed steps': (K) => new mg.meta.MAMLpp(net(), {
    innerSteps: K, innerLr: cfg.innerLr, multiStepLoss: false, learnInnerLr: false, adaptBatchNorm: true, checkpoint: true,
  }),
  'iMAML (5 CG steps)': (K) => new mg.meta.IMAML(net(), { innerSteps: K, innerLr: 0.1, lambda: 2, cgSteps: 5 }),
};

/** Peak bytes above the live bytes before one meta-iteration, and its seconds. */
function peakOf(learner, ts) {
  const opt = new mg.optim.Adam(learner.metaParameters(), { lr: cfg.lr });
  learner.step(ts, opt); // Adam's state and the .grads exist from here on
  const before = mg.memory().cpu.bytes;
  mg.resetPeakMemory();
  const t0 = performance.now();
  learner.step(ts, opt);
  const seconds = (performance.now() - t0) / 1e3;
  const peak = mg.memory().cpu.peakBytes - before;
  for (const p of learner.metaParameters()) (p.grad?.dispose(), p.dispose());
  return { peak, seconds };
}

if (!process.argv.includes('--speed-only')) {
  mg.manualSeed(0);
  const ts = tasks(cfg.memMetaBatch, cfg.query);
  const rows = [];
  for (const K of cfg.steps) {
    const row = { steps: K };
    for (const [name, make] of Object.entries(learners)) row[name] = peakOf(make(K), ts);
    rows.push(row);
  }
  const title = `Peak memory of one meta-iteration against inner steps: conv4 (${cfg.filters} filters) ${cfg.ways}-way ${cfg.shots}-shot, ${cfg.query} query/class, meta-batch ${cfg.memMetaBatch}, float32 (MB above the live bytes before it; seconds in brackets)`;
  if (jsonMode) {
    for (const r of rows) for (const name of Object.keys(learners)) console.log(JSON.stringify({ bench: 'memory', steps: r.steps, case: name, peakMB: r[name].peak / 1e6, seconds: r[name].seconds }));
  } else {
    console.log(`\n${title}`);
    const names = Object.keys(learners);
    const cells = rows.map((r) => [String(r.steps), ...names.map((n) => `${(r[n].peak / 1e6).toFixed(1)} (${r[n].seconds.toFixed(2)} s)`)]);
    const header = ['inner steps', ...names];
    const w = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c) => c.map((s, i) => (i === 0 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  ');
    console.log(line(header));
    for (const c of cells) console.log(line(c));
  }
}

if (!process.argv.includes('--memory-only')) {
  const s = cfg.speed;
  mg.backend.setNumThreads(cfg.threads);
  mg.manualSeed(1);
  const ts = tasks(s.metaBatch, s.query);
  const name = `second-order MAML, ${s.innerSteps} inner step(s), meta-batch ${s.metaBatch}`;
  // Per-task loop (mg.meta.MAML) and task-batched (MAMLpp with every switch off, BN adapted as
  // MAML does, taskBatched: Note [Task-batched conv4]); PyTorch's same two formulations.
  const forms = {
    'per-task loop': () => new mg.meta.MAML(net(), { innerSteps: s.innerSteps, innerLr: cfg.innerLr, lossFn: ce }),
    'task-batched': () => new mg.meta.MAMLpp(net(), {
      innerSteps: s.innerSteps, innerLr: cfg.innerLr, multiStepLoss: false, learnInnerLr: false, firstOrderEpochs: 0, adaptBatchNorm: true, taskBatched: true,
    }),
  };
  const rows = [];
  const bests = {};
  for (const [form, make] of Object.entries(forms)) {
    const maml = make();
    const opt = new mg.optim.Adam(maml.metaParameters(), { lr: cfg.lr });
    maml.step(ts, opt); // warm-up
    // Each call is timed here (benny rounds the rate of a multi-second case to 0 ops/s): the best
    // meta-iteration (what the PyTorch script reports; on a busy machine the least disturbed) and
    // the mean.
    const times = [];
    const cpu = [];
    await measure(`conv4 maml ${form}`, {
      [`${name}, ${form}`]: () => {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        maml.step(ts, opt);
        times.push((performance.now() - t0) / 1e3);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1e6);
      },
    }, { maxTime: 1, minSamples: 3 });
    opt.dispose?.();
    const best = Math.min(...times);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const cpuMean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
    const ref = torchRef('conv4_maml.py', { ways: cfg.ways, shots: cfg.shots, query: s.query, metaBatch: s.metaBatch, innerSteps: s.innerSteps, innerLr: cfg.innerLr, filters: cfg.filters, rounds: 3, threads: cfg.threads, form: form === 'task-batched' ? 'batched' : 'loop', check: form === 'task-batched' });
    const t = ref ? ref.best : null;
    bests[form] = { ours: best, torch: t };
    rows.push(
      { case: `${form}, best`, ours: best, torch: t, unit: 's', ratio: t == null ? null : t / best },
      { case: `${form}, mean`, ours: mean, torch: ref ? ref.mean : null, unit: 's', ratio: ref ? ref.mean / mean : null },
      { case: `${form}, CPU seconds (mean)`, ours: cpuMean, torch: ref ? ref.cpu : null, unit: 's', ratio: ref ? ref.cpu / cpuMean : null },
    );
    if (!jsonMode) console.log(`  torch: ${ref ? ref.torch : 'not found'}`);
  }
  const oursBest = Math.min(...Object.values(bests).map((b) => b.ours));
  const torchBests = Object.values(bests).map((b) => b.torch).filter((v) => v != null);
  const torchBest = torchBests.length ? Math.min(...torchBests) : null;
  rows.push(
    { case: 'best form against best form', ours: oursBest, torch: torchBest, unit: 's', ratio: torchBest == null ? null : torchBest / oursBest },
  );
  // The reference: 5-way 1-shot, 1 query per class, one inner step, meta-batch 32.
  if (s.metaBatch === 32 && s.innerSteps === 1 && s.query === 1) rows.push({ case: 'best against the issue\'s PyTorch reference (4.0 s)', ours: oursBest, torch: 4.0, unit: 's', ratio: 4.0 / oursBest });
  report(`conv4 ${cfg.ways}-way ${cfg.shots}-shot, ${name}, ${s.query} query/class, float32 (seconds per meta-iteration; speed-up = pytorch / metagrad; ${cfg.threads} thread(s) each, best of 3+)`, rows);
}
