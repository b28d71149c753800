// A first look at metagrad: tensors, broadcasting, reductions, matmul, memory scopes.
// Run with `npm run tour` (after `npm ci`), or `node examples/quickstart.mjs`.
import * as mg from 'metagrad';

mg.manualSeed(0);
const x = mg.tensor([[1, 2, 3], [4, 5, 6]]);
console.log('x =', x.toArray());
console.log('x + [10, 20, 30] =', x.add(mg.tensor([10, 20, 30])).toArray());
console.log('sum over rows =', x.sum(0).toArray(), ' mean =', x.mean().item());
console.log('x @ x^T =', x.matmul(x.transpose()).toArray());
console.log('softmax(x) =', mg.nn.functional.softmax(x, -1).toArray());

// Memory: tidy() disposes every intermediate tensor created inside it.
const before = mg.memory().tensors;
const n = 512;
const t0 = performance.now();
const flops = mg.tidy(() => {
  const a = mg.randn([n, n]);
  const b = mg.randn([n, n]);
  const reps = 20;
  for (let i = 0; i < reps; i++) a.matmul(b);
  return (2 * n ** 3 * reps) / ((performance.now() - t0) / 1e3);
});
console.log(`matmul ${n}x${n} float32: ${(flops / 1e9).toFixed(1)} GFLOP/s on ${mg.backend.cpuInfo().isa}, ${mg.backend.cpuInfo().threads} threads`);
console.log('live tensors before/after the scope:', before, mg.memory().tensors);
console.log('CUDA available:', mg.cuda.isAvailable(), '(compiled in:', mg.cuda.isCompiled() + ')');
