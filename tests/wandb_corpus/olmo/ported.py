# Modeled on the wandb usage of https://github.com/allenai/OLMo/blob/016c4310be02ae2e8b8244f1c879fd7c793344c1/scripts/train.py (the init call) @016c4310be02ae2e8b8244f1c879fd7c793344c1 and https://github.com/allenai/OLMo/blob/00305eb080aeef71cabf2c7e098b92474fbcaa75/olmo/train.py (the log and finish calls) @00305eb080aeef71cabf2c7e098b92474fbcaa75 (Apache-2.0 licence); written for gitcfg's tests, no code copied.
# What it exercises: dir, project, entity, group, name, tags and a nested config (the settings
# without their wandb part) at init; log(step=0) of a system metric, log(step=N) every other step
# and of eval metrics every third step; finish(exit_code=...) (wandb 0.30 takes no quiet=).

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import gitcfg


@dataclass
class TrackerSettings:
    project: Optional[str] = "olmo-small"
    entity: Optional[str] = "ai2-llm"
    group: Optional[str] = "OLMo-1B"
    name: Optional[str] = "OLMo-1B-run-001"
    tags: Optional[list] = field(default_factory=lambda: ["watching"])
    log_interval: int = 2
    rank_zero_only: bool = True


@dataclass
class OptimSettings:
    name: str = "adamw"
    learning_rate: float = 4.0e-4
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)


@dataclass
class RunSettings:
    run_name: str = "OLMo-1B-run-001"
    seed: int = 6198
    save_folder: str = "runs/OLMo-1B"
    max_duration: int = 6
    global_train_batch_size: int = 4
    device_train_microbatch_size: int = 2
    eval_interval: int = 3
    precision: str = "amp_bf16"
    optimizer: OptimSettings = field(default_factory=OptimSettings)
    wandb: Optional[TrackerSettings] = field(default_factory=TrackerSettings)


def run_training(s):
    gen = np.random.default_rng(s.seed)
    if gitcfg.run is not None:
        gitcfg.log({"System/Peak GPU Memory (MB)": 0}, step=0)
    for step in range(1, s.max_duration + 1):
        ce = np.float32(11.0 / step + gen.uniform(0, 0.01))
        if gitcfg.run is not None and step % s.wandb.log_interval == 0:
            gitcfg.log(
                {
                    "train/CrossEntropyLoss": float(ce),
                    "train/Perplexity": float(np.exp(ce)),
                    "throughput/total_tokens": step * 4 * 2048,
                    "optim/learning_rate_group0": s.optimizer.learning_rate * step / 6,
                },
                step=step,
            )
        if step % s.eval_interval == 0 and gitcfg.run is not None:
            gitcfg.log({"eval/downstream/piqa_len_norm": 0.5 + 0.01 * step}, step=step)


if __name__ == "__main__":
    s = RunSettings()
    tracker = s.wandb
    where = Path(s.save_folder, "wandb")
    where.mkdir(parents=True, exist_ok=True)
    recorded = {k: v for k, v in asdict(s).items() if k != "wandb"}
    gitcfg.track(
        dir=where,
        project=tracker.project,
        entity=tracker.entity,
        group=tracker.group,
        name=tracker.name,
        tags=tracker.tags,
        config=recorded,
    )
    code = 1
    try:
        run_training(s)
        code = 0
    finally:
        if gitcfg.run is not None:
            gitcfg.finish(exit_code=code)
