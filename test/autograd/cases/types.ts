import type * as mg from '../../../src/index.js';

/** One row of the op table: a differentiable function and float64 inputs to check it at. */
export interface OpCase {
  /** Shown in test names, e.g. 'mul broadcast [2,3]x[3]'. */
  name: string;
  /** The function under test; it must be smooth (away from kinks) at the inputs. */
  fn: (...xs: mg.Tensor[]) => mg.Tensor;
  /** Fresh float64 inputs (called once per check). */
  inputs: () => mg.Tensor[];
  /** Skip the second-derivative check (say why in `why`). */
  firstOrderOnly?: boolean;
  why?: string;
  /** Looser tolerances for ill-conditioned cases. */
  atol?: number;
  rtol?: number;
}
