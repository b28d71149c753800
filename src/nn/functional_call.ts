/**
 * `functionalCall`: run a module with parameters (and buffers) it does not own, the way a MAML
 * inner loop needs (Note [Functional call] in module.ts).
 */
import { fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Module, type Slot } from './module.js';

/**
 * The substitute tensors: an array in `module.parameters()` order (all of them), or a Map or
 * plain object keyed by `namedParameters()` / `namedBuffers()` names (any subset: the rest stay
 * the module's own).
 */
export type ParameterOverrides = readonly Tensor[] | ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/**
 * Runs `module.forward(...inputs)` with the given tensors in place of the module's parameters
 * (and, if named, buffers), without copying anything: the result is differentiable with respect
 * to the given tensors, to any order, and the module's own parameters take no part. The module's
 * tensors are restored afterwards, even if `forward` throws; calls nest, and children
 * (`Sequential`, custom modules) are covered since the names are dotted paths.
 *
 * A MAML inner step:
 * ```ts
 * let params = model.parameters();
 * const loss = F.mseLoss(functionalCall(model, params, xs), ys);
 * const grads = mg.grad(loss, params, { createGraph: true });
 * params = params.map((p, i) => p.sub(grads[i]!.mul(innerLr)));
 * const queryLoss = F.mseLoss(functionalCall(model, params, xq), yq); // differentiable to the meta-parameters
 * ```
 *
 * Batch norm follows the module's mode: in training mode it normalises with the batch's
 * statistics (and updates the running statistics in place: the given buffers if any, else the
 * module's own, outside autograd). Do not switch a meta-learner to `eval()` for adaptation:
 * running statistics never saw the adapted parameters (the higher#55 trap).
 */
export function functionalCall<In extends unknown[], Out>(module: Module<In, Out>, params: ParameterOverrides, ...inputs: In): Out {
  if (!(module instanceof Module)) throw new Error('functionalCall: the first argument must be a Module');
  const slots = module._slots();
  const subst = new Map<Tensor, Tensor>(); // the module's tensor -> its substitute
  const setSub = (own: Tensor, t: unknown, what: string) => {
    if (!(t instanceof Tensor)) throw new Error(`functionalCall: ${what} is not a tensor`);
    if (!sameShape(own.shape, t.shape)) throw new Error(`functionalCall: ${what} has shape ${fmt(t.shape)} but the module's is ${fmt(own.shape)}`);
    subst.set(own, t);
  };
  if (Array.isArray(params)) {
    const named = module.namedParameters();
    if (params.length !== named.length) {
      throw new Error(`functionalCall: got ${params.length} tensors for the ${named.length} parameters of ${module.constructor.name} (${named.map(([n]) => n).join(', ')})`);
    }
    named.forEach(([n, own], i) => setSub(own, params[i], `parameter ${i} ('${n}')`));
  } else if (params !== null && typeof params === 'object') {
    const byName = new Map<string, Tensor>();
    for (const s of slots) if (!byName.has(s.fullName)) byName.set(s.fullName, s.tensor);
    const entries = params instanceof Map ? [...params.entries()] : Object.entries(params as Record<string, Tensor>);
    const unknown = entries.map(([k]) => k).filter((k) => !byName.has(k));
    if (unknown.length) {
      throw new Error(`functionalCall: ${module.constructor.name} has no parameter or buffer named ${unknown.map((k) => `'${k}'`).join(', ')} (it has ${[...byName.keys()].join(', ')})`);
    }
    for (const [k, t] of entries) setSub(byName.get(k)!, t, `'${k}'`);
  } else {
    throw new Error('functionalCall: params must be an array of tensors, a Map or an object keyed by parameter names');
  }

  // Swap every slot holding a substituted tensor (tied weights included), then restore.
  const swapped: [Slot, Tensor, boolean][] = [];
  try {
    for (const s of slots) {
      const t = subst.get(s.tensor);
      if (t === undefined || t === s.tensor) continue;
      swapped.push([s, s.tensor, swap(s, s.tensor, t)]);
    }
    return module.forward(...inputs);
  } finally {
    for (let i = swapped.length - 1; i >= 0; i--) {
      const [s, own, plain] = swapped[i];
      const map = s.kind === 'parameter' ? s.module._parameters : s.module._buffers;
      map.set(s.name, own);
      if (plain) (s.module as unknown as Record<string, unknown>)[s.name] = own;
    }
  }
}

/**
 * Puts `t` in place of `own` in the slot's registry; also in a plain own property of that name
 * holding `own` (a class field initialised with `registerParameter`'s result). Returns whether
 * it did the latter.
 */
function swap(s: Slot, own: Tensor, t: Tensor): boolean {
  const map = s.kind === 'parameter' ? s.module._parameters : s.module._buffers;
  map.set(s.name, t);
  const d = Object.getOwnPropertyDescriptor(s.module, s.name);
  if (d && 'value' in d && d.value === own && d.writable) {
    (s.module as unknown as Record<string, unknown>)[s.name] = t;
    return true;
  }
  return false;
}
