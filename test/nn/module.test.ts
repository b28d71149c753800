import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose } from '../helpers.js';

const nn = mg.nn;
type Tensor = mg.Tensor;

/** A custom module mixing both registration styles (accessor via `declare`, and a plain field). */
class Block extends nn.Module<[Tensor]> {
  declare readonly scale: Tensor;
  readonly fc = this.registerModule('fc', new nn.Linear(3, 4));
  readonly shift = this.registerParameter('shift', mg.zeros([4]));
  constructor() {
    super();
    this.registerParameter('scale', mg.ones([4]));
    this.registerBuffer('count', mg.zeros([1]));
  }
  override forward(x: Tensor): Tensor {
    return this.fc.call(x).mul(this.scale).add(this.shift);
  }
}

describe('Module bookkeeping', () => {
  test('names and order follow PyTorch (own parameters, then children depth first)', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(), new nn.Sequential(new nn.Linear(3, 3, { bias: false }), new nn.BatchNorm1d(3)));
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.0.weight', '2.1.weight', '2.1.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['2.1.runningMean', '2.1.runningVar', '2.1.numBatchesTracked']);
    expect(Object.keys(m.stateDict())).toEqual(['0.weight', '0.bias', '2.0.weight', '2.1.weight', '2.1.bias', '2.1.runningMean', '2.1.runningVar', '2.1.numBatchesTracked']);
    expect(m.parameters().map((p) => p.shape)).toEqual([[3, 2], [3], [3, 3], [3], [3]]);
    expect(m.children().length).toBe(3);
    expect(m.namedModules().map(([n]) => n)).toEqual(['', '0', '1', '2', '2.0', '2.1']);
    const b = new Block();
    expect(b.namedParameters().map(([n]) => n)).toEqual(['shift', 'scale', 'fc.weight', 'fc.bias']);
    expect(b.namedBuffers().map(([n]) => n)).toEqual(['count']);
    expect(b.fc.bias!.shape).toEqual([4]);
  });

  test('tied parameters are listed once', () => {
    const a = new nn.Linear(3, 3);
    const m = new nn.Sequential(a, new nn.Tanh(), a);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
  });

  test('parameters are leaves requiring grad and survive tidy; buffers do not require grad', () => {
    const before = mg.memory().tensors;
    const m = mg.tidy(() => new nn.Sequential(new nn.Linear(4, 5), new nn.BatchNorm1d(5)));
    for (const p of m.parameters()) {
      expect(p.isLeaf).toBe(true);
      expect(p.requiresGrad).toBe(true);
      expect(p.isDisposed).toBe(false);
    }
    for (const b of m.buffers()) {
      expect(b.requiresGrad).toBe(false);
      expect(b.isDisposed).toBe(false);
    }
    expect(mg.memory().tensors - before).toBe(7);
    m.dispose();
    expect(mg.memory().tensors).toBe(before);
    expect(() => m.call(mg.zeros([2, 4]))).toThrow(/disposed/);
  });

  test('registration errors', () => {
    class Bad extends nn.Module<[Tensor]> {
      override forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new Bad();
    const w = mg.ones([2], { requiresGrad: true });
    expect(() => m.registerParameter('w', w.mul(2))).toThrow(/leaf/);
    expect(() => m.registerParameter('a.b', mg.ones([1]))).toThrow(/identifier/);
    expect(() => m.registerParameter('forward', mg.ones([1]))).toThrow(/clashes/);
    m.registerBuffer('buf', mg.ones([1]));
    expect(() => m.registerParameter('buf', mg.ones([1]))).toThrow(/another kind/);
  });

  test('stateDict round trip and loadStateDict errors', () => {
    mg.manualSeed(1);
    const a = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    mg.manualSeed(2);
    const b = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    const x = mg.randn([5, 2]);
    a.call(x); // updates a's running statistics
    const wBefore = b.at(0).parameters()[0];
    expect(a.at(0).parameters()[0].toArray()).not.toEqual(wBefore.toArray());
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, v] of Object.entries(a.stateDict())) expect(b.stateDict()[k].toArray()).toEqual(v.toArray());
    expect(b.at(0).parameters()[0]).toBe(wBefore); // in place: same tensor objects
    expect(b.stateDict()['1.numBatchesTracked'].item()).toBe(1);
    a.eval();
    b.eval();
    expectClose(b.call(x), a.call(x).data() as Float32Array);

    const sd = { ...a.stateDict() };
    delete sd['0.bias'];
    sd['extra.weight'] = mg.zeros([1]);
    sd['constructor'] = mg.zeros([1]); // an Object.prototype name is just another unexpected key
    expect(() => b.loadStateDict(sd)).toThrow(/missing keys: 0\.bias; unexpected keys: extra\.weight, constructor/);
    expect(b.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['0.bias'], unexpectedKeys: ['extra.weight', 'constructor'] });
    const bad = { ...a.stateDict(), '0.weight': mg.zeros([2, 3]) };
    const w = b.at(0).parameters()[0].toArray();
    expect(() => b.loadStateDict(bad)).toThrow(/size mismatch for '0\.weight': the dictionary has \[2,3\], the module \[3,2\]/);
    expect(b.at(0).parameters()[0].toArray()).toEqual(w); // nothing written on failure
    // Maps work too, and values are cast to the module's dtype
    const m64 = new Map(Object.entries(a.stateDict()).map(([k, v]) => [k, v.dtype === 'float32' ? v.to('float64') : v]));
    b.loadStateDict(m64);
    expect(b.stateDict()['0.weight'].dtype).toBe('float32');
  });

  test('train/eval propagate to every descendant', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.BatchNorm1d(2)));
    expect(m.modules().every((c) => c.training)).toBe(true);
    expect(m.eval()).toBe(m);
    expect(m.modules().map((c) => c.training)).toEqual([false, false, false, false]);
    m.train();
    expect(m.modules().every((c) => c.training)).toBe(true);
  });

  test('zeroGrad drops the accumulated gradients', () => {
    const m = new nn.Linear(3, 2);
    m.call(mg.ones([4, 3])).sum().backward();
    expect(m.weight.grad).not.toBeNull();
    expectClose(m.bias!.grad!, [4, 4]);
    m.zeroGrad();
    expect(m.weight.grad).toBeNull();
    expect(m.bias!.grad).toBeNull();
  });

  test('a custom module with both registration styles computes with its parameters', () => {
    const b = new Block();
    const x = mg.randn([2, 3]);
    const ref = mg.nn.functional.linear(x, b.fc.weight, b.fc.bias);
    expectClose(b.call(x), ref.data() as Float32Array);
    b.registerParameter('scale', mg.full([4], 2)); // replacing through registration
    expectClose(b.call(x), ref.mul(2).data() as Float32Array);
  });

  test('toString like PyTorch', () => {
    const m = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(64, 2, { bias: false }),
    );
    expect(m.toString()).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(1, 4, kernelSize=[3,3], stride=[1,1], padding=[1,1])',
        '  (1): BatchNorm2d(4, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
        '  (2): ReLU()',
        '  (3): MaxPool2d(kernelSize=2, stride=2, padding=0)',
        '  (4): Flatten(startDim=1, endDim=-1)',
        '  (5): Linear(inFeatures=64, outFeatures=2, bias=false)',
        ')',
      ].join('\n'),
    );
    expect(new nn.Sequential(new nn.Sequential(new nn.Tanh())).toString()).toBe('Sequential(\n  (0): Sequential(\n    (0): Tanh()\n  )\n)');
  });
});

