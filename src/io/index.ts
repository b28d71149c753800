/**
 * `mg.io`: tensors to and from safetensors files (the Hugging Face format), so checkpoints move
 * between metagrad, PyTorch, JAX and the Hugging Face hub.
 *
 * ```ts
 * mg.io.save('ckpt.safetensors', { w, b }, { step: '100' });
 * const { tensors, metadata } = mg.io.load('ckpt.safetensors');
 * ```
 */
export {
  save, saveAsync, load, loadAsync, loadMetadata, MAX_HEADER_BYTES,
  type TensorDict, type LoadOptions, type Loaded,
} from './safetensors.js';
