/**
 * Optimizers vs references written here from the published update rules (torch.optim algorithm
 * boxes), in plain float64 TypeScript arithmetic, for fixed gradient sequences set on `.grad`.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, randomTensor, randomValues } from '../helpers.js';

type Vec = number[];
const F64 = { rtol: 1e-12, atol: 1e-12 };
const F32 = { rtol: 1e-6, atol: 1e-6 };
const round = (v: Vec, dtype: mg.DType): Vec => (dtype === 'float32' ? Array.from(Float32Array.from(v)) : v);

interface SgdRef { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; maximize?: boolean }
/** torch.optim.SGD's algorithm box, one parameter, returning p after each step. */
function refSGD(p0: Vec, grads: Vec[], o: SgdRef): Vec[] {
  const { lr, momentum: mu = 0, dampening: tau = 0, weightDecay: wd = 0, nesterov = false, maximize = false } = o;
  let p = [...p0];
  let b: Vec | null = null;
  const out: Vec[] = [];
  for (const gr of grads) {
    let g = gr.map((x, i) => (maximize ? -x : x) + wd * p[i]);
    if (mu !== 0) {
      const bb: Vec = b === null ? [...g] : b.map((x, i) => mu * x + (1 - tau) * g[i]);
      b = bb;
      g = nesterov ? g.map((x, i) => x + mu * bb[i]) : bb;
    }
    p = p.map((x, i) => x - lr * g[i]);
    out.push(p);
  }
  return out;
}

interface AdamRef { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean; maximize?: boolean; decoupled?: boolean }
/** torch.optim.Adam / AdamW's algorithm boxes, one parameter, returning p after each step. */
function refAdam(p0: Vec, grads: Vec[], o: AdamRef): Vec[] {
  const { lr, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, weightDecay: wd = 0, amsgrad = false, maximize = false, decoupled = false } = o;
  let p = [...p0];
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  let vmax = p.map(() => 0);
  const out: Vec[] = [];
  grads.forEach((gr, k) => {
    const t = k + 1;
    let g = gr.map((x) => (maximize ? -x : x));
    if (decoupled) p = p.map((x) => x * (1 - lr * wd));
    else g = g.map((x, i) => x + wd * p[i]);
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i] * g[i]);
    vmax = vmax.map((x, i) => Math.max(x, v[i]));
    const vv = amsgrad ? vmax : v;
    p = p.map((x, i) => {
      const mhat = m[i] / (1 - b1 ** t);
      const vhat = vv[i] / (1 - b2 ** t);
      return x - (lr * mhat) / (Math.sqrt(vhat) + eps);
    });
    out.push(p);
  });
  return out;
}

/** Runs `opt` over a fixed gradient sequence on params, comparing with `ref` after each step. */
function check(
  make: (ps: mg.Tensor[]) => mg.optim.Optimizer<object>,
  ref: (p0: Vec, gs: Vec[]) => Vec[],
  dtype: mg.DType,
  shapes: number[][] = [[3, 4], [5]],
  steps = 6,
): void {
  const before = mg.memory().tensors;
  const params = shapes.map((s, i) => randomTensor(s, dtype, 10 + i));
  const ps = params.map((x) => x.t.requiresGrad_());
  const gseq = params.map((x, i) => Array.from({ length: steps }, (_, k) => round(randomValues(x.v.length, 100 * i + k + 1, -1.5, 1.5), dtype)));
  const expected = params.map((x, i) => ref(x.v, gseq[i]));
  const opt = make(ps);
  for (let k = 0; k < steps; k++) {
    ps.forEach((p, i) => (p.grad = mg.tensor(gseq[i][k], { shape: p.shape, dtype })));
    opt.step();
    opt.zeroGrad();
    ps.forEach((p, i) => expectClose(p, expected[i][k], dtype === 'float64' ? F64 : F32));
  }
  opt.dispose();
  ps.forEach((p) => p.dispose());
  expect(mg.memory().tensors).toBe(before);
}

