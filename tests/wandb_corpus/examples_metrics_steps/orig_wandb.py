# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/metrics-at-different-steps/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: log(commit=False) twice, a validation key only every N epochs, then log({})
# to commit the step (wandb 0.30 refuses a bare log()).
# argv: --validate_every 4

import argparse
import random

import wandb

cli = argparse.ArgumentParser(description="toy trainer with sparse validation")
cli.add_argument("--max_epochs", type=int, default=12)
cli.add_argument("--validate_every", type=int, default=10)
cli.add_argument("--learning_rate", type=float, default=0.01)

if __name__ == "__main__":
    dice = random.Random(0)
    opts = cli.parse_args()
    wandb.init()
    wandb.config.update(opts)
    for epoch in range(opts.max_epochs):
        value = 10 / (epoch + 1) * (1 + 0.5 * (dice.random() - 0.5))
        accuracy = 1 - value / 100
        wandb.log({"loss": value, "acc": accuracy}, commit=False)
        if epoch % opts.validate_every == 0:
            wandb.log({"val_acc": accuracy - 0.05}, commit=False)
        wandb.log({})
