"""`gitcfg log`: every option and error of issue 7, through CliRunner and real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_python, write_script
from runs_branch import make_run, write_runs


def rows(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def two_commits(repo: Path):
    """Runs on two code commits: 8 on the first (lr x seed), 4 on the second, 1 crashed."""
    first = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("print('v2')\n")
    git(repo, "commit", "-qam", "v2")
    second = git(repo, "rev-parse", "HEAD")
    runs = [make_run(i, {"lr": [0.1, 0.01][i % 2], "seed": i // 2, "batch": 32,
                         "model": {"depth": 18}}, commit=first) for i in range(8)]  # fmt: skip
    runs += [make_run(10 + i, {"lr": [0.1, 0.01][i % 2], "seed": i // 2, "batch": 64,
                               "model": {"depth": 34}}, commit=second) for i in range(4)]  # fmt: skip
    runs.append(make_run(20, {"lr": 0.5, "seed": 0, "batch": 32, "model": {"depth": 18}},
                         {"val_acc": 0.1}, status="crashed", commit=second))  # fmt: skip
    write_runs(repo, runs)
    return repo, runs, first, second


def test_rev_range_selects_runs_by_their_code_commit(cli, two_commits) -> None:
    repo, runs, first, second = two_commits
    assert {r["commit"] for r in rows(cli(repo, "log", "HEAD~1..HEAD", "-f", "json"))} == {second}
    assert len(rows(cli(repo, "log", "HEAD", "-f", "json"))) == 13
    assert {r["commit"] for r in rows(cli(repo, "log", "HEAD~1", "-f", "json"))} == {first}
    git(repo, "checkout", "-q", "-b", "side", "HEAD~1")
    assert {r["commit"] for r in rows(cli(repo, "log", "main...side", "-f", "json"))} == {second}


def test_a_bad_range_is_one_line(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "nope..HEAD")
    assert result.exit_code == 1
    assert result.stderr.startswith("gitcfg: error: bad revision range 'nope..HEAD'")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_where_filters_and_clauses_are_anded(cli, two_commits) -> None:
    repo, *_ = two_commits
    found = rows(cli(repo, "log", "--where", "lr == 0.1 and model.depth >= 18", "-w",
                     "status == finished", "--all-keys", "-f", "json"))  # fmt: skip
    assert len(found) == 6 and {r["lr"] for r in found} == {0.1}
    assert rows(cli(repo, "log", "-w", "no_such_key == 1", "-f", "json")) == []
    either = rows(cli(repo, "log", "-w", "(lr == 0.5 or batch == 64) and not seed in [1]",
                      "-f", "json"))  # fmt: skip
    assert len(either) == 3


def test_a_filter_syntax_error_puts_a_caret_under_the_column(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "--where", "lr = 0.1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("gitcfg: error: cannot parse filter 'lr = 0.1' at column 4")
    assert lines[1] == "  lr = 0.1" and lines[2] == "     ^ use == to compare"


def test_only_differing_config_keys_are_columns_and_constants_are_summarised(cli, repo) -> None:
    write_runs(repo, [make_run(i, {"lr": 0.1 * (i + 1), "batch": 32}) for i in range(3)])
    found = rows(cli(repo, "log", "-f", "json"))
    assert all("lr" in r and "batch" not in r for r in found)
    table = cli(repo, "log")
    assert "same in every run: batch=32" in table.output
    every = rows(cli(repo, "log", "--all-keys", "-f", "json"))
    assert all(r["batch"] == 32 for r in every)
    assert "same in every run" not in cli(repo, "log", "--all-keys").output


def test_group_by_repeatable_with_chosen_aggregates(cli, two_commits) -> None:
    repo, *_ = two_commits
    groups = rows(cli(repo, "log", "-g", "lr", "-g", "batch", "--agg", "mean,min,max,count",
                      "-w", "status == finished", "-f", "json"))  # fmt: skip
    assert [(g["lr"], g["batch"], g["runs"]) for g in groups] == [
        (0.01, 32, 4), (0.01, 64, 2), (0.1, 32, 4), (0.1, 64, 2)]  # fmt: skip
    assert set(groups[0]["val_acc"]) == {"mean", "min", "max", "count"}
    table = cli(repo, "log", "-g", "lr", "--agg", "mean,std,max")
    header = next(line for line in table.output.splitlines() if line.startswith("lr"))
    assert "val_acc max" in header and "±" in table.output


def test_an_unknown_aggregate_is_one_line(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "-g", "lr", "--agg", "mean,average")
    assert result.exit_code == 1 and "unknown aggregate 'average'" in result.stderr


def test_over_warns_when_another_key_varies_inside_a_group(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(
        repo, "log", "-g", "lr", "--over", "seed", "-w", "status == finished", "-f", "json"
    )
    assert result.exit_code == 0
    assert "warning: batch also varies inside groups of lr" in result.stderr
    assert "model.depth also varies" in result.stderr
    json.loads(result.stdout)  # the warning stays out of the data
    clean = cli(
        repo, "log", "-g", "lr", "--over", "seed", "-w", "batch == 32 and status == finished"
    )
    assert clean.exit_code == 0 and "warning" not in clean.output


def test_over_alone_groups_by_the_other_differing_keys(cli, two_commits) -> None:
    repo, *_ = two_commits
    groups = rows(cli(repo, "log", "--over", "seed", "-w", "status == finished", "-f", "json"))
    assert [(g["lr"], g["batch"], g["model.depth"], g["runs"]) for g in groups] == [
        (0.01, 32, 18, 4), (0.01, 64, 34, 2), (0.1, 32, 18, 4), (0.1, 64, 34, 2)]  # fmt: skip


@pytest.mark.parametrize("option", ["--group-by", "--sort", "--columns", "--over"])
def test_unknown_keys_suggest_close_names(cli, two_commits, option) -> None:
    repo, *_ = two_commits
    args = ["-g", "lr"] if option == "--over" else []
    result = cli(repo, "log", *args, option, "bach")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"gitcfg: error: unknown key 'bach' in {option}; did you mean 'batch'?"
    )


def test_sort_ascending_descending_and_by_group_metric(cli, two_commits) -> None:
    repo, *_ = two_commits
    found = rows(cli(repo, "log", "--sort", "-val_acc", "--sort", "seed", "-f", "json"))
    accs = [r["val_acc"] for r in found]
    assert accs == sorted(accs, reverse=True)
    up = rows(cli(repo, "log", "--sort=lr", "-f", "json"))
    assert [r["lr"] for r in up] == sorted(r["lr"] for r in up)
    groups = rows(cli(repo, "log", "-g", "lr", "--sort=-val_acc", "-f", "json"))
    means = [g["val_acc"]["mean"] for g in groups]
    assert means == sorted(means, reverse=True)
    oldest = rows(cli(repo, "log", "--sort", "-age", "-n", "1", "-f", "json"))
    assert oldest[0]["name"] == "run-0"


def test_limit_keeps_the_newest_rows(cli, two_commits) -> None:
    repo, *_ = two_commits
    found = rows(cli(repo, "log", "-n", "2", "-f", "json"))
    assert [r["name"] for r in found] == ["run-20", "run-13"]
    assert len(rows(cli(repo, "log", "--limit", "-1", "-f", "json"))) == 13


def test_a_table_shows_100_rows_and_says_how_many_more(cli, repo) -> None:
    write_runs(repo, [make_run(i) for i in range(130)])
    result = cli(repo, "log")
    assert result.exit_code == 0
    assert "showing 100 of 130 runs" in result.output
    assert len(rows(cli(repo, "log", "-f", "json"))) == 130


def test_columns_choose_and_order_what_is_shown(cli, two_commits) -> None:
    repo, *_ = two_commits
    found = rows(cli(repo, "log", "--columns", "val_acc,lr", "-c", "status", "-f", "json"))
    assert list(found[0]) == ["id", "val_acc", "lr", "status"]
    groups = rows(cli(repo, "log", "-g", "lr", "--columns", "val_acc", "-f", "json"))
    assert list(groups[0]) == ["lr", "runs", "val_acc"]


def test_status_filter_accepts_several(cli, two_commits) -> None:
    repo, *_ = two_commits
    assert len(rows(cli(repo, "log", "--status", "crashed", "-f", "json"))) == 1
    assert len(rows(cli(repo, "log", "--status", "crashed,finished", "-f", "json"))) == 13
    assert (
        len(rows(cli(repo, "log", "--status", "crashed", "--status", "finished", "-f", "json")))
        == 13
    )


def test_csv_and_md_hold_every_column_untruncated(cli, two_commits, monkeypatch) -> None:
    repo, *_ = two_commits
    monkeypatch.setenv("COLUMNS", "40")
    result = cli(repo, "log", "-f", "csv")
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(table) == 13 and len(table[0]["id"]) == 20 and len(table[0]["commit"]) == 40
    assert {"lr", "seed", "batch", "model.depth", "val_acc", "train_loss"} <= set(table[0])
    groups = list(csv.DictReader(io.StringIO(cli(repo, "log", "-g", "lr", "-f", "csv").stdout)))
    assert {"lr", "runs", "val_acc.mean", "val_acc.std"} <= set(groups[0])
    md = cli(repo, "log", "-g", "lr", "-f", "md").stdout.splitlines()
    assert md[0].startswith("| lr | runs | val_acc.mean | val_acc.std") and md[1].startswith(
        "|---|"
    )


def test_a_wide_table_fits_80_columns(cli, repo, monkeypatch) -> None:
    config = {f"hyperparameter_{i}": i * 1.5 for i in range(12)}
    write_runs(repo, [make_run(i, {**config, "hyperparameter_0": i}) for i in range(3)])
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(repo, "log", "--all-keys")
    assert result.exit_code == 0
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output
    assert "not shown at this width" in result.output


@pytest.mark.parametrize("output", ["table", "json", "csv"])
def test_empty_results_say_no_runs_match_and_exit_0(cli, two_commits, output) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "-w", "lr > 100", "-f", output)
    assert result.exit_code == 0 and "no runs match" in result.output
    if output == "json":
        assert json.loads(result.stdout) == []
    if output != "table":
        assert "no runs match" not in result.stdout


RUNNING = """
import time, gitcfg
run = gitcfg.track({"lr": 0.1})
run.log({"loss": 1.0})
print(run.id, flush=True)
time.sleep(60)
"""


def test_a_run_still_running_here_shows_its_heartbeat(cli, repo: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "running.py", RUNNING)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read()
        result = cli(repo, "log", "--columns", "status")
        assert result.exit_code == 0, result.output
        line = next(line for line in result.output.splitlines() if line.startswith(run_id[:8]))
        assert "running (hb " in line and "ago)" in line
    finally:
        proc.kill()
        proc.wait()


SWEEP = """
import sys, gitcfg
lr, seed = float(sys.argv[1]), int(sys.argv[2])
run = gitcfg.track({"lr": lr, "seed": seed, "batch": 32})
for step in range(5):
    run.log({"val_acc": lr * step + seed})
run.finish()
print(run.id)
"""


def test_log_of_real_runs_in_a_fresh_process(repo: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "sweep.py", SWEEP)
    for lr in (0.1, 0.2):
        for seed in (0, 1):
            assert run_python(repo, script, str(lr), str(seed)).returncode == 0
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-m", "gitcfg", "log", "--group-by", "lr", "--over",
                           "seed", "--format", "json"], cwd=repo, capture_output=True, text=True,
                          env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(proc.stdout)
    assert [(g["lr"], g["runs"]) for g in groups] == [(0.1, 2), (0.2, 2)]
    assert groups[1]["val_acc"]["mean"] == pytest.approx(0.2 * 4 + 0.5)
    assert (repo / ".git" / "gitcfg" / "query-cache.sqlite").exists()
