"""`gitcfg log`: every option and error of issue 7, through CliRunner and real processes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_python, write_script
from runs_branch import make_run, write_runs

from gitcfg.errors import BadQuery
from gitcfg.query import Api


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
    runs = [
        make_run(
            i,
            {"lr": [0.1, 0.01][i % 2], "seed": i // 2, "batch": 32, "model": {"depth": 18}},
            commit=first,
        )
        for i in range(8)
    ]
    runs += [
        make_run(
            10 + i,
            {"lr": [0.1, 0.01][i % 2], "seed": i // 2, "batch": 64, "model": {"depth": 34}},
            commit=second,
        )
        for i in range(4)
    ]
    runs.append(
        make_run(
            20,
            {"lr": 0.5, "seed": 0, "batch": 32, "model": {"depth": 18}},
            {"val_acc": 0.1},
            status="crashed",
            commit=second,
        )
    )
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
    found = rows(
        cli(
            repo,
            "log",
            "--where",
            "lr == 0.1 and model.depth >= 18",
            "-w",
            "status == finished",
            "--all-keys",
            "-f",
            "json",
        )
    )
    assert len(found) == 6 and {r["lr"] for r in found} == {0.1}
    assert rows(cli(repo, "log", "-w", "no_such_key == 1", "-f", "json")) == []
    either = rows(
        cli(repo, "log", "-w", "(lr == 0.5 or batch == 64) and not seed in [1]", "-f", "json")
    )
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
    groups = rows(
        cli(
            repo,
            "log",
            "-g",
            "lr",
            "-g",
            "batch",
            "--agg",
            "mean,min,max,count",
            "-w",
            "status == finished",
            "-f",
            "json",
        )
    )
    assert [(g["lr"], g["batch"], g["runs"]) for g in groups] == [
        (0.01, 32, 4),
        (0.01, 64, 2),
        (0.1, 32, 4),
        (0.1, 64, 2),
    ]
    assert set(groups[0]["val_acc"]) == {"mean", "min", "max", "count"}
    table = cli(repo, "log", "-g", "lr", "--agg", "mean,std,max")
    lines = table.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("lr"))
    assert "val_acc" in lines[at - 1]  # the metric's name spans its columns, in the line above
    assert lines[at].split()[-3:] == ["±", "std", "max"] and "±" in table.output


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
        (0.01, 32, 18, 4),
        (0.01, 64, 34, 2),
        (0.1, 32, 18, 4),
        (0.1, 64, 34, 2),
    ]


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
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
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
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gitcfg",
            "log",
            "--group-by",
            "lr",
            "--over",
            "seed",
            "--format",
            "json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(proc.stdout)
    assert [(g["lr"], g["runs"]) for g in groups] == [(0.1, 2), (0.2, 2)]
    assert groups[1]["val_acc"]["mean"] == pytest.approx(0.2 * 4 + 0.5)
    assert (repo / ".git" / "gitcfg" / "query-cache.sqlite").exists()


# --- review of issue 7: values told apart, narrow tables, odd values, rough edges --------------

LONG = "/data/very/long/path/to/the/dataset/shard-000{}.tar"


@pytest.fixture
def near(repo: Path):
    """Runs whose config values differ only far to the right: lr, wd, a long path."""
    write_runs(
        repo,
        [
            make_run(
                0,
                {"lr": 0.000123456, "wd": 0.1, "path": LONG.format(1), "seed": 1},
                {"acc": 0.912345678, "best_epoch": 3},
            ),
            make_run(
                1,
                {"lr": 0.000123457, "wd": 0.10001, "path": LONG.format(2), "seed": 2},
                {"acc": 0.912345679, "best_epoch": 5},
            ),
            make_run(
                2,
                {"lr": 0.000123457, "wd": 0.10001, "path": LONG.format(2), "seed": 3},
                {"acc": 0.8, "best_epoch": 5},
            ),
        ],
    )
    return repo


def table_rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line[:8].isalnum() and " " in line]


def test_config_values_and_group_labels_are_exact_and_metrics_rounded(cli, near, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(near, "log", "--columns", "lr,wd,path,acc")
    assert result.exit_code == 0, result.output
    shown = {tuple(row[1:4]) for row in table_rows(result.output)}
    assert shown == {
        ("0.000123456", "0.1", LONG.format(1)),
        ("0.000123457", "0.10001", LONG.format(2)),
    }
    assert "0.9123" in result.output and "0.912345678" not in result.output
    for key, labels in (
        ("lr", ["0.000123456", "0.000123457"]),
        ("wd", ["0.1", "0.10001"]),
        ("path", [LONG.format(1), LONG.format(2)]),
    ):
        grouped = cli(near, "log", "-g", key)
        lines = grouped.output.splitlines()
        assert [
            line.split()[0]
            for line in lines[
                lines.index(next(line for line in lines if line.startswith(key))) + 1 :
            ]
        ] == labels
    grouped = cli(near, "log", "-g", "lr")
    assert "0.86 ± 0.08" in grouped.output  # mean ± std still rounded to the std's precision


def test_a_narrow_table_cuts_long_values_in_the_middle_keeping_what_differs(cli, near, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    result = cli(near, "log", "-g", "path")
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 50 for line in result.output.splitlines()), result.output
    labels = [line.split()[0] for line in result.output.splitlines()[1:3]]
    assert len(set(labels)) == 2 and all("…" in label for label in labels), result.output
    assert labels[0].endswith("1.tar") and labels[1].endswith("2.tar")


def test_shorten_all_moves_the_cut_until_values_differ() -> None:
    from gitcfg.cli.table_fit import shorten, shorten_all

    assert shorten("abcdefghij", 10) == "abcdefghij"
    assert shorten("abcdefghijkl", 7) == "ab…ijkl"  # a third in front, the rest from the tail
    middle = ["run-a-long-common-tail-x", "run-b-long-common-tail-x"]
    cut = shorten_all(middle, 9)
    assert len(set(cut)) == 2 and all(len(text) == 9 for text in cut)


def test_fit_columns_keeps_a_metric_and_drops_config_columns_first() -> None:
    from gitcfg.cli.table_fit import fit_columns
    from gitcfg.cli.tables import Column

    columns = [Column("id", "id"), Column("status", "status")]
    columns += [Column(f"config.hp_{i}", f"hyperparameter_number_{i}", "config") for i in range(12)]
    columns += [
        Column("summary.a", "validation_accuracy_top1", "metric"),
        Column("summary.b", "training_loss_smoothed", "metric"),
    ]
    cells = [["06fq7yhg", "finished", *(f"{i}.5" for i in range(12)), "0.91", "1.2"]] * 3
    layout = fit_columns(columns, [c.header for c in columns], cells, 80, keep=[0, 1, 2, 14])
    assert sum(layout.widths) + 2 * (len(layout.shown) - 1) <= 80
    assert layout.shown[:3] == [0, 1, 2] and 14 in layout.shown and 15 not in layout.shown
    assert len(layout.shown) >= 5  # more than one config column
    headers = dict(zip(layout.shown, layout.headers, strict=True))
    assert headers[14] == "validation_accuracy_top1"  # the result keeps its name
    assert all("…" in headers[i] and len(headers[i]) <= 10 for i in layout.shown[2:-1])
    assert len(set(layout.headers)) == len(layout.headers)
    dotted = fit_columns(
        [Column("config.model.depth", "model.depth", "config")],
        ["model.depth"],
        [["18"]],
        8,
        keep=[0],
    )
    assert dotted.headers == ["depth"]


@pytest.fixture
def wide(repo: Path):
    runs = []
    for i in range(4):
        config: dict[str, object] = {
            f"hyperparameter_number_{k}": i * (k + 1) + 0.5 for k in range(12)
        }
        config |= {f"constant_setting_{k}": f"value-{k}-xxxxxxxxxxxx" for k in range(10)}
        runs.append(
            make_run(
                i,
                config,
                {"validation_accuracy_top1": 0.1 * i, "training_loss_smoothed": 1.0 + i},
                name=f"a-rather-long-run-name-number-{i}",
            )
        )
    write_runs(repo, runs)
    return repo


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--all-keys"],
        ["-g", "hyperparameter_number_1"],
        ["--sort", "-training_loss_smoothed"],
        ["-g", "hyperparameter_number_1", "--agg", "mean,std,min,max,count,median"],
    ],
)
def test_a_wide_sweep_at_80_columns_shows_a_metric_and_fits(cli, wide, monkeypatch, args) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(wide, "log", *args)
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(("id", "hyp")))
    header = lines[at]
    metric = "training_loss_smoothed" if "--sort" in args else "validation_accuracy_top1"
    assert metric in lines[at - 1] + header, result.output  # grouped: its name over its columns
    if args[:1] != ["-g"]:
        assert header.startswith("id        status ")
        assert len([word for word in header.split() if word.startswith("hyp")]) >= 2
    if args[:1] != ["-g"]:
        assert "not shown at this width:" in result.output
        assert "--format=json|csv|md)" in result.output  # one word: never split across lines


def test_grouping_by_a_summary_key_makes_it_a_group_column(cli, repo: Path) -> None:
    write_runs(
        repo,
        [
            make_run(i, {"lr": 0.1 * (i % 2 + 1)}, {"acc": 0.1 * i, "best_epoch": epoch})
            for i, epoch in enumerate([3, 5, 3, 3])
        ],
    )
    for key in ("best_epoch", "summary.best_epoch"):
        groups = rows(cli(repo, "log", "-g", key, "-f", "json"))
        assert [(g["best_epoch"], g["runs"]) for g in groups] == [(3, 3), (5, 1)]
        assert set(groups[0]) == {"best_epoch", "runs", "acc"}
    table = cli(repo, "log", "-g", "best_epoch")
    assert [line.split()[:2] for line in table.output.splitlines()[1:]] == [["3", "3"], ["5", "1"]]
    assert Api(repo).runs().group_by("best_epoch").metrics == ("summary.acc",)


def test_a_mistyped_status_is_one_line_suggesting_the_closest(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "--status", "finishd")
    assert result.exit_code == 1
    assert result.stderr == "gitcfg: error: unknown status 'finishd'; did you mean 'finished'?\n"
    unknown = cli(repo, "log", "--status", "zzz")
    assert unknown.stderr.strip() == (
        "gitcfg: error: unknown status 'zzz'; choose from running, finished, failed, killed, crashed"
    )
    with pytest.raises(BadQuery, match="did you mean 'crashed'"):
        Api(repo).runs(status="crashd")
    assert rows(cli(repo, "log", "--status", "killed", "-f", "json")) == []  # known, none


def test_a_status_recorded_by_finish_status_is_accepted(cli, repo: Path) -> None:
    write_runs(repo, [make_run(0, status="preempted"), make_run(1)])
    assert [r["status"] for r in rows(cli(repo, "log", "--status", "preempted", "-f", "json"))] == [
        "preempted"
    ]


def test_md_escapes_pipes_and_line_breaks_and_csv_quotes_them(cli, repo: Path) -> None:
    write_runs(
        repo,
        [
            make_run(0, {"note": "a|b", "multi": "line1\nline2\r\nline3"}),
            make_run(1, {"note": "c", "multi": "x"}),
        ],
    )
    md = cli(repo, "log", "-f", "md").stdout.splitlines()
    assert len(md) == 4 and all(line.startswith("|") and line.endswith("|") for line in md)
    assert "line1<br>line2<br>line3" in md[3] and "a\\|b" in md[3]
    raw = cli(repo, "log", "-f", "csv").stdout_bytes.decode()  # .stdout turns \r\n into \n
    table = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [r["multi"] for r in table] == ["x", "line1\nline2\r\nline3"]
    shown = cli(repo, "log").output
    assert "line1\\nline2\\r\\nline3" in shown


def test_values_with_rich_markup_are_shown_literally(cli, repo: Path) -> None:
    write_runs(
        repo,
        [
            make_run(0, {"note": "[red]alert[/red]", "k": 1}),
            make_run(1, {"note": "[bold]", "k": 2}),
        ],
    )
    result = cli(repo, "log", "-g", "note")
    assert "[red]alert[/red]" in result.output and "[bold]" in result.output


def test_log_json_keeps_non_finite_values_as_floats(cli, repo: Path) -> None:
    nan, inf = float("nan"), float("inf")
    write_runs(
        repo,
        [
            make_run(0, {"x": -inf}, {"loss": nan}),
            make_run(1, {"x": 1}, {"loss": inf}),
            make_run(2, {"x": 1}, {"loss": 1.0}),
        ],
    )
    found = json.loads(cli(repo, "log", "-f", "json").stdout)
    assert [(r["x"], r["loss"]) for r in found[:2]] == [(1, 1.0), (1, inf)]
    assert found[2]["x"] == -inf and math.isnan(found[2]["loss"])
    groups = json.loads(cli(repo, "log", "-g", "x", "--agg", "max", "-f", "json").stdout)
    assert groups[0]["x"] == -inf


def test_agg_without_groups_is_an_error(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "--agg", "max")
    assert result.exit_code == 1
    assert result.stderr == (
        "gitcfg: error: --agg aggregates groups of runs: add --group-by KEY (or --over KEY)\n"
    )
    assert cli(repo, "log", "--over", "seed", "--agg", "max").exit_code == 0


def test_limit_0_prints_no_empty_table(cli, two_commits) -> None:
    repo, *_ = two_commits
    result = cli(repo, "log", "--limit", "0")
    assert result.exit_code == 0
    assert result.output == "showing 0 of 13 runs (--limit N for more, --limit -1 for all)\n"
    assert "showing 0 of 3 groups" in cli(repo, "log", "-g", "lr", "-n", "0").output
    assert rows(cli(repo, "log", "-n", "0", "-f", "json")) == []


def test_over_an_unknown_key_suggests_only_config_keys(cli, repo: Path) -> None:
    write_runs(repo, [make_run(i, {"lr": 0.1 * i, "sed": i}) for i in range(2)])
    result = cli(repo, "log", "-g", "lr", "--over", "seed")
    assert result.stderr == "gitcfg: error: unknown key 'seed' in --over; did you mean 'sed'?\n"
    write_runs(repo, [make_run(5, {"lr": 0.5})])
    no_close = cli(repo, "log", "--over", "ende")  # `ended` is a run field, not a setting
    assert no_close.exit_code == 1 and "did you mean" not in no_close.stderr
    assert "unknown key 'ende' in --over" in no_close.stderr


def test_confounders_are_listed_sorted(cli, repo: Path) -> None:
    write_runs(
        repo, [make_run(i, {"lr": 0.1, "seed": i, "batch": [64, 32, 128][i % 3]}) for i in range(6)]
    )
    result = cli(repo, "log", "-g", "lr", "--over", "seed")
    assert "batch also varies inside groups of lr (32, 64, 128)" in result.stderr
