# Source: https://github.com/allenai/OLMo/blob/016c4310be02ae2e8b8244f1c879fd7c793344c1/scripts/train.py
# (main: the wandb.init call) and https://github.com/allenai/OLMo/blob/00305eb080aeef71cabf2c7e098b92474fbcaa75/olmo/train.py
# (Trainer.fit and Trainer.close: the wandb.log and wandb.finish calls). Repository allenai/OLMo
# (Apache-2.0 licence).
# Shrunk: a dataclass stand-in for TrainConfig, 6 steps of numpy stand-in metrics instead of an
# FSDP-wrapped OLMo (log every 2 steps, eval every 3, system metrics at step 0), no checkpoints,
# no cancel check. The wandb calls are as in the source except `wandb.finish(..., quiet=True)`:
# wandb 0.30 no longer takes `quiet`, so it is left out here.

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import gitcfg


@dataclass
class WandbConfig:
    project: Optional[str] = "olmo-small"
    entity: Optional[str] = "ai2-llm"
    group: Optional[str] = "OLMo-1B"
    name: Optional[str] = "OLMo-1B-run-001"
    tags: Optional[list] = field(default_factory=lambda: ["watching"])
    log_interval: int = 2
    rank_zero_only: bool = True


@dataclass
class OptimizerConfig:
    name: str = "adamw"
    learning_rate: float = 4.0e-4
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)


@dataclass
class TrainConfig:
    run_name: str = "OLMo-1B-run-001"
    seed: int = 6198
    save_folder: str = "runs/OLMo-1B"
    max_duration: int = 6
    global_train_batch_size: int = 4
    device_train_microbatch_size: int = 2
    eval_interval: int = 3
    precision: str = "amp_bf16"
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    wandb: Optional[WandbConfig] = field(default_factory=WandbConfig)

    def asdict(self, exclude=None):
        out = asdict(self)
        for name in exclude or []:
            out.pop(name, None)
        return out


class Trainer:
    def __init__(self, cfg):
        self.cfg = cfg
        self.global_step = 0
        self.rng = np.random.default_rng(cfg.seed)

    def system_metrics(self):
        return {"System/Peak GPU Memory (MB)": 0}

    def train_step(self):
        loss = np.float32(11.0 / self.global_step + self.rng.uniform(0, 0.01))
        return {"train/CrossEntropyLoss": float(loss), "train/Perplexity": float(np.exp(loss))}

    def eval(self):
        return {"eval/downstream/piqa_len_norm": 0.5 + 0.01 * self.global_step}

    def fit(self):
        # Log system metrics at the start of training.
        sys_metrics = self.system_metrics()
        if sys_metrics:
            if gitcfg.run is not None:
                gitcfg.log(sys_metrics, step=0)

        for _ in range(self.cfg.max_duration):
            self.global_step += 1
            metrics = self.train_step()
            metrics.update({"throughput/total_tokens": self.global_step * 4 * 2048})
            metrics.update({"optim/learning_rate_group0": self.cfg.optimizer.learning_rate * self.global_step / 6})

            # Log metrics to W&B.
            if (
                gitcfg.run is not None
                and self.cfg.wandb is not None
                and self.global_step % self.cfg.wandb.log_interval == 0
            ):
                gitcfg.log(metrics, step=self.global_step)

            # Maybe run evaluations.
            if self.global_step % self.cfg.eval_interval == 0:
                eval_metrics = self.eval()

                # Log metrics to W&B.
                if gitcfg.run is not None:
                    gitcfg.log(eval_metrics, step=self.global_step)

    def close(self, exit_code: int = 0) -> None:
        if gitcfg.run is not None:
            gitcfg.finish(exit_code=exit_code)

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        del exc_val, exc_tb
        self.close(0 if exc_type is None else 1)


def main(cfg: TrainConfig) -> None:
    # Maybe start W&B run.
    if cfg.wandb is not None:
        wandb_dir = Path(cfg.save_folder) / "wandb"
        wandb_dir.mkdir(parents=True, exist_ok=True)
        gitcfg.track(
            dir=wandb_dir,
            project=cfg.wandb.project,
            entity=cfg.wandb.entity,
            group=cfg.wandb.group,
            name=cfg.wandb.name,
            tags=cfg.wandb.tags,
            config=cfg.asdict(exclude=["wandb"]),
        )

    with Trainer(cfg) as trainer:
        trainer.fit()


if __name__ == "__main__":
    main(TrainConfig())
