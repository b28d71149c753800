/** `mg.io`: tensors to and from safetensors files. */
export {};
