# Modeled on the wandb usage of https://docs.wandb.ai/guides/track/log/log-summary @docs page, undated (W&B documentation, wandb/docs; licence not restated here); written for gitcfg's tests, no code copied.
# What it exercises: an argparse Namespace as config, define_metric summaries (min, max) and a
# summary key written by hand whenever the best value improves.
# argv: --epochs 5

import argparse
import random

import wandb

cli = argparse.ArgumentParser()
cli.add_argument("--epochs", type=int, default=10)
cli.add_argument("--lr", type=float, default=0.1)
opts = cli.parse_args()
dice = random.Random(3)

wandb.init(config=opts)
wandb.define_metric("loss", summary="min")
wandb.define_metric("acc", summary="max")

top = 0.0
for _epoch in range(opts.epochs):
    evaluation = {"loss": dice.uniform(0.1, 1.0), "acc": dice.uniform(0.5, 0.95)}
    wandb.log(evaluation)
    if evaluation["acc"] > top:
        top = evaluation["acc"]
        wandb.run.summary["best_accuracy"] = top
