// Data-parallel second-order MAML on the Omniglot conv4 network (bench/maml_conv.mjs's task-batched
// formulation: 5-way 1-shot, 15 query images per class, one inner SGD step, Adam, float32) on the
// CPU over Gloo: meta-iterations per second of a fixed total meta-batch (default 8; --meta-batch N)
// with 1 rank and with 2 ranks on this machine (1 kernel thread per rank), the resulting speed-up
// and parallel efficiency (speed-up / ranks), and the time of one all-reduce of the conv4
// meta-gradient (18 tensors, one bucket; the median of 50 calls), against PyTorch's gloo all_reduce of the same number of
// floats between 2 processes in the same run. Wall-clock rates depend on what else the machine
// runs; the CPU seconds per iteration (summed over ranks) give the work overhead of splitting.
//
// Timing: each rank runs the same fixed number of iterations (a collective needs every rank, so
// benny's adaptive sample counts cannot be used across ranks); rank 0 times them between
// barriers. `node bench/distributed.mjs [--meta-batch N] [--iterations N] [--json]`.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import * as mg from '../dist/index.js';
import { conv4, jsonMode, report, torchRef } from './lib.mjs';

const argNum = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const cfg = { ways: 5, shots: 1, query: 15, metaBatch: argNum('--meta-batch', 8), iterations: argNum('--iterations', 6), innerLr: 0.4, lr: 1e-3, channels: 64, size: 28 };

if (process.env.BENCH_RANK !== undefined) await rank();
else await main();

async function main() {
  if (!mg.distributed.isAvailable('gloo')) {
    console.log('distributed: skipped (the addon was built without Gloo; Debian: apt-get install libgloo-dev, then npm run build:native)');
    return;
  }
  const one = await launch(1);
  const two = await launch(2);
  const speedup = one.secondsPerIteration / two.secondsPerIteration;
  const grads = two.gradFloats;
  const ref = torchRef('distributed.py', { floats: grads, repeats: 50 });
  const rows = [
    { case: '1 rank: meta-iterations/s', ours: 1 / one.secondsPerIteration, torch: null, unit: 'it/s', ratio: null },
    { case: '2 ranks: meta-iterations/s', ours: 1 / two.secondsPerIteration, torch: null, unit: 'it/s', ratio: null },
    { case: 'speed-up 2 ranks / 1 rank', ours: speedup, torch: null, unit: 'x', ratio: null },
    { case: 'parallel efficiency', ours: (100 * speedup) / 2, torch: null, unit: '%', ratio: null },
    { case: 'CPU s per iteration, 1 rank', ours: one.cpuSecondsPerIteration, torch: null, unit: 's', ratio: null },
    { case: 'CPU s per iteration, 2 ranks together', ours: two.cpuSecondsPerIteration, torch: null, unit: 's', ratio: null },
    { case: 'work efficiency (CPU 1 rank / CPU 2 ranks)', ours: (100 * one.cpuSecondsPerIteration) / two.cpuSecondsPerIteration, torch: null, unit: '%', ratio: null },
    { case: `all-reduce of the meta-gradient (${grads} floats)`, ours: two.allReduceSeconds * 1e3, torch: ref ? ref.allReduceSeconds * 1e3 : null, unit: 'ms', ratio: ref ? ref.allReduceSeconds / two.allReduceSeconds : null },
    { case: 'all-reduce share of a 2-rank iteration', ours: (100 * two.allReduceSeconds) / two.secondsPerIteration, torch: null, unit: '%', ratio: null },
  ];
  report(`Data-parallel MAML conv4 (Omniglot 5-way 1-shot, ${cfg.query} query/class, second order, 1 inner step, float32), total meta-batch ${cfg.metaBatch}, CPU, Gloo ${mg.distributed.available().glooVersion}, 1 thread per rank (speed-up column: pytorch / metagrad${ref ? `, torch ${ref.torch} gloo` : ''})`, rows);
  if (!jsonMode) console.log(`  (the machine may be shared with other work: timings are noisy; check: the first meta-gradient of 1 and 2 ranks differs by at most ${relDiff(one.firstGrad, two.firstGrad).toExponential(2)} of its largest entry)`);
}

function relDiff(a, b) {
  let d = 0;
  let m = 0;
  a.forEach((v, i) => {
    d = Math.max(d, Math.abs(v - b[i]));
    m = Math.max(m, Math.abs(v));
  });
  return d / m;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs `world` ranks of this script; resolves with rank 0's result (CPU seconds: all ranks' sum). */
