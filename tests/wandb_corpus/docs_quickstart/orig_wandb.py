# Modeled on the wandb usage of https://docs.wandb.ai/quickstart @docs page, undated (W&B documentation, wandb/docs; licence not restated here); written for gitcfg's tests, no code copied.
# What it exercises: entity, project and a flat config given to init; run.log of two metrics; run.finish.

import random

import wandb

dice = random.Random(7)
hyper = {"learning_rate": 0.02, "architecture": "CNN", "dataset": "CIFAR-100", "epochs": 10}
run = wandb.init(entity="my-awesome-team-name", project="my-awesome-project", config=hyper)

bias = dice.random() / 5
for e in range(2, hyper["epochs"]):
    shrink = 0.5**e
    run.log(
        {"acc": 1 - shrink - dice.random() / e - bias, "loss": shrink + dice.random() / e + bias}
    )
run.finish()
