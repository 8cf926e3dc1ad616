"""`gitcfg show`, `gitcfg diff` and `gitcfg plot` on real runs and fast-import-built branches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from conftest import git, run_python, snapshot, write_script
from runs_branch import commit, make_run, run_dir, write_runs

from gitcfg.cli.chart import MARKERS
from gitcfg.query import Api

FROM_CONFIGS = """
import gitcfg
run = gitcfg.track()
run.summary["score"] = run.config.lr * 10
run.finish()
print(run.id)
"""


def test_show_config_is_a_configs_file_that_reruns_the_run(cli, repo: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "train.py", FROM_CONFIGS)
    first = tmp_path / "first.yaml"
    first.write_text(
        "lr: 0.05\nname: '1e-3'\nmodel:\n  depth: 34\n  widths: [64, 128]\nflag: yes\n"
    )
    done = run_python(repo, script, "--configs", str(first))
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    shown = cli(repo, "show", run_id[:10], "--config")
    assert shown.exit_code == 0, shown.output
    best = tmp_path / "best.yaml"
    best.write_text(shown.stdout)
    assert isinstance(yaml.safe_load(shown.stdout), dict)
    again = run_python(repo, script, "--configs", str(best))
    assert again.returncode == 0, again.stderr
    api = Api(repo)
    original, rerun = api.run(run_id), api.run(again.stdout.strip())
    assert rerun.config == original.config
    assert rerun.config["name"] == "1e-3" and rerun.config["flag"] is True  # YAML 1.1: yes
    assert (
        json.loads(cli(repo, "show", run_id, "--config", "--format", "json").stdout)
        == original.config
    )


def test_show_summary_and_metrics(cli, repo: Path) -> None:
    run = make_run(
        1, summary={"acc": 0.9}, metrics=[{"_step": 0, "acc": 0.5}, {"_step": 1, "acc": 0.9}]
    )
    write_runs(repo, [run])
    summary = cli(repo, "show", run["id"][:9], "--summary")
    assert yaml.safe_load(summary.stdout) == {"acc": 0.9}
    by_name = cli(repo, "show", "run-1", "--format", "json")
    assert json.loads(by_name.stdout)["run"]["id"] == run["id"]
    metrics = cli(repo, "show", run["id"][:9], "--metrics", "--format", "json")
    assert json.loads(metrics.stdout) == run["metrics"]


# --- diff ----------------------------------------------------------------------------------------

TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": float(sys.argv[1]), "batch": int(sys.argv[2]), "model": {"depth": 18}})
run.summary["acc"] = float(sys.argv[3])
run.finish()
print(run.id)
"""


