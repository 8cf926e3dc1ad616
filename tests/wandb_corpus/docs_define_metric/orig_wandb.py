# Modeled on the wandb usage of https://docs.wandb.ai/guides/track/log/customize-logging-axes @docs page, undated (W&B documentation, wandb/docs; licence not restated here); written for gitcfg's tests, no code copied.
# What it exercises: a metric used as another metric's x axis, then a glob of metrics on a custom x axis.

import wandb

wandb.init()

wandb.define_metric("custom_step")
wandb.define_metric("validation_loss", step_metric="custom_step")
for k in range(10):
    falling = 1 / (k + 1)
    wandb.log({"train_loss": falling, "custom_step": k * k, "validation_loss": falling})

wandb.define_metric("train/step")
wandb.define_metric("train/*", step_metric="train/step")
for k in range(10):
    falling = 1 / (k + 1)
    wandb.log(
        {
            "train/step": 1 << k,
            "train/loss": falling,
            "train/accuracy": 1 - falling,
            "val/loss": falling,
        }
    )
