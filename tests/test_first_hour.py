"""Issue 16, "the first hour": the demo's numbers, --where typos, the command list, the plot without
colour, grouped headers that use the width there is, and a failed run's traceback in `show`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git, one_error_line, run_python, write_script
from runs_branch import make_run, write_runs

from gitcfg.query import Api


def gitcfg_command(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """The installed `gitcfg` console script (this checkout's package, via PYTHONPATH), or
    `python -m gitcfg` where it is not installed."""
    exe = shutil.which("gitcfg")
    argv = [exe] if exe else [sys.executable, "-m", "gitcfg"]
    return subprocess.run(
        [*argv, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


# --- the demo tells a true story ------------------------------------------------------------------


def test_demo_best_val_acc_is_the_best_epoch_not_the_last(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = gitcfg_command("demo", str(target), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Api(target).runs() as runs:
        records = list(runs)
    assert len(records) == 12
    gaps = []
    for run in records:
        values = [row["val_acc"] for row in run.metrics()]
        assert run.summary["val_acc"] == values[-1]  # the summary's val_acc is the last epoch's
        assert run.summary["best_val_acc"] == max(values)  # best_val_acc is the best epoch's
        assert run.summary["best_val_acc"] >= run.summary["val_acc"]
        gaps.append(run.summary["best_val_acc"] - run.summary["val_acc"])
    assert sum(gap > 0.05 for gap in gaps) >= 4  # lr=0.1 peaks early, then overfits
    # The demo's own table: the two columns differ where the story says they do.
    header = next(line for line in proc.stdout.splitlines() if line.startswith("lr "))
    assert header.split()[-2:] == ["val_acc", "best_val_acc"]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("0.1 "))
    cells = row.split("  ")
    assert cells[-1].strip() != cells[-2].strip(), proc.stdout
    assert "best_val_acc the best" in proc.stdout


# --- gitcfg --help: the commands a user needs first, each with a whole one-line summary -----------


def _help_commands(text: str) -> list[tuple[str, ...]]:
    section = text[text.index("Commands:") :].splitlines()[1:]
    return [
        tuple(line.split(None, 1)) for line in section if line.startswith("  ") and line[2] != " "
    ]


def test_help_lists_log_show_diff_plot_first_each_with_a_one_line_summary(tmp_path: Path) -> None:
    proc = gitcfg_command("--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    listed = _help_commands(proc.stdout)
    names = [name for name, _ in listed]
    assert names[:4] == ["log", "show", "diff", "plot"]
    known = ["amend", "history", "push", "pull", "checkout", "rm", "init", "demo"]
    assert [name for name in names if name in known] == known  # the rest in the documented order
    for name, summary in listed:
        assert summary and not summary.endswith("..."), (name, summary)
    section = proc.stdout[proc.stdout.index("Commands:") :].splitlines()[1:]
    assert all(line.startswith("  ") and line[2] != " " for line in section if line.strip())
    assert all(len(line) <= 80 for line in section)


def test_a_command_missing_from_the_order_is_listed_after_the_known_ones() -> None:
    import typer
    from typer.main import get_command

    from gitcfg.cli.app import _Group

    app = typer.Typer(cls=_Group, add_completion=False)
    for name in ("zeta", "init", "show", "log"):
        app.command(name, help=f"The {name} command. More text.")(lambda: None)
    group = get_command(app)
    assert isinstance(group, _Group)
    assert group.list_commands(None) == ["log", "show", "init", "zeta"]


# --- a --where key no run has: a warning with the nearest keys, and the (empty) result ------------


@pytest.fixture
def four_runs(repo: Path) -> Path:
    write_runs(repo, [make_run(i) for i in range(4)])
    return repo


def test_where_with_a_misspelled_key_warns_with_the_nearest_key(cli, four_runs: Path) -> None:
    result = cli(four_runs, "log", "--where", "lrr < 0.1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no runs match"
    assert result.stderr.splitlines() == [
        "gitcfg: warning: no run has key 'lrr' (did you mean 'lr'?)"
    ]
    as_json = cli(four_runs, "log", "--where", "lrr < 0.1", "--format", "json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []
    assert "gitcfg: warning: no run has key 'lrr' (did you mean 'lr'?)" in as_json.stderr


def test_where_warns_once_per_unknown_key_and_still_prints_what_matches(cli, four_runs) -> None:
    result = cli(
        four_runs, "log", "-w", "lr == 0.001 or sed == 1", "-w", "val_ac >= 0", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith("gitcfg: warning: no run has key 'sed' (did you mean 'seed'")
    assert warnings[1] == "gitcfg: warning: no run has key 'val_ac' (did you mean 'val_acc'?)"
    assert json.loads(result.stdout) == []  # `val_ac >= 0` matches nothing
    some = cli(four_runs, "log", "--where", "lr == 0.001 or sed == 1", "-f", "json")
    assert some.exit_code == 0 and len(json.loads(some.stdout)) == 1  # the `or` still matches
    assert some.stderr.startswith("gitcfg: warning: no run has key 'sed'")
    fine = cli(four_runs, "log", "--where", "lr == 0.001 and model.depth == 18", "-f", "json")
    assert fine.exit_code == 0 and fine.stderr == "" and len(json.loads(fine.stdout)) == 1


def test_plot_where_with_a_misspelled_key_warns_too(cli, four_runs: Path) -> None:
    result = cli(four_runs, "plot", "val_acc", "--where", "bach == 32")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "no runs match"
    assert result.stderr.splitlines() == [
        "gitcfg: warning: no run has key 'bach' (did you mean 'batch'?)"
    ]


def test_the_real_command_prints_the_warning_on_stderr_and_exits_0(four_runs: Path) -> None:
    proc = gitcfg_command("log", "--where", "lrr < 0.1", cwd=four_runs)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "gitcfg: warning: no run has key 'lrr' (did you mean 'lr'?)\n"
    assert proc.stdout.strip() == "no runs match"


def test_api_runs_carry_the_warning(four_runs: Path) -> None:
    with Api(four_runs).runs(where="lrr < 0.1") as runs:
        assert len(runs) == 0
        assert runs.warnings == ("no run has key 'lrr' (did you mean 'lr'?)",)
    with Api(four_runs).runs(where="lr < 0.1") as runs:
        assert len(runs) == 4 and runs.warnings == ()


# --- a failed run's traceback, printed as a traceback ----------------------------------------------

FAILING = """
import gitcfg


def train():
    raise ValueError("diverged at step 3\\nloss=nan \\x1b[31mred\\x1b[0m")


with gitcfg.track({"lr": 9}) as run:
    run.log({"loss": 1.0})
    print(run.id, flush=True)
    train()
"""


def test_show_prints_a_failed_runs_traceback_as_lines_after_the_run(cli, repo, tmp_path) -> None:
    proc = run_python(repo, write_script(tmp_path / "fail.py", FAILING))
    assert proc.returncode == 1 and "ValueError" in proc.stderr
    run_id = proc.stdout.split()[0]
    recorded = Api(repo).run(run_id).meta["error"]["traceback"]
    assert "\x1b[31m" in recorded  # the message's escape character, as the process raised it

    shown = cli(repo, "show", run_id[:10])
    assert shown.exit_code == 0, shown.output
    document, _, traceback = shown.stdout.partition("\n\nTraceback (most recent call last):\n")
    assert traceback, shown.stdout
    meta = yaml.safe_load(document)[
        "run"
    ]  # the part before is the run as YAML, minus the traceback
    assert meta["status"] == "failed" and "traceback" not in meta["error"]
    assert meta["error"]["type"] == "ValueError"
    lines = traceback.splitlines()
    assert any(line.startswith('  File "') and line.endswith(", in train") for line in lines)
    assert lines[-2:] == ["ValueError: diverged at step 3", "loss=nan \\x1b[31mred\\x1b[0m"]
    assert "\x1b" not in shown.stdout  # no raw escape character reaches the terminal

    as_yaml = cli(repo, "show", run_id[:10], "--format", "yaml")
    assert yaml.safe_load(as_yaml.stdout)["run"]["error"]["traceback"] == recorded  # data, exact
    as_json = cli(repo, "show", run_id[:10], "-f", "json")
    assert json.loads(as_json.stdout)["run"]["error"]["traceback"] == recorded


def test_show_of_a_finished_run_is_one_yaml_document(cli, four_runs: Path) -> None:
    shown = cli(four_runs, "show", "run-1")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == cli(four_runs, "show", "run-1", "--format", "yaml").stdout
    assert yaml.safe_load(shown.stdout)["run"]["name"] == "run-1"


# --- gitcfg plot without colours: a marker per line, shown in the legend ---------------------------


@pytest.fixture
def three_curves(repo: Path) -> Path:
    runs = []
    for i, lr in enumerate((0.1, 0.2, 0.3)):
        rows = [{"_step": step, "val_acc": lr * step} for step in range(10)]
        runs.append(make_run(i, {"lr": lr}, metrics=rows))
    write_runs(repo, runs)
    return repo


def _chart_and_legend(output: str) -> tuple[str, dict[str, str]]:
    lines = output.splitlines()
    chart = "\n".join(line.split("┤", 1)[1] for line in lines if "┤" in line)
    legend = {
        line[2]: line[4:]
        for line in lines
        if line[:2] == "  " and line[2] != " " and line[3:4] == " "
    }
    return chart, legend


def braille(text: str) -> int:
    return sum(0x2800 < ord(char) <= 0x28FF for char in text)


def test_plot_without_a_colour_terminal_gives_each_line_its_own_marker(cli, three_curves) -> None:
    result = cli(three_curves, "plot", "val_acc", "--group-by", "lr")  # CliRunner: not a tty
    assert result.exit_code == 0, result.output
    chart, legend = _chart_and_legend(result.output)
    assert list(legend.values()) == ["lr=0.1 (1 run)", "lr=0.2 (1 run)", "lr=0.3 (1 run)"]
    assert len(set(legend)) == 3 and not set(legend) & {"━", " ", "-", "|", "."}
    for marker in legend:
        assert chart.count(marker) >= 5, (marker, chart)  # each line is drawn in its marker
    assert set(chart) <= {*legend, " ", "\n"} and braille(result.output) == 0


@pytest.mark.parametrize(
    "env, args",
    [({"NO_COLOR": "1", "FORCE_COLOR": ""}, ()), ({"FORCE_COLOR": "1"}, ("--no-color",))],
    ids=["NO_COLOR", "--no-color"],
)
def test_plot_markers_under_no_color_and_the_flag(three_curves: Path, env, args) -> None:
    proc = gitcfg_command("plot", "val_acc", *args, cwd=three_curves, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout and braille(proc.stdout) == 0
    chart, legend = _chart_and_legend(proc.stdout)
    assert len(legend) == 3 and all(chart.count(marker) >= 5 for marker in legend)


def test_plot_on_a_colour_terminal_keeps_coloured_braille(three_curves: Path) -> None:
    proc = gitcfg_command(
        "plot", "val_acc", cwd=three_curves, env={"FORCE_COLOR": "1", "NO_COLOR": ""}
    )
    assert proc.returncode == 0, proc.stderr
    assert braille(proc.stdout) > 20 and "\x1b[" in proc.stdout and proc.stdout.count("━━") == 3


# --- grouped tables use the width there is --------------------------------------------------------

LONG = "validation_accuracy_top5_exponential_moving_average"


@pytest.fixture
def long_metric_runs(repo: Path) -> Path:
    runs = [
        make_run(i, {"lr": lr, "seed": i}, {LONG: 0.5 + lr + i / 100, "train_loss": 1 - lr})
        for i, lr in enumerate((0.1, 0.1, 0.2, 0.2))
    ]
    write_runs(repo, runs)
    return repo


def test_grouped_headers_use_200_columns(cli, long_metric_runs, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(long_metric_runs, "log", "--group-by", "lr", "--agg", "mean,std,min,max,median")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 200 for line in lines) and "not shown" not in result.output
    spans, header = lines[0], lines[1]
    assert (
        LONG in spans and "train_loss" in spans
    )  # each metric's name whole, once, over its columns
    assert header.split() == ["lr", "runs", *["mean", "±", "std", "min", "max", "median"] * 2]
    # The name sits over its own columns: it starts after `runs` and ends before train_loss's.
    assert header.index("runs") < spans.index(LONG) < spans.index("train_loss")
    assert spans.index(LONG) + len(LONG) <= header.index("mean", header.index("median"))


def test_grouped_headers_are_whole_at_200_columns_with_the_default_aggregates(
    cli, long_metric_runs, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(long_metric_runs, "log", "--group-by", "lr", "--group-by", "seed")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("lr"))
    assert header.split() == ["lr", "seed", "runs", LONG, "train_loss"]


def test_the_real_command_at_200_columns_keeps_a_long_metric_name_whole(long_metric_runs) -> None:
    proc = gitcfg_command(
        "log",
        "-g",
        "lr",
        "--agg",
        "mean,std,min,max,count,median",
        cwd=long_metric_runs,
        env={"COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert LONG in proc.stdout and "…" not in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 200


@pytest.mark.parametrize("command", [["amend", "--tag", "x"], ["rm", "-m", "why"]])
def test_a_write_with_a_misspelled_where_key_is_refused_and_writes_nothing(
    cli, four_runs: Path, command
) -> None:
    tip = git(four_runs, "rev-parse", "gitcfg-runs")
    # `not (sed == 1)` selects every run: acting on it would touch all four.
    result = cli(four_runs, *command, "--where", "not (sed == 1)")
    line = one_error_line(result)
    assert "no run has key 'sed' (did you mean 'seed'" in line and "nothing changed" in line
    assert git(four_runs, "rev-parse", "gitcfg-runs") == tip
