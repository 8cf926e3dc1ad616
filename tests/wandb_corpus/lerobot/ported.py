# Modeled on the wandb usage of https://github.com/huggingface/lerobot/blob/08e5fbadeb44fd241e1f75840368d2b51ff066e7/src/lerobot/utils/wandb_utils.py (its W&B logger and group naming) @08e5fbadeb44fd241e1f75840368d2b51ff066e7 (Apache-2.0 licence); written for gitcfg's tests, no code copied.
# What it exercises: id=None, project, entity, name, notes, tags built from the settings, dir,
# a nested config, save_code=False, job_type, resume=None and mode="offline" at init; run.id and
# run.url read back; log(data=..., step=N) one key at a time for int/float/str values only (an
# array is skipped); the eval values under "eval/" at the last step; finish().

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class PolicyPart:
    type: str = "act"
    chunk_size: int = 100
    n_action_steps: int = 100
    optimizer_lr: float = 1e-5


@dataclass
class DataPart:
    repo_id: str = "lerobot/aloha_sim_transfer_cube_human"
    episodes: list = None


@dataclass
class TrackerPart:
    enable: bool = True
    disable_artifact: bool = True
    project: str = "lerobot"
    entity: str = None
    notes: str = "act on the transfer-cube task"
    run_id: str = None
    mode: str = "offline"


@dataclass
class Pipeline:
    dataset: DataPart = field(default_factory=DataPart)
    env: object = None
    policy: PolicyPart = field(default_factory=PolicyPart)
    output_dir: Path = Path("outputs/train/act_aloha_transfer")
    job_name: str = "act_aloha_transfer"
    resume: bool = False
    seed: int = 1000
    batch_size: int = 8
    steps: int = 6
    log_freq: int = 2
    wandb: TrackerPart = field(default_factory=TrackerPart)


def labels(p):
    out = ["policy:" + p.policy.type, "seed:" + str(p.seed)]
    if p.dataset is not None:
        out.append("dataset:" + p.dataset.repo_id)
    if p.env is not None:
        out.append("env:" + p.env.type)
    return out


class Tracker:
    def __init__(self, p):
        os.environ["WANDB_SILENT"] = "True"
        import gitcfg

        t = p.wandb
        settings = asdict(p)
        settings["output_dir"] = str(p.output_dir)
        gitcfg.track(
            id=t.run_id or None,
            project=t.project,
            entity=t.entity,
            name=p.job_name,
            notes=t.notes,
            tags=labels(p),
            dir=p.output_dir,
            config=settings,
            save_code=False,
            job_type="train_eval",
            resume="must" if p.resume else None,
            mode=t.mode if t.mode in ("online", "offline", "disabled") else "online",
        )
        t.run_id = gitcfg.run.id
        print("tracking", gitcfg.run.url)
        self.w = gitcfg

    def put(self, values, step, prefix="train"):
        for key, value in values.items():
            if isinstance(value, (int, float, str)):
                self.w.log(data={f"{prefix}/{key}": value}, step=step)

    def close(self):
        self.w.finish()


if __name__ == "__main__":
    p = Pipeline()
    p.output_dir.mkdir(parents=True, exist_ok=True)
    tracker = Tracker(p) if p.wandb.enable and p.wandb.project else None
    gen = np.random.default_rng(p.seed)
    for step in range(1, p.steps + 1):
        loss = float(np.float32(5.0 / step + gen.uniform(0, 0.01)))
        if tracker and step % p.log_freq == 0:
            tracker.put(
                {
                    "steps": step,
                    "samples": step * p.batch_size,
                    "loss": loss,
                    "grad_norm": 10.0 / step,
                    "lr": p.policy.optimizer_lr,
                    "update_s": 0.125,
                    "dataloading_s": 0.0625,
                    "histogram": np.arange(3),
                },
                step,
            )
    if tracker:
        tracker.put(
            {"avg_sum_reward": 120.5, "pc_success": 34.0, "eval_s": 12.25}, step, prefix="eval"
        )
        tracker.close()
