# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/metrics-at-different-steps/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: 12 epochs by default instead of 100, no sleep, random seeded. The wandb calls are as in the
# source except `wandb.log()`, which wandb 0.30 refuses (data is required): `wandb.log({})` here.
# argv: --validate_every 4

"""An example of sending validation metrics every N time steps."""

import argparse
import random

import gitcfg

parser = argparse.ArgumentParser()
parser.description = "Train an example model"
parser.add_argument("--max_epochs", type=int, default=12)
parser.add_argument("--validate_every", type=int, default=10)
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

    for i in range(args.max_epochs):
        loss = loss_curve(i)
        acc = accuracy(loss)

        # training metrics, but don't commit the step.
        gitcfg.log({"loss": loss, "acc": acc}, commit=False)

        # validation metrics, which could be reported in another part of the code
        if i % args.validate_every == 0:
            gitcfg.log({"val_acc": acc - 0.05}, commit=False)

        # commit the current step's values
        gitcfg.log({})


if __name__ == "__main__":
    main()
