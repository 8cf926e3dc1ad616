# Modeled on the wandb usage of https://github.com/wandb/examples/blob/5cab88702fc51edfb4afc79a1de89e9acf6cb605/examples/wandb-automations/train.py @5cab88702fc51edfb4afc79a1de89e9acf6cb605 (no licence file in the repository); written for gitcfg's tests, no code copied.
# What it exercises: a SimpleNamespace as config with project, job_type and settings at init,
# run.log_code with an include filter, run.config read back, a log per batch and once more per epoch.

import argparse
import math
from types import SimpleNamespace

import numpy as np
import gitcfg

settings_in = SimpleNamespace(
    batch_count=3,
    batch_size=8,
    image_size=32,
    learning_rate=1e-3,
    epochs=1,
    num_workers=0,
    model_name="resnest14d",
    num_classes=10,
    in_chans=1,
    device="cpu",
    link_model=True,
)


def cli_overrides(into):
    cli = argparse.ArgumentParser(description="toy classifier")
    for key in ("batch_size", "image_size", "epochs", "num_workers", "num_classes", "in_chans"):
        cli.add_argument("--" + key, type=int, default=getattr(into, key))
    cli.add_argument("--learning_rate", type=float, default=into.learning_rate)
    cli.add_argument("--model_name", default=into.model_name)
    cli.add_argument("--device", default=into.device)
    cli.add_argument("--link_model", action="store_true", default=into.link_model)
    for key, value in vars(cli.parse_args()).items():
        setattr(into, key, value)


def fit(cfg_in):
    gen = np.random.default_rng(0)
    batches = [gen.integers(0, 10, size=cfg_in.batch_size) for _ in range(cfg_in.batch_count)]
    run = gitcfg.track(
        project="wandb_automations", job_type="train", config=cfg_in, settings={"disable_git": True}
    )
    run.log_code(name="train", include_fn=lambda p: p.endswith((".py", ".txt")))
    cfg = run.config
    per_epoch = math.ceil(len(batches))
    seen = hits = 0
    for epoch in range(cfg.epochs):
        hits = 0
        for k, truth in enumerate(batches):
            seen += truth.size
            hits += int(np.count_nonzero((truth + k) % 10 == truth))
            last = {"train_loss": np.float32(2.3 / (k + 1)), "train_acc": hits / seen}
            run.log(last)
        run.log(last)
        print(epoch, per_epoch, last)
    run.finish()


if __name__ == "__main__":
    cli_overrides(settings_in)
    fit(settings_in)
