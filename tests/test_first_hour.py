"""Issue 16, "the first hour": the demo's numbers, --where typos, the command list, the plot without
colour, grouped headers that use the width there is, and a failed run's traceback in `show`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from gitcfg.query import Api


def gitcfg_command(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """The installed `gitcfg` console script (this checkout's package, via PYTHONPATH), or
    `python -m gitcfg` where it is not installed."""
    exe = shutil.which("gitcfg")
    argv = [exe] if exe else [sys.executable, "-m", "gitcfg"]
    return subprocess.run(
        [*argv, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


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


def _help_commands(text: str) -> list[tuple[str, str]]:
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

    from gitcfg.cli_app import _Group

    app = typer.Typer(cls=_Group, add_completion=False)
    for name in ("zeta", "init", "show", "log"):
        app.command(name, help=f"The {name} command. More text.")(lambda: None)
    group = get_command(app)
    assert group.list_commands(None) == ["log", "show", "init", "zeta"]
