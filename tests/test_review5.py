"""Review 5 of the tree-keyed summary index and the split cold build (session 5): damaged file
names, a hostile row number, file names git gives that are not UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import runs_branch
from test_cold_build_review import _cold, _fields, _index_files, _runs, _without_index, _write

from gitcfg import summaryindex
from gitcfg.store import Store, run_dir

_BAD_NAMES = {
    "not JSON": "[not json",
    "nested past the limit": "[" * 5000,
    "not text": "[1, 2]",
    "lists": "[[1], {}]",
}


def _with_names(repo: Path, victim: str, names: str) -> None:
    """Rewrite `victim`'s index line with its right tree id and texts but `names` as its file
    names (a damaged or hostile branch)."""
    path, blob = next((p, b) for p, b in _index_files(repo).items() if victim.encode() in b)
    lines = []
    for fields in _fields(blob):
        if fields[0] == victim:
            fields = [fields[0], fields[1], names, *fields[3:]]
        lines.append("\t".join(fields))
    runs_branch.commit(repo, {path: ("\n".join(lines) + "\n").encode()}, "damaged names")


@pytest.mark.parametrize("damage", ["not JSON", "nested past the limit"])
def test_an_entry_with_damaged_file_names_is_read_from_the_run_files(
    repo: Path, tmp_path: Path, damage: str
) -> None:
    runs = _runs(3)
    _write(repo, runs)
    _with_names(repo, runs[1]["id"], _BAD_NAMES[damage])
    expected = _without_index(repo, tmp_path)
    found, from_index = _cold(repo)  # Run.files: json.loads of the entry's names raises
    assert found == expected
    assert from_index == 2


@pytest.mark.parametrize("damage", list(_BAD_NAMES))
def test_a_write_to_a_run_whose_current_entry_has_damaged_file_names_succeeds(
    repo: Path, damage: str
) -> None:
    runs = _runs(2)
    _write(repo, runs)
    victim = runs[0]["id"]
    _with_names(repo, victim, _BAD_NAMES[damage])
    store = Store.open(repo)  # the deriver: set(json.loads(old.names)) raises
    store.write({f"{run_dir(victim)}/files/model.txt": b"weights\n"}, "save\n")
    entries: dict[str, summaryindex.Entry] = {}
    for blob in _index_files(repo).values():
        entries.update((e.run_id, e) for e in summaryindex.parse_index(blob))
    names = json.loads(entries[victim].names) if victim in entries else None
    assert names is None or "files/model.txt" in names and "run.yaml" in names


def _superscript_row(repo: Path, victim: str) -> str:
    """Rewrite `victim`'s index line so its row's key list number is `²` (str.isdigit() holds,
    int() refuses it); the file's path."""
    path, blob = next((p, b) for p, b in _index_files(repo).items() if victim.encode() in b)
    lines = blob.decode().split("\n")
    for i, line in enumerate(lines):
        if line.startswith(victim + "\t"):
            head, _, row = line.rpartition("\t")
            assert row.startswith("[0,")
            lines[i] = head + "\t[\u00b2," + row[3:]
    runs_branch.commit(repo, {path: "\n".join(lines).encode()}, "hostile row number")
    return path


def test_a_row_numbered_with_a_superscript_digit_fails_nothing(repo: Path, tmp_path: Path) -> None:
    runs = _runs(3)
    _write(repo, runs)
    _superscript_row(repo, runs[1]["id"])
    expected = _without_index(repo, tmp_path)
    found, from_index = _cold(repo)  # parse_index: int("²") raises ValueError
    assert found == expected
    assert from_index == 2


def test_a_write_beside_a_row_numbered_with_a_superscript_digit_succeeds(repo: Path) -> None:
    runs = _runs(3)
    _write(repo, runs)
    _superscript_row(repo, runs[1]["id"])
    store = Store.open(repo)  # the writer's _lines reads the same file: int("²") raises
    store.write({f"{run_dir(runs[0]['id'])}/files/model.txt": b"weights\n"}, "save\n")


def _commit_raw_path(repo: Path, path: bytes, data: bytes) -> None:
    """A foreign writer's commit of one file at a path that is not UTF-8."""
    import subprocess

    tip = subprocess.run(
        ["git", "rev-parse", runs_branch.REF], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    stream = (
        b"commit %s\ncommitter t <t@t> 1700000000 +0000\ndata 3\nraw\nfrom %s\n"
        b"M 100644 inline %s\ndata %d\n%s\ndone\n"
        % (runs_branch.REF.encode(), tip.encode(), path, len(data), data)
    )
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=stream, check=True)


def test_a_write_to_a_run_holding_a_file_name_not_utf8_succeeds(repo: Path, tmp_path: Path) -> None:
    """A file a foreign writer (or a pulled branch) put in a run under a name that is not UTF-8:
    the deriver reads it from the old tree (surrogateescape) and the index file's encode fails."""
    runs = _runs(2)
    _write(repo, runs)
    victim = runs[0]["id"]
    _commit_raw_path(repo, run_dir(victim).encode() + b"/files/\xff.bin", b"x\n")
    store = Store.open(repo)
    store.write({f"{run_dir(victim)}/files/model.txt": b"weights\n"}, "save\n")
    expected = _without_index(repo, tmp_path)
    found, _ = _cold(repo)
    assert found == expected


def test_rebuild_index_of_a_run_holding_a_file_name_not_utf8_succeeds(repo: Path) -> None:
    from gitcfg.store import rebuild_index

    runs = _runs(2)
    _write(repo, runs)
    _commit_raw_path(repo, run_dir(runs[0]["id"]).encode() + b"/files/\xff.bin", b"x\n")
    rebuild_index(Store.open(repo))
