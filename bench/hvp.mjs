// Hessian-vector products of the MSE loss of tanh MLPs (float32), both modes, against PyTorch's
// double backward in the same run; also the HVP / gradient time ratio (Pearlmutter: a small constant).
// `--device cuda` runs both sides on the GPU (each call waits for the GPU: mg.cuda.synchronize /
// torch.cuda.synchronize); `--tf32` lets both use TF32 tensor cores (default: exact fp32).
import * as mg from '../dist/index.js';
import { benchDevice, measure, positionalArgs, report, tf32Flag, torchRef } from './lib.mjs';

const device = await benchDevice();
const gpu = device === 'cuda';
const sync = gpu ? () => mg.cuda.synchronize() : () => {};

const sizes = {
  S: { layers: [1, 40, 40, 1], batch: 10, reps: 200 },
  M: { layers: [784, 256, 256, 10], batch: 128, reps: 10 },
  L: { layers: [1024, 1024, 1024, 1024], batch: 256, reps: 2 },
};
const only = positionalArgs();
const chosen = Object.fromEntries(Object.entries(sizes).filter(([k]) => !only.length || only.includes(k)));
const F = mg.nn.functional;
mg.manualSeed(0);

const cases = {};
for (const [name, c] of Object.entries(chosen)) {
  const { layers, batch } = c;
  const params = [];
  for (let i = 0; i < layers.length - 1; i++) {
    params.push(mg.keep(mg.randn([layers[i + 1], layers[i]]).mul(1 / Math.sqrt(layers[i])).to(device)));
    params.push(mg.keep(mg.zeros([layers[i + 1]], { device })));
  }
  const x = mg.keep(mg.randn([batch, layers[0]]).to(device));
  const y = mg.keep(mg.randn([batch, layers[layers.length - 1]]).to(device));
  const vs = params.map((p) => mg.keep(mg.randn(p.shape).to(device)));
  const loss = (...ps) => {
    let h = x;
    const n = ps.length / 2;
    for (let i = 0; i < n; i++) {
      h = F.linear(h, ps[2 * i], ps[2 * i + 1]);
      if (i < n - 1) h = h.tanh();
    }
    return F.mseLoss(h, y);
  };
  const vg = mg.valueAndGrad(loss);
  cases[`${name} grad`] = () => { mg.tidy(() => { vg(...params); }); sync(); };
  cases[`${name} hvp fwd-rev`] = () => { mg.tidy(() => { mg.hvp(loss, params, vs, { mode: 'fwd-rev' }); }); sync(); };
  cases[`${name} hvp rev-rev`] = () => { mg.tidy(() => { mg.hvp(loss, params, vs, { mode: 'rev-rev' }); }); sync(); };
}
const ours = await measure('hvp', cases, { maxTime: 2, minSamples: 3 });
const ref = torchRef('hvp.py', { sizes: chosen, device, tf32: tf32Flag });
const rows = [];
for (const name of Object.keys(chosen)) {
  const g = ours[`${name} grad`];
  rows.push({ case: `${name} grad`, ours: g * 1e3, torch: ref ? ref[`${name} grad`] * 1e3 : null, unit: 'ms', ratio: ref ? ref[`${name} grad`] / g : null });
  for (const mode of ['fwd-rev', 'rev-rev']) {
    const h = ours[`${name} hvp ${mode}`];
    rows.push({ case: `${name} hvp ${mode} (hvp/grad ${(h / g).toFixed(2)})`, ours: h * 1e3, torch: ref ? ref[`${name} hvp`] * 1e3 : null, unit: 'ms', ratio: ref ? ref[`${name} hvp`] / h : null });
  }
  if (ref) rows.push({ case: `${name} torch hvp/grad`, ours: null, torch: ref[`${name} hvp`] / ref[`${name} grad`], unit: 'ratio', ratio: null });
}
report(`HVP on tanh MLPs with MSE loss, float32, on ${device}${gpu ? (tf32Flag ? ' (TF32 on both sides)' : ' (exact fp32 on both sides)') : ''} (ms per call; speed-up = pytorch double-backward / metagrad${ref ? `, torch ${ref.torch}` : ''})`, rows);
