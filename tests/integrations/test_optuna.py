"""gitcfg.integrations.optuna: a run per trial of a real study, states and values recorded."""

from __future__ import annotations

import pytest
from conftest import REGRESSION_DATA, commit_script, run_python, run_training

import gitcfg

pytest.importorskip("optuna")

STUDY = """\
import sys
import optuna
import gitcfg
from gitcfg.integrations.optuna import GitcfgCallback

optuna.logging.set_verbosity(optuna.logging.ERROR)
mode = sys.argv[1]
callback = GitcfgCallback(tags=["hpo"])


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if mode == "objective-tracks":
        gitcfg.track({"model": "mlp"})
    for step in range(3):
        trial.report(x * x / (step + 1), step)
        if mode != "callback-only":
            gitcfg.log({"loss": x * x / (step + 1)}, step=step)
    if x == 2.0:
        raise optuna.TrialPruned()
    if x == 3.0:
        raise ValueError("no good")
    return x * x


if mode == "decorated":
    objective = callback.track_in_gitcfg()(objective)
if mode == "outer-run":
    outer = gitcfg.track({"study": "whole"}, name="outer")
study = optuna.create_study(study_name="study-a")
for x in (1.0, 2.0, 3.0):
    study.enqueue_trial({"x": x, "kind": "a"})
study.optimize(objective, n_trials=3, callbacks=[callback], catch=(ValueError,))
print("active", gitcfg.run is not None)
"""

STATES = {1.0: ("COMPLETE", "finished"), 2.0: ("PRUNED", "finished"), 3.0: ("FAIL", "failed")}


@pytest.fixture
def study_repo(repo):
    commit_script(repo, "study.py", STUDY)
    return repo


def run_study(repo, mode):
    proc = run_python(repo, repo / "study.py", mode, env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "finishing it first" not in proc.stderr
    return proc


@pytest.mark.parametrize("mode", ["callback-only", "objective-tracks", "decorated"])
def test_three_trials_are_three_runs_grouped_by_study_with_state_and_value(study_repo, mode):
    proc = run_study(study_repo, mode)
    assert proc.stdout.split() == ["active", "False"]
    runs = {r.config["x"]: r for r in gitcfg.Api(study_repo).runs()}
    assert set(runs) == {1.0, 2.0, 3.0}
    for number, (x, (state, status)) in enumerate(STATES.items()):
        run = runs[x]
        expected_config = {"x": x, "kind": "a"}
        if mode == "objective-tracks":
            expected_config["model"] = "mlp"
            assert run.name != f"trial-{number}"  # the objective's own run keeps its name
        else:
            assert run.name == f"trial-{number}"
        assert run.config == expected_config
        assert run.group == "study-a"
        assert run.status == status
        assert run.summary["state"] == state
        assert run.summary["trial_number"] == number
        assert run.summary["trial_duration_s"] >= 0
        if state == "COMPLETE":
            assert run.summary["value"] == x * x
        elif state == "PRUNED":  # Optuna's value of a pruned trial: its last report
            assert run.summary["value"] == x * x / 3
        else:
            assert "value" not in run.summary
        key = "intermediate_value" if mode == "callback-only" else "loss"
        assert [(row["_step"], row[key]) for row in run.metrics()] == [
            (step, x * x / (step + 1)) for step in range(3)
        ]
        if mode != "objective-tracks":
            assert run.tags == ["hpo"]


def test_a_run_around_the_whole_study_gets_a_row_per_trial(study_repo):
    proc = run_study(study_repo, "outer-run")
    assert proc.stdout.split() == ["active", "True"]
    (run,) = gitcfg.Api(study_repo).runs()
    assert run.name == "outer"
    assert run.status == "finished"  # ended at exit, not by the callback
    trial_rows = [
        (row["trial_number"], row["state"], row.get("value"), row["params.x"])
        for row in run.metrics()
        if "trial_number" in row
    ]
    assert trial_rows == [
        (0, "COMPLETE", 1.0, 1.0),
        (1, "PRUNED", 4 / 3, 2.0),
        (2, "FAIL", None, 3.0),
    ]


def test_a_training_callback_inside_a_decorated_objective_records_into_the_trials_run(repo):
    pytest.importorskip("xgboost")
    run_training(
        repo,
        REGRESSION_DATA
        + """\
import optuna
import xgboost as xgb
from gitcfg.integrations.optuna import GitcfgCallback as OptunaCallback
from gitcfg.integrations.xgboost import GitcfgCallback as XGBoostCallback

optuna.logging.set_verbosity(optuna.logging.ERROR)
dtrain, dvalid = xgb.DMatrix(X[:80], y[:80]), xgb.DMatrix(X[80:], y[80:])
callback = OptunaCallback()


@callback.track_in_gitcfg()
def objective(trial):
    depth = trial.suggest_int("max_depth", 1, 3)
    history = {}
    xgb.train({"max_depth": depth}, dtrain, 3, evals=[(dvalid, "valid")], evals_result=history,
              callbacks=[XGBoostCallback()], verbose_eval=False)
    return history["valid"]["rmse"][-1]


study = optuna.create_study(study_name="depths")
for depth in (1, 3):
    study.enqueue_trial({"max_depth": depth})
study.optimize(objective, n_trials=2, callbacks=[callback])
""",
    )
    runs = {r.config["max_depth"]: r for r in gitcfg.Api(repo).runs()}
    assert set(runs) == {1, 3}  # one run per trial: the training's rows are the trial's
    for depth, run in runs.items():
        assert run.group == "depths"
        assert run.config["xgboost"]["max_depth"] == depth
        rows = run.metrics()
        assert [row["iteration"] for row in rows] == [0, 1, 2]
        assert run.summary["value"] == rows[-1]["valid/rmse"]
        assert run.summary["best_metric"] == "valid/rmse"
        assert run.status == "finished"
