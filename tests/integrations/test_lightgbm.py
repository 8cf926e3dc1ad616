"""gitcfg.integrations.lightgbm and gitcfg.integration.lightgbm (wandb's names) on real trainings."""

from __future__ import annotations

import json

import pytest
from conftest import REGRESSION_DATA, run_training

import gitcfg

pytest.importorskip("lightgbm")

DATA = (
    REGRESSION_DATA
    + """\
import lightgbm as lgb
train, valid = lgb.Dataset(X[:80], y[:80]), lgb.Dataset(X[80:], y[80:])
PARAMS = {"objective": "regression", "learning_rate": 0.2, "num_leaves": 4, "verbose": -1,
          "metric": ["l2", "l1"], "min_data_in_leaf": 5}
"""
)


def test_two_trainings_are_two_runs_with_params_once_and_a_row_per_iteration(repo):
    proc = run_training(
        repo,
        DATA
        + """\
from gitcfg.integrations.lightgbm import GitcfgCallback

callback = GitcfgCallback(tags=["lgb"])  # one callback object for both trainings
histories = []
for rounds in (4, 6):
    history = {}
    lgb.train(PARAMS, train, rounds, valid_sets=[train, valid], valid_names=["train", "valid"],
              callbacks=[callback, lgb.record_evaluation(history)])
    assert gitcfg.run is None  # opened by the callback, ended after the last iteration
    histories.append(history)
print(json.dumps(histories))
""",
    )
    histories = json.loads(proc.stdout)
    runs = sorted(gitcfg.Api(repo).runs(), key=lambda r: r.id)
    assert len(runs) == 2
    for run, history, rounds in zip(runs, histories, (4, 6), strict=True):
        assert run.status == "finished"
        assert run.tags == ["lgb"]
        assert run.config == {
            "objective": "regression",
            "learning_rate": 0.2,
            "num_leaves": 4,
            "verbose": -1,
            "metric": ["l2", "l1"],
            "min_data_in_leaf": 5,
            "num_iterations": rounds,
        }
        rows = run.metrics()
        assert [row["iteration"] for row in rows] == list(range(rounds))
        for data in ("train", "valid"):
            for metric in ("l2", "l1"):
                assert [row[f"{data}/{metric}"] for row in rows] == pytest.approx(
                    history[data][metric]
                )


def test_the_scripts_own_run_is_adopted_cv_rows_and_log_summary(repo):
    run_training(
        repo,
        DATA
        + """\
from gitcfg.integrations.lightgbm import GitcfgCallback, log_summary

run = gitcfg.track({"learning_rate": 0.1, "fold": "all"})
lgb.cv(PARAMS, lgb.Dataset(X, y), 3, nfold=2, stratified=False, callbacks=[GitcfgCallback()])
booster = lgb.train(PARAMS, train, 20, valid_sets=[valid],
                    callbacks=[GitcfgCallback(), lgb.early_stopping(2, verbose=False)])
assert gitcfg.run is run
log_summary(booster)
print(booster.best_iteration)
""",
    )
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    assert run.config["learning_rate"] == 0.1  # the script's own value wins
    assert run.config["num_leaves"] == 4 and run.config["fold"] == "all"
    rows = run.metrics()
    cv_rows = [row for row in rows if "valid/l2-mean" in row]
    assert len(cv_rows) == 3
    assert {"valid/l2-stdv", "valid/l1-mean", "valid/l1-stdv"} <= set(cv_rows[0])
    train_rows = [row for row in rows if "valid_0/l2" in row]
    assert [row["iteration"] for row in train_rows] == list(range(len(train_rows)))
    assert [row["_step"] for row in rows] == list(range(len(rows)))  # one training after another
    best = run.summary["best_iteration"]
    assert 1 <= best <= len(train_rows)
    assert run.summary["best_score"]["valid_0"]["l2"] == pytest.approx(
        train_rows[best - 1]["valid_0/l2"]
    )


def test_wandbs_module_path_and_names_work_in_a_ported_script(repo):
    proc = run_training(
        repo,
        DATA
        + """\
from gitcfg.integration.lightgbm import log_summary, wandb_callback

try:
    lgb.train(PARAMS, train, 2, valid_sets=[valid], callbacks=[wandb_callback()])
except gitcfg.GitcfgError as e:
    print("refused:", e)
gitcfg.track({"run": "ported"})
history = {}
booster = lgb.train(PARAMS, train, 3, valid_sets=[valid],
                    callbacks=[wandb_callback(), lgb.record_evaluation(history)])
log_summary(booster, save_model_checkpoint=True)
print(json.dumps(history))
""",
    )
    refused, history = proc.stdout.splitlines()
    assert refused == "refused: call gitcfg.track() before training with wandb_callback()"
    (run,) = gitcfg.Api(repo).runs()
    assert run.config["run"] == "ported" and run.config["num_leaves"] == 4
    rows = [row for row in run.metrics() if "iteration" in row]
    l2 = json.loads(history)["valid_0"]["l2"]
    assert [(row["iteration"], row["valid_0_l2"]) for row in rows] == list(
        enumerate(pytest.approx(value) for value in l2)
    )
    assert run.summary["valid_0_l2"] == {"min": pytest.approx(min(l2))}
    assert run.summary["best_iteration"] == 0  # no early stopping: LightGBM says 0
    assert any(name.endswith("model_ckpt_0.txt") for name in run.files)
