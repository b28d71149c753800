import type * as mg from '../../../src/index.js';

/**
 * The device the rows' constant tensors (made inside `fn`) are created on: 'cpu', except while
 * test/cuda/autograd.test.ts runs the rows on 'cuda'. Rows read it through `dev()`.
 */
export const caseDevice: { current: mg.Device } = { current: 'cpu' };
/** The device for constants made inside a row's `fn` (see {@link caseDevice}). */
export const dev = (): mg.Device => caseDevice.current;

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
