# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/launch/launch-quickstart/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: init as a context manager with a dict config, run.config read back, every
# other step a mean loss with a Histogram of the losses, and on each epoch's first batch a Table
# of (Image, label, prediction) rows.

import numpy as np
import wandb

hyper = {"learning_rate": 0.0001, "batch_size": 4, "epochs": 2}
gen = np.random.default_rng(0)
loader = [
    (gen.integers(0, 255, size=(4, 8, 8)).astype(np.uint8), gen.integers(0, 10, size=4))
    for _ in range(3)
]

with wandb.init(config=hyper) as run:
    cfg = run.config
    step = 0
    pending = []
    for _epoch in range(cfg.epochs):
        for b, (pixels, truth) in enumerate(loader):
            step += 1
            scores = gen.normal(size=(truth.size, 10))
            pending.append(2.3 / step)
            if step % 2:
                run.log(
                    {
                        "train/loss": float(np.mean(pending)),
                        "train/losses": wandb.Histogram(pending),
                    }
                )
                pending = []
            if b == 0:
                grid = wandb.Table(columns=["image", "label", "prediction"])
                for picture, label, row in zip(pixels, truth, scores, strict=True):
                    grid.add_data(wandb.Image(picture), int(label), int(row.argmax()))
                run.log({"train/predictions": grid})
