/** `mg.optim`: optimizers (in-place updates under noGrad), gradient clipping, learning-rate schedules. */
export {};
