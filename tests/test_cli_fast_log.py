"""`gitcfg log ... --format json` answered without typer or rich (cli/entry.py's fast path):
the same stdout, stderr and exit code as the typer command, in a real `python -m gitcfg` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import runs_branch

from gitcfg.cli.entry import parse_fast_log

ROOT = Path(__file__).resolve().parents[1]


def _gitcfg(repo: Path, *args: str, code: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "gitcfg", *args]
    return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def _without_age(text: str) -> object:
    try:
        data = json.loads(text)
    except ValueError:
        return text
    for row in data if isinstance(data, list) else ():
        row.pop("age", None)
    return data


CASES = [
    ["log", "--format", "json"],
    ["log", "--group-by", "lr", "--format", "json"],
    ["log", "-g", "lr", "--agg", "mean,count", "-f", "json", "--over", "seed"],
    ["log", "--where", "lr == 0.01", "--format=json", "-n", "2", "--sort", "-val_acc"],
    ["log", "-w", "lrr == 1", "--format", "json"],  # a warning (an unknown key)
    ["log", "--where", "lr <", "--format", "json"],  # a syntax error: one line and a caret
    ["log", "--format", "json", "--limit", "99999999999999"],
    ["log", "--format", "json", "--status", "finished,failed", "--columns", "lr,seed"],
    ["log", "--format", "json", "--where", "lr == 5"],  # nothing matches
    ["log", "--format", "json", "--all-keys", "-n", "1"],
    ["log", "--format", "json", "main~5..main"],  # a bad range
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(case[1:]) for case in CASES])
def test_the_fast_path_answers_as_the_typer_command(repo: Path, args: list[str]) -> None:
    runs_branch.write_runs(repo, [runs_branch.make_run(i) for i in range(9)])
    assert parse_fast_log(args) is not None
    fast = _gitcfg(repo, *args)
    typer_app = _gitcfg(
        repo, *args, code="import sys\nfrom gitcfg.cli import _typer_app\n_typer_app()()\n"
    )
    assert fast.returncode == typer_app.returncode, (fast.stderr, typer_app.stderr)
    assert _without_age(fast.stdout) == _without_age(typer_app.stdout)
    assert fast.stderr == typer_app.stderr


def test_the_fast_path_imports_neither_typer_nor_rich(repo: Path) -> None:
    runs_branch.write_runs(repo, [runs_branch.make_run(i) for i in range(3)])
    code = (
        "import sys\nfrom gitcfg.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules), code, "
        "file=sys.stderr)\n"
    )
    done = _gitcfg(repo, "log", "--group-by", "lr", "--format", "json", code=code)
    assert done.stderr.strip().splitlines()[-1] == "[] 0"
    assert sum(row["runs"] for row in json.loads(done.stdout)) == 3


def test_other_command_lines_go_to_the_typer_app() -> None:
    for argv in (
        ["log"],
        ["log", "--format", "table"],
        ["log", "--format", "json", "--help"],
        ["log", "--format", "json", "--format", "json"],
        ["log", "--format", "json", "--limit", "x"],
        ["log", "--format", "json", "--bogus"],
        ["log", "--format"],
        ["show", "--format", "json"],
        ["--version"],
    ):
        assert parse_fast_log(argv) is None, argv
    assert parse_fast_log(["log", "-w", "-x > 1", "-f", "json"]) == {
        "where": ["-x > 1"],
        "rev_range": None,
    }