const sgdCases: [string, SgdRef][] = [
  ['plain', { lr: 0.1 }],
  ['momentum', { lr: 0.05, momentum: 0.9 }],
  ['momentum + dampening', { lr: 0.05, momentum: 0.8, dampening: 0.3 }],
  ['nesterov', { lr: 0.05, momentum: 0.9, nesterov: true }],
  ['weight decay', { lr: 0.1, weightDecay: 0.01 }],
  ['momentum + weight decay + nesterov', { lr: 0.02, momentum: 0.7, weightDecay: 0.05, nesterov: true }],
  ['maximize + momentum + dampening + weight decay', { lr: 0.03, momentum: 0.5, dampening: 0.1, weightDecay: 0.2, maximize: true }],
];
const adamCases: [string, AdamRef][] = [
  ['defaults', { lr: 1e-3 }],
  ['lr 0.1, betas', { lr: 0.1, betas: [0.8, 0.95] }],
  ['weight decay', { lr: 0.05, weightDecay: 0.1 }],
  ['amsgrad', { lr: 0.05, amsgrad: true, betas: [0.5, 0.6] }],
  ['amsgrad + weight decay + maximize + eps', { lr: 0.05, amsgrad: true, weightDecay: 0.02, maximize: true, eps: 1e-3 }],
];

describe.each(['float64', 'float32'] as const)('%s', (dtype) => {
  test.each(sgdCases)('SGD %s matches the published rule', (_, o) => {
    check((ps) => new mg.optim.SGD(ps, o), (p0, gs) => refSGD(p0, gs, o), dtype);
  });
  test.each(adamCases)('Adam %s matches the published rule', (_, o) => {
    check((ps) => new mg.optim.Adam(ps, o), (p0, gs) => refAdam(p0, gs, o), dtype);
  });
  test('AdamW (default weight decay 1e-2) matches the published rule', () => {
    check((ps) => new mg.optim.AdamW(ps, { lr: 0.05 }), (p0, gs) => refAdam(p0, gs, { lr: 0.05, weightDecay: 1e-2, decoupled: true }), dtype);
  });
  test('AdamW with amsgrad and a large decay matches the published rule', () => {
    const o = { lr: 0.1, weightDecay: 0.5, amsgrad: true, betas: [0.7, 0.9] as [number, number] };
    check((ps) => new mg.optim.AdamW(ps, o), (p0, gs) => refAdam(p0, gs, { ...o, decoupled: true }), dtype);
  });
});

