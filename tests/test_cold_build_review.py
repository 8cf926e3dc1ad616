"""Review of the cold cache build from the summary index (cache.py, summaryindex.py): hostile or
damaged index files on a branch, concurrent and interrupted builds, the new file's mode.

Every contract is the same one: what a query sees is what a build without any index sees (rows,
records, key order, `gitcfg log --format json`, `gitcfg show`), and no command fails or prints a
traceback whatever the index holds. Real repositories, real `gitcfg` processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import runs_branch
from conftest import git

from gitcfg.query import Api
from gitcfg.store import Store

STATE = Path(".git") / "gitcfg"
CACHE = STATE / "query-cache.sqlite"


def _write(repo: Path, runs: list[dict[str, Any]]) -> None:
    """Commit runs with gitcfg's own writer (which writes their index entries)."""
    store = Store.open(repo)
    for run in runs:
        store.write(runs_branch.run_files(run), f"run {run['id']}: finished (exit 0)\n")


def _drop_cache(repo: Path) -> None:
    for path in (repo / STATE).glob("query-cache.sqlite*"):
        path.unlink()


def _gitcfg(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )


def _ok(repo: Path, *args: str) -> str:
    proc = _gitcfg(repo, *args)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def _answers(repo: Path) -> dict[str, Any]:
    """What queries see, in order: rows, records, keys, `log` and `show` as JSON."""
    api = Api(repo)
    with api.runs() as runs:
        ids = [r.id for r in runs]
        answers: dict[str, Any] = {
            "rows": json.dumps(runs.rows(), default=repr),
            "records": json.dumps(
                [(r.id, r.meta, r.config, r.summary, r.files) for r in runs], default=repr
            ),
            "keys": runs.keys(),
            "unreadable": runs._snapshot.unreadable(),
        }
    log = json.loads(_ok(repo, "log", "--format", "json", "-n", "-1", "--all-keys"))
    answers["log"] = [[item for item in row.items() if item[0] != "age"] for row in log]
    answers["show"] = [_ok(repo, "show", run_id, "--format", "json") for run_id in ids[:3]]
    return answers


def _without_index(repo: Path, tmp_path: Path) -> dict[str, Any]:
    """The answers of a copy of `repo` whose branch has no index/ (built from the run files)."""
    copy = tmp_path / f"plain-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(repo, copy, symlinks=True)
    _drop_cache(copy)
    runs_branch.commit(copy, {"index": None}, "drop the index")
    answers = _answers(copy)
    assert Api(copy).cache.from_index == 0
    return answers


def _cold(repo: Path) -> tuple[dict[str, Any], int]:
    """(answers, runs served from the index) of a cold build of `repo`."""
    _drop_cache(repo)
    api = Api(repo)
    api.runs().close()
    assert api.cache.last_refresh[0] == "rebuild"
    return _answers(repo), api.cache.from_index


