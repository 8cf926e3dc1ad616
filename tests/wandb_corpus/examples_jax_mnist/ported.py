# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/jax/jax-mnist/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: 3 epochs, a seeded accuracy curve instead of JAX and MNIST. The wandb calls are as in
# the source.

import numpy as np
import gitcfg

if __name__ == "__main__":
    gitcfg.track()
    rng = np.random.RandomState(0)

    gitcfg.config.step_size = 0.001
    gitcfg.config.num_epochs = 3
    gitcfg.config.batch_size = 128
    gitcfg.config.momentum_mass = 0.9

    for epoch in range(gitcfg.config.num_epochs):
        train_acc = np.float32(0.9 + 0.03 * epoch + rng.uniform(0, 0.01))
        test_acc = np.float32(0.88 + 0.03 * epoch + rng.uniform(0, 0.01))
        gitcfg.log({"Train Accuracy": float(train_acc), "Test Accuracy": float(test_acc)})
