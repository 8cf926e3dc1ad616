# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/jax/jax-mnist/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: init with no arguments, config set attribute by attribute, one log per epoch.

import numpy as np
import wandb

if __name__ == "__main__":
    wandb.init()
    gen = np.random.RandomState(0)
    cfg = wandb.config
    cfg.step_size = 0.001
    cfg.num_epochs = 3
    cfg.batch_size = 128
    cfg.momentum_mass = 0.9
    for n in range(cfg.num_epochs):
        on_train, on_test = (
            np.float32(0.9 + 0.03 * n + gen.uniform(0, 0.01)),
            np.float32(0.88 + 0.03 * n + gen.uniform(0, 0.01)),
        )
        wandb.log({"Train Accuracy": float(on_train), "Test Accuracy": float(on_test)})
