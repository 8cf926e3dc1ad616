"""gitcfg.integrations.xgboost and gitcfg.integration.xgboost (wandb's names) on real trainings."""

from __future__ import annotations

import json

import pytest
from conftest import REGRESSION_DATA, run_training

import gitcfg

pytest.importorskip("xgboost")

DATA = (
    REGRESSION_DATA
    + """\
import xgboost as xgb
dtrain, dvalid = xgb.DMatrix(X[:80], y[:80]), xgb.DMatrix(X[80:], y[80:])
"""
)


def test_two_trainings_are_two_runs_with_params_rows_and_best_iteration(repo):
    proc = run_training(
        repo,
        DATA
        + """\
from gitcfg.integrations.xgboost import GitcfgCallback

histories = []
for rounds, stopping in ((5, None), (60, 2)):
    history = {}
    booster = xgb.train(
        {"eta": 0.3, "max_depth": 2, "eval_metric": ["rmse", "mae"]}, dtrain, rounds,
        evals=[(dtrain, "train"), (dvalid, "valid")], evals_result=history,
        early_stopping_rounds=stopping, verbose_eval=False, callbacks=[GitcfgCallback(tags=["xgb"])],
    )
    histories.append({"history": history, "best": booster.attr("best_iteration")})
    assert gitcfg.run is None  # the callback opened the run and ended it with the training
print(json.dumps(histories))
""",
    )
    histories = json.loads(proc.stdout)
    runs = sorted(gitcfg.Api(repo).runs(), key=lambda r: r.id)
    assert len(runs) == 2
    for run, recorded in zip(runs, histories, strict=True):
        history = recorded["history"]
        assert run.status == "finished"
        assert run.tags == ["xgb"]
        params = run.config["xgboost"]
        assert (params["eta"], params["max_depth"], params["objective"]) == (
            0.3,
            2,
            "reg:squarederror",
        )
        rows = run.metrics()
        assert [row["iteration"] for row in rows] == list(range(len(history["valid"]["mae"])))
        for data in ("train", "valid"):
            for metric in ("rmse", "mae"):
                assert [row[f"{data}/{metric}"] for row in rows] == history[data][metric]
        maes = history["valid"]["mae"]
        assert run.summary["best_metric"] == "valid/mae"
        assert run.summary["best_score"] == pytest.approx(min(maes))
        assert run.summary["best_iteration"] == maes.index(min(maes))
        if recorded["best"] is not None:  # early stopping's own choice
            assert run.summary["best_iteration"] == int(recorded["best"])


def test_the_scripts_own_run_is_adopted_and_stays_open(repo):
    run_training(
        repo,
        DATA
        + """\
from gitcfg.integrations.xgboost import GitcfgCallback

run = gitcfg.track({"max_depth": 3, "note": "mine"})
xgb.train(
    {"max_depth": 2}, dtrain, 4, evals=[(dvalid, "validation_0")], callbacks=[GitcfgCallback()],
    verbose_eval=False,
)
assert gitcfg.run is run
gitcfg.log({"test_rmse": 0.5})
""",
    )
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    assert run.config["max_depth"] == 3 and run.config["note"] == "mine"  # the script's own
    assert run.config["xgboost"]["max_depth"] == 2  # what XGBoost trained with
    rows = run.metrics()
    assert [row.get("iteration") for row in rows] == [0, 1, 2, 3, None]
    assert all(isinstance(row["validation_0/rmse"], float) for row in rows[:4])
    assert rows[4]["test_rmse"] == 0.5


def test_cv_records_mean_and_standard_deviation_rows(repo):
    run_training(
        repo,
        DATA
        + """\
from gitcfg.integrations.xgboost import GitcfgCallback

results = xgb.cv({"max_depth": 2}, dtrain, 3, nfold=2, callbacks=[GitcfgCallback()], as_pandas=False)
print(json.dumps(results))
""",
    )
    (run,) = gitcfg.Api(repo).runs()
    rows = run.metrics()
    assert len(rows) == 3
    assert {"test/rmse-mean", "test/rmse-std", "train/rmse-mean", "iteration"} <= set(rows[0])


def test_wandbs_module_path_and_names_work_in_a_ported_script(repo):
    proc = run_training(
        repo,
        DATA
        + """\
from gitcfg.integration.xgboost import WandbCallback

try:
    WandbCallback()
except gitcfg.GitcfgError as e:
    print("refused:", e)
gitcfg.track({"lr": 0.3})
history = {}
xgb.train(
    {"eta": 0.3}, dtrain, 4, evals=[(dvalid, "valid")], evals_result=history,
    callbacks=[WandbCallback(log_model=True)], verbose_eval=False,
)
print(json.dumps(history))
""",
    )
    refused, history = proc.stdout.splitlines()
    assert (
        refused
        == "refused: call gitcfg.track() before WandbCallback(), as wandb needs wandb.init()"
    )
    (run,) = gitcfg.Api(repo).runs()
    assert run.config["lr"] == 0.3
    assert "learner" in run.config  # the booster's saved config, as wandb records it
    rows = [row for row in run.metrics() if "epoch" in row]
    rmses = json.loads(history)["valid"]["rmse"]
    assert [(row["epoch"], row["valid-rmse"]) for row in rows] == list(enumerate(rmses))
    assert run.summary["valid-rmse"] == {
        "min": pytest.approx(min(rmses))
    }  # define_metric, wandb shape
    assert any(name.endswith("_model.json") for name in run.files)
