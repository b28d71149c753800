// Reptile on the OpenAI sine example (1-64-64-1 tanh, 50 evenly spaced x, one epoch of SGD 0.02 over
// shuffled minibatches of 10, outer step 0.1 annealed linearly): seconds per outer iteration,
// sampling the task included, against the OpenAI script's own PyTorch code in the same run.
import * as mg from '../dist/index.js';
import { measure, report, torchRef } from './lib.mjs';

mg.manualSeed(0);
const model = new mg.nn.Sequential(new mg.nn.Linear(1, 64), new mg.nn.Tanh(), new mg.nn.Linear(64, 64), new mg.nn.Tanh(), new mg.nn.Linear(64, 1));
const reptile = new mg.meta.Reptile(model, { innerLr: 0.02, outerLr: 0.1, iterations: 30000 });
const sampler = new mg.data.ReptileSinusoid({ innerBatch: 10 });
const iteration = () => {
  mg.tidy(() => {
    const [task] = sampler.sample(1);
    reptile.step(task.minibatches(10, 1));
  });
};
for (let i = 0; i < 20; i++) iteration();
const ours = await measure('reptile', { 'openai sine iteration': iteration }, { maxTime: 2, minSamples: 5 });
const ref = torchRef('reptile.py', {});
const o = ours['openai sine iteration'];
const t = ref ? ref['openai sine iteration'] : null;
const rows = [{ case: 'Reptile outer iteration (5 inner SGD steps)', ours: o * 1e3, torch: t == null ? null : t * 1e3, unit: 'ms', ratio: t == null ? null : t / o }];
rows.push({ case: 'vs issue-5 PyTorch figure (1.7 ms)', ours: o * 1e3, torch: 1.7, unit: 'ms', ratio: 1.7e-3 / o });
report(`Reptile, OpenAI sine example (ms per outer iteration; speed-up = pytorch / metagrad${ref ? `, torch ${ref.torch}, 2 threads` : ''})`, rows);
