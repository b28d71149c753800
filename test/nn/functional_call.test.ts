import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose } from '../helpers.js';

const nn = mg.nn;
const F = mg.nn.functional;
type Tensor = mg.Tensor;

function mlp(): mg.nn.Sequential {
  return new nn.Sequential(new nn.Linear(3, 8, { dtype: 'float64' }), new nn.Tanh(), new nn.Linear(8, 2, { dtype: 'float64' }));
}

/** A plain-function reference of mlp() with explicit parameters. */
function mlpRef(p: readonly Tensor[], x: Tensor): Tensor {
  return F.linear(F.linear(x, p[0], p[1]).tanh(), p[2], p[3]);
}

/** A class-field style module (plain properties, not accessors). */
class FieldStyle extends nn.Module<[Tensor]> {
  readonly w = this.registerParameter('w', mg.randn([3, 3], { dtype: 'float64' }));
  readonly inner = this.registerModule('inner', new nn.Linear(3, 3, { dtype: 'float64' }));
  override forward(x: Tensor): Tensor {
    return this.inner.call(x.matmul(this.w));
  }
}

describe('functionalCall', () => {
  test('with the module own parameters it equals the module forward; other tensors give the reference', () => {
    mg.manualSeed(0);
    const m = mlp();
    const x = mg.randn([5, 3], { dtype: 'float64' });
    expectClose(nn.functionalCall(m, m.parameters(), x), m.call(x).data() as Float64Array);
    const q = m.parameters().map((p) => p.mul(0.5).add(0.1));
    const y = nn.functionalCall(m, q, x);
    expectClose(y, mlpRef(q, x).data() as Float64Array);
    expect(Array.from(y.data())).not.toEqual(Array.from(m.call(x).data()));
    // the module's own tensors are back afterwards
    expectClose(m.call(x), mlpRef(m.parameters(), x).data() as Float64Array);
    // named, Map and partial forms
    const named = Object.fromEntries(m.namedParameters().map(([n], i) => [n, q[i]]));
    expectClose(nn.functionalCall(m, named, x), y.data() as Float64Array);
    expectClose(nn.functionalCall(m, new Map(Object.entries(named)), x), y.data() as Float64Array);
    const partial = nn.functionalCall(m, { '2.weight': q[2], '2.bias': q[3] }, x); // ANIL-style: head only
    const own = m.parameters();
    expectClose(partial, mlpRef([own[0], own[1], q[2], q[3]], x).data() as Float64Array);
  });

  test('gradients flow to the given tensors, not to the module parameters', () => {
    mg.manualSeed(1);
    const m = mlp();
    const x = mg.randn([4, 3], { dtype: 'float64' });
    const q = m.parameters().map((p) => p.detach().clone().requiresGrad_());
    const loss = nn.functionalCall(m, q, x).square().sum();
    const g = mg.grad(loss, q);
    const gRef = mg.grad(mlpRef(q, x).square().sum(), q);
    g.forEach((gi, i) => expectClose(gi!, gRef[i]!.data() as Float64Array));
    const loss2 = nn.functionalCall(m, q, x).square().sum();
    expect(() => mg.grad(loss2, m.parameters())).toThrow(/was not used/);
    loss2.backward();
    for (const p of m.parameters()) expect(p.grad).toBeNull();
    for (const p of q) expect(p.grad).not.toBeNull();
  });

  test('MAML: second order through an inner step (grad of grad with createGraph) matches the plain-function reference', () => {
    mg.manualSeed(2);
    const m = mlp();
    const [xs, ys, xq, yq] = [mg.randn([6, 3], { dtype: 'float64' }), mg.randn([6, 2], { dtype: 'float64' }), mg.randn([6, 3], { dtype: 'float64' }), mg.randn([6, 2], { dtype: 'float64' })];
    const lr = 0.3;
    const metaLoss = (fwd: (p: readonly Tensor[], x: Tensor) => Tensor, theta: readonly Tensor[], createGraph: boolean) => {
      const inner = F.mseLoss(fwd(theta, xs), ys);
      const grads = mg.grad(inner, [...theta], { createGraph });
      const adapted = theta.map((p, i) => p.sub(grads[i]!.mul(lr)));
      return F.mseLoss(fwd(adapted, xq), yq);
    };
    const viaModule = (p: readonly Tensor[], x: Tensor) => nn.functionalCall(m, p, x);
    const theta = m.parameters();
    const g2 = mg.grad(metaLoss(viaModule, theta, true), theta);
    const gRef = mg.grad(metaLoss(mlpRef, theta, true), theta);
    g2.forEach((gi, i) => expectClose(gi!, gRef[i]!.data() as Float64Array, { rtol: 1e-10, atol: 1e-12 }));
    // the second-order term is really there: first-order MAML differs
    const g1 = mg.grad(metaLoss(viaModule, theta, false), theta);
    const diff = g1.reduce((acc, gi, i) => acc + gi!.sub(g2[i]!).abs().sum().item(), 0);
    expect(diff).toBeGreaterThan(1e-6);
    // and the whole thing passes a finite-difference check of the meta-loss in the parameters
    // (finite-difference evaluations get plain tensors: the inner grad needs them to require grad)
    const lift = (p: Tensor[]) => p.map((t) => (t.requiresGrad ? t : t.requiresGrad_()));
    mg.gradcheck((...p: Tensor[]) => metaLoss(viaModule, lift(p), true), theta.map((p) => p.detach()));
  });

  test('nested calls and children (Sequential inside a custom module, class-field properties)', () => {
    mg.manualSeed(3);
    const f = new FieldStyle();
    const x = mg.randn([2, 3], { dtype: 'float64' });
    const p = f.parameters(); // w, inner.weight, inner.bias
    expect(f.namedParameters().map(([n]) => n)).toEqual(['w', 'inner.weight', 'inner.bias']);
    const q = p.map((t) => t.mul(-1));
    const ref = (ps: readonly Tensor[]) => F.linear(x.matmul(ps[0]), ps[1], ps[2]);
    expectClose(nn.functionalCall(f, q, x), ref(q).data() as Float64Array);
    expect(f.w).toBe(p[0]); // the plain property is restored
    // nested: the outer call substitutes w, the inner call (on the child) substitutes its weights
    class Outer extends nn.Module<[Tensor]> {
      readonly body = this.registerModule('body', f);
      override forward(x: Tensor): Tensor {
        const innerParams = this.body.inner.parameters().map((t) => t.mul(2)); // built from the outer's substitutes
        return nn.functionalCall(this.body.inner, innerParams, x.matmul(this.body.w));
      }
    }
    const o = new Outer();
    const y = nn.functionalCall(o, q, x);
    expectClose(y, F.linear(x.matmul(q[0]), q[1].mul(2), q[2].mul(2)).data() as Float64Array);
    expect(o.body.inner.weight).toBe(p[1]);
    expect(f.w).toBe(p[0]);
    // tied weights: one substitute serves every place the shared tensor is registered
    const a = new nn.Linear(3, 3, { dtype: 'float64' });
    const tied = new nn.Sequential(a, new nn.Tanh(), a);
    const [tw, tb] = a.parameters().map((t) => t.mul(0.5));
    expectClose(nn.functionalCall(tied, [tw, tb], x), F.linear(F.linear(x, tw, tb).tanh(), tw, tb).data() as Float64Array);
  });

  test('restores the module even when forward throws; errors name the offending parameter', () => {
    const m = mlp();
    const p = m.parameters();
    const q = p.map((t) => t.clone());
    expect(() => nn.functionalCall(m, q, mg.zeros([2, 5], { dtype: 'float64' }))).toThrow(/linear: input \[2,5\]/);
    expect(m.parameters()).toEqual(p);
    expect(m.parameters().every((t, i) => t === p[i])).toBe(true);
    expect(() => nn.functionalCall(m, q.slice(1), mg.zeros([2, 3]))).toThrow(/got 3 tensors for the 4 parameters of Sequential \(0\.weight, 0\.bias, 2\.weight, 2\.bias\)/);
    expect(() => nn.functionalCall(m, { '0.wieght': q[0] }, mg.zeros([2, 3]))).toThrow(/no parameter or buffer named '0\.wieght'/);
    expect(() => nn.functionalCall(m, [q[1], q[0], q[2], q[3]], mg.zeros([2, 3]))).toThrow(/parameter 0 \('0\.weight'\) has shape \[8\] but the module's is \[8,3\]/);
  });

  test('batch norm under functionalCall: batch statistics in training mode, given buffers updated', () => {
    mg.manualSeed(4);
    const m = new nn.Sequential(new nn.Linear(3, 4, { dtype: 'float64' }), new nn.BatchNorm1d(4, { dtype: 'float64' }));
    const x = mg.randn([8, 3], { dtype: 'float64' }).mul(3).add(5);
    const q = m.parameters().map((t) => t.add(0.5));
    const h = F.linear(x, q[0], q[1]);
    const ref = h.sub(h.mean(0, true)).div(h.sub(h.mean(0, true)).square().mean(0, true).add(1e-5).sqrt()).mul(q[2]).add(q[3]);
    const rm = mg.zeros([4], { dtype: 'float64' });
    const rv = mg.ones([4], { dtype: 'float64' });
    const named = { ...Object.fromEntries(m.namedParameters().map(([n], i) => [n, q[i]])), '1.runningMean': rm, '1.runningVar': rv };
    const y = nn.functionalCall(m, named, x);
    expectClose(y, ref.data() as Float64Array, { rtol: 1e-10, atol: 1e-10 });
    expectClose(rm, h.mean(0).mul(0.1).data() as Float64Array, { rtol: 1e-10 }); // the given buffer was updated
    expect(m.at(1).buffers()[0].toArray()).toEqual([0, 0, 0, 0]); // not the module's own
    // gradients reach the batch-norm parameters through the batch statistics
    const g = mg.grad(y.square().sum(), q);
    expect(g.every((t) => t !== null)).toBe(true);
  });
});
