// Shared benchmark plumbing: benny suites for our side, a PyTorch script for the reference,
// measured in the same run, and a table of ratios. Benchmarks import the built package (dist/).
import b from 'benny';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const jsonMode = process.argv.includes('--json');

/** Whether `/usr/bin/python3 -c 'import torch'` works here. */
export function torchAvailable() {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Runs bench/torch/<script> with `args` (JSON) and returns its JSON output: { case: seconds } plus
 * meta fields. Returns null (with a note) when PyTorch is missing.
 */
export function torchRef(script, args = {}) {
  if (!torchAvailable()) {
    if (!jsonMode) console.log('  (PyTorch reference missing: /usr/bin/python3 cannot import torch; apt-get install python3-torch libopenblas0-pthread)');
    return null;
  }
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch', script), JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/torch/${script} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Times each case with benny; returns { name: seconds per call }. `cases` maps a name to a
 * function (each call is one operation).
 */
export async function measure(suiteName, cases, { maxTime = 1, minSamples = 5 } = {}) {
  const out = {};
  await b.suite(
    suiteName,
    ...Object.entries(cases).map(([name, fn]) => b.add(name, fn, { maxTime, minSamples })),
    b.complete((summary) => {
      for (const r of summary.results) out[r.name] = 1 / r.ops;
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
