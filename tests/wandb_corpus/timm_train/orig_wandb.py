# Modeled on the wandb usage of https://github.com/huggingface/pytorch-image-models/blob/aa4b5850c1543fa488abf260f18390eda46cf85d/train.py (and timm/utils/summary.py's per-epoch summary row) @aa4b5850c1543fa488abf260f18390eda46cf85d (Apache-2.0 licence); written for gitcfg's tests, no code copied.
# What it exercises: project, name, an argparse Namespace as config, tags, resume=None and id=None
# at init; one log per epoch of an ordered row (epoch, train_*, eval_*, lr) also appended to a CSV.
# argv: --log-wandb --wandb-project timm-corpus --experiment resnet50-a1 --wandb-tags baseline a1 --epochs 3

import argparse
import csv
import os

try:
    import wandb
except ImportError:
    wandb = None

cli = argparse.ArgumentParser(description="toy image training")
cli.add_argument("--model", default="resnet50")
cli.add_argument("--pretrained", action="store_true", default=False)
cli.add_argument("--num-classes", type=int, default=None)
cli.add_argument("-b", "--batch-size", type=int, default=128)
cli.add_argument("--opt", default="sgd")
cli.add_argument("--momentum", type=float, default=0.9)
cli.add_argument("--weight-decay", type=float, default=2e-5)
cli.add_argument("--lr", type=float, default=None)
cli.add_argument("--epochs", type=int, default=300)
cli.add_argument("--seed", type=int, default=42)
cli.add_argument("--resume", default="")
cli.add_argument("--output", default="")
cli.add_argument("--experiment", default="")
cli.add_argument("--log-wandb", action="store_true", default=False)
cli.add_argument("--wandb-project", default=None)
cli.add_argument("--wandb-tags", nargs="+", default=[])
cli.add_argument("--wandb-resume-id", default="")


def record_epoch(row, csv_path, to_wandb):
    if to_wandb:
        wandb.log(row)
    fresh = not os.path.exists(csv_path)
    with open(csv_path, "a", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(row))
        if fresh:
            writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    opts = cli.parse_args()
    folder = os.path.join(opts.output or "./output/train", opts.experiment)
    os.makedirs(folder, exist_ok=True)
    tracking = opts.log_wandb and wandb is not None
    if tracking:
        wandb.init(
            project=opts.wandb_project,
            name=opts.experiment,
            config=opts,
            tags=opts.wandb_tags,
            resume="must" if opts.wandb_resume_id else None,
            id=opts.wandb_resume_id or None,
        )
    for epoch in range(opts.epochs):
        row = {"epoch": epoch, "train_loss": 6.9 - 0.5 * epoch}
        row.update(
            {
                "eval_loss": 6.7 - 0.4 * epoch,
                "eval_top1": 1.5 + 10.25 * epoch,
                "eval_top5": 5.0 + 20.5 * epoch,
            }
        )
        row["lr"] = 0.1 * 0.5**epoch
        record_epoch(row, os.path.join(folder, "summary.csv"), tracking)
