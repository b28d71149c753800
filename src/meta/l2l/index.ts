/**
 * `mg.meta.l2l`: learned optimizers, "Learning to learn by gradient descent by gradient descent"
 * (Andrychowicz et al. 2016).
 *
 * - Update rules as pure functions of tensors ({@link UpdateRule}): the coordinate-wise
 *   {@link LSTMOptimizer}, the {@link LearnedHparamsOptimizer} (per-coordinate learned step sizes
 *   and momenta), and the hand-designed baselines {@link SGDRule}, {@link MomentumRule},
 *   {@link AdamRule}.
 * - Optimizee families ({@link OptimizeeFamily}): {@link QuadraticFamily},
 *   {@link MlpClassificationFamily}, {@link SinusoidFamily}; B instances train side by side.
 * - {@link unroll} (optionally checkpointed per segment) and truncated meta-training with Adam
 *   ({@link L2LTrainer}); {@link runRule}, {@link tuneLearningRate} and {@link meanCi95} to evaluate.
 *
 * ```ts
 * const { l2l } = mg.meta;
 * const rule = new l2l.LSTMOptimizer();                       // 2 x 20 units, preprocessing p = 10, scale 0.1
 * const trainer = new l2l.L2LTrainer(rule, new l2l.QuadraticFamily(), { unroll: 20, horizon: 100, metaLr: 1e-3 });
 * for (let it = 0; it < 300; it++) trainer.iteration();
 * const test = new l2l.QuadraticFamily().sample(100, 100);
 * const curves = l2l.runRule(rule, test, 100);                // curves[t][b]: loss of instance b after t steps
 * ```
 */
export { type UpdateRule, type RuleStep, SGDRule, MomentumRule, AdamRule, handRule } from './update_rule.js';
export { LSTMOptimizer, lstmCell, preprocessGradient, type LSTMOptimizerOptions } from './lstm_optimizer.js';
export { LearnedHparamsOptimizer, type LearnedHparamsOptions } from './learned_hparams.js';
export {
  type OptimizeeBatch, type OptimizeeFamily, type QuadraticBatch, QuadraticFamily, MlpClassificationFamily, SinusoidFamily, optimizeeFamily,
  type QuadraticFamilyOptions, type MlpClassificationFamilyOptions, type SinusoidFamilyOptions,
} from './optimizees.js';
export { unroll, lossAndGrads, L2LTrainer, type UnrollOptions, type UnrollResult, type L2LTrainerOptions, type L2LIterationResult } from './unroll.js';
export { runRule, tuneLearningRate, meanCi95, median, LR_GRID, type TuneResult } from './evaluate.js';
