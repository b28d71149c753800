/**
 * Late-bound hooks from the autograd layer into Tensor (tensor/ sits below autograd/). This module
 * imports nothing, so it is initialised before either side whatever the import order.
 */
import type { Tensor } from './tensor.js';

export const hooks: {
  /** Drops a disposed tensor's forward-mode tangents (autograd/record.ts). */
  tangentCleanup: ((t: Tensor) => void) | null;
  /** Tensor.backward (autograd/engine.ts). */
  backward: ((t: Tensor, g: Tensor | null | undefined, o: { createGraph?: boolean; retainGraph?: boolean }) => void) | null;
} = { tangentCleanup: null, backward: null };
