# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/wandb-log/sqrt.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: a project name and a metric key built from the command line; one config value.
# argv: 2

import sys

import wandb

arg = sys.argv[1]
wandb.init(project="sqrt" + arg)
wandb.config.steps = 10

target = float(arg)
guess = target / 2.0
for _ in range(wandb.config.steps):
    guess = 0.5 * (guess + target / guess)
    wandb.log({"Approx. Sqrt" + arg: guess})
