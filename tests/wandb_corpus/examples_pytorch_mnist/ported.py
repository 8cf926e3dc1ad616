# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/pytorch/pytorch-cnn-mnist/main.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: init before argument parsing, config.update(argparse Namespace with dashed
# options), watch(model) (a torch module where torch is installed), and per epoch one log of a list
# of captioned Images with two scalars.
# argv: --epochs 2

import argparse

import numpy as np
import gitcfg


class TinyModel:
    def __init__(self):
        self.weights = [np.zeros((64, 10)), np.zeros(10)]

    def parameters(self):
        return list(self.weights)


def build_model():
    try:
        import torch
    except ImportError:
        return TinyModel()
    return torch.nn.Linear(64, 10)


def evaluate(batches):
    total, right, shown = 0.0, 0, []
    for b, (pixels, truth) in enumerate(batches):
        total += 0.5 / (b + 1)
        guess = (truth + b) % 10
        right += int(np.count_nonzero(guess == truth))
        shown.append(gitcfg.Image(pixels[0], caption=f"Pred: {int(guess[0])} Truth: {truth[0]}"))
    gitcfg.log({"Examples": shown, "Test Accuracy": 100.0 * right / 8, "Test Loss": total / 8})


if __name__ == "__main__":
    gitcfg.track()
    cli = argparse.ArgumentParser(description="toy digits")
    cli.add_argument("--batch-size", type=int, default=64)
    cli.add_argument("--test-batch-size", type=int, default=1000)
    cli.add_argument("--epochs", type=int, default=10)
    cli.add_argument("--lr", type=float, default=0.01)
    cli.add_argument("--momentum", type=float, default=0.5)
    cli.add_argument("--no-cuda", action="store_true", default=False)
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--log-interval", type=int, default=10)
    opts = cli.parse_args()
    gitcfg.config.update(opts)
    gen = np.random.default_rng(opts.seed)
    held_out = [
        (gen.integers(0, 255, size=(4, 8, 8)).astype(np.uint8), gen.integers(0, 10, size=4))
        for _ in range(2)
    ]
    gitcfg.watch(build_model())
    for _epoch in range(opts.epochs):
        evaluate(held_out)
