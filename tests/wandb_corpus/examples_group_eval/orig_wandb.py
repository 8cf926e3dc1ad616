# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/api-examples/group-and-resume/eval.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: random seeded. The wandb calls are as in the source.
# argv: --group_id exp-42 --epoch 3

"""evaluator process"""

import argparse
import random

import wandb

parser = argparse.ArgumentParser()
parser.description = "Evaluate an example model"
parser.add_argument("--group_id", type=str, default=None)
parser.add_argument("--epoch", type=int, default=0)
parser.add_argument("--phase_shift", type=int, default=14)


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
    wandb.init(group=args.group_id, job_type="eval")
    wandb.config.update({"phase_shift": args.phase_shift})
    wandb.config.job_type = "eval"

    print("Eval Epoch", args.epoch)
    loss = loss_curve(args.epoch)
    acc = accuracy(loss)
    wandb.log({"epoch": args.epoch, "loss": loss, "eval/acc": acc - 0.05})


if __name__ == "__main__":
    main()
