// Note [Op table]: one table drives the derivative checks of every op and composite: gradcheck
// (reverse and forward mode against central differences, in float64), gradgradcheck (second
// derivatives: double backward and forward-over-reverse) and the jvp/vjp identity
// <J t, u> = <t, J^T u> for random t, u. Rows live in ./cases/, one file per op family.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { prng } from '../helpers.js';
import type { OpCase } from './cases/types.js';
import { elementwiseCases } from './cases/elementwise.js';
import { reduceCases } from './cases/reduce.js';
import { movementCases } from './cases/movement.js';
import { matmulCases } from './cases/matmul.js';
import { nnCases } from './cases/nn.js';

const table: [string, OpCase[]][] = [
  ['elementwise', elementwiseCases],
  ['reduce', reduceCases],
  ['movement', movementCases],
  ['matmul', matmulCases],
  ['nn', nnCases],
];

function randomLike(t: mg.Tensor, seed: number): mg.Tensor {
  const r = prng(seed);
  return mg.tensor(Float64Array.from({ length: t.size }, () => r() * 2 - 1), { shape: t.shape, dtype: 'float64' });
}

function dotAll(a: readonly mg.Tensor[], b: readonly mg.Tensor[]): number {
  let s = 0;
  a.forEach((x, i) => {
    const xa = x.data();
    const xb = b[i].data();
    for (let k = 0; k < xa.length; k++) s += xa[k] * xb[k];
  });
  return s;
}

test('every op family has rows in the table', () => {
  for (const [family, cases] of table) expect(cases.length, family).toBeGreaterThan(0);
});

for (const [family, cases] of table) {
  describe(`op table: ${family}`, () => {
    for (const c of cases) {
      test(`${c.name}: gradcheck (vjp and jvp)`, () => {
        expect(mg.gradcheck(c.fn, c.inputs(), { atol: c.atol, rtol: c.rtol })).toBe(true);
      });
      test.skipIf(c.firstOrderOnly)(`${c.name}: gradgradcheck`, () => {
        expect(mg.gradgradcheck(c.fn, c.inputs(), { atol: c.atol ?? 1e-4, rtol: c.rtol })).toBe(true);
      });
      test(`${c.name}: <J t, u> = <t, J^T u>`, () => {
        const xs = c.inputs();
        const ts = xs.map((x, i) => randomLike(x, 100 + i));
        const [y, jt] = mg.jvp(c.fn, xs, ts);
        const u = randomLike(y, 7);
        const [, back] = mg.vjp(c.fn, xs);
        const jtu = back(u);
        const lhs = dotAll([jt], [u]);
        const rhs = dotAll(ts, jtu);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(lhs)));
      });
    }
  });
}
