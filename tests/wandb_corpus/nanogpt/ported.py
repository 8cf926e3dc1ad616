# Modeled on the wandb usage of https://github.com/karpathy/nanoGPT/blob/3adf61e154c3fe3fca428ad6bc3818b27a3b8291/train.py @3adf61e154c3fe3fca428ad6bc3818b27a3b8291 (MIT licence); written for gitcfg's tests, no code copied.
# What it exercises: project, name and a flat config of every scalar setting at init; every
# eval_interval iterations one log of iter, train/loss, val/loss (numpy float32 means), lr and mfu.

import math

import numpy as np

SETTINGS = dict(
    out_dir="out",
    eval_interval=2,
    log_interval=1,
    eval_iters=200,
    eval_only=False,
    always_save_checkpoint=True,
    init_from="scratch",
    wandb_log=True,
    wandb_project="owt",
    wandb_run_name="gpt2",
    dataset="openwebtext",
    gradient_accumulation_steps=40,
    batch_size=12,
    block_size=1024,
    n_layer=12,
    n_head=12,
    n_embd=768,
    dropout=0.0,
    bias=False,
    learning_rate=6e-4,
    max_iters=6,
    weight_decay=1e-1,
    beta1=0.9,
    beta2=0.95,
    grad_clip=1.0,
    decay_lr=True,
    warmup_iters=2,
    lr_decay_iters=6,
    min_lr=6e-5,
    backend="nccl",
    device="cpu",
    dtype="float16",
    compile=True,
)
S = SETTINGS


def schedule(n):
    if n < S["warmup_iters"]:
        return S["learning_rate"] * (n + 1) / (S["warmup_iters"] + 1)
    if n > S["lr_decay_iters"]:
        return S["min_lr"]
    frac = (n - S["warmup_iters"]) / (S["lr_decay_iters"] - S["warmup_iters"])
    return S["min_lr"] + 0.5 * (1 + math.cos(math.pi * frac)) * (S["learning_rate"] - S["min_lr"])


if __name__ == "__main__":
    gen = np.random.default_rng(1337)
    if S["wandb_log"]:
        import gitcfg

        gitcfg.track(project=S["wandb_project"], name=S["wandb_run_name"], config=dict(SETTINGS))
    utilisation = -1.0
    for n in range(S["max_iters"] + 1):
        lr = schedule(n) if S["decay_lr"] else S["learning_rate"]
        if n % S["eval_interval"] == 0:
            split_loss = {
                part: (4.0 / (1 + n) + gen.uniform(0, 0.1, size=S["eval_iters"]))
                .astype(np.float32)
                .mean()
                for part in ("train", "val")
            }
            if S["wandb_log"]:
                gitcfg.log(
                    {
                        "iter": n,
                        "train/loss": split_loss["train"],
                        "val/loss": split_loss["val"],
                        "lr": lr,
                        "mfu": utilisation * 100,
                    }
                )
        if n >= 2:
            fresh = 0.25 + 0.01 * n
            utilisation = fresh if utilisation == -1.0 else 0.9 * utilisation + 0.1 * fresh
