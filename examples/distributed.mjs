// Data-parallel second-order MAML with mg.distributed, in your own loop: `node examples/distributed.mjs`
// starts 2 ranks of itself on this machine (needs the addon built with Gloo: apt-get install
// libgloo-dev before npm ci). Each rank meta-trains on its half of every meta-batch of 10 sinusoid
// tasks; one all-reduce sums the meta-gradients; both ranks take the same Adam step.
// On several machines, run it once per rank with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as mg from 'metagrad';

if (process.env.RANK === undefined) {
  if (!mg.distributed.isAvailable('gloo')) throw new Error('this example needs the addon built with Gloo (apt-get install libgloo-dev, then npm run build:native)');
  const env = { ...process.env, WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29517', MG_NUM_THREADS: '1' };
  const ranks = [0, 1].map((r) => spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...env, RANK: String(r) }, stdio: 'inherit' }));
  const codes = await Promise.all(ranks.map((c) => new Promise((res) => c.on('close', res))));
  process.exit(codes.some((c) => c !== 0) ? 1 : 0);
}

await mg.distributed.init({ backend: 'gloo' }); // from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
const rank = mg.distributed.rank();
const world = mg.distributed.worldSize();
const metaBatch = 10;
const [lo, hi] = [Math.floor((rank * metaBatch) / world), Math.floor(((rank + 1) * metaBatch) / world)];

mg.manualSeed(0);
const net = new mg.nn.Sequential(new mg.nn.Linear(1, 40), new mg.nn.ReLU(), new mg.nn.Linear(40, 40), new mg.nn.ReLU(), new mg.nn.Linear(40, 1));
const params = net.parameters();
mg.distributed.broadcast(params); // every rank starts from rank 0's initialisation
const opt = new mg.optim.Adam(params, { lr: 1e-3 });
const sampler = new mg.data.MamlSinusoid({ shots: 10, query: 10 });

for (let it = 1; it <= 300; it++) {
  mg.manualSeed(1000 + it); // the same tasks on every rank; each keeps its share
  const tasks = sampler.sample(metaBatch).slice(lo, hi);
  opt.zeroGrad();
  const part = mg.tidy(() => {
    const { support, query } = mg.meta.stackTasks(tasks);
    // this rank's part of the mean over all metaBatch tasks
    const loss = mg.meta.batchedMamlMetaLoss(params, support, query, { innerSteps: 1, innerLr: 0.01 }).mul((hi - lo) / metaBatch);
    loss.backward();
    return loss.item();
  });
  mg.distributed.allReduce(params.map((p) => p.grad)); // the full meta-gradient, on every rank
  opt.step();
  const total = mg.tensor([part], { dtype: 'float64' });
  mg.distributed.allReduce(total);
  if (rank === 0 && it % 50 === 0) console.log(`iteration ${it}: meta-loss ${total.item().toFixed(4)} over ${metaBatch} tasks on ${world} ranks`);
  total.dispose();
}
mg.distributed.destroy();
