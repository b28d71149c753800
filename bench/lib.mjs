// Shared benchmark plumbing: benny suites for our side, a PyTorch script for the reference,
// measured in the same run, and a table of ratios. Benchmarks import the built package (dist/).
// benny is a devDependency: `metagrad bench` in a project that installed metagrad has none, and
// then `measure` times with the plain loop below (same quantity: seconds per call).
const b = await import('benny').then((m) => m.default, () => null);
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const jsonMode = process.argv.includes('--json');

/** The Python that runs the PyTorch references: $METAGRAD_PYTHON, else /usr/bin/python3. */
const python = process.env.METAGRAD_PYTHON || '/usr/bin/python3';

/** Whether `python3 -c 'import torch'` works here (see {@link python}). */
export function torchAvailable() {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Runs bench/torch/<script> with `args` (JSON) and returns its JSON output: { case: seconds } plus
 * meta fields. Returns null (with a note) when PyTorch is missing.
 */
export function torchRef(script, args = {}) {
  if (!torchAvailable()) {
    if (!jsonMode) console.log(`  (PyTorch reference missing: ${python} cannot import torch; apt-get install python3-torch libopenblas0-pthread, or set METAGRAD_PYTHON)`);
    return null;
  }
  const r = spawnSync(python, [join(here, 'torch', script), JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/torch/${script} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Times each case with benny; returns { name: seconds per call }: the fastest of benny's samples
 * (each sample the mean over one cycle of many calls), the statistic the PyTorch scripts report
 * (best of several timed rounds). `cases` maps a name to a function (each call is one operation).
 */
export async function measure(suiteName, cases, { maxTime = 1, minSamples = 5 } = {}) {
  const out = {};
  if (b === null) {
    if (!jsonMode) console.log(`  (${suiteName}: benny is not installed; timing with a plain loop, the mean over >= ${maxTime} s)`);
    for (const [name, fn] of Object.entries(cases)) {
      const first = fn(); // warm-up; an asynchronous case is awaited, a synchronous one is not
      const isAsync = first !== null && typeof first === 'object' && typeof first.then === 'function';
      if (isAsync) await first;
      let calls = 0;
      const t0 = performance.now();
      while (calls < minSamples || performance.now() - t0 < maxTime * 1e3) {
        if (isAsync) await fn();
        else fn();
        calls++;
      }
      out[name] = (performance.now() - t0) / 1e3 / calls;
    }
    return out;
  }
  await b.suite(
    suiteName,
    ...Object.entries(cases).map(([name, fn]) => b.add(name, fn, { maxTime, minSamples })),
    b.complete((summary) => {
      for (const r of summary.results) out[r.name] = r.details?.min ?? 1 / r.ops;
    }),
  );
  return out;
}

/**
 * Prints rows { case, ours, torch, unit, ratio } as a table (or JSON lines with --json).
 * `ratio` > 1 means we are faster (for times: torch/ours; for rates: ours/torch).
 */
export function report(title, rows) {
  if (jsonMode) {
    for (const r of rows) console.log(JSON.stringify({ bench: title, ...r }));
    return;
  }
  console.log(`\n${title}`);
  const fmt = (v) => (v == null ? '-' : typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : String(v));
  const header = ['case', 'metagrad', 'pytorch', 'unit', 'speed-up'];
  const table = rows.map((r) => [r.case, fmt(r.ours), fmt(r.torch), r.unit, r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`]);
  const w = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

/**
 * The device a benchmark runs on: `--device cuda` (or `--device=cuda`), else 'cpu'. With cuda
 * requested but no GPU (or a build without CUDA), prints a note and exits 0: GPU benchmarks skip.
 * `--tf32` lets float32 GEMMs and convolutions use TF32 tensor cores on both sides.
 */
export async function benchDevice() {
  const args = process.argv.slice(2);
  let dev = 'cpu';
  const i = args.indexOf('--device');
  if (i >= 0 && args[i + 1]) dev = args[i + 1];
  const eq = args.find((a) => a.startsWith('--device='));
  if (eq) dev = eq.slice('--device='.length);
  if (dev !== 'cpu' && dev !== 'cuda') throw new Error(`bench: --device must be cpu or cuda, got ${dev}`);
  const mg = await import('../dist/index.js');
  if (dev === 'cuda') {
    if (!mg.cuda.isAvailable()) {
      console.log(`  (skipped on cuda: no GPU found; CUDA backend compiled in: ${mg.cuda.isCompiled()})`);
      process.exit(0);
    }
    mg.cuda.setTF32(args.includes('--tf32'));
  }
  return dev;
}

/** Whether `--tf32` was given. */
export const tf32Flag = process.argv.includes('--tf32');

/** Benchmark arguments that are not flags (and not the value of --device). */
export function positionalArgs() {
  const args = process.argv.slice(2);
  return args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--device');
}

/**
 * Finn et al.'s Omniglot conv4 for the MAML benchmarks (maml_conv, distributed): four blocks of 3x3
 * convolution (`channels` filters, stride 2, padding 1), batch norm on batch statistics and ReLU; the
 * spatial mean; a linear `ways`-way head. `params(mg)` draws the shared parameters (conv weight,
 * conv bias, BN weight, BN bias per block; then the head), as bench/torch/maml_conv.py does;
 * `net(ps, x)` runs one task (x [n, 1, H, W]); `netBatched(ps, x, T)` runs T tasks side by side
 * (x [n, T, H, W], parameters with a leading task dimension) as grouped convolutions.
 */
export function conv4(mg, { channels: C, ways: W }) {
  const F = mg.nn.functional;
  const params = () => {
    const ps = [];
    for (let l = 0; l < 4; l++) {
      const cin = l === 0 ? 1 : C;
      const bound = 1 / Math.sqrt(cin * 9);
      ps.push(mg.rand([C, cin, 3, 3]).mul(2 * bound).sub(bound), mg.zeros([C]), mg.ones([C]), mg.zeros([C]));
    }
    ps.push(mg.rand([W, C]).mul(2 / 8).sub(1 / 8), mg.zeros([W]));
    return ps;
  };
  const net = (ps, x) => {
    let h = x;
    for (let l = 0; l < 4; l++) {
      const [w, b, g, be] = ps.slice(4 * l, 4 * l + 4);
      h = F.conv2d(h, w, b, { stride: 2, padding: 1 });
      h = F.batchNorm(h, null, null, { weight: g, bias: be, training: true }).relu();
    }
    return F.linear(h.mean([2, 3]), ps[16], ps[17]);
  };
  const netBatched = (ps, x, T) => {
    let h = x;
    const n = x.shape[0];
    for (let l = 0; l < 4; l++) {
      const [w, b, g, be] = ps.slice(4 * l, 4 * l + 4);
      h = F.conv2d(h, w.reshape([T * C, ...w.shape.slice(2)]), b.reshape([T * C]), { stride: 2, padding: 1, groups: T });
      h = F.batchNorm(h, null, null, { weight: g.reshape([T * C]), bias: be.reshape([T * C]), training: true }).relu();
    }
    const f = h.mean([2, 3]).reshape([n, T, C]).permute([1, 0, 2]); // [T, n, C]
    return mg.matmul(f, ps[16].transpose(1, 2)).add(ps[17].reshape([T, 1, W])); // [T, n, W]
  };
  return { params, net, netBatched };
}
