/**
 * Omniglot (Lake et al. 2015) for few-shot learning: loading the official zips or folders through
 * a binary cache, the MAML and Lake splits, seeded N-way K-shot episodes, and Lake's 20 one-shot
 * runs.
 */
export {
  loadOmniglot, OmniglotDataset, defaultOmniglotCacheDir, copyRotated,
  type OmniglotCharacter, type OmniglotSourceInfo, type OmniglotDatasetInit, type LoadOmniglotOptions,
} from './dataset.js';
export { OMNIGLOT_SETS, type OmniglotSetName } from './source.js';
export { RESIZE_FILTERS, resizeGray, type ResizeFilter } from './resize.js';
export { decodePngGray, type GrayImage } from './decode.js';
export {
  omniglotMamlSplits, omniglotLakeSplits, PythonRandom,
  type OmniglotSplits, type OmniglotMamlSplitOptions, type OmniglotLakeSplitOptions,
} from './splits.js';
export { OmniglotSampler, type OmniglotSamplerOptions, type OmniglotTask, type OmniglotClass } from './episodes.js';
export { loadLakeRuns, LakeRuns, type LakeRun, type LakeTask, type LoadLakeRunsOptions } from './lake.js';
