/**
 * `mg.nn`: neural-network building blocks: the {@link Module} base class with named parameters
 * and buffers, layers with PyTorch's default initialisations, {@link functionalCall} for running
 * a module with substitute (e.g. task-adapted) parameters, `init` and `functional`.
 *
 * ```ts
 * const { nn } = mg, F = mg.nn.functional;
 * const model = new nn.Sequential(new nn.Linear(1, 40), new nn.ReLU(), new nn.Linear(40, 1));
 * model.call(x);                                   // JavaScript has no __call__: call() runs forward()
 * model.namedParameters();                         // [['0.weight', W0], ['0.bias', b0], ['2.weight', ...], ...]
 * // one MAML inner step, second order:
 * const params = model.parameters();
 * const grads = mg.grad(F.mseLoss(nn.functionalCall(model, params, xs), ys), params, { createGraph: true });
 * const adapted = params.map((p, i) => p.sub(grads[i]!.mul(0.01)));
 * const metaLoss = F.mseLoss(nn.functionalCall(model, adapted, xq), yq);
 * ```
 *
 * Custom modules register their members explicitly (Note [Registration] in module.ts):
 * `this.registerParameter(name, tensor)`, `this.registerBuffer(name, tensor)`,
 * `this.registerModule(name, child)`; each defines `this[name]` and returns its argument.
 */
export * as functional from './functional.js';
export * as init from './init.js';
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type RegisterParameterOptions } from './module.js';
export { functionalCall, type ParameterOverrides } from './functional_call.js';
export {
  Linear, Conv2d, BatchNormBase, BatchNorm1d, BatchNorm2d, MaxPool2d, AvgPool2d, Flatten, ReLU, Tanh, Sigmoid, Identity, Sequential,
  type LinearOptions, type Conv2dLayerOptions, type BatchNormLayerOptions, type ParameterOptions,
} from './layers.js';
export {
  Conv4, MetaBatchNorm2d, type Conv4Options, type MetaBatchNormOptions, type StepForwardOptions,
} from './models/conv4.js';
