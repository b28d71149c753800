/**
 * Learning-rate schedules (torch.optim.lr_scheduler semantics, closed forms): a scheduler sets
 * each group's `lr` from its base learning rate and the number of `step()` calls so far. Call
 * `scheduler.step()` after `optimizer.step()`. The same schedules are available as pure functions
 * of the step (`stepLrAt`, `cosineAnnealingLrAt`, `linearLrAt`, `warmupCosineLrAt`).
 */
import type { BaseGroupOptions } from './optimizer.js';

/** What a scheduler needs of an optimizer: its parameter groups' learning rates. */
export interface LrOptimizer {
  readonly paramGroups: BaseGroupOptions[];
}

/** A scheduler's state for resuming: the step count and the base learning rates. */
export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
}

function checkStep(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`${op}: step must be an integer >= 0, got ${String(step)}`);
}
function checkPos(op: string, name: string, v: unknown, integer = false): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new Error(`${op}: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
}

/** Options of {@link StepLR} and {@link stepLrAt}. */
export interface StepLROptions {
  /** Decay the lr every `stepSize` steps. */
  stepSize: number;
  /** Multiplicative factor of each decay. Default 0.1. */
  gamma?: number;
}
/** StepLR's closed form: baseLr * gamma^floor(step / stepSize). */
export function stepLrAt(step: number, baseLr: number, opts: StepLROptions): number {
  checkStep('stepLrAt', step);
  checkPos('stepLrAt', 'stepSize', opts.stepSize, true);
  return baseLr * (opts.gamma ?? 0.1) ** Math.floor(step / opts.stepSize);
}

/** Options of {@link CosineAnnealingLR} and {@link cosineAnnealingLrAt}. */
export interface CosineAnnealingLROptions {
  /** Half-period, in steps: the lr reaches `etaMin` at step tMax. */
  tMax: number;
  /** The minimum lr. Default 0. */
  etaMin?: number;
}
/**
 * CosineAnnealingLR's closed form: etaMin + (baseLr - etaMin) * (1 + cos(pi * step / tMax)) / 2
 * (past tMax it rises again, as PyTorch's closed form does).
 */
export function cosineAnnealingLrAt(step: number, baseLr: number, opts: CosineAnnealingLROptions): number {
  checkStep('cosineAnnealingLrAt', step);
  checkPos('cosineAnnealingLrAt', 'tMax', opts.tMax);
  const etaMin = opts.etaMin ?? 0;
  return etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * step) / opts.tMax))) / 2;
}

/** Options of {@link LinearLR} and {@link linearLrAt}. */
export interface LinearLROptions {
  /** Factor of the base lr at step 0. Default 1/3. */
  startFactor?: number;
  /** Factor reached at step `totalIters` and kept afterwards. Default 1. */
  endFactor?: number;
  /** Steps of the linear ramp. Default 5. */
  totalIters?: number;
}
/** LinearLR's closed form: baseLr * (start + (end - start) * min(step, totalIters) / totalIters). */
export function linearLrAt(step: number, baseLr: number, opts: LinearLROptions = {}): number {
  checkStep('linearLrAt', step);
  const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = opts;
  checkPos('linearLrAt', 'totalIters', totalIters, true);
  return baseLr * (startFactor + ((endFactor - startFactor) * Math.min(step, totalIters)) / totalIters);
}

/** Options of {@link warmupCosine} and {@link warmupCosineLrAt}. */
export interface WarmupCosineOptions {
  /** Steps of the linear warm-up from startFactor*baseLr to baseLr. */
  warmupSteps: number;
  /** Total steps: the cosine phase lasts totalSteps - warmupSteps and ends at etaMin. */
  totalSteps: number;
  /** Factor of the base lr at step 0. Default 1/3 (as LinearLR). */
  startFactor?: number;
  /** The final lr. Default 0. */
  etaMin?: number;
}
/**
 * Linear warm-up then cosine annealing (SequentialLR of LinearLR and CosineAnnealingLR with the
 * milestone at warmupSteps): linearLrAt(step) before warmupSteps, then
 * cosineAnnealingLrAt(step - warmupSteps, tMax = totalSteps - warmupSteps).
 */
export function warmupCosineLrAt(step: number, baseLr: number, opts: WarmupCosineOptions): number {
  checkStep('warmupCosineLrAt', step);
  const { warmupSteps, totalSteps, startFactor = 1 / 3, etaMin = 0 } = opts;
  checkPos('warmupCosineLrAt', 'warmupSteps', warmupSteps, true);
  if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) throw new Error(`warmupCosineLrAt: totalSteps must be an integer > warmupSteps (${warmupSteps}), got ${String(totalSteps)}`);
  if (step < warmupSteps) return linearLrAt(step, baseLr, { startFactor, endFactor: 1, totalIters: warmupSteps });
  return cosineAnnealingLrAt(step - warmupSteps, baseLr, { tMax: totalSteps - warmupSteps, etaMin });
}

/**
 * Base class of the schedulers. At construction each group's `initialLr` is set (if no earlier
 * scheduler set it) to its current `lr`, which becomes the base lr, and the lr is set to the
 * schedule's value at step 0; each `step()` advances one step.
 */
export abstract class LRScheduler {
  /** Steps taken (0 after construction). */
  lastEpoch = 0;
  /** The base lr of each group (its `initialLr`). */
  baseLrs: number[];
  private lastLr: number[] = [];

  /** @param optimizer any optimizer of `mg.optim` (or an object with `paramGroups`) */
  constructor(readonly optimizer: LrOptimizer) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new Error(`${this.constructor.name}: expected an optimizer`);
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }

  /** The schedule: the lr at `step` for a group whose base lr is `baseLr`. */
  abstract lrAt(step: number, baseLr: number): number;

  /** @internal Sets every group's lr to the schedule's value at `lastEpoch`. */
  protected apply(): void {
    this.lastLr = this.baseLrs.map((b, i) => {
      const lr = this.lrAt(this.lastEpoch, b);
      this.optimizer.paramGroups[i].lr = lr;
      return lr;
    });
  }

  /** Advances one step and sets the groups' learning rates. Call it after `optimizer.step()`. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The learning rates this scheduler last set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The step count and base learning rates, for {@link loadStateDict}. */
  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores a state from {@link stateDict} and sets the learning rates for it. */
  loadStateDict(sd: SchedulerStateDict): void {
    if (!sd || !Number.isInteger(sd.lastEpoch) || sd.lastEpoch < 0 || !Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.baseLrs.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: expected { lastEpoch, baseLrs } with ${this.baseLrs.length} base learning rates`);
    }
    this.lastEpoch = sd.lastEpoch;
    this.baseLrs = [...sd.baseLrs];
    this.apply();
  }
}

