# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/resume/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: init with no arguments, config.update(argparse Namespace), a log per epoch
# starting at a given epoch (run once here, not resumed).
# argv: --start_epoch 10

import argparse
import random

import wandb


def noisy_loss(dice, epoch):
    base = 10 / (epoch + 1)
    return base * (1 + 0.5 * (dice.random() - 0.5))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="toy resumable training")
    cli.add_argument("--start_epoch", type=int, default=0)
    cli.add_argument("--num_epochs", type=int, default=4)
    cli.add_argument("--learning_rate", type=float, default=0.01)
    dice = random.Random(0)
    opts = cli.parse_args()
    wandb.init()
    wandb.config.update(opts)
    for epoch in range(opts.start_epoch, opts.start_epoch + opts.num_epochs):
        value = noisy_loss(dice, epoch)
        wandb.log({"loss": value, "acc": 1 - value / 100})
