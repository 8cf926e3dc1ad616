"""Hostile data stays bounded: documented depth and digit limits, logged values dropped with a
warning, and untracked files with tabs or newlines in their names kept in a usable patch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit_script, git, run_python

from gitcfg.configuration import MAX_VALUE_DEPTH, normalise_value
from gitcfg.errors import ConfigError, UnsupportedValue, WhereSyntaxError, YamlLimitExceeded
from gitcfg.where import MAX_WHERE_DEPTH, parse_where
from gitcfg.yamlio import load_yaml, load_yaml_fast


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def test_config_values_nest_up_to_the_documented_depth() -> None:
    assert normalise_value(_nested(MAX_VALUE_DEPTH - 1), "x") == _nested(MAX_VALUE_DEPTH - 1)
    with pytest.raises(ConfigError, match=f"deeper than {MAX_VALUE_DEPTH} levels"):
        normalise_value(_nested(MAX_VALUE_DEPTH + 1), "x")
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="contains itself"):
        normalise_value(loop, "x")


def test_ints_past_pythons_digit_limit_are_refused_everywhere() -> None:
    assert normalise_value(10**4000, "x") == 10**4000  # 4001 digits: under the 4300 limit
    with pytest.raises(UnsupportedValue, match="more than 4300 digits"):
        normalise_value(10**5000, "x")
    for load in (load_yaml, load_yaml_fast):
        for text in ("x: " + "9" * 5000, "x: [" + "9" * 5000 + "]", "x: 0x" + "f" * 5000):
            with pytest.raises(YamlLimitExceeded, match="over Python's limit of 4,300 digits"):
                load(text)
        assert load("x: " + "9" * 4000)["x"] == int("9" * 4000)


def test_where_nests_up_to_the_documented_depth() -> None:
    parse_where("(" * MAX_WHERE_DEPTH + "lr == 1" + ")" * MAX_WHERE_DEPTH)
    parse_where("not " * MAX_WHERE_DEPTH + "lr == 1")
    for text in ("(" * 10_000 + "lr == 1" + ")" * 10_000, "not " * 10_000 + "lr == 1"):
        with pytest.raises(WhereSyntaxError, match=f"more than {MAX_WHERE_DEPTH} nested") as e:
            parse_where(text)
        assert len(str(e.value)) < 400  # the filter is cut in the message


LOGS = """\
import gitcfg

run = gitcfg.track(config={"lr": 0.1})
loop = {}
loop["self"] = loop
run.log({"loss": 1.0, "loop": loop})
run.log({"loss": 0.5, "huge": 10**5000})
try:
    run.summary["big"] = 10**5000
except ValueError as e:
    print("summary refused:", e)
run.finish()
"""


def test_logged_values_too_deep_or_too_long_are_dropped_with_a_warning(repo: Path) -> None:
    script = commit_script(repo, "logs.py", LOGS)
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert "summary refused: summary['big']: an int of more than 4300 digits" in proc.stdout
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(
        w.startswith("gitcfg: warning: log(): dropped") for w in warnings
    )
    assert f"nested deeper than {MAX_VALUE_DEPTH} levels" in warnings[0]
    assert "'huge'" in warnings[1] and "more than 4300 digits" in warnings[1]
    [run_dir] = git(
        repo, "ls-tree", "-d", "-r", "--name-only", "gitcfg-runs", "runs/"
    ).splitlines()[-1:]
    metrics = git(repo, "show", f"gitcfg-runs:{run_dir}/metrics.jsonl").splitlines()
    assert len(metrics) == 2 and '"loss": 1.0' in metrics[0] and "huge" not in metrics[1]
    assert "status: finished" in git(repo, "show", f"gitcfg-runs:{run_dir}/run.yaml")


NAMES = ("tab\there.txt", "new\nline.txt", 'quote".txt', "back\\slash.txt", "plain.txt")


def test_untracked_names_with_tabs_and_newlines_are_quoted_as_git_does(
    repo: Path, tmp_path: Path
) -> None:
    script = commit_script(
        repo, "rec.py", "import gitcfg\ngitcfg.track(config={'a': 1}).finish()\n"
    )
    for name in NAMES:
        (repo / name).write_text(f"content of {name!r}\n")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    [run_dir] = git(
        repo, "ls-tree", "-d", "-r", "--name-only", "gitcfg-runs", "runs/"
    ).splitlines()[-1:]
    patch = git(repo, "show", f"gitcfg-runs:{run_dir}/diff.patch")
    assert 'diff --git "a/tab\\there.txt" "b/tab\\there.txt"' in patch
    assert '+++ "b/new\\nline.txt"' in patch and '"b/quote\\".txt"' in patch
    target = tmp_path / "co"
    git(target.parent, "-C", str(repo), "worktree", "add", "-q", "--detach", str(target), "HEAD")
    applied = subprocess.run(
        ["git", "apply"], cwd=target, input=patch.encode() + b"\n", capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    for name in NAMES:
        assert (target / name).read_text() == f"content of {name!r}\n"


def test_metrics_lines_too_deep_or_too_long_are_skipped(repo: Path) -> None:
    """A pulled run's metrics.jsonl with a 5000-digit number, 100,000 nested `[` and a line
    that is not an object: show --metrics and plot read the other rows, no traceback."""
    from runs_branch import commit, make_run, run_files

    run = make_run(0)
    files = run_files(run)
    files[next(k for k in files if k.endswith("metrics.jsonl"))] = b"\n".join(
        [
            b'{"_step": 0, "a": 1}',
            b'{"_step": 1, "a": ' + b"9" * 5000 + b"}",
            b'{"_step": 2, "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b"[1, 2]",
            b'{"_step": 3, "a": 3}',
        ]
    )
    commit(repo, files)
    for args in (("show", run["id"], "--metrics"), ("plot", "a", run["id"])):
        proc = subprocess.run(
            [sys.executable, "-m", "gitcfg", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "gitcfg", "show", run["id"], "--metrics"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert shown.splitlines() == ['{"_step": 0, "a": 1}', '{"_step": 3, "a": 3}']
