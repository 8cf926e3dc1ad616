"""Issue 15, black box: every framework integration as a user meets it, from the issue text and
docs/integrations.md only (written before reading the implementation).

Each test commits a real training script to a real temporary repository, runs it as its own
Python process (OMP_NUM_THREADS=1, tiny CPU models, a few steps) and reads the runs back through
`gitcfg.Api()` and the `gitcfg` CLI. The peers' pitfalls listed in
/work/shared/reference/integrations.md (issue numbers in each test's docstring) must be absent.
The last tests are public-style wandb framework scripts ported mechanically (`wandb` -> `gitcfg`,
`WandbLogger` -> `GitcfgLogger`, ...).
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import REGRESSION_DATA, commit_script, git, run_python

import gitcfg

ENV = {"OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch", "TOKENIZERS_PARALLELISM": "false"}


def need(*modules: str) -> None:
    """pytest.importorskip without importing: torch, transformers or keras (whose default backend is
    tensorflow, absent here) would cost the test process seconds; the scripts import them."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[integrations]')")


def train(
    repo: Path,
    body: str,
    *args: str,
    name: str = "train.py",
    env: dict[str, str] | None = None,
    expect: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Commit `body` as repo/`name`, run it, assert its exit code (showing its stderr)."""
    script = repo / name
    if not script.exists() or script.read_text() != textwrap.dedent(body):
        commit_script(repo, name, body)
    proc = run_python(repo, script, *args, env={**ENV, **(env or {})}, timeout=900)
    assert proc.returncode == expect, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def last_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """The last stdout line that is JSON (frameworks print their own lines)."""
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(("{", "[")):
            return json.loads(line)
    raise AssertionError(f"no JSON line in {proc.stdout!r}")


def runs(repo: Path) -> list[Any]:
    """Every run of `repo`, oldest first."""
    return list(reversed(list(gitcfg.Api(repo).runs())))


def cli(repo: Path, *args: str) -> Any:
    """`gitcfg ARGS --format json` as a real process, parsed."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", *args, "--format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def metric_rows(run: Any, key: str) -> list[dict[str, Any]]:
    return [row for row in run.metrics() if key in row]


def assert_steps_rise(rows: list[dict[str, Any]]) -> None:
    steps = [row["_step"] for row in rows]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), steps


# ----------------------------------------------------------------------------------------------
# PyTorch Lightning

LIGHTNING_MODEL = """\
import argparse, json, os, sys
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import lightning.pytorch as pl
import gitcfg
from gitcfg.integrations.lightning import GitcfgLogger

OUT = os.environ.get("OUT", ".")


class Data(pl.LightningDataModule):
    def __init__(self, batch_size=8):
        super().__init__()
        self.save_hyperparameters()

    def _loader(self, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(64, 4, generator=g)
        return DataLoader(TensorDataset(x, x[:, :1]), batch_size=self.hparams.batch_size)

    def train_dataloader(self):
        return self._loader(0)

    def val_dataloader(self):
        return self._loader(1)

    def test_dataloader(self):
        return self._loader(2)


class Net(pl.LightningModule):
    def __init__(self, hidden=8, lr=0.05, opt=None, layers=None, fail_at=None):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def _loss(self, batch):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, i):
        if self.hparams.fail_at is not None and self.global_step == self.hparams.fail_at:
            raise RuntimeError(f"boom at step {self.global_step}")
        loss = self._loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, i):
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch, i):
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def trainer(logger, **kwargs):
    options = dict(
        max_epochs=2, accelerator="cpu", devices=1, log_every_n_steps=2, logger=logger,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=OUT,
    )
    options.update(kwargs)
    return pl.Trainer(**options)
"""


