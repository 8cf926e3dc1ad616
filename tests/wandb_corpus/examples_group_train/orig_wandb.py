# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/group-and-resume/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: group and job_type at init, config.update(argparse Namespace), a config
# attribute overriding nothing, a log per epoch with a slash key.
# argv: --group_id exp-42 --worker_index 1

import argparse
import random

import wandb

cli = argparse.ArgumentParser(description="toy trainer")
cli.add_argument("--group_id", type=str, default=None)
cli.add_argument("--worker_index", type=int, default=0)
cli.add_argument("--learning_rate", type=float, default=0.9)
cli.add_argument("--momentum", type=float, default=0.8)

if __name__ == "__main__":
    dice = random.Random(0)
    opts = cli.parse_args()
    if opts.group_id is None:
        raise SystemExit("--group_id is required")
    wandb.init(group=opts.group_id, job_type="train")
    wandb.config.update(opts)
    wandb.config.job_type = "training"
    for epoch in range(5):
        base = 10 / (epoch + 1)
        value = base * (1 + 0.5 * (dice.random() - 0.5))
        wandb.log({"epoch": epoch, "loss": value, "train/acc": 1 - value / 100})
