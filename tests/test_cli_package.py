"""The CLI package (issue 12, part 2): the decisions its commands left to the library, and the
shape of the package (gitcfg.cli:main, a module per family of commands)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import start_run

from gitcfg import query


def _runs(repo: Path, step_metrics: list[str | None]) -> list[query.StoredRun]:
    ids = []
    for step_metric in step_metrics:
        run = start_run(repo)
        if step_metric is not None:
            run.define_metric("acc", step_metric=step_metric)
        run.log({"acc": 0.5, "epoch": 1})
        run.finish()
        ids.append(run.id)
    api = query.Api(repo)
    return [api.run(run_id) for run_id in ids]


def test_metric_axis_is_the_shared_step_metric_else_step(repo: Path) -> None:
    same = _runs(repo, ["epoch", "epoch"])
    assert query.metric_axis(same, "acc") == "epoch"
    assert query.metric_axis(same, "other") == "_step"
    mixed = [*same, *_runs(repo, [None])]
    assert query.metric_axis(mixed, "acc") == "_step"


def test_package_changes_are_counted_by_kind() -> None:
    missing = query.MISSING
    environment = query.EnvDiff(
        run=[],
        packages=[("a", missing, "1"), ("b", "1", missing), ("c", "1", "2"), ("d", "1", "3")],
        unrecorded=(),
    )
    assert [query.package_change(left, right) for _, left, right in environment.packages] == [
        "added",
        "removed",
        "changed",
        "changed",
    ]
    assert query.package_counts(environment) == {"added": 1, "removed": 1, "changed": 2}
    empty = query.EnvDiff(run=[], packages=[], unrecorded=())
    assert query.package_counts(empty) == {"added": 0, "removed": 0, "changed": 0}


def test_an_amendment_names_each_masked_key_once() -> None:
    from gitcfg.amend import ChangeResult, RunChange

    changed = (
        RunChange("r1", ("set api_key=***",), ("set api_key=***",), ("api_key",)),
        RunChange("r2", (), (), ("token", "api_key")),
        RunChange("r3", ("set lr=0.1",), ("set lr=0.1 (was 1)",), ()),
    )
    assert ChangeResult("c0ffee", changed).masked == ("api_key", "token")
    assert ChangeResult(None, ()).masked == ()


def test_the_cli_is_a_package_with_a_module_per_family() -> None:
    import gitcfg.cli

    root = Path(gitcfg.cli.__file__).parent
    assert {p.stem for p in root.glob("*.py")} >= {
        "__init__",
        "app",
        "runs",
        "share",
        "query",
        "demo",
        "tables",
        "chart",
    }
    registered = {}
    for command in gitcfg.cli.app.registered_commands:
        assert command.callback is not None, command.name
        registered[command.name or command.callback.__name__] = command.callback.__module__
    assert registered["show"] == registered["amend"] == "gitcfg.cli.runs"
    assert registered["push"] == registered["pull"] == "gitcfg.cli.share"
    assert registered["log"] == registered["plot"] == "gitcfg.cli.query"
    # the console script's entry point and `python -m gitcfg` both still work
    for argv in (["-c", "from gitcfg.cli import main; main()"], ["-m", "gitcfg"]):
        done = subprocess.run([sys.executable, *argv, "--version"], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith("gitcfg "), done.stderr
