# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/jax/jax-mnist/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: 3 epochs, a seeded accuracy curve instead of JAX and MNIST. The wandb calls are as in
# the source.

import numpy as np
import wandb

if __name__ == "__main__":
    wandb.init()
    rng = np.random.RandomState(0)

    wandb.config.step_size = 0.001
    wandb.config.num_epochs = 3
    wandb.config.batch_size = 128
    wandb.config.momentum_mass = 0.9

    for epoch in range(wandb.config.num_epochs):
        train_acc = np.float32(0.9 + 0.03 * epoch + rng.uniform(0, 0.01))
        test_acc = np.float32(0.88 + 0.03 * epoch + rng.uniform(0, 0.01))
        wandb.log({"Train Accuracy": float(train_acc), "Test Accuracy": float(test_acc)})
