# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/pytorch/pytorch-cnn-mnist/main.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: numpy stand-ins for MNIST and the CNN (2 epochs, 2 test batches of 8x8 images); the
# model is a torch module only where torch is installed (wandb.watch needs one), else a numpy
# object with .parameters(). The wandb calls are as in the source.
# argv: --epochs 2

import argparse

import numpy as np
import wandb


class NumpyNet:
    """Stand-in for the CNN: two weight matrices."""

    def __init__(self):
        self.w1 = np.zeros((64, 10))
        self.b1 = np.zeros(10)

    def parameters(self):
        return [self.w1, self.b1]


def make_model():
    try:
        import torch
    except ImportError:
        return NumpyNet()
    return torch.nn.Linear(64, 10)


def train(args, model, device, train_loader, optimizer, epoch):
    pass  # the source logs nothing while training


def test(args, model, device, test_loader):
    test_loss = 0
    correct = 0

    example_images = []
    for batch, (data, target) in enumerate(test_loader):
        test_loss += 0.5 / (batch + 1)
        pred = (target + batch) % 10
        correct += int((pred == target).sum())
        example_images.append(wandb.Image(
            data[0], caption="Pred: {} Truth: {}".format(pred[0].item(), target[0])))

    test_loss /= 8
    wandb.log({
        "Examples": example_images,
        "Test Accuracy": 100. * correct / 8,
        "Test Loss": test_loss})


def main():
    wandb.init()
    # Training settings
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="input batch size for training (default: 64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N",
                        help="input batch size for testing (default: 1000)")
    parser.add_argument("--epochs", type=int, default=10, metavar="N",
                        help="number of epochs to train (default: 10)")
    parser.add_argument("--lr", type=float, default=0.01, metavar="LR",
                        help="learning rate (default: 0.01)")
    parser.add_argument("--momentum", type=float, default=0.5, metavar="M",
                        help="SGD momentum (default: 0.5)")
    parser.add_argument("--no-cuda", action="store_true", default=False,
                        help="disables CUDA training")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")
    args = parser.parse_args()

    wandb.config.update(args)

    rng = np.random.default_rng(args.seed)
    device = "cpu"
    test_loader = [
        (rng.integers(0, 255, size=(4, 8, 8)).astype(np.uint8), rng.integers(0, 10, size=4)) for _ in range(2)
    ]

    model = make_model()
    optimizer = None
    wandb.watch(model)

    for epoch in range(1, args.epochs + 1):
        train(args, model, device, None, optimizer, epoch)
        test(args, model, device, test_loader)


if __name__ == "__main__":
    main()
