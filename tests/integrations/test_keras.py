"""GitcfgCallback with the real Keras 3 (torch backend, no tensorflow): a 2-layer MLP on random
data fitted in real script processes, each run read back through gitcfg.Api()."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest
from conftest import commit_script, run_python

pytest.importorskip("torch")
if importlib.util.find_spec("keras") is None:  # importing it here would pick a backend: not done
    pytest.skip("keras is not installed", allow_module_level=True)

import gitcfg  # noqa: E402

ENV = {"OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch", "PYTHONWARNINGS": "ignore"}

PRELUDE = """
import json, sys
import numpy as np
import torch
torch.set_num_threads(1)
import keras
from keras.src.utils.python_utils import is_default


def model():
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return net


x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
y = x.sum(1, keepdims=True)


def fit(net, callbacks, epochs=2):
    net.fit(x, y, epochs=epochs, batch_size=8, validation_split=0.25, verbose=0,
            callbacks=callbacks)
"""


def train(repo: Path, body: str):
    path = commit_script(repo, "train.py", PRELUDE + textwrap.dedent(body))
    return run_python(repo, path, env=ENV, timeout=180)


def test_two_fits_are_one_run_with_optimizer_config_and_epoch_rows_on_a_monotonic_step(
    repo: Path,
) -> None:
    result = train(
        repo,
        """
        from gitcfg.integrations.keras import GitcfgCallback
        callback = GitcfgCallback(tags=["keras"])
        net = model()
        fit(net, [callback])
        fit(net, [callback], epochs=3)  # fine-tuning: Keras' epoch restarts at 0
        print(json.dumps({"tensorflow": "tensorflow" in sys.modules,
                          "batch_hook_default": is_default(callback.on_train_batch_end)}))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"tensorflow": False, "batch_hook_default": True}
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    assert run.tags == ["keras"]
    assert run.config["epochs"] == 2  # the first fit's: keys already set are kept
    optimizer = run.config["optimizer"]
    assert optimizer["name"] == "adam" and optimizer["learning_rate"] == 0.001
    assert optimizer["beta_1"] == 0.9
    rows = run.metrics()
    assert [row["_step"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["epoch"] for row in rows] == [0, 1, 0, 1, 2]
    assert all({"loss", "val_loss"} <= set(row) for row in rows)
    assert not any(key.startswith("batch/") for row in rows for key in row)
    assert run.summary["loss"] == rows[-1]["loss"]


def test_batch_rows_only_when_asked_for(repo: Path) -> None:
    result = train(
        repo,
        """
        from gitcfg.integrations.keras import GitcfgCallback
        callback = GitcfgCallback(log_freq=2)
        fit(model(), [callback])  # 36 training samples: 5 batches an epoch
        print(is_default(callback.on_train_batch_end))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    (run,) = gitcfg.Api(repo).runs()
    rows = run.metrics()
    assert [row["_step"] for row in rows if "batch/loss" in row] == [1, 3, 5, 7, 9]
    assert [row["_step"] for row in rows if "val_loss" in row] == [4, 9]  # with the last batch
    assert [row["epoch"] for row in rows if "epoch" in row] == [0, 1]


def test_a_ported_wandb_script_keeps_working(repo: Path) -> None:
    result = train(
        repo,
        """
        import gitcfg
        from gitcfg.integration.keras import WandbMetricsLogger  # wandb.integration.keras
        from gitcfg.keras import WandbCallback  # wandb.keras

        gitcfg.init(project="demo", config={"epochs": 2, "data": "random"})
        fit(model(), [WandbMetricsLogger(), WandbCallback(monitor="val_loss", save_model=False)])
        gitcfg.finish()
        """,
    )
    assert result.returncode == 0, result.stderr
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    assert run.config["data"] == "random" and run.config["optimizer"]["name"] == "adam"
    rows = run.metrics()
    assert [row["_step"] for row in rows] == [0, 1]
    first = rows[0]
    assert {"epoch/loss", "epoch/val_loss", "epoch/epoch", "epoch/learning_rate"} <= set(first)
    assert {"loss", "val_loss", "epoch"} <= set(first)  # WandbCallback's names
    best = min(row["val_loss"] for row in rows)
    assert run.summary["best_val_loss"] == best
    assert run.summary["best_epoch"] == next(r["epoch"] for r in rows if r["val_loss"] == best)
