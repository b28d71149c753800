// mg.distributed on NCCL: runs only where the addon was built with NCCL and a GPU is present; a
// 1-rank group must run and match the CPU result. Elsewhere it says so and skips.
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { freePort } from './helpers.js';

const nccl = mg.distributed.isAvailable('nccl') && mg.cuda.isAvailable();
if (!nccl) console.log(`test/distributed/nccl: skipped (NCCL compiled in: ${mg.distributed.isAvailable('nccl')}, CUDA device: ${mg.cuda.isAvailable()})`);

describe.skipIf(!nccl)('a 1-rank NCCL group', () => {
  afterEach(() => mg.distributed.destroy());
  test('allReduce, broadcast, barrier and the differentiable all-reduce match the CPU', async () => {
    await mg.distributed.init({ backend: 'nccl', rank: 0, worldSize: 1, rendezvous: `tcp://127.0.0.1:${await freePort()}` });
    const a = mg.randn([1000]);
    const b = mg.randn([3, 5], { dtype: 'float64' });
    const ga = a.to('cuda');
    const gb = b.to('cuda');
    mg.distributed.allReduce([ga, gb], { op: 'mean' });
    mg.distributed.broadcast([ga]);
    mg.distributed.barrier();
    expect(Array.from(ga.to('cpu').data())).toEqual(Array.from(a.data()));
    expect(Array.from(gb.to('cpu').data())).toEqual(Array.from(b.data()));
    const x = mg.randn([7], { dtype: 'float64' });
    const f = (u: mg.Tensor) => mg.distributed.functional.allReduce(u.sin()).square().sum();
    const xc = x.to('cuda').requiresGrad_();
    const [g] = mg.grad([f(xc)], [xc]);
    const [ref] = mg.grad([x.requiresGrad_().sin().square().sum()], [x]);
    Array.from(g!.to('cpu').data()).forEach((v, i) => expect(v).toBeCloseTo(ref!.data()[i], 12));
    expect(() => mg.distributed.allReduce(mg.ones([2]))).toThrow(/nccl backend takes CUDA tensors/);
  });
});
