// The autograd op table (test/autograd/ops.test.ts, rows in test/autograd/cases/) on CUDA: every row
// runs on the GPU from the same float64 inputs as on the CPU, and the value, the vector-Jacobian
// product, the Jacobian-vector product and (for rows with second derivatives) the Hessian-vector
// products of <f, u> in both modes must match the CPU's. The CPU results are themselves checked
// against finite differences by the op table, so this checks every derivative rule on CUDA.
// Rows make their constants on caseDevice.current (cases/types.ts). Skips without a GPU.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { prng } from '../helpers.js';
import type { OpCase } from '../autograd/cases/types.js';
import { caseDevice } from '../autograd/cases/types.js';
import { elementwiseCases } from '../autograd/cases/elementwise.js';
import { reduceCases } from '../autograd/cases/reduce.js';
import { movementCases } from '../autograd/cases/movement.js';
import { matmulCases } from '../autograd/cases/matmul.js';
import { nnCases } from '../autograd/cases/nn.js';

const gpu = mg.cuda.isAvailable();
if (!gpu) console.log(`test/cuda/autograd: skipped, no CUDA device found (CUDA backend compiled in: ${mg.cuda.isCompiled()})`);

const table: [string, OpCase[]][] = [
  ['elementwise', elementwiseCases],
  ['reduce', reduceCases],
  ['movement', movementCases],
  ['matmul', matmulCases],
  ['nn', nnCases],
];

function randomLike(shape: readonly number[], seed: number, device: mg.Device): mg.Tensor {
  const r = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return mg.tensor(Float64Array.from({ length: n }, () => r() * 2 - 1), { shape, dtype: 'float64', device });
}

/** Value, vjp, jvp and both HVPs of row `c` on `device`, as plain arrays. */
function evaluate(c: OpCase, device: mg.Device): { f64: boolean; v: number[] }[] {
  caseDevice.current = device;
  try {
    return mg.tidy(() => {
      const xs = c.inputs().map((x) => x.to(device));
      const ts = xs.map((x, i) => randomLike(x.shape, 100 + i, device));
      const y = c.fn(...xs);
      const u = randomLike(y.shape, 7, device);
      const [, back] = mg.vjp(c.fn, xs);
      const out: mg.Tensor[] = [y, ...back(u)];
      const [, jt] = mg.jvp(c.fn, xs, ts);
      out.push(jt);
      if (!c.firstOrderOnly) {
        const h = (...zs: mg.Tensor[]) => mg.sum(mg.mul(c.fn(...zs), u));
        out.push(...mg.hvp(h, xs, ts, { mode: 'fwd-rev' })[1], ...mg.hvp(h, xs, ts, { mode: 'rev-rev' })[1]);
      }
      for (const t of out) expect(t.device).toBe(device);
      return out.map((t) => ({ f64: t.dtype === 'float64', v: Array.from(t.data()) }));
    });
  } finally {
    caseDevice.current = 'cpu';
  }
}

describe.skipIf(!gpu)('autograd op table on cuda', () => {
  for (const [family, cases] of table) {
    describe(family, () => {
      for (const c of cases) {
        test(`${c.name}: value, vjp, jvp, hvp match the cpu`, () => {
          const want = evaluate(c, 'cpu');
          const got = evaluate(c, 'cuda');
          expect(got.length).toBe(want.length);
          want.forEach((w, k) => {
            expect(got[k].v.length).toBe(w.v.length);
            // float64 rows agree to rounding; the few float32 outputs (promotion rows) to float32's.
            const [rtol, atol] = w.f64 ? [1e-10, 1e-12] : [1e-5, 1e-6];
            w.v.forEach((b, i) => {
              const a = got[k].v[i];
              const ok = Number.isNaN(b) ? Number.isNaN(a) : Math.abs(a - b) <= rtol * Math.abs(b) + atol;
              if (!ok) expect(`${c.name} output ${k} element ${i}: cuda ${a} vs cpu ${b}`).toBe('within tolerance');
            });
          });
        });
      }
    });
  }

  test('memory returns to its baseline after the table', () => {
    const before = mg.memory().cuda;
    evaluate(nnCases[0], 'cuda');
    expect(mg.memory().cuda).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});
