"""define_metric as wandb's: step_metric (recorded, the default x axis of `gitcfg plot`), goal
(minimize/maximize: what `best` means), and summary kinds, alone or as comma lists, in wandb's
summary shape (`loss: {min: 0.1}`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import read_branch_file, run_python, start_run, write_script
from typer.testing import CliRunner

from gitcfg.cli import app
from gitcfg.store import run_dir
from gitcfg.summaries import Summary


def _yaml(repo: Path, run_id: str, name: str) -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/{name}"))


def test_summary_kinds_and_comma_lists_take_wandbs_shape(repo: Path) -> None:
    run = start_run(repo)
    run.define_metric("loss", summary="min,max,mean,first,last")
    run.define_metric("acc", summary="best", goal="maximize")
    run.define_metric("err", summary="best", goal="minimize")
    run.define_metric("hidden_metric", summary="none")
    run.define_metric("plain", summary="last")  # today's call: the value itself
    for loss, acc in [(3.0, 0.2), (1.0, 0.7), (2.0, 0.5)]:
        run.log({"loss": loss, "acc": acc, "err": loss, "hidden_metric": 1, "plain": acc})
    assert run.summary["loss"] == {"min": 1.0, "max": 3.0, "mean": 2.0, "first": 3.0, "last": 2.0}
    run.finish()
    assert _yaml(repo, run.id, "summary.yaml") == {
        "loss": {"min": 1.0, "max": 3.0, "mean": 2.0, "first": 3.0, "last": 2.0},
        "acc": {"best": 0.7},
        "err": {"best": 1.0},
        "plain": 0.5,
    }


def test_definitions_are_recorded_in_run_yaml(repo: Path) -> None:
    run = start_run(repo)
    run.define_metric("epoch", hidden=True)
    run.define_metric("val/*", step_metric="epoch", summary="max", goal="maximize")
    run.finish()
    meta = _yaml(repo, run.id, "run.yaml")
    assert meta["metric_definitions"] == {
        "epoch": {"hidden": True},
        "val/*": {"step_metric": "epoch", "summary": "max", "goal": "maximize"},
    }
    assert meta["metric_summary"] == {"val/*": "max"}


def test_bad_goal_and_summary_are_value_errors(repo: Path) -> None:
    run = start_run(repo)
    with pytest.raises(ValueError, match="choose minimize or maximize"):
        run.define_metric("loss", goal="lowest")
    with pytest.raises(ValueError, match="choose one of"):
        run.define_metric("loss", summary="min,median")
    run.finish()


def test_summary_rules_survive_the_journal_state() -> None:
    summary = Summary()
    summary._define("loss", "min,best", "maximize")
    summary._observe([{"loss": 2.0}, {"loss": 5.0}])
    restored = Summary._from_state(summary._state())
    restored._observe([{"loss": 1.0}])
    assert restored.as_dict() == {"loss": {"min": 1.0, "best": 5.0}}


PLOTTED = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
gitcfg.define_metric("val_acc", step_metric="epoch")
for step in range(20):
    gitcfg.log({"loss": 1.0 / (step + 1)})
    if step % 10 == 9:
        gitcfg.log({"epoch": step // 10 + 1, "val_acc": 0.5 + step / 100})
print(run.id)
"""


def test_plot_draws_a_metric_over_its_step_metric_by_default(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = run_python(repo, write_script(repo / "plotted.py", PLOTTED))
    assert proc.returncode == 0, proc.stderr
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["plot", "val_acc", "--height", "4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    assert lines[axis].split()[0] == "epoch"
    assert lines[axis + 1].split() == ["1", "2"]  # the x range is the epochs, not steps 9..19
    result = CliRunner().invoke(app, ["plot", "val_acc", "--x", "_step", "--height", "4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    assert lines[axis].split()[0] == "_step" and lines[axis + 1].split() == ["10", "21"]


GOAL = """
import sys, gitcfg
run = gitcfg.track({"seed": int(sys.argv[1])})
gitcfg.define_metric("val_acc", goal="maximize")
gitcfg.define_metric("val_loss", summary="min", goal="minimize")
gitcfg.log({"val_acc": float(sys.argv[2]), "val_loss": 1 - float(sys.argv[2])})
"""


def test_log_sort_puts_the_best_first_by_the_metrics_goal(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write_script(repo / "goal.py", GOAL)
    for seed, acc in [(0, "0.5"), (1, "0.9"), (2, "0.7")]:
        assert run_python(repo, script, str(seed), acc).returncode == 0
    monkeypatch.chdir(repo)

    def seeds(*sort: str) -> list[int]:
        result = CliRunner().invoke(app, ["log", "--format", "json", *sort])
        assert result.exit_code == 0, result.output
        return [row["seed"] for row in json.loads(result.stdout)]

    assert seeds("--sort", "val_acc") == [1, 2, 0]  # maximize: best first
    assert seeds("--sort", "+val_acc") == [0, 2, 1]  # `+` asks for ascending
    assert seeds("--sort", "-val_acc") == [1, 2, 0]
    assert seeds("--sort", "val_loss.min") == [1, 2, 0]  # minimize: ascending, as before