def _index_files(repo: Path) -> dict[str, bytes]:
    paths = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines()
    return {
        path: subprocess.run(
            ["git", "cat-file", "blob", f"gitcfg-runs:{path}"],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout
        for path in paths
    }


def _lines(repo: Path) -> dict[str, list[str]]:
    """Run id -> its index line's fields."""
    found: dict[str, list[str]] = {}
    for blob in _index_files(repo).values():
        for line in blob.decode().splitlines():
            fields = line.split("\t")
            found[fields[0]] = fields
    return found


def _runs(count: int, step: int = 1) -> list[dict[str, Any]]:
    return [runs_branch.make_run(i, seconds=200_000_000 + i * step) for i in range(count)]


# --- hostile or damaged index files ----------------------------------------------------------


def test_a_run_listed_in_two_index_files_far_apart_is_inserted_once(
    repo: Path, tmp_path: Path
) -> None:
    """An entry copied into another index file read in another batch (a pulled branch, a bad
    merge): the run is one run, not a failed build."""
    runs = _runs(3)
    _write(repo, runs)
    line = "\t".join(_lines(repo)[runs[0]["id"]]) + "\n"
    # more index files than one batch reads (64), the copy first in the listing, the original last
    filler = "".join("\t".join(_lines(repo)[r["id"]]) + "\n" for r in runs[1:])
    files = {f"index/00/{i:03d}.tsv": filler.encode() for i in range(70)}
    files["index/00/000.tsv"] = line.encode()
    runs_branch.commit(repo, files, "hostile index")
    expected = _without_index(repo, tmp_path)
    found, from_index = _cold(repo)
    assert found == expected
    assert from_index == 3


@pytest.mark.xfail(
    strict=True,
    reason="known gap (report-r4.md): a cold build believes an entry's row without comparing "
    "it with its texts (that comparison is the parse the row saves)",
)
def test_an_entry_whose_row_disagrees_with_its_texts_is_not_believed(
    repo: Path, tmp_path: Path
) -> None:
    """A row that names other values (or keys) than its own texts: queries and `show` would
    disagree, and the key counts drift when the run later changes."""
    runs = _runs(4)
    _write(repo, runs)
    lines = _lines(repo)
    victim = runs[1]["id"]
    fields = lines[victim]
    row = json.loads(fields[7])
    row["status"] = "crashed"
    row["config.lr"] = 123.0
    row["config.evil"] = "yes"
    fields[7] = json.dumps(row)
    path = next(p for p, b in _index_files(repo).items() if victim.encode() in b)
    body = "".join(
        "\t".join(lines[r]) + "\n" for r in sorted(lines) if r in _index_files(repo)[path].decode()
    )
    runs_branch.commit(repo, {path: body.encode()}, "lying row")
    expected = _without_index(repo, tmp_path)
    found, _ = _cold(repo)
    assert found == expected


_DEEP = "[" * 50_000 + "]" * 50_000  # past any JSON parser's nesting limit


def _damaged(fields: list[str]) -> dict[str, list[str]]:
    """Index lines with the run's right blob ids and a damaged or hostile rest."""
    meta, config, summary, row = fields[4:8]
    deep_object = '{"a": ' * 3000 + "1" + "}" * 3000
    return {
        "row nested past the limit": [*fields[:7], _DEEP],
        "meta nested past the limit": [*fields[:4], deep_object, config, summary, row],
        "config nested past the limit": [*fields[:5], deep_object, summary, row],
        "texts are lists": [*fields[:4], "[]", "[]", "[]", row],
        "texts are lists, no row": [*fields[:4], "[]", "[]", "[]"],
        "texts are not JSON": [*fields[:4], "{", "{]", "nul", row],
        "row status is not text": [*fields[:7], json.dumps({**json.loads(row), "status": 3})],
        "row is a huge string": [*fields[:7], json.dumps("x" * 3_000_000)],
        "row is NaN": [*fields[:7], "NaN"],
        "config nested past Python's limit, within SQLite's": [
            *fields[:5],
            '{"a": ' * 1500 + "1" + "}" * 1500,
            summary,
            row,
        ],
        "nine fields": [*fields, "extra"],
        "six fields": fields[:6],
        "empty run id": ["", *fields[1:]],
    }


@pytest.mark.parametrize("damage", list(_damaged(["id", "a", "b", "c", "{}", "{}", "{}", "{}"])))
def test_a_damaged_entry_is_read_from_the_run_files_and_nothing_fails(
    repo: Path, tmp_path: Path, damage: str
) -> None:
    runs = _runs(3)
    _write(repo, runs)
    victim = runs[1]["id"]
    path, blob = next((p, b) for p, b in _index_files(repo).items() if victim.encode() in b)
    lines = []
    for line in blob.decode().splitlines():
        fields = line.split("\t")
        lines.append("\t".join(_damaged(fields)[damage] if fields[0] == victim else fields))
    runs_branch.commit(repo, {path: ("\n".join(lines) + "\n").encode()}, "damaged entry")
    expected = _without_index(repo, tmp_path)
    found, from_index = _cold(repo)
    assert found == expected