def lightning_env(tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return {"OUT": str(out)}


def test_lightning_fit_then_test_is_one_run_with_nested_hparams_rows_and_best_checkpoint(
    repo: Path, tmp_path: Path
) -> None:
    """lightning.pytorch: `finalize("success")` after fit does not end the run, test joins it;
    `version` is the run id; hparams of the module and the datamodule nested as given, a list of
    dicts kept (Lightning-AI/pytorch-lightning#19957); `after_save_checkpoint` puts the best
    checkpoint's path and score into the summary."""
    need("lightning", "torch")
    proc = train(
        repo,
        LIGHTNING_MODEL
        + """\
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import Logger

logger = GitcfgLogger()
assert isinstance(logger, Logger)
checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
model = Net(opt={"name": "adam", "betas": [0.9, 0.99]}, layers=[{"units": 8}, {"units": 4}])
t = trainer(logger, callbacks=[checkpoint])
t.fit(model, datamodule=Data())
after_fit = gitcfg.Api().run(logger.version).status
active = gitcfg.run.id if gitcfg.run is not None else None
t.test(model, datamodule=Data())
print(json.dumps({
    "version": logger.version, "after_fit": after_fit, "active": active,
    "best_path": checkpoint.best_model_path, "best_score": float(checkpoint.best_model_score),
}))
""",
        env=lightning_env(tmp_path),
    )
    out = last_json(proc)
    (run,) = runs(repo)
    assert run.id == out["version"] == out["active"]
    assert out["after_fit"] == "running"
    assert run.status == "finished" and run.meta["exit_code"] == 0
    config = run.config
    assert config["hidden"] == 8 and config["lr"] == 0.05 and config["batch_size"] == 8
    assert config["opt"] == {"name": "adam", "betas": [0.9, 0.99]}
    assert config["layers"] == [{"units": 8}, {"units": 4}]
    rows = run.metrics()
    assert_steps_rise(rows)
    train_rows, val_rows = metric_rows(run, "train_loss"), metric_rows(run, "val_loss")
    (test_row,) = metric_rows(run, "test_loss")
    assert len(train_rows) >= 6 and len(val_rows) == 2
    assert all(0 <= row["_step"] < 16 for row in train_rows)  # 2 epochs x 8 batches
    assert test_row["_step"] >= val_rows[-1]["_step"]
    summary = run.summary
    assert summary["test_loss"] == test_row["test_loss"]
    assert summary["best_model_path"] == out["best_path"]
    assert f"gitcfg/{run.id}/checkpoints" in summary["best_model_path"]
    assert Path(summary["best_model_path"]).is_file()
    assert math.isclose(summary["best_model_score"], out["best_score"], rel_tol=1e-6)
    assert math.isclose(out["best_score"], min(r["val_loss"] for r in val_rows), rel_tol=1e-6)
    assert summary.get("best_model_monitor") == "val_loss"
    # the CLI sees the same run
    shown = cli(repo, "show", run.id[:10])
    assert shown["run"]["status"] == "finished" and shown["config"]["opt"]["betas"] == [0.9, 0.99]
    assert shown["summary"]["best_model_path"] == out["best_path"]
    assert [r["id"] for r in cli(repo, "log")] == [run.id]


def test_lightning_sweep_in_one_process_is_one_run_per_fit_and_failed_fit_is_failed(
    repo: Path, tmp_path: Path
) -> None:
    """A loop of fits, a new GitcfgLogger each: one run per fit, never merged (the WandbLogger
    pitfall: Lightning-AI/pytorch-lightning#18659, #8617, wandb/wandb#1314); `logger.finish()` ends
    the run now; a fit that raises (caught by the script) is `failed` via finalize("failed")."""
    need("lightning", "torch")
    proc = train(
        repo,
        LIGHTNING_MODEL
        + """\
seen = []
for lr in (0.01, 0.02, 0.03):
    logger = GitcfgLogger(group="sweep")
    t = trainer(logger, max_epochs=1, limit_train_batches=4, limit_val_batches=2)
    try:
        t.fit(Net(lr=lr, fail_at=2 if lr == 0.02 else None), datamodule=Data())
    except RuntimeError as error:
        print("caught", error, file=sys.stderr)
    status = None
    if lr == 0.01:
        logger.finish()
        status = gitcfg.Api().run(logger.version).status
    seen.append({"lr": lr, "version": logger.version, "status_after_finish": status})
print(json.dumps(seen))
""",
        env=lightning_env(tmp_path),
    )
    seen = last_json(proc)
    assert seen[0]["status_after_finish"] == "finished"
    found = runs(repo)
    assert len(found) == 3
    assert [r.id for r in found] == [s["version"] for s in seen]
    by_lr = {r.config["lr"]: r for r in found}
    assert sorted(by_lr) == [0.01, 0.02, 0.03]
    assert all(r.group == "sweep" for r in found)
    assert by_lr[0.01].status == "finished" and by_lr[0.03].status == "finished"
    failed = by_lr[0.02]
    assert failed.status == "failed", failed.meta
    assert failed.meta["error"]["type"] == "RuntimeError"
    assert "boom at step 2" in failed.meta["error"]["message"]
    for lr in (0.01, 0.03):  # each fit's own rows, from its own step 0: 4 batches, 1 epoch
        rows = by_lr[lr].metrics()
        assert_steps_rise(rows)
        assert len(metric_rows(by_lr[lr], "val_loss")) == 1
        assert all(row["_step"] < 4 for row in rows)


def test_lightning_ddp_two_cpu_processes_is_exactly_one_run(repo: Path, tmp_path: Path) -> None:
    """DDP on CPU (gloo, devices=2): only global rank 0 records; `version` is the same on both
    ranks (Lightning-AI/pytorch-lightning#18294, #8945, #6364)."""
    need("lightning", "torch")
    env = lightning_env(tmp_path)
    train(
        repo,
        LIGHTNING_MODEL
        + """\
logger = GitcfgLogger()
t = trainer(logger, devices=2, strategy="ddp", max_epochs=1, limit_train_batches=4,
            limit_val_batches=2)
t.fit(Net(), datamodule=Data())
with open(os.path.join(OUT, f"rank{t.global_rank}.json"), "w") as f:
    json.dump({"version": logger.version, "ckpt_dir": t.checkpoint_callback.dirpath}, f)
""",
        env=env,
    )
    rank0 = json.loads((Path(env["OUT"]) / "rank0.json").read_text())
    rank1 = json.loads((Path(env["OUT"]) / "rank1.json").read_text())
    (run,) = runs(repo)
    assert rank0["version"] == rank1["version"] == run.id
    assert rank0["ckpt_dir"] == rank1["ckpt_dir"]
    assert run.status == "finished"
    assert metric_rows(run, "train_loss") and len(metric_rows(run, "val_loss")) == 1


def test_rank_detection_counts_node_rank(repo: Path) -> None:
    """Lightning's own multi-node launcher sets LOCAL_RANK and NODE_RANK without RANK: local rank 0
    of node 1 must not record; local rank 0 of node 0 does."""
    body = """\
import gitcfg
run = gitcfg.track({"lr": 0.1})
gitcfg.log({"loss": 1.0})
"""
    train(repo, body, env={"NODE_RANK": "1", "LOCAL_RANK": "0", "WORLD_SIZE": "4"})
    assert git(repo, "rev-parse", "-q", "--verify", "gitcfg-runs", check=False) == "" or not runs(
        repo
    )
    train(repo, body, env={"NODE_RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "4"})
    (run,) = runs(repo)
    assert run.config == {"lr": 0.1}


def test_lightning_resume_from_checkpoint_continues_the_same_run(
    repo: Path, tmp_path: Path
) -> None:
    """`GitcfgLogger(version=run_id, resume="allow")` + `fit(ckpt_path=...)`: the same run, rows
    continuing (Lightning-AI/pytorch-lightning#5342, #4935, #13524)."""
    need("lightning", "torch")
    env = lightning_env(tmp_path)
    first = train(
        repo,
        LIGHTNING_MODEL
        + """\
from lightning.pytorch.callbacks import ModelCheckpoint
checkpoint = ModelCheckpoint(save_last=True)
logger = GitcfgLogger()
trainer(logger, max_epochs=1, callbacks=[checkpoint]).fit(Net(), datamodule=Data())
print(json.dumps({"version": logger.version, "last": checkpoint.last_model_path}))
""",
        env=env,
    )
    out = last_json(first)
    assert f"gitcfg/{out['version']}/checkpoints" in out["last"]
    train(
        repo,
        LIGHTNING_MODEL
        + """\
version, last = sys.argv[1], sys.argv[2]
logger = GitcfgLogger(version=version, resume="allow")
trainer(logger, max_epochs=2).fit(Net(), datamodule=Data(), ckpt_path=last)
assert logger.version == version, logger.version
""",
        out["version"],
        out["last"],
        name="resume.py",
        env=env,
    )
    (run,) = runs(repo)
    assert run.id == out["version"] and run.status == "finished"
    val_rows = metric_rows(run, "val_loss")
    assert len(val_rows) == 2  # epoch 0 from the first process, epoch 1 from the resumed one
    assert val_rows[1]["_step"] > val_rows[0]["_step"]
    assert_steps_rise(run.metrics())


# ----------------------------------------------------------------------------------------------
# Hugging Face transformers

HF_MODEL = """\
import json, os, sys
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
import gitcfg
from gitcfg.integrations.transformers import GitcfgCallback

OUT = os.environ["OUT"]
torch.manual_seed(0)


def model_init(trial=None):
    config = BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, num_labels=2,
    )
    return BertForSequenceClassification(config)


class Random(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 64, (n, 8), generator=g)
        self.labels = torch.randint(0, 2, (n,), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.labels[i]}


def arguments(**kwargs):
    options = dict(
        output_dir=OUT, num_train_epochs=2, per_device_train_batch_size=8,
        per_device_eval_batch_size=8, logging_steps=2, eval_strategy="epoch", save_strategy="no",
        report_to="none", use_cpu=True, learning_rate=1e-3, disable_tqdm=True, seed=0,
    )
    options.update(kwargs)
    return TrainingArguments(**options)
"""

TRAIN_SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second")


def test_hf_train_then_evaluate_is_one_run_with_model_config_and_trainer_key(
    repo: Path, tmp_path: Path
) -> None:
    """GitcfgCallback starts a run when the script has none; config = model config + the
    TrainingArguments under `trainer`; on_log rows at global_step; end-of-train figures in the
    summary; no end at on_train_end: `evaluate()` afterwards records into the same run
    (huggingface/transformers#35074)."""
    need("transformers", "torch", "accelerate")
    proc = train(
        repo,
        HF_MODEL
        + """\
from transformers import TrainerCallback
assert issubclass(GitcfgCallback, TrainerCallback)
t = Trainer(model=model_init(), args=arguments(), train_dataset=Random(32, 0),
            eval_dataset=Random(16, 1), callbacks=[GitcfgCallback()])
t.train()
(running,) = gitcfg.Api().runs()
after_train = running.status
final = t.evaluate(metric_key_prefix="final")
print(json.dumps({"id": running.id, "after_train": after_train, "final_loss": final["final_loss"]}))
""",
        env=lightning_env(tmp_path),
    )
    out = last_json(proc)
    (run,) = runs(repo)
    assert run.id == out["id"] and out["after_train"] == "running"
    assert run.status == "finished"
    config = run.config
    assert config["hidden_size"] == 16 and config["model_type"] == "bert"
    assert config["num_hidden_layers"] == 2
    assert config["trainer"]["learning_rate"] == 1e-3
    assert config["trainer"]["per_device_train_batch_size"] == 8
    assert len(config["trainer"]) >= 50
    assert "per_device_train_batch_size" not in config and "logging_steps" not in config
    loss_rows = metric_rows(run, "loss")
    assert [row["_step"] for row in loss_rows] == [2, 4, 6, 8]
    assert [row["_step"] for row in metric_rows(run, "eval_loss")] == [4, 8]
    (final_row,) = metric_rows(run, "final_loss")
    assert final_row["_step"] == 8 and math.isclose(final_row["final_loss"], out["final_loss"])
    summary = run.summary
    assert math.isclose(summary["final_loss"], out["final_loss"])
    for key in (*TRAIN_SUMMARY_KEYS, "train_loss", "total_flos"):
        assert key in summary, key
        assert not metric_rows(run, key), key  # summary figures, not rows


def test_hf_hyperparameter_search_is_one_run_per_trial_grouped(repo: Path, tmp_path: Path) -> None:
    """`trainer.hyperparameter_search` (optuna backend): one run per trial, grouped by run_name
    (huggingface/transformers#11944: every trial in one run)."""
    need("transformers", "torch", "accelerate", "optuna")
    train(
        repo,
        HF_MODEL
        + """\
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
t = Trainer(model_init=model_init, args=arguments(num_train_epochs=1, run_name="hpsearch"),
            train_dataset=Random(16, 0), eval_dataset=Random(8, 1), callbacks=[GitcfgCallback()])
best = t.hyperparameter_search(
    direction="minimize", backend="optuna", n_trials=2,
    hp_space=lambda trial: {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)},
)
""",
        env=lightning_env(tmp_path),
    )
    found = runs(repo)
    assert len(found) == 2
    assert {r.group for r in found} == {"hpsearch"}
    assert len({r.name for r in found}) == 2
    rates = [r.config["learning_rate"] for r in found]
    assert len(set(rates)) == 2 and all(1e-4 <= lr <= 1e-2 for lr in rates)
    for r in found:
        assert r.status == "finished"
        assert r.config["trainer"]["learning_rate"] == r.config["learning_rate"]
        assert metric_rows(r, "loss")


# ----------------------------------------------------------------------------------------------
# Keras 3

KERAS_DATA = """\
import json, os, sys
import numpy as np
import keras
import gitcfg

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = x[:, :1] * 2.0


def model(lr=0.001):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    return m
"""


def test_keras_callback_two_fits_continue_the_step_no_batch_rows_no_tensorflow(
    repo: Path,
) -> None:
    """Keras 3 on the torch backend: optimizer config and epochs into the config, one row per
    epoch at the callback's own step, which goes on across a second fit() (whose epochs restart
    at 0); batch logging off by default (no batch hook override: Keras keeps its async path); no
    tensorflow import (wandb/wandb#7186, #5939)."""
    need("keras", "torch")
    proc = train(
        repo,
        KERAS_DATA
        + """\
from gitcfg.integrations.keras import GitcfgCallback
assert issubclass(GitcfgCallback, keras.callbacks.Callback)
m = model()
cb = GitcfgCallback()
batch_hook_default = getattr(cb.on_train_batch_end, "_is_default", False) or getattr(
    cb, "async_safe", False)
m.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[cb])
m.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[cb])
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "batch_default": batch_hook_default}))
""",
    )
    out = last_json(proc)
    assert out == {"tensorflow": False, "batch_default": True}
    (run,) = runs(repo)
    assert run.status == "finished"
    assert run.config["epochs"] == 2
    optimizer = run.config["optimizer"]
    assert optimizer["name"] == "adam" and math.isclose(optimizer["learning_rate"], 0.001)
    rows = run.metrics()
    assert len(rows) == 4, rows
    assert_steps_rise(rows)
    assert [row["epoch"] for row in rows] == [0, 1, 0, 1]
    assert all("loss" in row and "val_loss" in row for row in rows)
    assert not any(key.startswith("batch") for row in rows for key in row)


def test_keras_batch_logging_when_asked_and_a_new_callback_continues_the_scripts_run(
    repo: Path,
) -> None:
    """`log_freq="batch"` adds batch rows; a script's own `gitcfg.track()` run is adopted, and a
    second fit with a new callback (a fine-tuning phase) still records after the first."""
    need("keras", "torch")
    train(
        repo,
        KERAS_DATA
        + """\
from gitcfg.integrations.keras import GitcfgCallback
run = gitcfg.track({"phase": "pretrain+finetune"})
m = model()
m.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[GitcfgCallback(log_freq="batch")])
m.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[GitcfgCallback()])
""",
    )
    (run,) = runs(repo)
    assert run.config["phase"] == "pretrain+finetune" and run.config["epochs"] == 1
    rows = run.metrics()
    assert_steps_rise(rows)
    batch_rows = metric_rows(run, "batch/loss")
    assert len(batch_rows) == 4  # 64 samples / 16
    epoch_rows = [row for row in rows if "epoch" in row]
    assert [row["epoch"] for row in epoch_rows] == [0, 0, 1], rows
    assert epoch_rows[1]["_step"] > batch_rows[-1]["_step"]


def test_keras_wandb_port_metrics_logger_and_wandb_callback(repo: Path) -> None:
    """A wandb Keras script ported mechanically: `from wandb.keras import ...` ->
    `from gitcfg.keras import WandbMetricsLogger, WandbCallback`; wandb.init/config/finish."""
    need("keras", "torch")
    train(
        repo,
        KERAS_DATA
        + """\
from gitcfg.keras import WandbCallback, WandbMetricsLogger

gitcfg.init(project="keras-port", config={"epochs": 3, "batch_size": 16, "lr": 0.01})
config = gitcfg.config
m = model(config.lr)
m.fit(x[:48], y[:48], epochs=config.epochs, batch_size=config.batch_size,
      validation_data=(x[48:], y[48:]), verbose=0, callbacks=[WandbMetricsLogger()])
gitcfg.finish()

gitcfg.init(project="keras-port", config={"epochs": 3, "lr": 0.01})
m = model(gitcfg.config.lr)
m.fit(x[:48], y[:48], epochs=3, batch_size=16, validation_data=(x[48:], y[48:]), verbose=0,
      callbacks=[WandbCallback(monitor="val_loss", save_model=False)])
gitcfg.finish()
""",
    )
    logger_run, callback_run = runs(repo)
    for r in (logger_run, callback_run):
        assert r.status == "finished" and r.project == "keras-port"
    assert logger_run.config["batch_size"] == 16 and logger_run.config["epochs"] == 3
    epoch_rows = metric_rows(logger_run, "epoch/loss")
    assert len(epoch_rows) == 3 and all("epoch/val_loss" in row for row in epoch_rows)
    rows = metric_rows(callback_run, "val_loss")
    assert len(rows) == 3
    best = min(rows, key=lambda row: row["val_loss"])
    assert math.isclose(callback_run.summary["best_val_loss"], best["val_loss"])
    assert callback_run.summary["best_epoch"] == rows.index(best)


# ----------------------------------------------------------------------------------------------
# Hydra

HYDRA_APP = """\
import hydra
import gitcfg


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    gitcfg.log({"loss": cfg.lr})
    if cfg.lr == 0.9 and cfg.seed == 1:
        raise ValueError("diverged at lr=0.9")
    if cfg.ret == "number":
        return cfg.lr * 10
    return {"val_loss": cfg.lr * 2 + cfg.seed}


if __name__ == "__main__":
    main()
"""

HYDRA_CONFIG = """\
lr: 0.1
seed: 0
depth: 3
ret: mapping
model:
  depth: ${depth}
  name: mlp
hydra:
  callbacks:
    gitcfg:
      _target_: gitcfg.integrations.hydra.GitcfgCallback
"""


def hydra_app(repo: Path) -> None:
    commit_script(repo, "conf/config.yaml", HYDRA_CONFIG)


def test_hydra_multirun_four_jobs_one_failing_is_four_runs_one_failed(repo: Path) -> None:
    """`hydra.callbacks.gitcfg._target_: gitcfg.integrations.hydra.GitcfgCallback`: one run per
    job in one process (wandb/wandb#1314, ashleve/lightning-hydra-template#289), the failed job
    `failed` (wandb/wandb#4591), the resolved nested config without `hydra` (comet-ml#383), the
    overrides, the sweep directory as group, the return value in the summary; with
    hydra.job.chdir=true the runs still land in the repository Hydra was started from."""
    need("hydra", "omegaconf")
    hydra_app(repo)
    proc = train(
        repo,
        HYDRA_APP,
        "-m",
        "lr=0.1,0.9",
        "seed=0,1",
        "hydra.job.chdir=true",
        name="app.py",
        expect=1,
    )
    assert "diverged" in proc.stderr
    found = runs(repo)
    assert len(found) == 4, [r.config for r in found]
    by_key = {(r.config["lr"], r.config["seed"]): r for r in found}
    assert sorted(by_key) == [(0.1, 0), (0.1, 1), (0.9, 0), (0.9, 1)]
    failed = by_key[(0.9, 1)]
    assert failed.status == "failed"
    assert failed.meta["error"]["type"] == "ValueError"
    assert "diverged" in failed.meta["error"]["message"]
    assert len({r.meta["pid"] for r in found}) == 1  # Hydra ran every job in one process
    groups = {r.group for r in found}
    assert len(groups) == 1 and "multirun" in next(iter(groups))
    for (lr, seed), r in by_key.items():
        assert "hydra" not in r.config
        assert r.config["model"] == {"depth": 3, "name": "mlp"}
        assert (
            f"lr={lr}" in r.meta["hydra_overrides"] and f"seed={seed}" in r.meta["hydra_overrides"]
        )
        assert [row["loss"] for row in r.metrics()] == [lr]
        if (lr, seed) != (0.9, 1):
            assert r.status == "finished"
            assert math.isclose(r.summary["val_loss"], lr * 2 + seed)
    listed = cli(repo, "log")
    assert sorted(row["status"] for row in listed) == ["failed", "finished", "finished", "finished"]


def test_hydra_single_run_number_return_value(repo: Path) -> None:
    """A single (not multi) run: one run, no group, a number returned is `return_value`."""
    need("hydra", "omegaconf")
    hydra_app(repo)
    train(repo, HYDRA_APP, "lr=0.3", "ret=number", name="app.py")
    (run,) = runs(repo)
    assert run.status == "finished" and not run.group
    assert run.config["lr"] == 0.3 and "hydra" not in run.config
    assert math.isclose(run.summary["return_value"], 3.0)
    assert "lr=0.3" in run.meta["hydra_overrides"]


# ----------------------------------------------------------------------------------------------
# Optuna, XGBoost, LightGBM


def test_optuna_one_run_per_trial_grouped_by_study(repo: Path) -> None:
    """`study.optimize(callbacks=[GitcfgCallback()])`: a run per trial (not one per study, as
    optuna-integration's default), params as config, value and state as summary, the study's
    name as group; a FAIL trial's run `failed`; a second study in the same process its own group."""
    need("optuna")
    proc = train(
        repo,
        """\
import json
import optuna
from gitcfg.integrations.optuna import GitcfgCallback

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial):
    x = trial.suggest_float("x", -2, 2)
    layers = trial.suggest_int("layers", 1, 3)
    if trial.number == 2:
        raise ValueError("bad trial")
    return x * x + layers


out = []
for name, n in (("study-a", 4), ("study-b", 2)):
    study = optuna.create_study(study_name=name, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n, callbacks=[GitcfgCallback()], catch=(ValueError,))
    out += [{"study": name, "params": t.params, "value": t.value, "state": t.state.name}
            for t in study.trials]
print(json.dumps(out))
""",
    )
    trials = last_json(proc)
    found = runs(repo)
    assert len(found) == 6
    for trial, r in zip(trials, found, strict=True):
        assert r.group == trial["study"]
        assert r.config == trial["params"]
        assert r.summary["state"] == trial["state"]
        if trial["state"] == "COMPLETE":
            assert r.status == "finished" and math.isclose(r.summary["value"], trial["value"])
        else:
            assert trial["state"] == "FAIL" and r.status == "failed"
    assert [t["state"] for t in trials].count("FAIL") == 1


def test_xgboost_training_callback_rows_per_iteration(repo: Path) -> None:
    """`xgboost.callback.TrainingCallback`: params once, one row per iteration of each eval set."""
    need("xgboost", "numpy")
    proc = train(
        repo,
        REGRESSION_DATA
        + """\
import xgboost as xgb
from gitcfg.integrations.xgboost import GitcfgCallback
dtrain, dvalid = xgb.DMatrix(X[:80], label=y[:80]), xgb.DMatrix(X[80:], label=y[80:])
cb = GitcfgCallback()
assert isinstance(cb, xgb.callback.TrainingCallback)
history = {}
xgb.train({"max_depth": 2, "eta": 0.3, "objective": "reg:squarederror", "nthread": 1}, dtrain, 5,
          evals=[(dtrain, "train"), (dvalid, "valid")], evals_result=history, verbose_eval=False,
          callbacks=[cb])
print(json.dumps(history))
""",
    )
    history = last_json(proc)
    (run,) = runs(repo)
    assert run.status == "finished"
    assert run.config["xgboost"]["eta"] == 0.3 and run.config["xgboost"]["max_depth"] == 2
    rows = run.metrics()
    assert len(rows) == 5
    assert_steps_rise(rows)
    assert [row["iteration"] for row in rows] == [0, 1, 2, 3, 4]
    for name in ("train", "valid"):
        recorded = [row[f"{name}/rmse"] for row in rows]
        assert all(
            math.isclose(a, b, rel_tol=1e-6)
            for a, b in zip(recorded, history[name]["rmse"], strict=True)
        )
    assert run.summary["best_metric"] == "valid/rmse"
    assert math.isclose(run.summary["best_score"], min(history["valid"]["rmse"]), rel_tol=1e-6)


def test_lightgbm_callback_params_once_rows_per_iteration(repo: Path) -> None:
    """LightGBM callback: the params once (at the top level), eval results per iteration."""
    need("lightgbm", "numpy")
    proc = train(
        repo,
        REGRESSION_DATA
        + """\
import lightgbm as lgb
from gitcfg.integrations.lightgbm import GitcfgCallback
train_set = lgb.Dataset(X[:80], y[:80])
valid = lgb.Dataset(X[80:], y[80:], reference=train_set)
history = {}
params = {"objective": "regression", "learning_rate": 0.1, "num_leaves": 7, "verbose": -1,
          "num_threads": 1}
lgb.train(params, train_set, 5, valid_sets=[valid],
          callbacks=[GitcfgCallback(), lgb.record_evaluation(history)])
print(json.dumps(history))
""",
    )
    history = last_json(proc)
    (run,) = runs(repo)
    assert run.status == "finished"
    assert run.config["learning_rate"] == 0.1 and run.config["num_leaves"] == 7
    assert run.config["num_iterations"] == 5
    rows = run.metrics()
    assert len(rows) == 5
    assert [row["iteration"] for row in rows] == [0, 1, 2, 3, 4]
    assert all(
        math.isclose(row["valid_0/l2"], v, rel_tol=1e-6)
        for row, v in zip(rows, history["valid_0"]["l2"], strict=True)
    )


# ----------------------------------------------------------------------------------------------
# Import cost and packaging


def test_import_gitcfg_imports_no_integration_and_no_framework(repo: Path) -> None:
    proc = train(
        repo,
        """\
import json, sys
import gitcfg
import gitcfg.integrations
loaded = sorted(m for m in sys.modules if m.split(".")[0] in (
    "torch", "lightning", "pytorch_lightning", "transformers", "keras", "hydra", "optuna",
    "xgboost", "lightgbm", "tensorflow", "numpy", "yaml", "typer", "rich"))
print(json.dumps({"loaded": loaded, "integrations": sorted(
    m for m in sys.modules if m.startswith("gitcfg.integrations."))}))
""",
    )
    assert last_json(proc) == {"loaded": [], "integrations": []}


def test_integrations_extra_pins_cpu_wheels() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    extra = text.split("integrations = [", 1)[1].split("]", 1)[0]
    assert '"torch==2.13.0"' in extra and "xgboost-cpu" in extra
    assert '"xgboost' not in extra.replace('"xgboost-cpu', "")


def test_readme_has_a_short_section_per_framework() -> None:
    """README: one short section per framework, the two lines a user adds, what is recorded."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for heading, lines in (
        ("PyTorch Lightning", "Trainer(logger=GitcfgLogger())"),
        ("Hugging Face transformers", "callbacks=[GitcfgCallback()]"),
        ("Keras 3", "model.fit(x, y, callbacks=[GitcfgCallback()])"),
        ("Hydra", "_target_: gitcfg.integrations.hydra.GitcfgCallback"),
        ("Optuna", "study.optimize(objective, callbacks=[GitcfgCallback()])"),
    ):
        section = readme.split(f"### {heading}", 1)[1].split("\n#", 1)[0]
        assert lines in section, heading


# ----------------------------------------------------------------------------------------------
# Public-style wandb framework scripts, ported mechanically


def test_port_lightning_wandb_script_pytorch_lightning_namespace(
    repo: Path, tmp_path: Path
) -> None:
    """The classic `pytorch_lightning` + WandbLogger script: argparse Namespace hparams, a CSVLogger
    listed first (hparams reach every logger, not only the first: ashleve/lightning-hydra-template
    #479), `logger.experiment.config.update(...)`, fit + test, `wandb.finish()`."""
    need("pytorch_lightning", "torch")
    body = (
        LIGHTNING_MODEL.replace("import lightning.pytorch as pl", "import pytorch_lightning as pl")
        + """\
from pytorch_lightning.loggers import CSVLogger, Logger

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--hidden", type=int, default=8)
parser.add_argument("--batch_size", type=int, default=8)
args = parser.parse_args()


class LitNet(Net):
    def __init__(self, args):
        super().__init__(hidden=args.hidden, lr=args.lr)
        self.save_hyperparameters(args)


gitcfg_logger = GitcfgLogger(project="lit-port")
assert isinstance(gitcfg_logger, Logger)
gitcfg_logger.experiment.config.update({"batch_size": args.batch_size, "dataset": "random"})
t = trainer([CSVLogger(OUT), gitcfg_logger])
model = LitNet(args)
t.fit(model, datamodule=Data(args.batch_size))
t.test(model, datamodule=Data(args.batch_size))
gitcfg.finish()
print(json.dumps({"version": gitcfg_logger.version,
                  "lightning_loaded": "lightning" in sys.modules}))
"""
    )
    proc = train(repo, body, "--lr", "0.02", env=lightning_env(tmp_path))
    out = last_json(proc)
    (run,) = runs(repo)
    assert run.id == out["version"] and run.status == "finished" and run.project == "lit-port"
    assert run.config["lr"] == 0.02 and run.config["hidden"] == 8
    assert run.config["batch_size"] == 8 and run.config["dataset"] == "random"
    assert len(metric_rows(run, "val_loss")) == 2 and len(metric_rows(run, "test_loss")) == 1


def test_port_hf_wandb_script_adopts_the_scripts_run(repo: Path, tmp_path: Path) -> None:
    """A fine-tuning script that calls wandb.init itself and then trains with report_to="wandb",
    ported: `gitcfg.init(...)` + `callbacks=[GitcfgCallback()]` (report_to cannot name a third
    party); the callback adopts the script's run, which stays open after train and evaluate."""
    need("transformers", "torch", "accelerate")
    proc = train(
        repo,
        HF_MODEL
        + """\
run = gitcfg.init(project="tiny-bert", config={"dataset": "random", "seed": 0})
args = arguments(run_name="port")
t = Trainer(model=model_init(), args=args, train_dataset=Random(32, 0),
            eval_dataset=Random(16, 1), callbacks=[GitcfgCallback()])
t.train()
metrics = t.evaluate()
gitcfg.log({"custom": 1.0})
print(json.dumps({"id": run.id, "eval_loss": metrics["eval_loss"]}))
gitcfg.finish()
""",
        env=lightning_env(tmp_path),
    )
    out = last_json(proc)
    (run,) = runs(repo)
    assert run.id == out["id"] and run.status == "finished" and run.project == "tiny-bert"
    assert run.config["dataset"] == "random" and run.config["seed"] == 0
    assert run.config["hidden_size"] == 16 and run.config["trainer"]["run_name"] == "port"
    assert math.isclose(run.summary["eval_loss"], out["eval_loss"])
    assert metric_rows(run, "custom") and metric_rows(run, "loss")


def test_port_xgboost_and_lightgbm_wandb_scripts(repo: Path) -> None:
    """wandb's `wandb.integration.xgboost.WandbCallback` and `wandb.integration.lightgbm`
    (`wandb_callback`, `log_summary`), ported: `wandb` -> `gitcfg`."""
    need("xgboost", "lightgbm", "numpy")
    train(
        repo,
        REGRESSION_DATA
        + """\
import xgboost as xgb
import lightgbm as lgb
from gitcfg.integration.xgboost import WandbCallback
from gitcfg.integration.lightgbm import wandb_callback, log_summary

params = {"max_depth": 2, "eta": 0.3, "objective": "reg:squarederror", "nthread": 1}
gitcfg.init(project="xgb-port", config=params)
dtrain, dvalid = xgb.DMatrix(X[:80], label=y[:80]), xgb.DMatrix(X[80:], label=y[80:])
xgb.train(params, dtrain, 4, evals=[(dvalid, "valid")], verbose_eval=False,
          callbacks=[WandbCallback(log_model=False)])
gitcfg.finish()

params = {"objective": "regression", "learning_rate": 0.1, "verbose": -1, "num_threads": 1}
gitcfg.init(project="lgb-port", config=params)
train_set = lgb.Dataset(X[:80], y[:80])
gbm = lgb.train(params, train_set, 4, valid_sets=[lgb.Dataset(X[80:], y[80:], reference=train_set)],
                callbacks=[wandb_callback()])
log_summary(gbm, save_model_checkpoint=False)
gitcfg.finish()
""",
    )
    xgb_run, lgb_run = runs(repo)
    assert xgb_run.project == "xgb-port" and lgb_run.project == "lgb-port"
    assert xgb_run.status == lgb_run.status == "finished"
    assert xgb_run.config["eta"] == 0.3
    assert len(metric_rows(xgb_run, "valid-rmse")) == 4
    assert len(metric_rows(lgb_run, "valid_0_l2")) == 4
    assert "best_iteration" in lgb_run.summary


def test_port_lightning_hydra_template_multirun_without_gitcfg_callback(repo: Path) -> None:
    """lightning-hydra-template style: a Hydra multirun whose task builds a fresh logger per job
    and fits, no gitcfg Hydra callback: one run per job, never merged
    (ashleve/lightning-hydra-template#289, wandb/wandb#1314, hydra-ecosystem/hydra#1053)."""
    need("lightning", "torch", "hydra")
    commit_script(repo, "conf/train.yaml", "lr: 0.05\nhidden: 8\n")
    train(
        repo,
        LIGHTNING_MODEL
        + """\
import hydra


@hydra.main(version_base=None, config_path="conf", config_name="train")
def main(cfg):
    t = trainer(GitcfgLogger(), max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    t.fit(Net(hidden=cfg.hidden, lr=cfg.lr), datamodule=Data())
    return t.callback_metrics["val_loss"].item()


if __name__ == "__main__":
    main()
""",
        "-m",
        "lr=0.01,0.02",
        name="app.py",
    )
    found = runs(repo)
    assert sorted(r.config["lr"] for r in found) == [0.01, 0.02]
    assert all(r.status == "finished" and len(metric_rows(r, "val_loss")) == 1 for r in found)
