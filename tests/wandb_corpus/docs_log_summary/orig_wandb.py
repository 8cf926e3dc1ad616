# Source: https://docs.wandb.ai/guides/track/log/log-summary (the custom summary example with
# `wandb.run.summary["best_accuracy"]`, and the define_metric summary example on the same page).
# W&B documentation (wandb/docs). Shrunk: an argparse config and a seeded test() stand-in; both
# examples in one run. The wandb calls are as in the source.
# argv: --epochs 5

import argparse
import random

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()
random.seed(3)


def test():
    return random.uniform(0.1, 1.0), random.uniform(0.5, 0.95)


wandb.init(config=args)

wandb.define_metric("loss", summary="min")
wandb.define_metric("acc", summary="max")

best_accuracy = 0
for epoch in range(1, args.epochs + 1):
    test_loss, test_accuracy = test()
    wandb.log({"loss": test_loss, "acc": test_accuracy})
    if test_accuracy > best_accuracy:
        wandb.run.summary["best_accuracy"] = test_accuracy
        best_accuracy = test_accuracy