/** Multiplies the lr by `gamma` every `stepSize` steps (torch StepLR): lr = baseLr * gamma^floor(t / stepSize). */
export class StepLR extends LRScheduler {
  private readonly opts: StepLROptions;
  constructor(optimizer: LrOptimizer, opts: StepLROptions) {
    super(optimizer);
    checkPos('StepLR', 'stepSize', opts?.stepSize, true);
    this.opts = { stepSize: opts.stepSize, gamma: opts.gamma ?? 0.1 };
    this.apply();
  }
  override lrAt(step: number, baseLr: number): number {
    return stepLrAt(step, baseLr, this.opts);
  }
}

/** Cosine annealing from the base lr to `etaMin` over `tMax` steps (torch CosineAnnealingLR, closed form). */
export class CosineAnnealingLR extends LRScheduler {
  private readonly opts: CosineAnnealingLROptions;
  constructor(optimizer: LrOptimizer, opts: CosineAnnealingLROptions) {
    super(optimizer);
    checkPos('CosineAnnealingLR', 'tMax', opts?.tMax);
    this.opts = { tMax: opts.tMax, etaMin: opts.etaMin ?? 0 };
    this.apply();
  }
  override lrAt(step: number, baseLr: number): number {
    return cosineAnnealingLrAt(step, baseLr, this.opts);
  }
}