describe('layers', () => {
  test('Linear, Conv2d shapes and dtype options', () => {
    const l = new nn.Linear(3, 5, { dtype: 'float64' });
    expect(l.weight.dtype).toBe('float64');
    expect(l.call(mg.zeros([7, 3], { dtype: 'float64' })).shape).toEqual([7, 5]);
    const c = new nn.Conv2d(4, 6, [3, 1], { stride: 2, groups: 2, bias: false });
    expect(c.weight.shape).toEqual([6, 2, 3, 1]);
    expect(c.bias).toBeNull();
    expect(c.parameters().length).toBe(1);
    expect(c.call(mg.zeros([1, 4, 9, 9])).shape).toEqual([1, 6, 4, 5]);
  });

  test('BatchNorm: batch statistics and running updates in training, running statistics in eval', () => {
    const bn = new nn.BatchNorm1d(2, { dtype: 'float64', momentum: 0.5 });
    const xs = [[1, 10], [3, 20], [5, 60]];
    const x = mg.tensor(xs, { dtype: 'float64' });
    const y = bn.call(x);
    const mean = [3, 30];
    const bvar = [8 / 3, ((20 * 20) + (10 * 10) + (30 * 30)) / 3];
    const uvar = [4, ((20 * 20) + (10 * 10) + (30 * 30)) / 2];
    const ref = xs.flatMap((r) => r.map((v, c) => (v - mean[c]) / Math.sqrt(bvar[c] + 1e-5)));
    expectClose(y, ref, { rtol: 1e-10 });
    expectClose(bn.runningMean!, [0.5 * 3, 0.5 * 30]);
    expectClose(bn.runningVar!, [0.5 + 0.5 * uvar[0], 0.5 + 0.5 * uvar[1]]);
    bn.eval();
    const rm = [1.5, 15];
    const rv = [0.5 + 0.5 * uvar[0], 0.5 + 0.5 * uvar[1]];
    expectClose(bn.call(x), xs.flatMap((r) => r.map((v, c) => (v - rm[c]) / Math.sqrt(rv[c] + 1e-5))), { rtol: 1e-10 });
    expect(bn.numBatchesTracked!.item()).toBe(1);
    // trackRunningStats: false uses batch statistics even in eval mode; momentum null averages
    const nb = new nn.BatchNorm1d(2, { dtype: 'float64', trackRunningStats: false, affine: false }).eval();
    expect(nb.parameters().length + nb.buffers().length).toBe(0);
    expectClose(nb.call(x), ref, { rtol: 1e-10 });
    const cma = new nn.BatchNorm1d(2, { dtype: 'float64', momentum: null });
    cma.call(x);
    cma.call(x.mul(2));
    expectClose(cma.runningMean!, [(3 + 6) / 2, (30 + 60) / 2]);
    expect(() => new nn.BatchNorm2d(2).call(mg.zeros([2, 2]))).toThrow(/BatchNorm2d: expected a 4-D input/);
  });

  test('pools, Flatten and activations', () => {
    const x = mg.arange(0, 32, 1, { dtype: 'float32' }).reshape([1, 2, 4, 4]);
    expect(new nn.MaxPool2d(2).call(x).toArray()).toEqual([[[[5, 7], [13, 15]], [[21, 23], [29, 31]]]]);
    expect(new nn.AvgPool2d(2).call(x).toArray()).toEqual([[[[2.5, 4.5], [10.5, 12.5]], [[18.5, 20.5], [26.5, 28.5]]]]);
    expect(new nn.Flatten().call(x).shape).toEqual([1, 32]);
    expect(new nn.Flatten(0, 1).call(x).shape).toEqual([2, 4, 4]);
    const v = mg.tensor([-1, 0, 2]);
    expect(new nn.ReLU().call(v).toArray()).toEqual([0, 0, 2]);
    expectClose(new nn.Tanh().call(v), [-1, 0, 2].map(Math.tanh));
    expectClose(new nn.Sigmoid().call(v), [-1, 0, 2].map((t) => 1 / (1 + Math.exp(-t))));
  });
});