describe('parameter groups, skipping, zeroGrad', () => {
  test('groups override the defaults per group', () => {
    const a = randomTensor([4], 'float64', 1);
    const b = randomTensor([2, 2], 'float64', 2);
    const c = randomTensor([3], 'float64', 3);
    const opt = new mg.optim.SGD([{ params: [a.t, b.t] }, { params: [c.t], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.5, 0.9]]);
    const gs = [a, b, c].map((x, i) => [randomValues(x.v.length, 40 + i), randomValues(x.v.length, 50 + i)]);
    const exp = [refSGD(a.v, gs[0], { lr: 0.1 }), refSGD(b.v, gs[1], { lr: 0.1 }), refSGD(c.v, gs[2], { lr: 0.5, momentum: 0.9 })];
    for (let k = 0; k < 2; k++) {
      [a, b, c].forEach((x, i) => (x.t.grad = mg.tensor(gs[i][k], { shape: x.t.shape, dtype: 'float64' })));
      opt.step();
      opt.zeroGrad();
      [a, b, c].forEach((x, i) => expectClose(x.t, exp[i][k], F64));
    }
    opt.dispose();
  });

  test('Adam groups with different betas and lr', () => {
    const a = randomTensor([5], 'float64', 4);
    const b = randomTensor([3], 'float64', 5);
    const oa = { lr: 0.01 };
    const ob = { lr: 0.2, betas: [0.5, 0.9] as [number, number], amsgrad: true };
    const opt = new mg.optim.Adam([{ params: [a.t] }, { params: [b.t], ...ob }], oa);
    const ga = [1, 2, 3].map((s) => randomValues(5, s));
    const gb = [4, 5, 6].map((s) => randomValues(3, s));
    const ea = refAdam(a.v, ga, oa);
    const eb = refAdam(b.v, gb, ob);
    for (let k = 0; k < 3; k++) {
      a.t.grad = mg.tensor(ga[k], { dtype: 'float64' });
      b.t.grad = mg.tensor(gb[k], { dtype: 'float64' });
      opt.step();
      opt.zeroGrad();
      expectClose(a.t, ea[k], F64);
      expectClose(b.t, eb[k], F64);
    }
    opt.dispose();
  });

  test('a parameter whose .grad is null is skipped and its step count does not advance', () => {
    const a = randomTensor([3], 'float64', 6);
    const b = randomTensor([3], 'float64', 7);
    const opt = new mg.optim.Adam([a.t, b.t], { lr: 0.1 });
    const g = [8, 9, 10].map((s) => randomValues(3, s));
    const eb = refAdam(b.v, g.slice(1), { lr: 0.1 }); // b first gets a gradient at the second step
    const ea = refAdam(a.v, g, { lr: 0.1 });
    a.t.grad = mg.tensor(g[0], { dtype: 'float64' });
    opt.step();
    expectClose(b.t, b.v, { rtol: 0, atol: 0 });
    expectClose(a.t, ea[0], F64);
    opt.zeroGrad();
    for (let k = 1; k < 3; k++) {
      a.t.grad = mg.tensor(g[k], { dtype: 'float64' });
      b.t.grad = mg.tensor(g[k], { dtype: 'float64' });
      opt.step();
      opt.zeroGrad();
      expectClose(a.t, ea[k], F64);
      expectClose(b.t, eb[k - 1], F64);
    }
    const sd = opt.stateDict();
    expect([sd.state[0].step, sd.state[1].step]).toEqual([3, 2]);
    mg.optim.disposeStateDict(sd);
    opt.dispose();
  });

  test('zeroGrad sets every .grad to null and frees the gradients', () => {
    const ps = [mg.zeros([4], { dtype: 'float64' }).requiresGrad_(), mg.zeros([2, 3]).requiresGrad_()];
    const opt = new mg.optim.SGD(ps, { lr: 0.1 });
    ps.map((p) => p.mul(p).sum()).reduce((s, t) => s.add(t)).backward();
    const grads = ps.map((p) => p.grad!);
    expect(grads.every((g) => g !== null && !g.isDisposed)).toBe(true);
    opt.zeroGrad();
    expect(ps.map((p) => p.grad)).toEqual([null, null]);
    expect(grads.every((g) => g.isDisposed)).toBe(true);
    opt.zeroGrad(); // no gradients: nothing to do
  });

  test('bad arguments are refused with readable errors', () => {
    const p = mg.zeros([2]).requiresGrad_();
    expect(() => new mg.optim.SGD([p], { lr: -1 })).toThrow(/SGD .*lr must be a number >= 0/);
    expect(() => new mg.optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires momentum > 0/);
    expect(() => new mg.optim.Adam([p], { betas: [1, 0.9] })).toThrow(/betas\[0\] must be a number in \[0, 1\)/);
    expect(() => new mg.optim.Adam([p, p])).toThrow(/appears more than once/);
    expect(() => new mg.optim.Adam([p.mul(2)])).toThrow(/not a leaf/);
    expect(() => new mg.optim.Adam([mg.zeros([2], { dtype: 'int32' })])).toThrow(/int32/);
    expect(() => new mg.optim.Adam([])).toThrow(/non-empty/);
    const opt = new mg.optim.Adam([p]);
    p.grad = mg.zeros([3]);
    expect(() => opt.step()).toThrow(/gradient of a parameter has shape \[3\] but the parameter has shape \[2\]/);
    opt.zeroGrad();
    opt.dispose();
    expect(() => opt.step()).toThrow(/disposed/);
  });
});

