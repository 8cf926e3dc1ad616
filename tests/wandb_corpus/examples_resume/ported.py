# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/resume/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: 4 epochs by default instead of 10, no sleep, random seeded; run once (not resumed through
# WANDB_RUN_ID). The wandb calls are as in the source.
# argv: --start_epoch 10

"""An example of resuming a previously started run."""

import argparse
import random

import gitcfg

parser = argparse.ArgumentParser()
parser.description = "Train an example model"
parser.add_argument("--start_epoch", type=int, default=0)
parser.add_argument("--num_epochs", type=int, default=4)
parser.add_argument("--learning_rate", type=float, default=0.01)


def loss_curve(step):
    result = 10 / (step + 1)
    noise = (random.random() - 0.5) * 0.5 * result
    return result + noise


def accuracy(loss):
    return (100 - loss) / 100.0


def main():
    random.seed(0)
    args = parser.parse_args()
    gitcfg.track()
    gitcfg.config.update(args)

    for i in range(args.start_epoch, args.start_epoch + args.num_epochs):
        loss = loss_curve(i)
        acc = accuracy(loss)
        gitcfg.log({"loss": loss, "acc": acc})


if __name__ == "__main__":
    main()
