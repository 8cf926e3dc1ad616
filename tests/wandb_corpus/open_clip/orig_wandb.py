# Source: https://github.com/mlfoundations/open_clip/blob/89fb801f1e6087880e951fc8354b8a2077b79c6d/src/open_clip_train/legacy_main.py
# and src/open_clip_train/legacy_train.py (train_one_epoch, evaluate) at the same commit.
# Repository mlfoundations/open_clip at commit 89fb801f1e6087880e951fc8354b8a2077b79c6d (MIT licence).
# Shrunk: a subset of the arguments with args.wandb = True, a fixed run name (the source builds it
# from the date), 2 epochs of 4 batches of numpy stand-in meters instead of training CLIP, logs
# every 2 batches; params.txt written as the source writes it. The wandb calls are as in the source.
# argv: --epochs 2 --wandb-notes "corpus run" --report-to wandb

import argparse
import os

import numpy as np

try:
    import wandb
except ImportError:
    wandb = None


def parse_args(args):
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-data", type=str, default=None)
    parser.add_argument("--logs", type=str, default="./logs/")
    parser.add_argument("--name", type=str, default="2024_05_01-12_00_00-model_RN50-lr_0.0005-b_4-j_1-p_amp")
    parser.add_argument("--epochs", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5.0e-4)
    parser.add_argument("--wd", type=float, default=0.2)
    parser.add_argument("--model", type=str, default="RN50")
    parser.add_argument("--precision", choices=["amp", "fp32"], default="amp")
    parser.add_argument("--accum-freq", type=int, default=1)
    parser.add_argument("--log-every-n-steps", type=int, default=2)
    parser.add_argument("--report-to", default="", type=str)
    parser.add_argument("--wandb-notes", default="", type=str)
    parser.add_argument("--wandb-project-name", type=str, default="open-clip")
    parser.add_argument("--debug", default=False, action="store_true")
    parser.add_argument("--resume", default=None, type=str)
    return parser.parse_args(args)


def train_one_epoch(epoch, args, num_batches_per_epoch):
    for i in range(num_batches_per_epoch):
        i_accum = i // args.accum_freq
        step = num_batches_per_epoch * epoch + i_accum
        batch_count = i_accum + 1
        if batch_count % args.log_every_n_steps == 0 or batch_count == num_batches_per_epoch:
            # Save train loss / etc. Using non avg meter values as loggers have their own smoothing
            log_data = {
                "data_time": 0.01,
                "batch_time": 0.25,
                "samples_per_second": args.batch_size / 0.25,
                "samples_per_second_per_gpu": args.batch_size / 0.25,
                "logit_scale": float(np.float32(14.285714)),
                "lr": args.lr * (1 - step / 100),
            }
            log_data.update({"contrastive_loss": 1.5 / (step + 1), "loss": 1.5 / (step + 1)})

            log_data = {"train/" + name: val for name, val in log_data.items()}

            if args.wandb:
                assert wandb is not None, 'Please install wandb.'
                log_data['step'] = step  # for backwards compatibility
                wandb.log(log_data, step=step)


def evaluate(epoch, args, num_batches_per_epoch):
    metrics = {"image_to_text_mean_rank": 40.0 / epoch, "text_to_image_R@1": 0.1 * epoch, "epoch": epoch}
    log_data = {"val/" + name: val for name, val in metrics.items()}
    if args.wandb:
        assert wandb is not None, 'Please install wandb.'
        step = num_batches_per_epoch * epoch
        log_data['epoch'] = epoch
        wandb.log(log_data, step=step)
    return metrics


def main(args):
    args = parse_args(args)
    log_base_path = os.path.join(args.logs, args.name)
    os.makedirs(log_base_path, exist_ok=True)
    args.wandb = 'wandb' in args.report_to or 'all' in args.report_to
    args.checkpoint_path = os.path.join(log_base_path, "checkpoints")
    params_file = os.path.join(args.logs, args.name, "params.txt")
    with open(params_file, "w") as f:
        for name in sorted(vars(args)):
            val = getattr(args, name)
            f.write(f"{name}: {val}\n")

    num_batches_per_epoch = 4
    if args.wandb:
        assert wandb is not None, 'Please install wandb.'
        args.train_sz = num_batches_per_epoch * args.batch_size
        # you will have to configure this for your project!
        wandb.init(
            project=args.wandb_project_name,
            name=args.name,
            id=args.name,
            notes=args.wandb_notes,
            tags=[],
            resume='auto' if args.resume == "latest" else None,
            config=vars(args),
        )
        wandb.save(params_file)

    for epoch in range(0, args.epochs):
        train_one_epoch(epoch, args, num_batches_per_epoch)
        completed_epoch = epoch + 1
        evaluate(completed_epoch, args, num_batches_per_epoch)

    if args.wandb:
        wandb.finish()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
