# Modeled on the wandb usage of https://github.com/mlfoundations/open_clip/blob/89fb801f1e6087880e951fc8354b8a2077b79c6d/src/open_clip_train/legacy_main.py (and legacy_train.py's train and evaluate logging) @89fb801f1e6087880e951fc8354b8a2077b79c6d (MIT licence); written for gitcfg's tests, no code copied.
# What it exercises: project, name, id, notes, tags=[], resume=None and vars(args) as config at
# init; save() of a params file the script wrote; log(step=...) of "train/..." keys plus "step"
# every other batch and of "val/..." keys plus "epoch" after each epoch; finish().
# argv: --epochs 2 --wandb-notes "corpus run" --report-to wandb

import argparse
import os
import sys

import numpy as np

try:
    import gitcfg
except ImportError:
    gitcfg = None

PER_EPOCH = 4


def options(argv):
    cli = argparse.ArgumentParser()
    cli.add_argument("--train-data", default=None)
    cli.add_argument("--logs", default="./logs/")
    cli.add_argument("--name", default="2024_05_01-12_00_00-model_RN50-lr_0.0005-b_4-j_1-p_amp")
    cli.add_argument("--epochs", type=int, default=32)
    cli.add_argument("--batch-size", type=int, default=4)
    cli.add_argument("--lr", type=float, default=5.0e-4)
    cli.add_argument("--wd", type=float, default=0.2)
    cli.add_argument("--model", default="RN50")
    cli.add_argument("--precision", choices=["amp", "fp32"], default="amp")
    cli.add_argument("--accum-freq", type=int, default=1)
    cli.add_argument("--log-every-n-steps", type=int, default=2)
    cli.add_argument("--report-to", default="")
    cli.add_argument("--wandb-notes", default="")
    cli.add_argument("--wandb-project-name", default="open-clip")
    cli.add_argument("--debug", action="store_true", default=False)
    cli.add_argument("--resume", default=None)
    return cli.parse_args(argv)


def one_epoch(epoch, a):
    for b in range(PER_EPOCH):
        done = b // a.accum_freq + 1
        step = PER_EPOCH * epoch + done - 1
        if done % a.log_every_n_steps and done != PER_EPOCH:
            continue
        loss = 1.5 / (step + 1)
        meters = {
            "data_time": 0.01,
            "batch_time": 0.25,
            "samples_per_second": a.batch_size / 0.25,
            "samples_per_second_per_gpu": a.batch_size / 0.25,
            "logit_scale": float(np.float32(14.285714)),
            "lr": a.lr * (1 - step / 100),
            "contrastive_loss": loss,
            "loss": loss,
        }
        if a.wandb:
            gitcfg.log({**{"train/" + k: v for k, v in meters.items()}, "step": step}, step=step)


def validate(epoch, a):
    scores = {
        "image_to_text_mean_rank": 40.0 / epoch,
        "text_to_image_R@1": 0.1 * epoch,
        "epoch": epoch,
    }
    if a.wandb:
        gitcfg.log(
            {**{"val/" + k: v for k, v in scores.items()}, "epoch": epoch}, step=PER_EPOCH * epoch
        )


if __name__ == "__main__":
    a = options(sys.argv[1:])
    folder = os.path.join(a.logs, a.name)
    os.makedirs(folder, exist_ok=True)
    a.wandb = "wandb" in a.report_to or "all" in a.report_to
    a.checkpoint_path = os.path.join(folder, "checkpoints")
    params = os.path.join(folder, "params.txt")
    with open(params, "w") as out:
        out.writelines(f"{k}: {getattr(a, k)}\n" for k in sorted(vars(a)))
    if a.wandb:
        a.train_sz = PER_EPOCH * a.batch_size
        gitcfg.track(
            project=a.wandb_project_name,
            name=a.name,
            id=a.name,
            notes=a.wandb_notes,
            tags=[],
            resume="auto" if a.resume == "latest" else None,
            config=vars(a),
        )
        gitcfg.save(params)
    for epoch in range(a.epochs):
        one_epoch(epoch, a)
        validate(epoch + 1, a)
    if a.wandb:
        gitcfg.finish()
