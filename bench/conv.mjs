// conv2d forward and its gradient kernels on the Omniglot conv4 shapes (batch 80, 64 channels,
// 3x3 kernels with padding 1): the max-pool network's stride-1 layers on 28x28, 14x14, 7x7 and 3x3
// maps, and the stride-2 network's layers (Finn et al.'s conv4, bench/maml_conv.mjs) on 28x28,
// 14x14, 7x7 and 4x4 maps; beside PyTorch.
import * as mg from '../dist/index.js';
import { measure, report, torchRef } from './lib.mjs';

const N = 80;
const cases = [
  { name: 'conv1 1->64 28x28', x: [N, 1, 28, 28], w: [64, 1, 3, 3], pad: 1, reps: 5 },
  { name: 'conv2 64->64 14x14', x: [N, 64, 14, 14], w: [64, 64, 3, 3], pad: 1, reps: 5 },
  { name: 'conv3 64->64 7x7', x: [N, 64, 7, 7], w: [64, 64, 3, 3], pad: 1, reps: 10 },
  { name: 'conv4 64->64 3x3', x: [N, 64, 3, 3], w: [64, 64, 3, 3], pad: 1, reps: 20 },
  { name: 'stride 2: conv1 1->64 28x28', x: [N, 1, 28, 28], w: [64, 1, 3, 3], pad: 1, stride: 2, reps: 10 },
  { name: 'stride 2: conv2 64->64 14x14', x: [N, 64, 14, 14], w: [64, 64, 3, 3], pad: 1, stride: 2, reps: 10 },
  { name: 'stride 2: conv3 64->64 7x7', x: [N, 64, 7, 7], w: [64, 64, 3, 3], pad: 1, stride: 2, reps: 20 },
  { name: 'stride 2: conv4 64->64 4x4', x: [N, 64, 4, 4], w: [64, 64, 3, 3], pad: 1, stride: 2, reps: 40 },
  // Task-batched MAML: 32 tasks' convolutions as one grouped call (5 support images each).
  { name: 'groups 32: conv2 64->64 14x14, 5 images', x: [5, 32 * 64, 14, 14], w: [32 * 64, 64, 3, 3], pad: 1, groups: 32, reps: 3 },
  { name: 'groups 32, stride 2: conv2 64->64 14x14, 5 images', x: [5, 32 * 64, 14, 14], w: [32 * 64, 64, 3, 3], pad: 1, stride: 2, groups: 32, reps: 5 },
];
mg.manualSeed(0);
const fns = {};
for (const c of cases) {
  const x = mg.rand(c.x);
  const w = mg.rand(c.w);
  const opts = { padding: c.pad, stride: c.stride ?? 1, groups: c.groups ?? 1 };
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
