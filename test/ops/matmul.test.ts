import { afterAll, describe, expect, it } from 'vitest';
import * as mg from '../../src/index.js';
import { matmulT } from '../../src/ops/matmul.js';
import { expectClose, numel, randomTensor } from '../helpers.js';

type Operand = { v: number[]; shape: number[] };

/**
 * Plain triple-loop reference with numpy.matmul semantics, in float64 (int32 wraps like C).
 * `ta`/`tb` swap the last two dims of a >= 2-D operand before the product.
 */
function ref(a: Operand, b: Operand, ta = false, tb = false, int = false): Operand {
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const useTa = a.shape.length >= 2 && ta;
  const useTb = b.shape.length >= 2 && tb;
  const [ar, ac] = as.slice(-2);
  const [br, bc] = bs.slice(-2);
  const m = useTa ? ac : ar;
  const k = useTa ? ar : ac;
  const n = useTb ? br : bc;
  if ((useTb ? bc : br) !== k) throw new Error('ref: inner dims differ');
  const abat = as.slice(0, -2);
  const bbat = bs.slice(0, -2);
  const nb = Math.max(abat.length, bbat.length);
  const pa = [...Array(nb - abat.length).fill(1), ...abat];
  const pb = [...Array(nb - bbat.length).fill(1), ...bbat];
  const batch = pa.map((d, i) => (d === 1 ? pb[i] : d));
  const total = numel(batch);
  const out: number[] = new Array(total * m * n).fill(0);
  for (let t = 0; t < total; t++) {
    // Batch multi-index -> each operand's matrix index (size-1 dims broadcast).
    let rem = t;
    let ai = 0;
    let bi = 0;
    let amul = 1;
    let bmul = 1;
    for (let d = nb - 1; d >= 0; d--) {
      const idx = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      ai += (pa[d] === 1 ? 0 : idx) * amul;
      bi += (pb[d] === 1 ? 0 : idx) * bmul;
      amul *= pa[d];
      bmul *= pb[d];
    }
    const ao = ai * m * k;
    const bo = bi * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const x = a.v[ao + (useTa ? p * m + i : i * k + p)];
          const y = b.v[bo + (useTb ? j * k + p : p * n + j)];
          s = int ? (s + Math.imul(x, y)) | 0 : s + x * y;
        }
        out[t * m * n + i * n + j] = s;
      }
    }
  }
  const shape = [...batch];
  if (a.shape.length >= 2) shape.push(m);
  if (b.shape.length >= 2) shape.push(n);
  return { v: out, shape };
}

/** Float32 sums of k products carry rounding error growing with k; float64 far less. */
function tolFor(dtype: mg.DType, k: number): { rtol: number; atol: number } {
  if (dtype === 'int32') return { rtol: 0, atol: 0 };
  return dtype === 'float32' ? { rtol: 1e-5, atol: 2e-6 * Math.max(k, 1) } : { rtol: 1e-12, atol: 1e-13 * Math.max(k, 1) };
}

let seed = 100;
function check(ashape: number[], bshape: number[], dtype: mg.DType, ta = false, tb = false): void {
  const a = randomTensor(ashape, dtype, seed++);
  const b = randomTensor(bshape, dtype, seed++);
  const want = ref({ v: a.v, shape: ashape }, { v: b.v, shape: bshape }, ta, tb, dtype === 'int32');
  const got = ta || tb ? matmulT(a.t, b.t, ta, tb) : mg.matmul(a.t, b.t);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(dtype);
  const k = ashape.length === 1 ? ashape[0] : ta ? ashape[ashape.length - 2] : ashape[ashape.length - 1];
  expectClose(got, want.v, tolFor(dtype, k));
  a.t.dispose();
  b.t.dispose();
  got.dispose();
}

/** [m, k] or its transpose [k, m] when `t`. */
const mat = (r: number, c: number, t: boolean): number[] => (t ? [c, r] : [r, c]);

const best = mg.backend.cpuInfo().bestIsa;
const isas = (['base', 'avx2', 'avx512'] as const).filter((i) => i === 'base' || i === best || (i === 'avx2' && best === 'avx512'));
const originalIsa = mg.backend.cpuInfo().isa;
const originalThreads = mg.backend.cpuInfo().threads;
afterAll(() => {
  mg.backend.setCpuIsa(originalIsa);
  mg.backend.setNumThreads(originalThreads);
});

// Sizes hitting every ragged-tile case of the register tiles (MR 6/14, NR 4..32), the small
// (unpacked) path, the K/M blocking and the thread split.
const edge = [1, 3, 7, 11, 17, 27, 33, 65];
const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 7, 33], [33, 1, 7], [7, 33, 1], [3, 17, 65], [65, 3, 17], [17, 65, 3],
  [129, 129, 129], [10, 40, 40], [300, 200, 500], [97, 530, 45],
];

