// conv2d forward and its gradient kernels on the Omniglot conv4 shapes (batch 80, 64 channels,
// 3x3 kernels with padding 1 on 28x28, 14x14, 7x7 and 3x3 maps), beside PyTorch.
import * as mg from '../dist/index.js';
import { measure, report, torchRef } from './lib.mjs';

const N = 80;
const cases = [
  { name: 'conv1 1->64 28x28', x: [N, 1, 28, 28], w: [64, 1, 3, 3], pad: 1, reps: 5 },
  { name: 'conv2 64->64 14x14', x: [N, 64, 14, 14], w: [64, 64, 3, 3], pad: 1, reps: 5 },
  { name: 'conv3 64->64 7x7', x: [N, 64, 7, 7], w: [64, 64, 3, 3], pad: 1, reps: 10 },
  { name: 'conv4 64->64 3x3', x: [N, 64, 3, 3], w: [64, 64, 3, 3], pad: 1, reps: 20 },
];
mg.manualSeed(0);
const fns = {};
for (const c of cases) {
  const x = mg.rand(c.x);
  const w = mg.rand(c.w);
  const opts = { padding: c.pad };
  const y = mg.nn.functional.conv2d(x, w, null, opts);
  const g = mg.rand(y.shape);
  fns[`${c.name} fwd`] = () => mg.nn.functional.conv2d(x, w, null, opts).dispose();
  fns[`${c.name} dinput`] = () => mg.conv2dInputGrad(g, w, c.x, opts).dispose();
  fns[`${c.name} dweight`] = () => mg.conv2dWeightGrad(g, x, c.w, opts).dispose();
}
const ours = await measure('conv2d', fns, { maxTime: 2, minSamples: 3 });
const ref = torchRef('conv.py', { cases });
report(`conv2d, Omniglot conv4 shapes, batch ${N} (ms per call; speed-up = pytorch / metagrad)`,
  Object.keys(ours).map((k) => ({ case: k, ours: ours[k] * 1e3, torch: ref ? ref[k] * 1e3 : null, unit: 'ms', ratio: ref ? ref[k] / ours[k] : null })));
