/**
 * `mg.nn.functional`: neural-network ops with PyTorch's layouts (NCHW images, linear weight
 * [out, in], conv weight [out, in/groups, kh, kw]). Kernel-backed ops are re-exported from ops/;
 * the losses, linear and batch norm are compositions of primitives (so autograd needs no rules
 * of their own).
 */
import { matmulT } from '../ops/matmul.js';
import { gather, stack } from '../ops/movement.js';
import { noGrad } from '../autograd/engine.js';
import { zerosLike } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { logSoftmax } from '../ops/softmax.js';
import { batchNormTrain } from '../ops/batchnorm.js';
import { copy_ } from '../ops/inplace.js';
import { checkOptions, fmt } from '../tensor/shape.js';
import { checkTensorArg, Tensor } from '../tensor/tensor.js';
import { publicOp } from '../tensor/public_op.js';

export { conv2d, type Conv2dOptions } from '../ops/conv.js';
export { maxPool2d, avgPool2d, type Pool2dOptions } from '../ops/pool.js';
export { softmax, logSoftmax } from '../ops/softmax.js';

/** How a loss reduces over elements. */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
}

function reduce(loss: Tensor, r: Reduction): Tensor {
  return r === 'mean' ? loss.mean() : r === 'sum' ? loss.sum() : loss;
}