@pytest.fixture
def three_runs(repo: Path, tmp_path: Path):
    """run1 on a clean commit A; run2 on A with uncommitted edits; run3 on a new commit B."""
    script = write_script(tmp_path / "record.py", TRAIN)

    def record(*args: str) -> str:
        proc = run_python(repo, script, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    run1 = record("0.1", "32", "0.8")
    (repo / "train.py").write_text("print('train')\nprint('dirty edit')\n")
    (repo / "notes.txt").write_text("an untracked note\n")
    run2 = record("0.1", "64", "0.85")
    git(repo, "checkout", "-q", "--", "train.py")
    (repo / "notes.txt").unlink()
    (repo / "model.py").write_text("DEPTH = 18\n")
    git(repo, "add", "model.py")
    git(repo, "commit", "-qm", "add model")
    run3 = record("0.3", "32", "0.9")
    return repo, run1, run2, run3


def test_diff_shows_config_and_summary_side_by_side(cli, three_runs, monkeypatch) -> None:
    repo, run1, run2, run3 = three_runs
    monkeypatch.setenv("COLUMNS", "120")
    result = cli(repo, "diff", run1[:10], run3[:10])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    lr = next(line for line in lines if line.strip().startswith("lr"))
    assert lr.split()[1:] == ["0.1", "0.3"]
    assert next(line for line in lines if line.strip().startswith("acc")).split()[1:] == [
        "0.8",
        "0.9",
    ]
    assert any(line.strip().startswith("code_commit") for line in lines)
    assert not any(line.strip().startswith("batch") for line in lines)
    data = json.loads(cli(repo, "diff", run1, run2, "--format", "json").stdout)
    assert data["a"] == run1 and data["config"] == [{"key": "batch", "a": 32, "b": 64}]
    assert {"key": "dirty", "a": False, "b": True} in data["run"]


def test_diff_code_compares_commits_plus_patches_and_touches_nothing(cli, three_runs) -> None:
    repo, run1, run2, run3 = three_runs
    (repo / "scratch.txt").write_text("the user's own work in progress\n")
    git(repo, "add", "scratch.txt")
    before = snapshot(repo)
    dirty = cli(repo, "diff", run1, run2, "--code")
    assert dirty.exit_code == 0, dirty.output
    assert "+print('dirty edit')" in dirty.output and "+an untracked note" in dirty.output
    assert "model.py" not in dirty.output
    committed = cli(repo, "diff", run2, run3, "--code", "--format", "json")
    code = json.loads(committed.stdout)["code"]
    assert "+DEPTH = 18" in code and "-print('dirty edit')" in code and "-an untracked note" in code
    same = cli(repo, "diff", run1, run1, "--code")
    assert "code: identical" in same.output
    assert snapshot(repo) == before


def test_diff_code_with_a_missing_commit_says_to_fetch(cli, repo: Path) -> None:
    missing = "0123456789abcdef0123456789abcdef01234567"
    write_runs(
        repo, [make_run(1, commit=missing), make_run(2, commit=git(repo, "rev-parse", "HEAD"))]
    )
    runs = Api(repo).runs()
    result = cli(repo, "diff", runs.ids[1], runs.ids[0], "--code")
    assert result.exit_code == 1
    assert (
        "code commit 0123456789ab is not in this clone" in result.stderr
        and "git fetch" in result.stderr
    )


def test_diff_of_an_unknown_run_is_one_line(cli, repo: Path) -> None:
    write_runs(repo, [make_run(1)])
    result = cli(repo, "diff", "zzzzzzzz", "run-1")
    assert result.exit_code == 1 and result.stderr.startswith(
        "gitcfg: error: no run matches 'zzzzzzzz'"
    )


# --- plot ----------------------------------------------------------------------------------------


def curve(lr: float, seed: int) -> list[dict]:
    return [
        {"_step": step, "_time": 1.0 * step, "val_acc": lr * step + seed / 10} for step in range(20)
    ]


@pytest.fixture
def curves(repo: Path):
    runs = [
        make_run(i, {"lr": lr, "seed": seed}, metrics=curve(lr, seed))
        for i, (lr, seed) in enumerate([(0.1, 0), (0.1, 1), (0.2, 0), (0.2, 1)])
    ]
    runs.append(make_run(9, {"lr": 0.3, "seed": 0}, metrics=[{"_step": 0, "loss": 1.0}]))
    write_runs(repo, runs)
    return repo, runs


def legend_lines(output: str) -> list[str]:
    """The legend: `* run-0` per line without colours (CliRunner is not a terminal)."""
    return [
        line.strip()
        for line in output.splitlines()
        if line[:2] == "  " and line[3:4] == " " and line[2] in MARKERS
    ]


def test_plot_draws_one_line_per_run(cli, curves, monkeypatch) -> None:
    repo, runs = curves
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(repo, "plot", "val_acc")
    assert result.exit_code == 0, result.output
    assert sum(result.output.count(marker) for marker in MARKERS[:4]) > 40
    assert all(len(line) <= 80 for line in result.output.splitlines())
    legend = legend_lines(result.output)
    assert len(legend) == 4 and any("run-3" in line for line in legend)
    assert "1 run did not log val_acc: left out" in result.output
    assert "_step" in result.output


def test_plot_group_by_draws_the_mean_of_each_group(cli, curves) -> None:
    repo, _ = curves
    result = cli(repo, "plot", "val_acc", "--group-by", "lr")
    assert result.exit_code == 0, result.output
    assert legend_lines(result.output) == ["* lr=0.1 (2 runs)", "o lr=0.2 (2 runs)"]


def test_plot_named_runs_only(cli, curves) -> None:
    repo, runs = curves
    result = cli(repo, "plot", "val_acc", runs[0]["id"][:10], "run-2")
    legend = legend_lines(result.output)
    assert len(legend) == 2 and "run-0" in legend[0] and "run-2" in legend[1]


def test_plot_of_a_metric_nobody_logged_is_one_line(cli, curves) -> None:
    repo, _ = curves
    result = cli(repo, "plot", "val_acc_typo")
    assert result.exit_code == 1
    assert "none of these 5 runs logged 'val_acc_typo'" in result.stderr


def test_plot_legend_says_1_run_and_labels_values_exactly(cli, repo: Path) -> None:
    runs = [
        make_run(i, {"lr": lr}, metrics=curve(0.1, i))
        for i, lr in enumerate([0.000123456, 0.000123457, 0.000123457])
    ]
    write_runs(repo, runs)
    result = cli(repo, "plot", "val_acc", "--group-by", "lr")
    assert legend_lines(result.output) == ["* lr=0.000123456 (1 run)", "o lr=0.000123457 (2 runs)"]


def test_json_of_show_and_diff_keeps_non_finite_values_as_floats(cli, repo) -> None:
    nan, inf = float("nan"), float("inf")
    runs = [
        make_run(0, {"lr": 0.1}, {"loss": nan, "best": inf}, metrics=[{"_step": 0, "loss": nan}]),
        make_run(1, {"lr": -inf}, {"loss": 1.0, "best": -inf}),
    ]
    write_runs(repo, runs)
    shown = json.loads(cli(repo, "show", "run-0", "--format", "json").stdout)
    assert math.isnan(shown["summary"]["loss"]) and shown["summary"]["best"] == inf
    assert math.isnan(
        json.loads(cli(repo, "show", "run-0", "--metrics", "-f", "json").stdout)[0]["loss"]
    )
    assert math.isnan(json.loads(cli(repo, "show", "run-0", "--metrics").stdout)["loss"])
    diff = json.loads(cli(repo, "diff", "run-0", "run-1", "--format", "json").stdout)
    assert {"key": "lr", "a": 0.1, "b": -inf} in diff["config"]
    loss = next(change for change in diff["summary"] if change["key"] == "loss")
    assert math.isnan(loss["a"]) and loss["b"] == 1.0


def test_diff_shows_values_exactly_and_literally(cli, repo: Path) -> None:
    write_runs(
        repo,
        [
            make_run(0, {"lr": 0.000123456, "note": "[red]a\nb"}),
            make_run(1, {"lr": 0.000123457, "note": "[red]c"}),
        ],
    )
    result = cli(repo, "diff", "run-0", "run-1")
    assert result.exit_code == 0, result.output
    assert "0.000123456" in result.output and "0.000123457" in result.output
    assert "[red]a\\nb" in result.output and "[red]c" in result.output


def test_show_metrics_skips_a_torn_last_line_as_the_api_does(cli, repo: Path) -> None:
    run = make_run(1, metrics=[{"_step": 0, "acc": 0.5}])
    write_runs(repo, [run])
    commit(
        repo, {f"{run_dir(run['id'])}/metrics.jsonl": b'{"_step": 0, "acc": 0.5}\n{"_step": 1, "ac'}
    )
    result = cli(repo, "show", run["id"], "--metrics", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"_step": 0, "acc": 0.5}]
    assert json.loads(result.stdout) == Api(repo).run(run["id"]).metrics()
