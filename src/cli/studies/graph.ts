/** Helpers for studies that differentiate one graph several times. */
import * as mg from '../../index.js';

/**
 * Frees a graph that was differentiated with `retainGraph: true`: one last backward pass without
 * it, from every tensor in `outputs` (the losses, the gradients made with `createGraph` and any
 * other ends of the graph) to `inputs`, frees every node on the way, so the tensors the nodes saved
 * are disposed now rather than by the garbage-collection backstop (Note [Saved tensors] in
 * src/autograd/record.ts). Outputs that do not require grad are skipped. Call it inside the
 * `mg.tidy` that made the graph, when no more gradients of it are needed.
 */
export function releaseGraph(outputs: readonly (mg.Tensor | null)[], inputs: readonly mg.Tensor[]): void {
  mg.tidy(() => {
    const live = outputs.filter((t): t is mg.Tensor => t !== null && t.requiresGrad);
    if (live.length === 0) return;
    const total = live.map((t) => t.sum()).reduce((a, b) => a.add(b));
    mg.grad(total, inputs, { allowUnused: true });
  });
}
