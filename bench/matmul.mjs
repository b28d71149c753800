// matmul: square float32/float64 GEMMs (n = 64, 256, 1024) and the few-shot shapes (10x40 @ 40x40,
// and 25 of them task-batched), beside PyTorch 1.13 + OpenBLAS on 2 threads measured in the same
// run (bench/torch/matmul.py). `node bench/matmul.mjs [--json]` after `npm run build:ts`.
import b from 'benny';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mg from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const jsonMode = process.argv.includes('--json');
mg.backend.setNumThreads(2); // the reference runs torch.set_num_threads(2)

const cases = [];
for (const dtype of ['float32', 'float64']) {
  for (const n of [64, 256, 1024]) cases.push({ name: `${dtype} ${n}x${n} @ ${n}x${n}`, a: [n, n], b: [n, n], dtype });
  cases.push({ name: `${dtype} 10x40 @ 40x40`, a: [10, 40], b: [40, 40], dtype });
  cases.push({ name: `${dtype} 25x[10x40 @ 40x40]`, a: [25, 10, 40], b: [25, 40, 40], dtype });
}
const flops = (c) => 2 * c.a.reduce((x, y) => x * y, 1) * c.b[c.b.length - 1];

// The machine is shared, so ours and PyTorch are measured in alternating rounds and each keeps
// its best round: both sides then see similar background load.
mg.manualSeed(0);
const inputs = cases.map((c) => [mg.rand(c.a, { dtype: c.dtype }), mg.rand(c.b, { dtype: c.dtype })]);
async function runOurs() {
  const out = {};
  await b.suite(
    'matmul',
    ...cases.map((c, i) => {
      const [x, y] = inputs[i];
      return b.add(c.name, () => mg.matmul(x, y).dispose(), { maxTime: flops(c) > 1e8 ? 1.5 : 0.7, minSamples: 5 });
    }),
    b.complete((summary) => {
      for (const r of summary.results) out[r.name] = 1 / r.ops;
    }),
  );
  return out;
}
const haveTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
function runTorch() {
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch', 'matmul.py'), JSON.stringify({ cases, budget: 0.3 })], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/torch/matmul.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const best = (acc, cur) => {
  if (!acc) return cur;
  for (const c of cases) acc[c.name] = Math.min(acc[c.name], cur[c.name]);
  return acc;
};
let ours = null;
let ref = null;
for (let round = 0; round < 2; round++) {
  ours = best(ours, await runOurs());
  if (haveTorch) ref = best(ref, runTorch());
}
if (!haveTorch && !jsonMode) console.log('\n(PyTorch reference missing: /usr/bin/python3 cannot import torch; showing our numbers only)');

const rows = cases.map((c) => {
  const s = ours[c.name];
  const t = ref ? ref[c.name] : null;
  return { case: c.name, ours_gflops: flops(c) / s / 1e9, torch_gflops: t ? flops(c) / t / 1e9 : null, ours_us: s * 1e6, torch_us: t ? t * 1e6 : null, ratio: t ? t / s : null };
});
if (jsonMode) {
  for (const r of rows) console.log(JSON.stringify({ bench: 'matmul', ...r }));
} else {
  console.log(`\nmatmul, 2 threads, ISA ${mg.backend.cpuInfo().isa}${ref ? `, PyTorch ${ref.torch}` : ''} (ratio = ours / torch in GFLOP/s)`);
  const f = (v, d = 1) => (v == null ? '-' : v.toFixed(d));
  const head = ['case', 'ours GFLOP/s', 'torch GFLOP/s', 'ours us', 'torch us', 'ratio'];
  const body = rows.map((r) => [r.case, f(r.ours_gflops), f(r.torch_gflops), f(r.ours_us, 2), f(r.torch_us, 2), r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(head));
  for (const row of body) console.log(line(row));
}
