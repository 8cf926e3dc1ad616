# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/wandb-automations/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: numpy stand-ins for timm's resnest14d and MNIST (3 batches, 1 epoch); device fixed to
# "cpu"; save_model (artifacts registry, not applicable) left out. The wandb calls are as in the source.

import argparse
import math
from types import SimpleNamespace

import numpy as np
import gitcfg

defaults = SimpleNamespace(
    batch_count=3,
    batch_size=8,
    image_size=32,
    learning_rate=1e-3,
    epochs=1,
    num_workers=0,
    model_name='resnest14d',
    num_classes=10,
    in_chans=1,
    device="cpu",
    link_model=True,
)


def train(config):
    rng = np.random.default_rng(0)
    train_dl = [rng.integers(0, 10, size=config.batch_size) for _ in range(config.batch_count)]

    run = gitcfg.track(project="wandb_automations",
                     job_type="train",
                     config=config,
                     settings={"disable_git": True})

    # Log code to create a reusable job
    run.log_code(name="train",
                 include_fn=lambda path: path.endswith(".py") or path.endswith(".txt"))

    # Copy your config
    config = run.config

    # Get the data
    n_steps_per_epoch = math.ceil(len(train_dl) * config.batch_size / config.batch_size)

    # Training
    example_ct = 0
    for epoch in range(config.epochs):
        correct = 0.
        for step, labels in enumerate(train_dl):
            train_loss = np.float32(2.3 / (step + 1))
            example_ct += len(labels)

            # Compute accuracy and accumulate
            predicted = (labels + step) % 10
            correct += (predicted == labels).sum().item()
            train_accuracy = correct / example_ct

            metrics = {"train_loss": train_loss,
                       "train_acc": train_accuracy}

            run.log(metrics)

        run.log(metrics)
        print(f"{epoch} - Train Loss: {train_loss:.3f}, Train Acc: {train_accuracy:.2f}, steps {n_steps_per_epoch}")

    run.finish()


def parse_args(default_cfg):
    "Override default hyper-parameters using argparse"
    parser = argparse.ArgumentParser(description="Process hyper-parameters")
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument("--image_size", type=int, default=defaults.image_size)
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--num_workers", type=int, default=defaults.num_workers)
    parser.add_argument("--model_name", type=str, default=defaults.model_name)
    parser.add_argument("--num_classes", type=int, default=defaults.num_classes)
    parser.add_argument("--in_chans", type=int, default=defaults.in_chans)
    parser.add_argument("--device", type=str, default=defaults.device)
    parser.add_argument("--link_model", action="store_true", default=defaults.link_model)
    args = vars(parser.parse_args())

    # update config with parsed args
    for k, v in args.items():
        setattr(default_cfg, k, v)


if __name__ == "__main__":
    parse_args(defaults)
    train(defaults)
