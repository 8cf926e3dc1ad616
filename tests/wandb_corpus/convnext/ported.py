# Modeled on the wandb usage of https://github.com/facebookresearch/ConvNeXt/blob/048efcea897d999aed302f2639b6270aedf8d4c8/utils.py (its W&B logger class; engine.py's per-batch and main.py's per-epoch logging) @048efcea897d999aed302f2639b6270aedf8d4c8 (MIT licence); written for gitcfg's tests, no code copied.
# What it exercises: init only when no run is active, with project and an argparse Namespace as
# config; define_metric globs with step_metric each epoch; per batch several log(commit=False)
# then a committing log of the global step; per epoch a summary write, epoch and "Global Train/..."
# / "Global Test/..." keys with commit=False, then log({}).
# argv: --enable_wandb true --project convnext-corpus --epochs 2

import argparse

import numpy as np

BATCH = "Rank-0 Batch Wise/"


def as_bool(text):
    return str(text).lower() in {"1", "true", "yes", "y", "t"}


class Reporter:
    def __init__(self, opts):
        import gitcfg

        self.w = gitcfg
        if gitcfg.run is None:
            gitcfg.track(project=opts.project, config=opts)

    def axes(self):
        self.w.define_metric(BATCH + "*", step_metric=BATCH + "global_train_step")
        self.w.define_metric("Global Train/*", step_metric="epoch")
        self.w.define_metric("Global Test/*", step_metric="epoch")

    def batch(self, step, loss, acc, lr):
        self.w.log(
            {BATCH + "train_loss": loss, BATCH + "train_max_lr": lr, BATCH + "train_min_lr": lr},
            commit=False,
        )
        if acc:
            self.w.log({BATCH + "train_class_acc": acc}, commit=False)
        self.w.log({BATCH + "global_train_step": step})

    def epoch(self, stats):
        self.w.summary["n_parameters"] = stats.pop("n_parameters", None)
        self.w.log({"epoch": stats.pop("epoch")}, commit=False)
        for key, value in stats.items():
            where = "Global Train/" if "train" in key else "Global Test/" if "test" in key else None
            if where:
                self.w.log({where + key: value}, commit=False)
        self.w.log({})


if __name__ == "__main__":
    cli = argparse.ArgumentParser("toy image classifier")
    cli.add_argument("--batch_size", type=int, default=64)
    cli.add_argument("--epochs", type=int, default=300)
    cli.add_argument("--model", default="convnext_tiny")
    cli.add_argument("--drop_path", type=float, default=0)
    cli.add_argument("--lr", type=float, default=4e-3)
    cli.add_argument("--enable_wandb", type=as_bool, default=False)
    cli.add_argument("--project", default="convnext")
    cli.add_argument("--wandb_ckpt", type=as_bool, default=False)
    opts = cli.parse_args()
    reporter = Reporter(opts) if opts.enable_wandb else None
    per_epoch = 3
    for epoch in range(opts.epochs):
        if reporter:
            reporter.axes()
        losses, accs, lr = [], [], 0.0
        for b in range(per_epoch):
            step = epoch * per_epoch + b
            loss, acc, lr = (
                float(np.float32(6.9 / (1 + step))),
                0.1 * (1 + step),
                4e-3 * (1 + step) / 6,
            )
            losses.append(loss)
            accs.append(acc)
            if reporter:
                reporter.batch(step, loss, acc, lr)
        stats = {
            "train_loss": float(np.mean(losses)),
            "train_class_acc": float(np.mean(accs)),
            "train_lr": lr,
        }
        stats.update(
            {
                "test_loss": 6.5 - epoch,
                "test_acc1": 12.5 * (epoch + 1),
                "test_acc5": 30.25 * (epoch + 1),
            }
        )
        stats.update({"epoch": epoch, "n_parameters": 28589128})
        if reporter:
            reporter.epoch(stats)
