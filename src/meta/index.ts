/** `mg.meta`: optimization-based meta-learning over functional parameters. */
export * from './reptile.js';
