# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/machine-learning/numpy-housing/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: a seeded random 40x8 array stands in for fetch_california_housing (no download). The
# wandb calls are as in the source.

import numpy as np
import gitcfg

gitcfg.track(project="numpy-housing-demo")

# Save hyperparameters
gitcfg.config.lr = 0.000001
gitcfg.config.epochs = 1

# Load Dataset (stand-in for sklearn's fetch_california_housing)
rng = np.random.default_rng(0)
data = rng.normal(size=(40, 8))
target = data @ np.linspace(0.5, 2.0, 8) + 3.0

# Initialize model
weights = np.zeros(data.shape[1])
bias = 0

# Train Model
for _ in range(gitcfg.config.epochs):
    rng.shuffle(data)
    for i in range(data.shape[0]):
        x = data[i, :]
        y = target[i]

        err = y - np.dot(weights, x)
        if err < 0:
            weights -= gitcfg.config.lr * x
            bias -= gitcfg.config.lr
        else:
            weights += gitcfg.config.lr * x
            bias += gitcfg.config.lr

        # Log absolute error as "loss"
        gitcfg.log({"Loss": np.abs(err)})

# Save Model
np.save("weights", weights)
gitcfg.save("weights.npy")
