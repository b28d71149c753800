/** `mg.nn`: neural-network building blocks. */
export * as functional from './functional.js';
