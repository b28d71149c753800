// matmul: square float32/float64 GEMMs (n = 64, 256, 1024) and the few-shot shapes (10x40 @ 40x40,
// and 25 of them task-batched), beside PyTorch 1.13 + OpenBLAS on 2 threads measured in the same
// run (bench/torch/matmul.py). `node bench/matmul.mjs [--json]` after `npm run build:ts`.
import b from 'benny';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
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

// The machine is shared, so each case alternates rounds of ours (benny) and PyTorch (a helper
// process answering one case at a time) and each side keeps its best round: both then see
// similar background load.
mg.manualSeed(0);
const inputs = cases.map((c) => [mg.rand(c.a, { dtype: c.dtype }), mg.rand(c.b, { dtype: c.dtype })]);
async function timeOurs(i) {
  const c = cases[i];
  const [x, y] = inputs[i];
  let sec = Infinity;
  const log = console.log;
  console.log = () => {}; // benny's per-suite progress; the table below reports the results
  try {
    await b.suite(
      c.name,
      b.add(c.name, () => mg.matmul(x, y).dispose(), { maxTime: flops(c) > 1e8 ? 0.8 : 0.4, minSamples: 5 }),
      // the fastest sample (each a mean over many calls), like the reference's best repeat
      b.complete((summary) => { sec = summary.results[0].details.min; }),
    );
  } finally {
    console.log = log;
  }
  return sec;
}

let torch = null;
if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
  const proc = spawn('/usr/bin/python3', [join(here, 'torch', 'matmul.py'), JSON.stringify({ cases, budget: 0.25 })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('bench/torch/matmul.py exited early');
    return JSON.parse(r.value);
  };
  const meta = await next();
  torch = { meta, proc, time: async (i) => { proc.stdin.write(`${i}\n`); return (await next()).seconds; } };
} else if (!jsonMode) {
  console.log('(PyTorch reference missing: /usr/bin/python3 cannot import torch; showing our numbers only)');
}

const ROUNDS = 3;
const ours = {};
const ref = torch ? { torch: torch.meta.torch } : null;
for (let i = 0; i < cases.length; i++) {
  const name = cases[i].name;
  ours[name] = Infinity;
  if (ref) ref[name] = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    ours[name] = Math.min(ours[name], await timeOurs(i));
    if (torch) ref[name] = Math.min(ref[name], await torch.time(i));
  }
}
if (torch) torch.proc.stdin.end();

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
