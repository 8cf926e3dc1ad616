"""GitcfgCallback with the real transformers Trainer: a BERT built from a tiny config (no hub
download) trained for a few steps in real script processes, read back through gitcfg.Api()."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import commit_script, run_python

pytest.importorskip("torch")
pytest.importorskip("transformers")

import gitcfg  # noqa: E402

ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}

PRELUDE = """
import os, sys
import torch
torch.set_num_threads(1)
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from transformers.utils import logging
from gitcfg.integrations.transformers import GitcfgCallback

logging.set_verbosity_error()
OUT = os.environ["OUT"]


class Data(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 50, (n, 8), generator=generator)
        self.labels = torch.randint(0, 2, (n,), generator=generator)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def model(hidden=16):
    config = BertConfig(
        vocab_size=50, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=2,
    )
    torch.manual_seed(0)
    return BertForSequenceClassification(config)


def arguments(**kwargs):
    return TrainingArguments(
        output_dir=OUT, num_train_epochs=1, per_device_train_batch_size=4, logging_steps=2,
        report_to="none", save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0, **kwargs
    )
"""


def train(repo: Path, tmp_path: Path, body: str):
    path = commit_script(repo, "train.py", PRELUDE + textwrap.dedent(body))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return run_python(repo, path, env={**ENV, "OUT": str(out)}, timeout=300)


def test_train_then_evaluate_is_one_run_with_model_config_trainer_args_rows_and_summary(
    repo: Path, tmp_path: Path
) -> None:
    result = train(
        repo,
        tmp_path,
        """
        trainer = Trainer(model=model(), args=arguments(learning_rate=1e-3),
                          train_dataset=Data(32, 0), eval_dataset=Data(8, 1),
                          callbacks=[GitcfgCallback(tags=["hf"])])
        trainer.train()
        trainer.evaluate()  # after on_train_end: still the same run
        """,
    )
    assert result.returncode == 0, result.stderr
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    assert run.tags == ["hf"]
    config = run.config
    assert config["hidden_size"] == 16 and config["num_hidden_layers"] == 2  # the model's config
    assert config["model_type"] == "bert"
    assert config["trainer"]["learning_rate"] == 1e-3  # TrainingArguments under `trainer`
    assert config["trainer"]["logging_steps"] == 2
    assert "learning_rate" not in config
    rows = run.metrics()
    assert [row["_step"] for row in rows if "loss" in row] == [2, 4, 6, 8]  # state.global_step
    assert all("learning_rate" in row for row in rows if "loss" in row)
    assert "eval_loss" in rows[-1] and rows[-1]["_step"] == 8  # evaluate() after train()
    assert not any(key in row for row in rows for key in ("train_runtime", "train_loss"))
    summary = run.summary
    for key in ("train_runtime", "train_samples_per_second", "train_loss", "total_flos"):
        assert key in summary
    assert summary["eval_loss"] == rows[-1]["eval_loss"]


def test_the_scripts_own_run_is_adopted(repo: Path, tmp_path: Path) -> None:
    result = train(
        repo,
        tmp_path,
        """
        import gitcfg
        run = gitcfg.track({"dataset": "random", "vocab_size": "mine"}, name="mine")
        trainer = Trainer(model=model(), args=arguments(), train_dataset=Data(16, 0),
                          callbacks=[GitcfgCallback()])
        trainer.train()
        gitcfg.log({"after": 1.0})
        """,
    )
    assert result.returncode == 0, result.stderr
    (run,) = gitcfg.Api(repo).runs()
    assert run.name == "mine"
    assert run.config["dataset"] == "random" and run.config["hidden_size"] == 16
    assert run.config["vocab_size"] == "mine"  # the script's keys win over the model's
    assert run.metrics()[-1]["after"] == 1.0


def test_hyperparameter_search_records_one_run_per_trial_in_one_group(
    repo: Path, tmp_path: Path
) -> None:
    pytest.importorskip("optuna")
    result = train(
        repo,
        tmp_path,
        """
        import optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        trainer = Trainer(model_init=lambda trial: model(), args=arguments(run_name="search"),
                          train_dataset=Data(16, 0), eval_dataset=Data(8, 1),
                          callbacks=[GitcfgCallback()])
        trainer.hyperparameter_search(
            direction="minimize", backend="optuna", n_trials=2,
            hp_space=lambda trial: {
                "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
            },
        )
        """,
    )
    assert result.returncode == 0, result.stderr
    runs = gitcfg.Api(repo).runs()
    assert len(runs) == 2
    assert {run.group for run in runs} == {"search"}
    assert {run.status for run in runs} == {"finished"}
    for run in runs:
        assert run.config["learning_rate"] == run.config["trainer"]["learning_rate"]
        assert [row["_step"] for row in run.metrics() if "loss" in row] == [2, 4]
    assert runs[0].config["learning_rate"] != runs[1].config["learning_rate"]


def test_train_twice_and_a_second_trainer_in_one_adopted_run_keep_every_row(
    repo: Path, tmp_path: Path
) -> None:
    result = train(
        repo,
        tmp_path,
        """
        import gitcfg
        with gitcfg.track(name="twice"):
            gitcfg.log({"setup": 1})
            t = Trainer(model=model(), args=arguments(), train_dataset=Data(16, 0),
                        callbacks=[GitcfgCallback()])
            t.train()
            t.train()  # the same Trainer again: global_step restarts at 0
            Trainer(model=model(), args=arguments(), train_dataset=Data(16, 0),
                    callbacks=[GitcfgCallback()]).train()  # a second Trainer
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "dropped" not in result.stderr
    (run,) = gitcfg.Api(repo).runs()
    rows = run.metrics()
    assert rows[0]["setup"] == 1
    losses = [row for row in rows if "loss" in row]
    assert [row["train/global_step"] for row in losses] == [2, 4] * 3
    steps = [row["_step"] for row in losses]
    assert steps == sorted(set(steps))  # in order, after the script's row, nothing merged
    assert run.meta["metric_definitions"]["loss"]["step_metric"] == "train/global_step"
