"""Training: one step and one loop for the unconditional and conditional models, the data-parallel world,
the speed measurements."""
