# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/pytorch/pytorch-ddp/log-ddp.py
# and utils.py (parse_args) beside it. Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in
# the repository).
# Shrunk: one process (rank 0, --log_all) instead of torch.distributed; numpy stand-ins for the
# ConvNet, Fashion-MNIST and backprop (4 batches per epoch, 2 epochs); the model is a torch module
# only where torch is installed (run.watch needs one). The wandb calls are as in the source.
# argv: --log_all --local_rank 0 --entity my-team --project ddp-corpus

import argparse

import numpy as np
import wandb


class ConvNet:
    """Stand-in for utils.ConvNet: one weight matrix."""

    def __init__(self):
        self.weight = np.zeros((784, 10))

    def parameters(self):
        return [self.weight]


def make_model():
    try:
        import torch
    except ImportError:
        return ConvNet()
    return torch.nn.Linear(784, 10)


def parse_args():
    parser = argparse.ArgumentParser(
        description="Run distributed data-parallel training and log with wandb.")
    # Used for `distribution.launch`
    parser.add_argument(
        "--local_rank", type=int, default=-1, metavar="N", help="Local process rank."
    )
    parser.add_argument(
        "--log_all",
        action="store_true",
        help="flag to log in all processes, otherwise only in rank0",
    )
    parser.add_argument(
        "--epochs",
        default=2,
        type=int,
        metavar="N",
        help="number of total epochs to run",
    )
    parser.add_argument(
        "--batch",
        default=32,
        type=int,
        metavar="N",
        help="number of data samples in one batch",
    )
    parser.add_argument(
        "--entity",
        type=str,
        help="wandb entity",
    )
    parser.add_argument(
        "--project",
        type=str,
        help="wandb project",
    )
    return parser.parse_args()


def train(args, run=None):
    # Check to see if local_rank is 0
    is_master = args.local_rank == 0
    do_log = run is not None

    model = make_model()

    # watch gradients only for rank 0
    if is_master:
        run.watch(model)

    train_loader = range(4)
    for epoch in range(args.epochs):
        batch_loss = []
        for ii, _ in enumerate(train_loader):
            loss = np.float32(2.0 / (1 + epoch * len(train_loader) + ii))
            loss = float(loss)
            batch_loss.append(loss)
            if do_log:
                run.log({"batch_loss": loss})

        if do_log:
            run.log({"epoch": epoch, "loss": np.mean(batch_loss)})


def setup_run(args):
    if args.log_all:
        run = wandb.init(
            entity=args.entity,
            project=args.project,
            group="DDP",
        )
    else:
        if args.local_rank == 0:
            run = wandb.init(
                entity=args.entity,
                project=args.project,
            )
        else:
            run = None

    return run


if __name__ == "__main__":
    # get args
    args = parse_args()

    # wandb.init a run if logging, otherwise return None
    run = setup_run(args)

    train(args, run)
