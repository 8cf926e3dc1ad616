# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/machine-learning/numpy-housing/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: a project, config set by attribute and read back, a log per sample, and
# save() of a file the script wrote.

import numpy as np
import gitcfg

gitcfg.track(project="numpy-housing-demo")
gitcfg.config.lr = 0.000001
gitcfg.config.epochs = 1

gen = np.random.default_rng(0)
features = gen.normal(size=(40, 8))
prices = features @ np.linspace(0.5, 2.0, 8) + 3.0
coef, intercept = np.zeros(8), 0.0

for _ in range(gitcfg.config.epochs):
    gen.shuffle(features)
    for row, price in zip(features, prices, strict=True):
        residual = price - coef @ row
        sign = 1.0 if residual >= 0 else -1.0
        coef += sign * gitcfg.config.lr * row
        intercept += sign * gitcfg.config.lr
        gitcfg.log({"Loss": np.abs(residual)})

np.save("weights", coef)
gitcfg.save("weights.npy")
