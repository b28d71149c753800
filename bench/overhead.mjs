// Per-op overhead: tiny tensors, where crossing from JS into native code and allocating the result
// is the whole cost (the regime of few-shot meta-learning's small networks).
import * as mg from '../dist/index.js';
import { measure, report, torchRef } from './lib.mjs';

mg.manualSeed(0);
const a = mg.rand([10]);
const b = mg.rand([10]);
const m = mg.rand([10, 40]);
const w = mg.rand([40, 40]);
// Each result is disposed at once, as PyTorch frees its result when the reference count drops.
const ours = await measure('overhead', {
  'add 10 f32': () => a.add(b).dispose(),
  'mul scalar 10 f32': () => a.mul(0.5).dispose(),
  'tanh 10 f32': () => a.tanh().dispose(),
  'sum 10 f32': () => a.sum().dispose(),
  'matmul 10x40 @ 40x40': () => m.matmul(w).dispose(),
});
const ref = torchRef('overhead.py');
report(`per-op time (µs per call; speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}` : ''})`,
  Object.keys(ours).map((k) => ({ case: k, ours: ours[k] * 1e6, torch: ref ? ref[k] * 1e6 : null, unit: 'µs', ratio: ref ? ref[k] / ours[k] : null })));