/**
 * Scales the base lr by a factor going linearly from `startFactor` to `endFactor` over
 * `totalIters` steps (torch LinearLR; with endFactor 1 it is a linear warm-up).
 */
export class LinearLR extends LRScheduler {
  private readonly opts: Required<LinearLROptions>;
  constructor(optimizer: LrOptimizer, opts: LinearLROptions = {}) {
    super(optimizer);
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = opts;
    if (typeof startFactor !== 'number' || !(startFactor > 0 && startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${String(startFactor)}`);
    if (typeof endFactor !== 'number' || !(endFactor >= 0 && endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${String(endFactor)}`);
    checkPos('LinearLR', 'totalIters', totalIters, true);
    this.opts = { startFactor, endFactor, totalIters };
    this.apply();
  }
  override lrAt(step: number, baseLr: number): number {
    return linearLrAt(step, baseLr, this.opts);
  }
}

/** Options of {@link SequentialLR}. */
export interface SequentialLROptions {
  /** The schedulers, in order (built on the same optimizer). */
  schedulers: LRScheduler[];
  /** Increasing steps at which the next scheduler takes over (one fewer than the schedulers). */
  milestones: number[];
}

/**
 * Runs schedulers one after the other (torch SequentialLR): scheduler i takes over at
 * milestones[i-1] and sees the steps counted from there.
 */
export class SequentialLR extends LRScheduler {
  private readonly schedulers: LRScheduler[];
  private readonly milestones: number[];
  constructor(optimizer: LrOptimizer, opts: SequentialLROptions) {
    super(optimizer);
    const { schedulers, milestones } = opts ?? ({} as SequentialLROptions);
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new Error('SequentialLR: expected a non-empty list of schedulers');
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) throw new Error(`SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${String(milestones?.length)}`);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new Error(`SequentialLR: scheduler ${i} is not a scheduler`);
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: scheduler ${i} is attached to another optimizer`);
    });
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m <= 0 || (i > 0 && m <= milestones[i - 1])) throw new Error(`SequentialLR: milestones must be increasing positive integers, got [${milestones.join(', ')}]`);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.apply();
  }
  override lrAt(step: number, baseLr: number): number {
    let i = 0;
    while (i < this.milestones.length && step >= this.milestones[i]) i++;
    return this.schedulers[i].lrAt(i === 0 ? step : step - this.milestones[i - 1], baseLr);
  }
}

/**
 * Linear warm-up then cosine annealing on an optimizer: a {@link SequentialLR} of
 * {@link LinearLR} (startFactor to 1 over warmupSteps) and {@link CosineAnnealingLR}
 * (tMax = totalSteps - warmupSteps, etaMin). Its values are {@link warmupCosineLrAt}'s.
 */
export function warmupCosine(optimizer: LrOptimizer, opts: WarmupCosineOptions): SequentialLR {
  const { warmupSteps, totalSteps, startFactor = 1 / 3, etaMin = 0 } = opts;
  checkPos('warmupCosine', 'warmupSteps', warmupSteps, true);
  if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) throw new Error(`warmupCosine: totalSteps must be an integer > warmupSteps (${warmupSteps}), got ${String(totalSteps)}`);
  const warm = new LinearLR(optimizer, { startFactor, endFactor: 1, totalIters: warmupSteps });
  const cos = new CosineAnnealingLR(optimizer, { tMax: totalSteps - warmupSteps, etaMin });
  return new SequentialLR(optimizer, { schedulers: [warm, cos], milestones: [warmupSteps] });
}