async function launch(world) {
  const port = await freePort();
  const results = await Promise.all(
    Array.from({ length: world }, (_, r) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
          env: { ...process.env, BENCH_RANK: String(r), BENCH_WORLD: String(world), BENCH_PORT: String(port), MG_NUM_THREADS: '1' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', (code) => (code === 0 ? resolve(out.trim() ? JSON.parse(out.trim().split('\n').pop()) : null) : reject(new Error(`distributed bench: rank ${r} of ${world} exited with ${code}`))));
      }),
    ),
  );
  return { ...results[0], cpuSecondsPerIteration: results.reduce((a, x) => a + x.cpuSecondsPerIteration, 0) };
}

async function rank() {
  const r = Number(process.env.BENCH_RANK);
  const world = Number(process.env.BENCH_WORLD);
  mg.backend.setNumThreads(1);
  await mg.distributed.init({ backend: 'gloo', rank: r, worldSize: world, rendezvous: `tcp://127.0.0.1:${process.env.BENCH_PORT}`, timeout: 600_000 });
  const F = mg.nn.functional;
  const W = cfg.ways;
  const lo = Math.floor((r * cfg.metaBatch) / world), hi = Math.floor(((r + 1) * cfg.metaBatch) / world);
  const T = hi - lo;
  const ns = cfg.ways * cfg.shots, nq = cfg.ways * cfg.query;
  // The same parameters and the same total meta-batch on every rank; this rank keeps tasks [lo, hi).
  mg.manualSeed(0);
  const model = conv4(mg, cfg);
  const ps = model.params();
  for (const p of ps) mg.keep(p).requiresGrad_();
  const labels = (n) => mg.tensor(Int32Array.from({ length: n }, (_, i) => i % W), { dtype: 'int32', shape: [n] });
  const xsAll = mg.rand([cfg.metaBatch, ns, 1, cfg.size, cfg.size]);
  const xqAll = mg.rand([cfg.metaBatch, nq, 1, cfg.size, cfg.size]);
  const xsB = mg.keep(xsAll.slice(0, lo, hi).permute([1, 0, 2, 3, 4]).reshape([ns, T, cfg.size, cfg.size]));
  const xqB = mg.keep(xqAll.slice(0, lo, hi).permute([1, 0, 2, 3, 4]).reshape([nq, T, cfg.size, cfg.size]));
  const ysB = mg.keep(mg.cat(Array.from({ length: T }, () => labels(ns))));
  const yqB = mg.keep(mg.cat(Array.from({ length: T }, () => labels(nq))));

  const netBatched = (qs, x) => model.netBatched(qs, x, T);
  // This rank's part of the mean over all tasks: sum over its tasks / total meta-batch.
  function loss() {
    const ex = ps.map((p) => p.unsqueeze(0).expand([T, ...p.shape]));
    const l = F.crossEntropy(netBatched(ex, xsB).reshape([T * ns, W]), ysB, { reduction: 'sum' }).div(ns);
    const gs = mg.grad(l, ex, { createGraph: true });
    const fast = ex.map((p, i) => p.sub(gs[i].mul(cfg.innerLr)));
    return F.crossEntropy(netBatched(fast, xqB).reshape([T * nq, W]), yqB, { reduction: 'sum' }).div(nq * cfg.metaBatch);
  }
  const opt = new mg.optim.Adam(ps, { lr: cfg.lr });
  const step = () => {
    opt.zeroGrad();
    mg.tidy(() => loss().backward());
    if (world > 1) mg.distributed.allReduce(ps.map((p) => p.grad));
    opt.step();
  };
  step(); // warm-up; its (reduced) meta-gradient is the check that 1 and 2 ranks agree
  const firstGrad = ps.flatMap((p) => Array.from(p.grad.data()));
  mg.distributed.barrier();
  const cpu0 = process.cpuUsage();
  let t0 = performance.now();
  for (let i = 0; i < cfg.iterations; i++) step();
  mg.distributed.barrier();
  const secondsPerIteration = (performance.now() - t0) / 1000 / cfg.iterations;
  const c = process.cpuUsage(cpu0);
  const cpuSecondsPerIteration = (c.user + c.system) / 1e6 / cfg.iterations;
  // The all-reduce alone, on the meta-gradient's 18 tensors.
  const grads = ps.map((p) => p.grad);
  const reps = 50;
  mg.distributed.barrier();
  // The median call: on a shared machine a few calls wait for a descheduled peer.
  const times = [];
  for (let i = 0; i < reps; i++) {
    t0 = performance.now();
    mg.distributed.allReduce(grads);
    times.push((performance.now() - t0) / 1000);
  }
  const allReduceSeconds = times.sort((a, b) => a - b)[reps >> 1];
  process.stdout.write(`${JSON.stringify({ secondsPerIteration, cpuSecondsPerIteration, allReduceSeconds, gradFloats: grads.reduce((n, g) => n + g.size, 0), firstGrad: r === 0 ? firstGrad : [] })}\n`);
  mg.distributed.destroy();
}