describe('stateDict / loadStateDict', () => {
  const makers: [string, (ps: mg.Tensor[]) => mg.optim.Optimizer<object>][] = [
    ['SGD nesterov', (ps) => new mg.optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
    ['Adam amsgrad', (ps) => new mg.optim.Adam([{ params: ps.slice(0, 1) }, { params: ps.slice(1), lr: 0.02 }], { lr: 0.1, amsgrad: true })],
    ['AdamW', (ps) => new mg.optim.AdamW(ps, { lr: 0.1 })],
  ];
  test.each(makers)('%s: resuming from a state dict gives the identical trajectory', (_, make) => {
    const before = mg.memory().tensors;
    const shapes = [[3, 2], [4]];
    const init = shapes.map((s, i) => randomValues(s.reduce((a, b) => a * b, 1), 20 + i));
    const gseq = Array.from({ length: 8 }, (_, k) => shapes.map((s, i) => randomValues(s.reduce((a, b) => a * b, 1), 300 + 10 * k + i)));
    const run = (ps: mg.Tensor[], opt: mg.optim.Optimizer<object>, from: number, to: number) => {
      for (let k = from; k < to; k++) {
        ps.forEach((p, i) => (p.grad = mg.tensor(gseq[k][i], { shape: p.shape })));
        opt.step();
        opt.zeroGrad();
      }
    };
    const fresh = () => init.map((v, i) => mg.tensor(v, { shape: shapes[i] }).requiresGrad_());
    // Uninterrupted run.
    const pa = fresh();
    const oa = make(pa);
    run(pa, oa, 0, 8);
    // Interrupted at step 5: save parameters and optimizer state, rebuild both, resume.
    const pb = fresh();
    const ob = make(pb);
    run(pb, ob, 0, 5);
    const saved = pb.map((p) => Array.from(p.data()));
    const sd = ob.stateDict();
    ob.dispose();
    const pc = saved.map((v, i) => mg.tensor(v, { shape: shapes[i] }).requiresGrad_());
    const oc = make(pc);
    oc.loadStateDict(sd);
    mg.optim.disposeStateDict(sd); // the optimizer copied it
    run(pc, oc, 5, 8);
    pa.forEach((p, i) => expect(Array.from(pc[i].data())).toEqual(Array.from(p.data())));
    // A resumed run that lost its state would differ (the test can fail).
    const pd = saved.map((v, i) => mg.tensor(v, { shape: shapes[i] }).requiresGrad_());
    const od = make(pd);
    run(pd, od, 5, 8);
    expect(Array.from(pd[0].data())).not.toEqual(Array.from(pa[0].data()));
    for (const o of [oa, oc, od]) o.dispose();
    for (const p of [...pa, ...pb, ...pc, ...pd]) p.dispose();
    expect(mg.memory().tensors).toBe(before);
  });

  test('the state dict carries the hyper-parameters and step counts; mismatches are refused', () => {
    const p = mg.zeros([2], { dtype: 'float64' }).requiresGrad_();
    const opt = new mg.optim.Adam([p], { lr: 0.1 });
    p.grad = mg.ones([2], { dtype: 'float64' });
    opt.step();
    opt.paramGroups[0].lr = 0.01;
    const sd = opt.stateDict();
    expect(sd.paramGroups).toEqual([{ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [0] }]);
    expect(sd.state[0].step).toBe(1);
    expect(Object.keys(sd.state[0]).sort()).toEqual(['expAvg', 'expAvgSq', 'step']);
    expectClose(sd.state[0].expAvg as mg.Tensor, [0.1, 0.1], F64);
    const q = mg.zeros([3], { dtype: 'float64' }).requiresGrad_();
    const other = new mg.optim.Adam([q]);
    expect(() => other.loadStateDict(sd)).toThrow(/shape \[2\] but the parameter has shape \[3\]/);
    const two = new mg.optim.Adam([{ params: [q] }, { params: [p] }]);
    expect(() => two.loadStateDict(sd)).toThrow(/1 parameter groups, the optimizer 2/);
    const fresh = new mg.optim.Adam([mg.zeros([2], { dtype: 'float64' })]);
    fresh.loadStateDict(sd);
    expect(fresh.paramGroups[0].lr).toBe(0.01);
    for (const o of [opt, other, two, fresh]) o.dispose();
    mg.optim.disposeStateDict(sd);
  });
});

describe('training and memory', () => {
  test('Adam minimises the Rosenbrock function from (-1.5, 2) with backward()', () => {
    const xy = mg.tensor([-1.5, 2], { dtype: 'float64' }).requiresGrad_();
    const opt = new mg.optim.Adam([xy], { lr: 0.02 });
    const f = () => {
      const x = xy.slice(0, 0, 1);
      const y = xy.slice(0, 1, 2);
      return mg.sub(1, x).square().add(y.sub(x.square()).square().mul(100)).sum();
    };
    const f0 = mg.tidy(() => f().item());
    for (let i = 0; i < 3000; i++) {
      mg.tidy(() => f().backward());
      opt.step();
      opt.zeroGrad();
    }
    const f1 = mg.tidy(() => f().item());
    expect(f0).toBeGreaterThan(10);
    expect(f1).toBeLessThan(1e-4);
    expectClose(xy, [1, 1], { rtol: 0, atol: 2e-2 });
    opt.dispose();
  });

  test('SGD with momentum minimises a quadratic', () => {
    const w = mg.tensor([3, -2, 1], { dtype: 'float64' }).requiresGrad_();
    const target = mg.tensor([1, 2, 3], { dtype: 'float64' });
    const opt = new mg.optim.SGD([w], { lr: 0.05, momentum: 0.9 });
    for (let i = 0; i < 300; i++) {
      mg.tidy(() => w.sub(target).square().sum().backward());
      opt.step();
      opt.zeroGrad();
    }
    expectClose(w, [1, 2, 3], { rtol: 0, atol: 1e-6 });
    opt.dispose();
  });

  test.each([
    ['Adam amsgrad', (ps: mg.Tensor[]) => new mg.optim.Adam(ps, { amsgrad: true, weightDecay: 0.1 }), 3],
    ['AdamW', (ps: mg.Tensor[]) => new mg.optim.AdamW(ps, { maximize: true }), 2],
    ['SGD nesterov', (ps: mg.Tensor[]) => new mg.optim.SGD(ps, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.1 }), 1],
  ] as const)('%s: memory returns to its baseline after 1,000 steps (only the state remains until dispose)', (_, make, perParam) => {
    const before = mg.memory();
    const ps = [mg.randn([1, 40]), mg.randn([40]), mg.randn([40, 40]), mg.randn([40]), mg.randn([40, 1]), mg.randn([1])].map((p) => p.requiresGrad_());
    const withParams = mg.memory();
    const opt = make(ps);
    const x = mg.randn([8, 1]);
    for (let i = 0; i < 1000; i++) {
      mg.tidy(() => {
        let h = x.matmul(ps[0]).add(ps[1]).tanh();
        h = h.matmul(ps[2]).add(ps[3]).tanh();
        h.matmul(ps[4]).add(ps[5]).square().mean().backward();
      });
      opt.step();
      opt.zeroGrad();
    }
    const after = mg.memory();
    expect(after.tensors - withParams.tensors).toBe(perParam * ps.length + 1); // the state, and x
    const stateBytes = ps.reduce((s, p) => s + 4 * p.size, 0) * perParam;
    expect(after.bytes - withParams.bytes).toBe(stateBytes + 32);
    opt.dispose();
    x.dispose();
    expect(mg.memory().tensors).toBe(withParams.tensors);
    ps.forEach((p) => p.dispose());
    expect(mg.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});
