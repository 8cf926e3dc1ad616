# Source: https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/launch/launch-quickstart/train.py
# Repository wandb/examples at commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository).
# Shrunk: numpy stand-ins for the Fashion-MNIST CNN and loader (8x8 images, 3 batches of 4 per
# epoch, 2 epochs), a loss curve instead of backprop. The wandb calls are as in the source.

import numpy as np
import gitcfg

# Training hyperparamters
config = {
    "learning_rate": 0.0001,
    "batch_size": 4,
    "epochs": 2,
}

rng = np.random.default_rng(0)
train_loader = [
    (rng.integers(0, 255, size=(4, 8, 8)).astype(np.uint8), rng.integers(0, 10, size=4)) for _ in range(3)
]

# Pass config into wandb.init
with gitcfg.track(config=config) as run:
    # Training setup
    config = run.config
    learning_rate = config.learning_rate

    # Epoch loop
    iter = 0
    losses = []
    for epoch in range(config.epochs):
        # Iterate over batches of the data
        for idx, (images, labels) in enumerate(train_loader):
            iter += 1
            outputs = rng.normal(size=(len(labels), 10))
            loss = 2.3 / iter
            losses.append(loss)

            if iter % 2 == 1:
                run.log(
                    {
                        "train/loss": sum(losses) / len(losses),  # Log average loss
                        "train/losses": gitcfg.Histogram(losses),  # Log all losses
                    }
                )
                losses = []

            if idx == 0:
                table = gitcfg.Table(columns=["image", "label", "prediction"])
                for im, lab, pred in zip(images, labels, outputs):
                    pred = np.argmax(pred)
                    table.add_data(gitcfg.Image(im), lab.item(), pred.item())
                run.log({"train/predictions": table})
