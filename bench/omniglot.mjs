// Omniglot data: load times (cold: unzip + PNG decode + resize + cache write; cached: one file
// read and checked) for images_background_small2 and the full background + evaluation sets, and
// the time to build one episode (N-way K-shot, rotations on, MAML split) against the same episode
// built in PyTorch from a preloaded [32460, 28, 28] tensor (index_select + rot90), in the same run.
// Needs the data in ../shared/data/omniglot (or OMNIGLOT_DIR); skips otherwise.
import * as mg from '../dist/index.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonMode, measure, report, torchRef } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = process.env.OMNIGLOT_DIR ?? resolve(here, '../../shared/data/omniglot');
if (!existsSync(join(dataDir, 'images_background.zip'))) {
  console.log(`omniglot: ${dataDir} has no images_background.zip; skipped (set OMNIGLOT_DIR)`);
  process.exit(0);
}

const cacheDir = mkdtempSync(join(tmpdir(), 'metagrad-bench-omniglot-'));
const time = (fn) => { const t = performance.now(); const r = fn(); return [r, (performance.now() - t) / 1000]; };
const rows = [];
let full;
try {
  for (const [name, src] of [['small2', join(dataDir, 'images_background_small2.zip')], ['background+evaluation', dataDir]]) {
    const [a, cold] = time(() => mg.data.loadOmniglot(src, { cacheDir }));
    const [b, cached] = time(() => mg.data.loadOmniglot(src, { cacheDir }));
    if (!b.sources.every((s) => s.cache === 'hit')) throw new Error('omniglot bench: the second load missed the cache');
    rows.push({ case: `load ${name} cold (${a.characters.length} chars, ${a.numImages} images)`, ours: cold, torch: null, unit: 's', ratio: null });
    rows.push({ case: `load ${name} cached`, ours: cached, torch: null, unit: 's', ratio: null });
    full = b;
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
report('Omniglot load time (s)', rows);

const settings = { '5-way 1-shot 15-query': [5, 1, 15], '20-way 5-shot 15-query': [20, 5, 15] };
const splits = mg.data.omniglotMamlSplits(full);
const cases = {};
for (const [name, [ways, shots, queries]] of Object.entries(settings)) {
  const sampler = new mg.data.OmniglotSampler(full, { ways, shots, queries, splits });
  cases[name] = () => mg.tidy(() => { sampler.sample(1); });
}
mg.manualSeed(0);
const ours = await measure('omniglot episodes', cases);
const ref = torchRef('omniglot.py', { settings, images: full.numImages, trainCharacters: splits.train.length });
report(`one episode (µs; speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}` : ''})`,
  Object.keys(ours).map((k) => ({ case: k, ours: ours[k] * 1e6, torch: ref ? ref[k] * 1e6 : null, unit: 'µs', ratio: ref ? ref[k] / ours[k] : null })));
if (!jsonMode) console.log(`  classes: train ${splits.train.length} chars x 4 rotations, test ${splits.test.length} x 4`);
