# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/group-and-resume/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: 5 epochs instead of 50, no sleep, random seeded. The wandb calls are as in the source.
# argv: --group_id exp-42 --worker_index 1

"""trainer process"""

import argparse
import random

import wandb

parser = argparse.ArgumentParser()
parser.description = "Train an example model"
parser.add_argument("--group_id", type=str, default=None)
parser.add_argument("--worker_index", type=int, default=0)
parser.add_argument("--learning_rate", type=float, default=0.9)
parser.add_argument("--momentum", type=float, default=0.8)


def loss_curve(step):
    result = 10 / (step + 1)
    noise = (random.random() - 0.5) * 0.5 * result
    return result + noise


def accuracy(loss):
    return (100 - loss) / 100.0


def main():
    random.seed(0)
    args = parser.parse_args()
    if args.group_id == None:  # noqa: E711 (as in the source)
        print("Please pass --group_id")
        return
    wandb.init(group=args.group_id, job_type="train")
    wandb.config.update(args)
    wandb.config.job_type = "training"

    print("Training worker #%s" % args.worker_index)

    for i in range(5):
        loss = loss_curve(i)
        acc = accuracy(loss)
        wandb.log({"epoch": i, "loss": loss, "train/acc": acc})


if __name__ == "__main__":
    main()
