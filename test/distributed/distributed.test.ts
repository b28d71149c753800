// mg.distributed over Gloo: collectives and the differentiable all-reduce across 2 real
// processes (TCP and file rendezvous), failures (dead peer, timeout), and in-process checks with a
// 1-rank group. Skips with a message when the addon was built without Gloo.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { freePort, gloo, runRanks, WORKER } from './helpers.js';

const byRank = (rs: Awaited<ReturnType<typeof runRanks>>) => rs.map((r) => r.lines[0] ?? { stderr: r.stderr });

describe('without a backend', () => {
  test('nccl: an Error naming the missing library when the addon lacks it', async () => {
    if (mg.distributed.isAvailable('nccl')) return; // covered by the GPU check
    await expect(mg.distributed.init({ backend: 'nccl', rank: 0, worldSize: 1, rendezvous: 'tcp://127.0.0.1:1' })).rejects.toThrow(/built without NCCL \(libnccl/);
  });
  test('collectives before init name the call', () => {
    expect(() => mg.distributed.allReduce(mg.ones([2]))).toThrow(/distributed\.allReduce: no process group; call mg\.distributed\.init/);
    expect(() => mg.distributed.barrier()).toThrow(/distributed\.barrier: no process group/);
    expect(mg.distributed.rank()).toBe(0);
    expect(mg.distributed.worldSize()).toBe(1);
  });
  test('bad options name the option', async () => {
    await expect(mg.distributed.init({ rank: 2, worldSize: 2, rendezvous: 'tcp://127.0.0.1:1' })).rejects.toThrow(/rank must be an integer in \[0, 2\)/);
    await expect(mg.distributed.init({ rank: 0, worldSize: 1, rendezvous: 'udp://x' })).rejects.toThrow(/neither tcp:\/\/HOST:PORT/);
    await expect(mg.distributed.init({ rank: 0, worldSize: 1, rendezvous: 'file:///no/such/dir' })).rejects.toThrow(/rendezvous directory \/no\/such\/dir does not exist/);
    await expect(mg.distributed.init({ backend: 'mpi' as 'gloo', rank: 0, worldSize: 1 })).rejects.toThrow(/unknown backend mpi/);
  });
});

describe.skipIf(!gloo)('a 1-rank Gloo group in this process', () => {
  afterEach(() => mg.distributed.destroy());

  test('collectives are the identity; the differentiable all-reduce passes gradcheck and gradgradcheck', async () => {
    await mg.distributed.init({ rank: 0, worldSize: 1, rendezvous: `tcp://127.0.0.1:${await freePort()}` });
    expect(mg.distributed.isInitialized()).toBe(true);
    const a = mg.tensor([1, 2, 3]);
    mg.distributed.allReduce([a], { op: 'mean' });
    mg.distributed.broadcast(a);
    mg.distributed.barrier();
    expect(a.toArray()).toEqual([1, 2, 3]);
    const f = (x: mg.Tensor) => mg.distributed.functional.allReduce(x.sin().mul(x)).square().sum();
    const x = mg.randn([4], { dtype: 'float64' });
    expect(mg.gradcheck(f, [x])).toBe(true);
    expect(mg.gradgradcheck(f, [x])).toBe(true);
    // forward mode: jvp of a linear op is the op of the tangent
    const [, t] = mg.jvp((u: mg.Tensor) => mg.distributed.functional.allReduce(u).mul(2), [x], [mg.onesLike(x)]);
    expect(t.toArray()).toEqual([2, 2, 2, 2]);
  });

  test('in-place collectives refuse graph tensors, int32 means and partial overlaps', async () => {
    await mg.distributed.init({ rank: 0, worldSize: 1, rendezvous: `tcp://127.0.0.1:${await freePort()}` });
    const w = mg.ones([2], { requiresGrad: true });
    expect(() => mg.distributed.allReduce(w.mul(2))).toThrow(/tensor 0 is part of a recorded graph/);
    expect(() => mg.distributed.allReduce(mg.tensor([1], { dtype: 'int32' }), { op: 'mean' })).toThrow(/op 'mean' needs float tensors/);
    expect(() => mg.distributed.broadcast(mg.ones([1]), { root: 3 })).toThrow(/root must be a rank in \[0, 1\)/);
    await expect(mg.distributed.init({ rank: 0, worldSize: 1 })).rejects.toThrow(/already initialised/);
  });

  test('memory returns to its baseline after repeated collectives', async () => {
    await mg.distributed.init({ rank: 0, worldSize: 1, rendezvous: `tcp://127.0.0.1:${await freePort()}` });
    const x = mg.randn([50], { dtype: 'float64', requiresGrad: true });
    const before = mg.memory().cpu.tensors;
    for (let i = 0; i < 20; i++) {
      mg.tidy(() => {
        const [g] = mg.grad([mg.distributed.functional.allReduce(x).square().sum()], [x]);
        mg.distributed.allReduce(g!);
      });
    }
    for (let i = 0; i < 5; i++) {
      const t = mg.ones([100]);
      await mg.distributed.allReduceAsync([t, t], { op: 'mean' });
      t.dispose();
    }
    expect(mg.memory().cpu.tensors).toBe(before);
  });
});

describe.skipIf(!gloo)('2 ranks in 2 processes', () => {
  test.each(['tcp', 'file'])('allReduce (sum over buckets of 3 dtypes, mean), broadcast, barrier over %s rendezvous', async (kind) => {
    const dir = kind === 'file' ? fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-rdv-')) : '';
    try {
      const rendezvous = kind === 'file' ? `file://${dir}` : `tcp://127.0.0.1:${await freePort()}`;
      const rs = await runRanks(2, WORKER, ['collectives'], { RENDEZVOUS: rendezvous });
      for (const r of byRank(rs)) {
        expect(r).toMatchObject({
          a: [1 + 2, 10 + 20], // listed twice, reduced once
          b: [[0 + 1, 0 + 1], [2, 4]],
          i: [3],
          m: [(0 + 2) / 2, 4],
          c: [6, 7], // rank 1's
          big: [[3, 3], 3 * 5_000_000],
        });
      }
      expect(rs.map((r) => r.code)).toEqual([0, 0]);
    } finally {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the differentiable all-reduce: first and second derivatives equal the single-process ones', async () => {
    const rs = await runRanks(2, WORKER, ['grad'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}` });
    // Reference 1, closed form: y = x0 + x1, g_r = cos(y)(c0 + c1), h_r = -sin(y)(c0 + c1)(v0 + v1).
    // Reference 2, one process: L = L0(y) + L1(y), H = sum_r <dL/dx_r, v_r>, by mg.grad.
    const data = [0, 1].map((r) => {
      mg.manualSeed(100 + r);
      return { x: mg.randn([3, 4], { dtype: 'float64', requiresGrad: true }), c: mg.randn([3, 4], { dtype: 'float64' }), v: mg.randn([3, 4], { dtype: 'float64' }) };
    });
    const [d0, d1] = data;
    const y = d0.x.add(d1.x);
    const cs = d0.c.add(d1.c);
    const closedG = mg.noGrad(() => y.cos().mul(cs));
    const closedH = mg.noGrad(() => y.sin().neg().mul(cs).mul(d0.v.add(d1.v)));
    const L = y.sin().mul(d0.c).sum().add(y.sin().mul(d1.c).sum());
    const gs = mg.grad([L], [d0.x, d1.x], { createGraph: true });
    const H = gs[0]!.mul(d0.v).sum().add(gs[1]!.mul(d1.v).sum());
    const hs = mg.grad([H], [d0.x, d1.x]);
    const close = (a: unknown, b: mg.Tensor) => (a as number[][]).flat().forEach((v, i) => expect(v).toBeCloseTo(b.data()[i], 12));
    byRank(rs).forEach((r, rank) => {
      close(r.y, y);
      close(r.mean, y.div(2));
      close(r.g, closedG);
      close(r.g, gs[rank]!);
      close(r.h, closedH);
      close(r.h, hs[rank]!);
    });
  });

  test('allReduceAsync and broadcastAsync leave the event loop running, hold disposed buffers, and refuse overlapping calls', async () => {
    const rs = await runRanks(2, WORKER, ['async'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}` });
    const [r0, r1] = byRank(rs) as { a: number[]; c: number[]; ticks: number; busy: string }[];
    for (const r of [r0, r1]) {
      expect(r.a).toEqual([(1 + 2) / 2, (2 + 4) / 2]);
      expect(r.c).toEqual([11]);
      expect(r.busy).toMatch(/distributed\.barrier: an async collective is in flight; await it first/);
    }
    expect(r0.ticks).toBeGreaterThanOrEqual(5); // ~30 ticks of 10 ms while rank 1 was late
    expect(rs.map((r) => r.code)).toEqual([0, 0]);
  });

  test('a dead peer rejects a pending allReduceAsync', async () => {
    const rs = await runRanks(2, WORKER, ['dead-peer-async'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}` });
    expect((byRank(rs)[0] as { error: string }).error).toMatch(/distributed\.allReduceAsync on rank 0 of 2 failed .*(closed|reset)/i);
  });

  test('a dead peer fails the pending collective at once, and the group stays broken', async () => {
    const rs = await runRanks(2, WORKER, ['dead-peer'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}` });
    const r0 = byRank(rs)[0] as { error: string; after: string; ms: number };
    expect(r0.error).toMatch(/distributed\.allReduce on rank 0 of 2 failed .*(closed|reset)/i);
    expect(r0.after).toMatch(/distributed\.barrier: the process group failed earlier/);
    expect(r0.ms).toBeLessThan(10_000);
  });

  test('a collective the peer never joins times out with an Error', async () => {
    const rs = await runRanks(2, WORKER, ['timeout'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}` });
    const r0 = byRank(rs)[0] as { error: string; ms: number };
    expect(r0.error).toMatch(/distributed\.allReduce on rank 0 of 2 failed .*Timed out/i);
    expect(r0.ms).toBeGreaterThanOrEqual(900);
    expect(r0.ms).toBeLessThan(10_000);
  });

  test('a rank that never arrives fails init with a timeout naming the missing rank', async () => {
    const rs = await runRanks(1, WORKER, ['collectives'], { RENDEZVOUS: `tcp://127.0.0.1:${await freePort()}`, WORLD_SIZE: '2', TIMEOUT: '1500' });
    expect(rs[0].code).toBe(1);
    expect(rs[0].lines[0].initError).toMatch(/rendezvous of rank 0 of 2 failed: TCP store: timed out after 1500 ms waiting for metagrad\/0\/1/);
  });
});
