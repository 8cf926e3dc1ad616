# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/pytorch/pytorch-ddp/log-ddp.py (and utils.py beside it) @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: entity, project and group at init (the log-in-every-process branch), run.watch
# on the rank-0 process, a log per batch and a per-epoch log with a numpy mean.
# argv: --log_all --local_rank 0 --entity my-team --project ddp-corpus

import argparse

import numpy as np
import gitcfg


def build_model():
    try:
        import torch
    except ImportError:
        return None
    return torch.nn.Linear(784, 10)


def start(opts):
    if opts.log_all:
        return gitcfg.track(entity=opts.entity, project=opts.project, group="DDP")
    if opts.local_rank == 0:
        return gitcfg.track(entity=opts.entity, project=opts.project)
    return None


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description="one-process stand-in for data-parallel training")
    cli.add_argument("--local_rank", type=int, default=-1)
    cli.add_argument("--log_all", action="store_true")
    cli.add_argument("--epochs", type=int, default=2)
    cli.add_argument("--batch", type=int, default=32)
    cli.add_argument("--entity", type=str)
    cli.add_argument("--project", type=str)
    opts = cli.parse_args()
    run = start(opts)
    model = build_model()
    if opts.local_rank == 0 and model is not None:
        run.watch(model)
    per_epoch = 4
    for epoch in range(opts.epochs):
        seen = []
        for b in range(per_epoch):
            value = float(np.float32(2.0 / (1 + epoch * per_epoch + b)))
            seen.append(value)
            if run is not None:
                run.log({"batch_loss": value})
        if run is not None:
            run.log({"epoch": epoch, "loss": np.mean(seen)})
