# Source: https://github.com/huggingface/lerobot/blob/08e5fbadeb44fd241e1f75840368d2b51ff066e7/src/lerobot/utils/wandb_utils.py
# (cfg_to_group, WandBLogger) at commit 08e5fbadeb44fd241e1f75840368d2b51ff066e7 of
# huggingface/lerobot (Apache-2.0 licence).
# Shrunk: a dataclass stand-in for TrainPipelineConfig (ACT on aloha, mode "offline" chosen in the
# config), a 6-step training loop in the manner of lerobot's train script (train metrics every 2
# steps, eval at the end) with numpy stand-in values; termcolor's colored() replaced by a plain
# stand-in; log_policy and log_video (artifacts, video) not called. The wandb calls are as in the
# source except `wandb.run.get_url()`, which wandb 0.30 no longer has: `wandb.run.url` here.

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


def colored(text, color=None, attrs=None):
    return str(text)


@dataclass
class PolicyConfig:
    type: str = "act"
    chunk_size: int = 100
    n_action_steps: int = 100
    optimizer_lr: float = 1e-5


@dataclass
class DatasetConfig:
    repo_id: str = "lerobot/aloha_sim_transfer_cube_human"
    episodes: list = None


@dataclass
class WandBConfig:
    enable: bool = True
    disable_artifact: bool = True
    project: str = "lerobot"
    entity: str = None
    notes: str = "act on the transfer-cube task"
    run_id: str = None
    mode: str = "offline"


@dataclass
class TrainPipelineConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    env: object = None
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    output_dir: Path = Path("outputs/train/act_aloha_transfer")
    job_name: str = "act_aloha_transfer"
    resume: bool = False
    seed: int = 1000
    batch_size: int = 8
    steps: int = 6
    log_freq: int = 2
    wandb: WandBConfig = field(default_factory=WandBConfig)

    def to_dict(self):
        d = asdict(self)
        d["output_dir"] = str(self.output_dir)
        return d


def cfg_to_group(cfg, return_list: bool = False):
    """Return a group name for logging. Optionally returns group name as list."""
    lst = [
        f"policy:{cfg.policy.type}",
        f"seed:{cfg.seed}",
    ]
    if cfg.dataset is not None:
        lst.append(f"dataset:{cfg.dataset.repo_id}")
    if cfg.env is not None:
        lst.append(f"env:{cfg.env.type}")
    return lst if return_list else "-".join(lst)


class WandBLogger:
    """A helper class to log object using wandb."""

    def __init__(self, cfg):
        self.cfg = cfg.wandb
        self.log_dir = cfg.output_dir
        self.job_name = cfg.job_name
        self.env_fps = cfg.env.fps if cfg.env else None
        self._group = cfg_to_group(cfg)

        # Set up WandB.
        os.environ["WANDB_SILENT"] = "True"
        import gitcfg

        wandb_run_id = (
            cfg.wandb.run_id
            if cfg.wandb.run_id
            else None
        )
        gitcfg.track(
            id=wandb_run_id,
            project=self.cfg.project,
            entity=self.cfg.entity,
            name=self.job_name,
            notes=self.cfg.notes,
            tags=cfg_to_group(cfg, return_list=True),
            dir=self.log_dir,
            config=cfg.to_dict(),
            # TODO(rcadene): try set to True
            save_code=False,
            # TODO(rcadene): split train and eval, and run async eval with job_type="eval"
            job_type="train_eval",
            resume="must" if cfg.resume else None,
            mode=self.cfg.mode if self.cfg.mode in ["online", "offline", "disabled"] else "online",
        )
        run_id = gitcfg.run.id
        # NOTE: We will override the cfg.wandb.run_id with the wandb run id.
        # This is because we want to be able to resume the run from the wandb run id.
        cfg.wandb.run_id = run_id
        # Handle custom step key for rl asynchronous training.
        self._wandb_custom_step_key = None
        print(colored("Logs will be synced with wandb.", "blue", attrs=["bold"]))
        logging.info(f"Track this run --> {colored(gitcfg.run.url, 'yellow', attrs=['bold'])}")
        self._wandb = gitcfg

    def log_dict(self, d: dict, step: int = None, mode: str = "train", custom_step_key: str = None):
        if mode not in {"train", "eval"}:
            raise ValueError(mode)
        if step is None and custom_step_key is None:
            raise ValueError("Either step or custom_step_key must be provided.")

        if custom_step_key is not None:
            if self._wandb_custom_step_key is None:
                self._wandb_custom_step_key = set()
            new_custom_key = f"{mode}/{custom_step_key}"
            if new_custom_key not in self._wandb_custom_step_key:
                self._wandb_custom_step_key.add(new_custom_key)
                self._wandb.define_metric(new_custom_key, hidden=True)

        for k, v in d.items():
            if not isinstance(v, (int, float, str)):
                logging.warning(
                    f'WandB logging of key "{k}" was ignored as its type "{type(v)}" is not handled by this wrapper.'
                )
                continue

            # Do not log the custom step key itself.
            if self._wandb_custom_step_key is not None and k in self._wandb_custom_step_key:
                continue

            if custom_step_key is not None:
                value_custom_step = d[custom_step_key]
                data = {f"{mode}/{k}": v, f"{mode}/{custom_step_key}": value_custom_step}
                self._wandb.log(data)
                continue

            self._wandb.log(data={f"{mode}/{k}": v}, step=step)

    def finish(self) -> None:
        """Clean up and finish the wandb session."""
        if hasattr(self, '_wandb') and self._wandb is not None:
            self._wandb.finish()


def train(cfg):
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    wandb_logger = WandBLogger(cfg) if cfg.wandb.enable and cfg.wandb.project else None
    rng = np.random.default_rng(cfg.seed)
    for step in range(1, cfg.steps + 1):
        loss = float(np.float32(5.0 / step + rng.uniform(0, 0.01)))
        if step % cfg.log_freq == 0 and wandb_logger:
            wandb_log_dict = {
                "steps": step,
                "samples": step * cfg.batch_size,
                "loss": loss,
                "grad_norm": 10.0 / step,
                "lr": cfg.policy.optimizer_lr,
                "update_s": 0.125,
                "dataloading_s": 0.0625,
                "histogram": np.arange(3),  # ignored by log_dict: not int, float or str
            }
            wandb_logger.log_dict(wandb_log_dict, step)
    if wandb_logger:
        eval_info = {"avg_sum_reward": 120.5, "pc_success": 34.0, "eval_s": 12.25}
        wandb_logger.log_dict(eval_info, step, mode="eval")
        wandb_logger.finish()


if __name__ == "__main__":
    train(TrainPipelineConfig())
