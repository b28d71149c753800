// MAML meta-iterations on the MAML paper's sinusoid (1-40-40-1 ReLU MLP, 10 shots, 10 query,
// meta-batch 25, float32): seconds per iteration (forward of the meta-loss, backward to the shared
// parameters, an Adam step), second order with 1 and 5 inner steps and first order with 5, each as
// a per-task loop (mg.meta.MAML) and task-batched (batchedMamlMetaLoss: tasks stacked along a
// leading dim, batched matmul), against the same two formulations in PyTorch in the same run.
// `--device cuda`: both sides on the GPU, each iteration waiting for it; ours task-batched only
// (modules have no .to(device) yet, so the per-task loop over mg.meta.MAML stays on the CPU).
import * as mg from '../dist/index.js';
import { benchDevice, measure, report, tf32Flag, torchRef } from './lib.mjs';

const device = await benchDevice();
const gpu = device === 'cuda';
const sync = gpu ? () => mg.cuda.synchronize() : () => {};

const { batchedMamlMetaLoss, stackTasks } = mg.meta;

const cfg = { layers: [1, 40, 40, 1], shots: 10, query: 10, metaBatch: 25, innerLr: 0.01, lr: 1e-3 };
const settings = {
  'SO 1 step': { innerSteps: 1, firstOrder: false },
  'SO 5 steps': { innerSteps: 5, firstOrder: false },
  'FO 5 steps': { innerSteps: 5, firstOrder: true },
};
// PyTorch CPU per-task numbers reported in issue 5 (ms), for reference.
const issue5 = { 'SO 1 step': 16.1, 'SO 5 steps': 57.5, 'FO 5 steps': 27.7 };

mg.manualSeed(0);
const sampler = new mg.data.MamlSinusoid({ shots: cfg.shots, query: cfg.query, dtype: 'float32' });
const tasks = sampler.sample(cfg.metaBatch);
const onDev = (b) => ({ x: mg.keep(b.x.to(device)), y: mg.keep(b.y.to(device)) });
const stacked = stackTasks(tasks);
const batched = gpu ? { support: onDev(stacked.support), query: onDev(stacked.query) } : stacked;

function makeModel() {
  const [a, b, c, d] = cfg.layers;
  return new mg.nn.Sequential(new mg.nn.Linear(a, b), new mg.nn.ReLU(), new mg.nn.Linear(b, c), new mg.nn.ReLU(), new mg.nn.Linear(c, d));
}

const cases = {};
for (const [name, s] of Object.entries(settings)) {
  if (!gpu) {
    const maml = new mg.meta.MAML(makeModel(), { innerSteps: s.innerSteps, innerLr: cfg.innerLr, firstOrder: s.firstOrder });
    const opt = new mg.optim.Adam(maml.metaParameters(), { lr: cfg.lr });
    cases[`${name} loop`] = () => { maml.step(tasks, opt); }; // zeroGrad, tidy(metaLoss + backward), step
  }
  {
    const params = gpu ? makeModel().parameters().map((p) => mg.keep(p.detach().to(device)).requiresGrad_()) : makeModel().parameters();
    const opt = new mg.optim.Adam(params, { lr: cfg.lr });
    const opts = { innerSteps: s.innerSteps, innerLr: cfg.innerLr, firstOrder: s.firstOrder };
    cases[`${name} batched`] = () => {
      opt.zeroGrad();
      mg.tidy(() => { batchedMamlMetaLoss(params, batched.support, batched.query, opts).backward(); });
      opt.step();
      sync();
    };
  }
}
const ours = await measure('maml', cases, { maxTime: 2, minSamples: 5 });
const ref = torchRef('maml.py', { ...cfg, settings, device, tf32: tf32Flag });
const rows = [];
for (const name of Object.keys(settings)) {
  for (const form of ['loop', 'batched']) {
    const k = `${name} ${form}`;
    const o = ours[k] ?? NaN;
    const t = ref ? ref[k] : null;
    rows.push({ case: k, ours: o * 1e3, torch: t == null ? null : t * 1e3, unit: 'ms', ratio: t == null ? null : t / o });
  }
  if (ref) {
    const best = Math.min(ref[`${name} loop`], ref[`${name} batched`]);
    const oursBest = Math.min(ours[`${name} loop`] ?? Infinity, ours[`${name} batched`]);
    rows.push({ case: `${name} best vs best`, ours: oursBest * 1e3, torch: best * 1e3, unit: 'ms', ratio: best / oursBest });
  }
  if (!gpu) rows.push({ case: `${name} batched vs issue-5 torch loop`, ours: ours[`${name} batched`] * 1e3, torch: issue5[name], unit: 'ms', ratio: issue5[name] / 1e3 / ours[`${name} batched`] });
}
report(`MAML sinusoid meta-iteration, 1-40-40-1 ReLU, K=10, meta-batch 25, float32, on ${device} (ms; speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}${gpu ? '' : ', 2 threads'}` : ''})`, rows);
