"""Terminal output is inert: no string from run data reaches the terminal as a control sequence.

A runs branch built with git (not gitcfg) holds escape sequences (an OSC 52 clipboard write, a
screen clear, an 8-bit CSI, a bidi override, a line break) in config keys and values, metric
names, a run's name, group and tags, a commit author and an amend reason. Every command and
format prints them as visible escapes (`\\x1b`), and JSON stays valid JSON holding the same text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from runs_branch import make_run, write_runs

from gitcfg.rows import inert, inert_json, inert_lines

EVIL = "\x1b]52;c;aGk=\x07\x1b[2J\x9b31m\u202e\u2028x\ny"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u2028")


def test_inert_escapes_controls_and_keeps_the_rest() -> None:
    assert inert("lr") == "lr"
    assert inert("a\x1b[2Jb\tc\nd\x7f\x85") == "a\\x1b[2Jb\\tc\\nd\\x7f\\x85"
    assert inert("\u202e\u2028\ud800") == "\\u202e\\u2028\\ud800"
    assert inert("é ü 東京 \xa0") == "é ü 東京 \xa0"
    assert inert("C:\\temp") == "C:\\temp"  # a backslash is not doubled: it moves nothing
    assert inert_lines("line1\n\tline2\x1b") == "line1\n\tline2\\x1b"
    text = inert_json(json.dumps({"k\x9b": EVIL + "é"}, ensure_ascii=False))
    assert not any(c in text for c in CONTROLS) and "é" in text
    assert json.loads(text) == {"k\x9b": EVIL + "é"}


@pytest.fixture
def hostile(repo: Path) -> tuple[Path, str, str]:
    first = make_run(
        0,
        {"lr" + EVIL: 0.1, "same" + EVIL: "v" + EVIL, "seed": 1},
        {"val_acc" + EVIL: 0.5},
        name="n" + EVIL,
        tags=["t" + EVIL],
        group="g" + EVIL,
        user="u" + EVIL,
        metrics=[{"_step": 0, "val_acc" + EVIL: 0.1}, {"_step": 1, "val_acc" + EVIL: 0.2}],
    )
    second = make_run(
        1,
        {"lr" + EVIL: 0.2, "same" + EVIL: "v" + EVIL, "seed": 2},
        {"val_acc" + EVIL: 0.6},
        name="m",
        metrics=[{"_step": 0, "val_acc" + EVIL: 0.3}],
    )
    write_runs(repo, [first, second], message="runs " + EVIL)
    return repo, first["id"], second["id"]


def _gitcfg(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    import os

    full = dict(os.environ, COLUMNS="200", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args], cwd=cwd, capture_output=True, env=full, timeout=60
    )


COMMANDS = [
    ("log",),
    ("log", "--all-keys"),
    ("log", "-f", "csv"),
    ("log", "-f", "md"),
    ("log", "-f", "json"),
    ("log", "-g", "group"),
    ("log", "-g", "group", "-f", "csv"),
    ("log", "-n", "1"),
    ("show", "{a}"),
    ("show", "{a}", "-f", "json"),
    ("show", "{a}", "--metrics"),
    ("show", "{a}", "--metrics", "-f", "json"),
    ("show", "{a}", "--metrics", "--follow"),
    ("history", "{a}"),
    ("history", "{a}", "-f", "json"),
    ("diff", "{a}", "{b}"),
    ("diff", "{a}", "{b}", "-f", "json"),
    ("plot", "val_acc" + EVIL),
    ("plot", "val_acc" + EVIL, "--no-color"),
    ("log", "--where", "zz" + EVIL + " == 1"),
    ("log", "--where", "lr" + EVIL[:6] + " == 1"),
    ("log", "--sort", "zz" + EVIL),
    ("show", "zz" + EVIL),
    ("amend", "{a}", "--set", "x=1", "-m", "why " + EVIL),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args)[:40])
def test_every_command_prints_run_data_inert(hostile, args: tuple[str, ...]) -> None:
    repo, a, b = hostile
    proc = _gitcfg(repo, *(arg.format(a=a, b=b) if "{" in arg else arg for arg in args))
    out = (proc.stdout + proc.stderr).decode()
    assert "Traceback" not in out, out
    assert not any(c in out for c in CONTROLS), ascii(out)
    if "-f" in args and "json" in args:
        json.loads(proc.stdout)


def test_history_shows_authors_and_reasons_inert(hostile) -> None:
    repo, a, _ = hostile
    env = {"GIT_AUTHOR_NAME": "Mallory \x1b]52;c;aGk=\x07", "GIT_COMMITTER_NAME": "M\x1b[2J"}
    amended = _gitcfg(repo, "amend", a, "--tag", "t2" + EVIL, "-m", "because\x1b[2J", env=env)
    assert amended.returncode == 0, amended.stderr
    out = _gitcfg(repo, "history", a).stdout.decode()
    assert not any(c in out for c in CONTROLS), ascii(out)
    assert "because\\x1b[2J" in out and "Mallory \\x1b]52;c;aGk=\\x07" in out


def test_same_in_every_run_line_and_headers_are_inert(hostile) -> None:
    repo, _, _ = hostile
    out = _gitcfg(repo, "log").stdout.decode()
    assert "same in every run: same\\x1b]52;c;aGk=\\x07\\x1b[2J\\x9b31m" in out
    md = _gitcfg(repo, "log", "-f", "md").stdout.decode()
    assert "lr\\x1b]52" in md.splitlines()[0]


def test_runs_pulled_from_a_hostile_remote_print_inert(hostile, tmp_path: Path) -> None:
    """The same runs, plus a run directory named with an escape sequence, pushed to a bare
    remote by an author whose name holds one: pull, log, show, history and diff are inert."""
    from conftest import git

    repo, a, b = hostile
    odd = make_run(5, {"lr" + EVIL: 0.3, "same" + EVIL: "v" + EVIL, "seed": 3})
    odd_id = "05yqgg\x1b]52;c;aGk=\x07x"
    odd["id"] = odd["meta"]["id"] = odd_id
    write_runs(repo, [odd])
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "push", "-q", str(bare), "gitcfg-runs", "HEAD:refs/heads/main")
    mine = tmp_path / "mine"
    git(tmp_path, "clone", "-q", str(bare), str(mine))
    git(mine, "branch", "-q", "-D", "gitcfg-runs", check=False)
    commands = [
        ("pull",),
        ("log",),
        ("log", "-f", "csv"),
        ("log", "-f", "md"),
        ("log", "-f", "json"),
        ("show", a),
        ("history", a),
        ("diff", a, b),
        ("plot", "val_acc" + EVIL),
    ]
    for args in commands:
        proc = _gitcfg(mine, *args)
        out = (proc.stdout + proc.stderr).decode()
        assert proc.returncode == 0 and "Traceback" not in out, (args, out)
        assert not any(c in out for c in CONTROLS), (args, ascii(out))
    assert "05yqgg\\x1b]" in _gitcfg(mine, "log", "-f", "csv").stdout.decode()
