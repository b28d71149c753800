/**
 * Finite-difference checks of derivatives, in float64: `gradcheck` compares the Jacobian from
 * reverse mode (vjp) and from forward mode (jvp) with central differences; `gradgradcheck` does
 * the same for the gradient itself (second derivatives, both reverse-over-reverse and
 * forward-over-reverse). Both throw a readable report on failure.
 */
import { jacobian, vjp } from './functional.js';
import { enableGrad, noGrad } from './engine.js';
import { cat } from '../ops/movement.js';
import { prngNormal } from './random_vectors.js';
import { tensor } from '../tensor/creation.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link gradcheck} and {@link gradgradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step. Default 1e-6. */
  eps?: number;
  /** Absolute tolerance. Default 1e-5. */
  atol?: number;
  /** Relative tolerance. Default 1e-3. */
  rtol?: number;
  /** Also check forward mode (jvp). Default true. */
  checkForward?: boolean;
  /** Also check reverse mode (vjp). Default true. */
  checkReverse?: boolean;
}

type Fn = (...xs: Tensor[]) => Tensor;

function flat(t: Tensor): Float64Array {
  return Float64Array.from(t.data());
}

/** The numerical Jacobian of f w.r.t. input i, as rows [outElem][inElem]. */
function numerical(f: Fn, inputs: Tensor[], i: number, eps: number): { J: Float64Array[]; m: number } {
  const x = inputs[i];
  const base = flat(x);
  const cols: Float64Array[] = [];
  let m = 0;
  for (let j = 0; j < base.length; j++) {
    const eval_ = (delta: number) => {
      const d = base.slice();
      d[j] += delta;
      const xs = inputs.slice();
      xs[i] = tensor(d, { shape: x.shape, dtype: 'float64', device: x.device });
      // Not noGrad: gradgradcheck's f runs a vjp inside, which needs recording to be on.
      const y = enableGrad(() => f(...xs));
      const v = flat(y);
      xs[i].dispose();
      y.dispose();
      return v;
    };
    const plus = eval_(eps);
    const minus = eval_(-eps);
    m = plus.length;
    cols.push(plus.map((p, k) => (p - minus[k]) / (2 * eps)));
  }
  const J = Array.from({ length: m }, (_, k) => Float64Array.from(cols, (c) => c[k]));
  return { J, m };
}

/**
 * Checks `f`'s first derivatives at `inputs` (float64 tensors) against central differences.
 * Returns true, or throws an Error listing the worst mismatches.
 */
export function gradcheck(f: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, checkForward = true, checkReverse = true } = opts;
  const xs = [...inputs];
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`gradcheck: input ${i} is not a tensor`);
    if (x.dtype !== 'float64') throw new Error(`gradcheck: input ${i} is ${x.dtype}; finite differences need float64 inputs`);
  });
  const problems: string[] = [];
  const modes: ('rev' | 'fwd')[] = [];
  if (checkReverse) modes.push('rev');
  if (checkForward) modes.push('fwd');
  for (const mode of modes) {
    const J = jacobian(f, xs, { mode }) as Tensor[];
    xs.forEach((x, i) => {
      const num = numerical(f, xs, i, eps);
      const an = flat(J[i]);
      const n = x.size;
      for (let k = 0; k < num.m; k++) {
        for (let j = 0; j < n; j++) {
          const a = an[k * n + j];
          const b = num.J[k][j];
          if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
            problems.push(`${mode === 'rev' ? 'reverse (vjp)' : 'forward (jvp)'}: d out[${k}] / d input${i}[${j}] = ${a}, numerical ${b}`);
          }
        }
      }
    });
  }
  if (problems.length) {
    const shown = problems.slice(0, 12).join('\n  ');
    throw new Error(`gradcheck: ${problems.length} Jacobian entries differ from finite differences (inputs ${xs.map((x) => fmt(x.shape)).join(', ')}; eps ${eps}, atol ${atol}, rtol ${rtol}):\n  ${shown}${problems.length > 12 ? '\n  ...' : ''}`);
  }
  return true;
}

/**
 * Checks `f`'s second derivatives: gradcheck of `(xs, v) => vjp(f, xs)(v)` for a random
 * cotangent `v` (or `gradOutputs`), which exercises double backward and forward-over-reverse.
 */
export function gradgradcheck(f: Fn, inputs: readonly Tensor[], opts: GradcheckOptions & { gradOutputs?: Tensor; seed?: number } = {}): true {
  const xs = [...inputs];
  const y = noGrad(() => f(...xs));
  const v = opts.gradOutputs ?? prngNormal(y.shape, opts.seed ?? 1);
  y.dispose();
  const n = xs.length;
  const h: Fn = (...args: Tensor[]) => {
    const [, back] = vjp(f, args.slice(0, n));
    const gs = back(args[n]);
    return cat(gs.map((g) => g.reshape([-1])), 0);
  };
  try {
    return gradcheck(h, [...xs, v], opts);
  } catch (e) {
    throw new Error((e as Error).message.replace(/^gradcheck:/, 'gradgradcheck (second derivatives):'));
  }
}