/** `x @ weight^T + bias` with weight [out, in] (x may have any leading dims). */
export const linear = publicOp('linear', function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensorArg('linear', 'input', x);
  checkTensorArg('linear', 'weight', weight);
  if (bias !== undefined && bias !== null) checkTensorArg('linear', 'bias', bias);
  if (weight.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${fmt(weight.shape)}`);
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${fmt(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${fmt(weight.shape)} expects ${weight.shape[1]}`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias ${fmt(bias.shape)} must be [${weight.shape[0]}] for weight ${fmt(weight.shape)}`);
  }
  const y = matmulT(x, weight, false, true);
  return bias ? y.add(bias) : y;
});

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Per-channel scale (gamma), shape [C]. */
  weight?: Tensor | null;
  /** Per-channel shift (beta), shape [C]. */
  bias?: Tensor | null;
  /** Normalise with the batch's statistics (and update the running ones); default false. */
  training?: boolean;
  /** Running-statistics update rate: running = (1 - momentum) * running + momentum * batch. Default 0.1. */
  momentum?: number;
  /** Added to the variance; default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation over the channel axis 1 of [N, C, ...] (torch.nn.functional.batch_norm).
 * In training mode it normalises with the batch mean and biased variance and, when running
 * statistics are given, updates them in place (the variance with the unbiased estimate, as
 * PyTorch does). In eval mode it uses the running statistics.
 */
export const batchNorm = publicOp('batchNorm', function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  checkTensorArg('batchNorm', 'input', x);
  checkOptions('batchNorm', opts);
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = opts ?? {};
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t !== null && t !== undefined) checkTensorArg('batchNorm', name, t);
  }
  if (x.ndim < 2) throw new Error(`batchNorm: input must be [N, C, ...], got ${fmt(x.shape)}`);
  const C = x.shape[1];
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) throw new Error(`batchNorm: ${name} ${fmt(t.shape)} must be [${C}] for input ${fmt(x.shape)}`);
  }
  const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const bshape = [1, C, ...new Array(x.ndim - 2).fill(1)];
  let mean: Tensor, variance: Tensor;
  if (training && x.device === 'cpu') {
    // One fused kernel with fused derivative rules (ops/batchnorm.ts); the running statistics
    // are updated outside the graph.
    const count = x.size / C;
    if (count <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input ${fmt(x.shape)}`);
    if (runningMean && runningVar) {
      noGrad(() => {
        const m = x.detach().mean(axes, true);
        const v = x.detach().sub(m).square().mean(axes);
        copy_(runningMean, runningMean.mul(1 - momentum).add(m.reshape([C]).mul(momentum)));
        copy_(runningVar, runningVar.mul(1 - momentum).add(v.mul((momentum * count) / (count - 1))));
      });
    }
    return batchNormTrain(x, weight, bias, eps);
  }
  if (training) {
    const count = x.size / C;
    if (count <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input ${fmt(x.shape)}`);
    mean = x.mean(axes, true);
    variance = x.sub(mean).square().mean(axes, true);
    if (runningMean && runningVar) {
      copy_(runningMean, runningMean.mul(1 - momentum).add(mean.reshape([C]).detach().mul(momentum)));
      copy_(runningVar, runningVar.mul(1 - momentum).add(variance.reshape([C]).detach().mul((momentum * count) / (count - 1))));
    }
  } else {
    if (!runningMean || !runningVar) throw new Error('batchNorm: eval mode needs runningMean and runningVar (or pass training: true)');
    mean = runningMean.reshape(bshape);
    variance = runningVar.reshape(bshape);
  }
  let y = x.sub(mean).div(variance.add(eps).sqrt());
  if (weight) y = y.mul(weight.reshape(bshape));
  if (bias) y = y.add(bias.reshape(bshape));
  return y;
});

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C. Default 0. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C] (or [N, C, d1, ...]) against int32 class indices [N] (or
 * [N, d1, ...]), or against class probabilities with the logits' shape (torch semantics).
 */
export const crossEntropy = publicOp('crossEntropy', function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkTensorArg('crossEntropy', 'logits', logits);
  checkTensorArg('crossEntropy', 'target', target);
  checkOptions('crossEntropy', opts);
  const { reduction = 'mean', labelSmoothing = 0 } = opts ?? {};
  checkReduction('crossEntropy', reduction);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  if (logits.ndim < 1 || logits.dtype === 'int32') throw new Error(`crossEntropy: logits must be floating point [N, C, ...], got ${logits.dtype} ${fmt(logits.shape)}`);
  const classAxis = logits.ndim === 1 ? 0 : 1;
  const C = logits.shape[classAxis];
  const lsm = logSoftmax(logits, classAxis);
  let loss: Tensor;
  if (target.dtype === 'int32') {
    const want = logits.shape.filter((_, i) => i !== classAxis);
    if (target.ndim !== want.length || target.shape.some((d, i) => d !== want[i])) {
      throw new Error(`crossEntropy: target ${fmt(target.shape)} must be ${fmt(want)} for logits ${fmt(logits.shape)}`);
    }
    let picked: Tensor;
    try {
      picked = gather(lsm, classAxis, target.unsqueeze(classAxis));
    } catch (e) {
      throw new Error(`crossEntropy: target holds a class outside [0, ${C}) (${(e as Error).message})`);
    }
    loss = picked.squeeze(classAxis).neg();
    if (labelSmoothing > 0) loss = loss.mul(1 - labelSmoothing).sub(lsm.mean(classAxis).mul(labelSmoothing));
  } else {
    if (target.ndim !== logits.ndim || target.shape.some((d, i) => d !== logits.shape[i])) {
      throw new Error(`crossEntropy: probability target ${fmt(target.shape)} must match logits ${fmt(logits.shape)}`);
    }
    const p = labelSmoothing > 0 ? target.mul(1 - labelSmoothing).add(labelSmoothing / C) : target;
    loss = p.mul(lsm).sum(classAxis).neg();
  }
  return reduce(loss, reduction);
});

/** Mean squared error (or its sum, or elementwise with 'none'); shapes broadcast. */
export const mseLoss = publicOp('mseLoss', function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkTensorArg('mseLoss', 'input', input);
  checkTensorArg('mseLoss', 'target', target);
  checkOptions('mseLoss', opts);
  const { reduction = 'mean' } = opts ?? {};
  checkReduction('mseLoss', reduction);
  return reduce(input.sub(target).square(), reduction);
});

/**
 * `log(1 + exp(x))` computed stably as `logsumexp([0, x])`: smooth everywhere (its derivative is
 * `sigmoid(x)` exactly, also at 0, where `relu(x) + log(1 + exp(-|x|))` would hit the kinks of
 * relu and abs and give a wrong subgradient), and finite for any |x|.
 */
export const softplus = publicOp('softplus', function softplus(x: Tensor): Tensor {
  checkTensorArg('softplus', 'x', x);
  return stack([zerosLike(x), x], -1).logsumexp(-1);
});

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions {
  reduction?: Reduction;
  /** Weight of the positive term, broadcast against the logits (e.g. [C] for [N, C] logits): > 1 raises recall. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy of logits `x` against targets `t` in [0, 1] of the same shape
 * (torch.nn.functional.binary_cross_entropy_with_logits):
 * `-[p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]`, computed stably as
 * `(1 - t) x + (1 + (p - 1) t) softplus(-x)`, which with p = 1 is
 * `max(x, 0) - x t + log(1 + exp(-|x|))`. Built from differentiable ops, so it has gradients of
 * any order, to the target as well. Finite for any |x|; accurate to rounding of max(|x|, 1) in
 * absolute terms (a loss below that, e.g. e^-100 for x = 100, t = 1, comes out as 0: there is
 * no log1p primitive).
 */
export const binaryCrossEntropyWithLogits = publicOp('binaryCrossEntropyWithLogits', function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  checkTensorArg('binaryCrossEntropyWithLogits', 'logits', logits);
  checkTensorArg('binaryCrossEntropyWithLogits', 'target', target);
  checkOptions('binaryCrossEntropyWithLogits', opts);
  const { reduction = 'mean', posWeight = null } = opts ?? {};
  if (posWeight !== null && posWeight !== undefined) checkTensorArg('binaryCrossEntropyWithLogits', 'posWeight', posWeight);
  checkReduction('binaryCrossEntropyWithLogits', reduction);
  if (logits.dtype === 'int32') throw new Error('binaryCrossEntropyWithLogits: logits must be floating point, got int32');
  if (logits.ndim !== target.ndim || logits.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`binaryCrossEntropyWithLogits: target ${fmt(target.shape)} must have the logits' shape ${fmt(logits.shape)}`);
  }
  const t = target.dtype === logits.dtype ? target : target.to(logits.dtype);
  let loss: Tensor;
  if (posWeight) {
    const logWeight = posWeight.sub(1).mul(t).add(1);
    loss = t.neg().add(1).mul(logits).add(logWeight.mul(softplus(logits.neg())));
  } else {
    loss = softplus(logits).sub(logits.mul(t));
  }
  return reduce(loss, reduction);
});

/**
 * Fraction of correct predictions: the argmax of `logits` over the class axis (1 for [N, C, ...],
 * 0 for a single [C] vector) against int32 `labels` ([N, ...]). Returns a number in [0, 1];
 * not differentiable (a metric).
 */
export const accuracy = publicOp('accuracy', function accuracy(logits: Tensor, labels: Tensor): number {
  checkTensorArg('accuracy', 'logits', logits);
  checkTensorArg('accuracy', 'labels', labels);
  if (labels.dtype !== 'int32') throw new Error(`accuracy: labels must be int32 class indices, got ${labels.dtype}`);
  const classAxis = logits.ndim === 1 ? 0 : 1;
  const want = logits.shape.filter((_, i) => i !== classAxis);
  if (labels.ndim !== want.length || labels.shape.some((d, i) => d !== want[i])) {
    throw new Error(`accuracy: labels ${fmt(labels.shape)} must be ${fmt(want)} for logits ${fmt(logits.shape)}`);
  }
  if (labels.size === 0) throw new Error('accuracy: no labels');
  return noGrad(() => tidy(() => logits.argmax(classAxis).eq(labels).sum().item())) / labels.size;
});
