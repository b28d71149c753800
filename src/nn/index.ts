/**
 * `mg.nn`: neural-network building blocks: the {@link Module} base class with named parameters
 * and buffers, layers with PyTorch's default initialisations, {@link functionalCall} for running
 * a module with substitute (e.g. task-adapted) parameters, `init` and `functional`.
 */
export * as functional from './functional.js';
export * as init from './init.js';
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type RegisterParameterOptions } from './module.js';
export { functionalCall, type ParameterOverrides } from './functional_call.js';
export {
  Linear, Conv2d, BatchNormBase, BatchNorm1d, BatchNorm2d, MaxPool2d, AvgPool2d, Flatten, ReLU, Tanh, Sigmoid, Identity, Sequential,
  type LinearOptions, type Conv2dLayerOptions, type BatchNormLayerOptions, type ParameterOptions,
} from './layers.js';