describe.each(isas)('matmul on %s', (isa) => {
  it('selects the instruction set', () => {
    expect(mg.backend.setCpuIsa(isa)).toBe(isa);
  });
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: edge sizes and blocked sizes`, () => {
      mg.backend.setCpuIsa(isa);
      for (const m of edge) for (const n of edge) check([m, 5], [5, n], dtype);
      for (const [m, k, n] of shapes) check([m, k], [k, n], dtype);
    });
    it(`${dtype}: every transpose combination, small and blocked paths`, () => {
      mg.backend.setCpuIsa(isa);
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const [m, k, n] of [[7, 17, 33], [13, 5, 9], [40, 270, 50], [130, 300, 90], [70, 520, 40]]) {
            check(mat(m, k, ta), mat(k, n, tb), dtype, ta, tb);
          }
        }
      }
    });
    it(`${dtype}: batched with broadcast batch dims`, () => {
      mg.backend.setCpuIsa(isa);
      check([2, 1, 3, 4], [5, 4, 6], dtype);
      check([25, 10, 40], [25, 40, 40], dtype); // task-batched MAML shape: parallel over the batch
      check([25, 10, 40], [40, 40], dtype);
      check([3, 90, 80], [1, 80, 100], dtype); // few big products: threaded GEMM per product
      check([2, 1, 3, 4], [3, 6], dtype, true, false);
      check([4, 3], [2, 3, 6, 4], dtype, true, true);
    });
  }
});

describe('matmul', () => {
  it('int32 matches exactly (wrapping on overflow)', () => {
    for (const [m, k, n] of [[1, 1, 1], [3, 7, 5], [17, 33, 9]]) check([m, k], [k, n], 'int32');
    check([2, 1, 3, 4], [5, 4, 6], 'int32');
    for (const ta of [false, true]) for (const tb of [false, true]) check(mat(5, 6, ta), mat(6, 7, tb), 'int32', ta, tb);
    const big = mg.tensor([[2 ** 30, 3]], { dtype: 'int32' });
    const four = mg.tensor([[4], [1]], { dtype: 'int32' });
    expect(Array.from(mg.matmul(big, four).data())).toEqual([3]); // 2^32 wraps to 0, plus 3
  });

  it('1-D operands are promoted and the added dim removed', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      check([4], [4, 6], dtype);
      check([5, 4], [4], dtype);
      check([4], [4], dtype);
      check([4], [2, 3, 4, 6], dtype);
      check([2, 5, 4], [4], dtype);
      check([4], [6, 4], dtype, true, true); // a vector's flag is ignored
    }
    const dot = mg.matmul(mg.tensor([1, 2, 3]), mg.tensor([4, 5, 6]));
    expect(dot.shape).toEqual([]);
    expect(dot.toArray()).toBe(32);
  });

  it('size-0 dims: k = 0 gives zeros, m or n = 0 gives empty results', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const z = mg.matmul(mg.rand([3, 0]).to(dtype), mg.rand([0, 4]).to(dtype));
      expect(z.shape).toEqual([3, 4]);
      expect(Array.from(z.data())).toEqual(new Array(12).fill(0));
      expect(mg.matmul(mg.rand([0, 5]).to(dtype), mg.rand([5, 4]).to(dtype)).shape).toEqual([0, 4]);
      expect(mg.matmul(mg.rand([3, 5]).to(dtype), mg.rand([5, 0]).to(dtype)).shape).toEqual([3, 0]);
      expect(mg.matmul(mg.rand([0, 3, 5]).to(dtype), mg.rand([2, 1, 5, 4]).to(dtype)).shape).toEqual([2, 0, 3, 4]);
      const zb = matmulT(mg.rand([2, 0, 3]).to(dtype), mg.rand([2, 4, 0]).to(dtype), true, true);
      expect(zb.shape).toEqual([2, 3, 4]);
      expect(Array.from(zb.data())).toEqual(new Array(24).fill(0));
    }
  });

  it('the thread split gives the same result for 1, 2 and 3 threads', () => {
    for (const t of [1, 2, 3]) {
      mg.backend.setNumThreads(t);
      check([130, 70], [70, 190], 'float32');
      check([190, 300], [300, 40], 'float64');
      check([8, 33, 20], [8, 20, 17], 'float32');
    }
    mg.backend.setNumThreads(originalThreads);
  });

  it('different dtypes promote', () => {
    const a = randomTensor([3, 4], 'float32', 1);
    const b = randomTensor([4, 2], 'float64', 2);
    const c = randomTensor([4, 2], 'int32', 3);
    const ab = mg.matmul(a.t, b.t);
    expect(ab.dtype).toBe('float64');
    expectClose(ab, ref({ v: a.v, shape: [3, 4] }, { v: b.v, shape: [4, 2] }).v);
    const ac = mg.matmul(a.t, c.t);
    expect(ac.dtype).toBe('float32');
    expectClose(ac, ref({ v: a.v, shape: [3, 4] }, { v: c.v, shape: [4, 2] }).v, { rtol: 1e-5, atol: 1e-5 });
  });

  it('throws for incompatible shapes, 0-d operands and disposed inputs', () => {
    expect(() => mg.matmul(mg.rand([2, 3]), mg.rand([4, 5]))).toThrow('matmul: shapes [2,3] and [4,5] are not compatible');
    expect(() => mg.matmul(mg.rand([3]), mg.rand([4]))).toThrow('matmul: shapes [3] and [4] are not compatible');
    expect(() => mg.matmul(mg.rand([2, 2, 3]), mg.rand([3, 3, 4]))).toThrow('matmul: shapes [2,2,3] and [3,3,4] are not compatible');
    expect(() => matmulT(mg.rand([2, 3]), mg.rand([2, 3]), false, false)).toThrow('matmulT: shapes [2,3] and [2,3] are not compatible');
    expect(() => mg.matmul(mg.tensor(3), mg.rand([2, 2]))).toThrow(/matmul: .*0-d/);
    expect(() => mg.matmul(mg.rand([2, 2]), mg.tensor(3))).toThrow(/matmul: .*0-d/);
    const d = mg.rand([2, 2]);
    d.dispose();
    expect(() => mg.matmul(d, mg.rand([2, 2]))).toThrow(/matmul: .*disposed/);
    expect(() => mg.matmul(mg.rand([2, 2], { dtype: 'float64' }), d)).toThrow(/matmul: .*disposed/);
  });
});
