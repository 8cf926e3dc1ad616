"""The summary index (index/ on the runs branch, summaryindex.py) and the cache's cold build from it.

Real repositories: runs recorded by track() in a Python process or committed by gitcfg's own
Store.write (which runs the index hook), amended through the CLI, shared through a bare remote.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import runs_branch
from conftest import git, run_python, write_script

from gitcfg import summaryindex
from gitcfg.query import Api
from gitcfg.store import Store, run_dir


def _drop_cache(repo: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(repo / ".git" / "gitcfg" / "query-cache.sqlite") + suffix).unlink(missing_ok=True)


def _index_entries(repo: Path, ref: str = "gitcfg-runs") -> dict[str, summaryindex.Entry]:
    entries: dict[str, summaryindex.Entry] = {}
    for path in git(repo, "ls-tree", "-r", "--name-only", ref, "index/").splitlines():
        blob = git(repo, "cat-file", "blob", f"{ref}:{path}").encode() + b"\n"
        for entry in summaryindex.parse_index(blob):
            entries[entry.run_id] = entry
    return entries


def _tree_id(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> str:
    return git(repo, "rev-parse", f"{ref}:{run_dir(run_id)}")


def _file_names(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> list[str]:
    out = git(repo, "ls-tree", "-r", "--name-only", f"{ref}:{run_dir(run_id)}")
    return sorted(out.splitlines())


def _entry_is_current(repo: Path, run_id: str) -> bool:
    """The run's entry names its directory's tree and holds its file names."""
    entry = _index_entries(repo)[run_id]
    return entry.tree == _tree_id(repo, run_id) and json.loads(entry.names) == _file_names(
        repo, run_id
    )


def _write(repo: Path, runs: list[dict[str, Any]]) -> None:
    """Commit runs with gitcfg's own writer (one commit each, as a run's end commit is)."""
    store = Store.open(repo)
    for run in runs:
        store.write(runs_branch.run_files(run), f"run {run['id']}: finished (exit 0)\n")


def _answers(repo: Path) -> dict[str, Any]:
    """What queries see: every row, the stored texts, a grouping, the unreadable files."""
    api = Api(repo)
    with api.runs() as runs:
        rows = runs.rows()
        records = [(r.id, r.meta, r.config, r.summary, r.files) for r in runs]
        keys = runs.keys()
        grouping = runs.group_by("lr") if "config.lr" in keys else None
        unreadable = runs._snapshot.unreadable()
    return {
        "rows": json.dumps(rows, default=repr),
        "records": json.dumps(records, default=repr),
        "keys": keys,
        "groups": repr(grouping),
        "unreadable": unreadable,
        "from_index": api.cache.from_index,
    }


def test_a_recorded_and_an_amended_run_have_their_entry_in_the_same_commit(repo: Path, cli) -> None:
    script = write_script(
        repo / "train.py",
        "import gitcfg\nrun = gitcfg.track(config={'lr': 0.1, 'model': {'depth': 18}})\n"
        "run.log({'loss': 0.5})\nrun.finish()\nprint(run.id)\n",
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    entry = _index_entries(repo)[run_id]
    assert _entry_is_current(repo, run_id)
    assert {"run.yaml", "config.yaml", "summary.yaml", "metrics.jsonl"} <= set(
        json.loads(entry.names)
    )
    assert json.loads(entry.texts[1]) == {"lr": 0.1, "model": {"depth": 18}}
    assert json.loads(entry.texts[0])["status"] == "finished"
    key = summaryindex.index_key(run_id)
    assert summaryindex.index_path(key[:5]) in git(
        repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/"
    )

    result = cli(repo, "amend", run_id, "--set", "lr=0.001", "-m", "typo")
    assert result.exit_code == 0, result.output
    changed = git(repo, "diff", "--name-only", "gitcfg-runs^", "gitcfg-runs").splitlines()
    assert summaryindex.index_path(key[:5]) in changed
    entry = _index_entries(repo)[run_id]
    assert _entry_is_current(repo, run_id)
    assert json.loads(entry.texts[1])["lr"] == 0.001

    result = cli(repo, "rm", run_id, "-m", "gone")
    assert result.exit_code == 0, result.output
    assert run_id not in _index_entries(repo)
    git(repo, "fsck", "--strict")


def test_a_cold_build_reads_the_index_not_the_run_files(repo: Path) -> None:
    runs = [runs_branch.make_run(i) for i in range(12)]
    _write(repo, runs)
    api = Api(repo)
    assert len(api.runs()) == 12
    assert api.cache.last_refresh == ("rebuild", 12) and api.cache.from_index == 12
    # a run changed by a writer that does not know the index: its entry is stale
    stale = runs[3]
    stale["config"]["lr"] = 0.5
    runs_branch.write_runs(repo, [stale])
    _drop_cache(repo)
    api = Api(repo)
    assert api.runs(where="lr == 0.5").ids == [stale["id"]]
    assert api.cache.from_index == 11


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 7)
    if kind == 0:
        return rng.choice([0.001, 0.003, 1e-5, 2.5, -0.0, 1e12])
    if kind == 1:
        return rng.choice([0, 1, -7, 2**70, 32])
    if kind == 2:
        return rng.choice(["adam", "sgd", "é ü", "tab\there", "line\nbreak", "", "1.0", "null"])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice([float("inf"), float("-inf")])
    if kind == 5:
        return [rng.randrange(3), "x"]
    if kind == 6:
        return rng.choice([0.001, 0.01])
    return {f"k{j}": _random_value(rng, depth + 1) for j in range(rng.randrange(1, 4))}


def test_results_are_identical_with_and_without_the_index(tmp_path: Path) -> None:
    rng = random.Random(13)
    runs = []
    for i in range(36):
        config = {f"c{j}": _random_value(rng) for j in range(rng.randrange(1, 6))}
        config["lr"] = rng.choice([0.001, 0.01, 1, "0.1"])
        summary = {f"m{j}": _random_value(rng) for j in range(rng.randrange(0, 4))}
        run = runs_branch.make_run(
            i, config, summary, seconds=200_000_000 + i * rng.choice([1, 900])
        )
        if i % 7 == 0:
            run["meta"]["tags"] = ["a", "b"]
        runs.append(run)
    a, b = tmp_path / "a", tmp_path / "b"
    for path in (a, b):
        path.mkdir()
        git(path, "init", "-q")
    _write(a, runs)
    runs_branch.write_runs(b, runs)  # the same run files, written without the index
    # and a few oddities: a YAML date (JSON cannot keep it: no entry), a damaged file
    dated = runs_branch.make_run(40, {"lr": 0.001, "when": "x"})
    files = runs_branch.run_files(dated)
    files[f"{run_dir(dated['id'])}/config.yaml"] = b"lr: 0.001\nwhen: 2024-01-02\n"
    damaged = runs_branch.make_run(41)
    damaged_files = runs_branch.run_files(damaged)
    damaged_files[f"{run_dir(damaged['id'])}/summary.yaml"] = b"a: [1\n"
    for path in (a, b):
        Store.open(path).write({**files, **damaged_files}, "odd runs\n")
    assert runs_branch.commit(b, {"index": None})  # b: no index at all
    answers_a, answers_b = _answers(a), _answers(b)
    assert answers_a["from_index"] == len(runs) and answers_b["from_index"] == 0
    del answers_a["from_index"], answers_b["from_index"]
    assert answers_a == answers_b


def test_a_missing_or_damaged_index_file_falls_back_to_the_run_files(repo: Path) -> None:
    runs = [runs_branch.make_run(i, seconds=200_000_000 + i * 2000) for i in range(6)]
    _write(repo, runs)
    expected = _answers(repo)
    assert expected.pop("from_index") == 6
    paths = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines()
    assert len(paths) >= 3
    garbage = b"\x00\xff not an index\n" + b"x\t" * 9 + b"\n"
    blob = git(repo, "cat-file", "blob", f"gitcfg-runs:{paths[2]}").split("\n")
    line = next(text for text in blob if not text.startswith(summaryindex.HEADER)).split("\t")
    line[5] = "{broken json"  # a well-formed line whose config is damaged
    runs_branch.commit(
        repo,
        {paths[0]: None, paths[1]: garbage, paths[2]: ("\t".join(line) + "\n").encode()},
    )
    _drop_cache(repo)
    found = _answers(repo)
    assert found.pop("from_index") == 3
    assert found == expected


def test_a_clones_first_query_reads_the_index(remote: Path, cli) -> None:
    a = remote.parent / "a"
    git(remote.parent, "clone", "-q", str(remote), str(a))
    _write(a, [runs_branch.make_run(i) for i in range(20)])
    assert cli(a, "push").exit_code == 0
    b = remote.parent / "b"
    git(remote.parent, "clone", "-q", str(remote), str(b))
    pulled = cli(b, "pull")
    assert pulled.exit_code == 0, pulled.output
    api = Api(b)
    assert len(api.runs()) == 20
    assert api.cache.from_index == 20


def test_concurrent_writers_of_one_index_file_merge_into_both_entries(remote: Path, cli) -> None:
    a, b = remote.parent / "a", remote.parent / "b"
    for path in (a, b):
        git(remote.parent, "clone", "-q", str(remote), str(path))
    # runs started in the same seconds: their entries share one index file on both sides
    a_runs = [runs_branch.make_run(i, seconds=200_000_000 + i) for i in range(0, 10, 2)]
    b_runs = [runs_branch.make_run(i, seconds=200_000_000 + i) for i in range(1, 10, 2)]
    _write(a, a_runs)
    _write(b, b_runs)
    assert cli(a, "push").exit_code == 0
    pushed = cli(b, "push")  # pulls a's runs first: a merge commit
    assert pushed.exit_code == 0, pushed.output
    entries = _index_entries(b)
    assert set(entries) == {run["id"] for run in a_runs + b_runs}
    for run_id in entries:
        assert _entry_is_current(b, run_id)
    paths = git(b, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines()
    assert len(paths) == 1
    _drop_cache(b)
    api = Api(b)
    assert len(api.runs()) == 10 and api.cache.from_index == 10
    git(b, "fsck", "--strict")


def test_a_full_index_file_splits_one_level_deeper(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summaryindex, "SPLIT_AT", 4)
    runs = [runs_branch.make_run(i, seconds=200_000_000 + i // 3) for i in range(15)]
    _write(repo, runs)
    paths = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines()
    assert len(paths) > 1
    for path in paths:
        blob = git(repo, "cat-file", "blob", f"gitcfg-runs:{path}") + "\n"
        assert 0 < len(list(summaryindex.parse_index(blob.encode()))) <= 4
    assert set(_index_entries(repo)) == {run["id"] for run in runs}
    api = Api(repo)
    assert len(api.runs()) == 15 and api.cache.from_index == 15


def test_index_keys_and_paths() -> None:
    assert summaryindex.index_key("16gez089er4akr4nx7d6") == "16gez089er4akr4nx7d6"
    custom = summaryindex.index_key("My-Run.1")
    assert custom.startswith("x") and len(custom) == 41
    assert summaryindex.index_key("My-Run.1") == custom
    assert summaryindex.index_path("16gez") == "index/16/g/e/16gez.tsv"
    assert summaryindex.index_path("16gez0") == "index/16/g/e/z/16gez0.tsv"


def test_rebuild_indexes_a_branch_written_without_the_index(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitcfg.store import rebuild_index

    monkeypatch.setattr(summaryindex, "RANGE_RUNS", 5)  # several passes, one commit each
    runs = [runs_branch.make_run(i, seconds=200_000_000 + i * 600) for i in range(17)]
    runs_branch.write_runs(repo, runs)
    before = _answers(repo)
    assert before.pop("from_index") == 0
    assert rebuild_index(Store.open(repo)) == 17
    assert set(_index_entries(repo)) == {run["id"] for run in runs}
    _drop_cache(repo)
    after = _answers(repo)
    assert after.pop("from_index") == 17
    assert after == before
    git(repo, "fsck", "--strict")


def test_warm_queries_are_kept_per_tip_and_forgotten_when_it_moves(repo: Path) -> None:
    import sqlite3

    runs = [runs_branch.make_run(i) for i in range(8)]
    _write(repo, runs)
    first = repr(Api(repo).runs().group_by("lr"))
    with Api(repo).runs(where="lr == 0.01") as selected:
        where_ids = selected.ids
    path = repo / ".git" / "gitcfg" / "query-cache.sqlite"
    conn = sqlite3.connect(path)
    kinds = {key.split("\0")[0] for (key,) in conn.execute("SELECT key FROM memo")}
    conn.close()
    assert {"group_by", "where", "constant_keys"} <= kinds
    assert repr(Api(repo).runs().group_by("lr")) == first  # from the memo table
    assert Api(repo).runs(where="lr == 0.01").ids == where_ids
    assert len(Api(repo).runs(where="lr == 0.01")) == len(where_ids)
    # a new run moves the tip: the kept results are dropped, the answers change
    extra = runs_branch.make_run(100, {"lr": 0.01, "seed": 9, "batch": 32})
    _write(repo, [extra])
    again = Api(repo).runs(where="lr == 0.01")
    assert again.ids == [extra["id"], *where_ids]
    assert repr(Api(repo).runs().group_by("lr")) != first
    _drop_cache(repo)
    assert repr(Api(repo).runs().group_by("lr")) == repr(Api(repo).runs().group_by("lr"))


def _rewrite_index_lines(repo: Path, edit: Any) -> None:
    """Commit every index file with each line passed through `edit(fields) -> fields`."""
    changes: dict[str, bytes] = {}
    for path in git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines():
        blob = git(repo, "cat-file", "blob", f"gitcfg-runs:{path}").encode() + b"\n"
        lines = []
        for entry in summaryindex.parse_index(blob):  # each row as an object: no header needed
            row = json.dumps(summaryindex.entry_row(entry))
            lines.append([entry.run_id, entry.tree, entry.names, *entry.texts, row])
        edited = ["\t".join(edit(fields)) for fields in lines]
        changes[path] = ("\n".join(edited) + "\n").encode()
    assert runs_branch.commit(repo, changes)


def test_each_entry_holds_the_runs_flat_row(repo: Path) -> None:
    runs = [runs_branch.make_run(i, {"lr": 0.1, "model": {"depth": i}}) for i in range(3)]
    _write(repo, runs)
    for run in runs:
        entry = _index_entries(repo)[run["id"]]
        row = summaryindex.entry_row(entry)
        assert row is not None
        assert (
            row["id"] == run["id"] and row["config.model.depth"] == run["config"]["model"]["depth"]
        )
        assert row["config.lr"] == 0.1 and row["status"] == run["meta"]["status"]


def test_lines_of_the_first_shape_and_entries_with_a_false_row(repo: Path) -> None:
    runs = [runs_branch.make_run(i, seconds=200_000_000 + i * 2000) for i in range(8)]
    _write(repo, runs)
    expected = _answers(repo)
    assert expected.pop("from_index") == 8

    # lines of the first shape (keyed by the three YAML blob ids, eight fields) are not used:
    # the runs are read from their files, and the answers are the same
    def first_shape(fields: list[str]) -> list[str]:
        run_id, tree, _names, *texts_and_row = fields
        return [run_id, tree, tree, "-", *texts_and_row]

    _rewrite_index_lines(repo, first_shape)
    _drop_cache(repo)
    found = _answers(repo)
    assert found.pop("from_index") == 0 and found == expected
    # damaged rows: not JSON, another run's id, no status, not an object: read from the files
    damage = iter(
        [
            "{not json",
            json.dumps({"id": "someone-else", "status": "finished"}),
            json.dumps({"id": runs[2]["id"]}),
            "[1, 2]",
        ]
    )

    def edit(fields: list[str]) -> list[str]:
        return [*fields[:6], next(damage, fields[6])]

    for run in runs:  # entries back: each run's commit rewrites its line
        run["meta"]["notes"] = "again"
    _write(repo, runs)
    assert all(_entry_is_current(repo, run["id"]) for run in runs)
    expected = _answers(repo)
    expected.pop("from_index")
    _rewrite_index_lines(repo, edit)
    _drop_cache(repo)
    found = _answers(repo)
    # not JSON, not an object: read from the files; another run's id, no status: rows of
    # another shape than rows.run_row's, computed from the entry's texts
    assert found.pop("from_index") == 8 - 2
    assert found == expected


def test_a_cold_build_replaces_the_cache_file_and_an_open_reader_keeps_its_view(
    repo: Path,
) -> None:
    _write(repo, [runs_branch.make_run(i) for i in range(4)])
    api = Api(repo)
    reader = api.runs()  # one read transaction on the current file
    assert len(reader) == 4
    state = repo / ".git" / "gitcfg"
    cache_file = state / "query-cache.sqlite"
    inode = cache_file.stat().st_ino
    # another schema: the next open builds a new file beside it and renames it into place
    import sqlite3

    conn = sqlite3.connect(cache_file)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    _write(repo, [runs_branch.make_run(9)])
    fresh = Api(repo)
    assert len(fresh.runs()) == 5 and fresh.cache.last_refresh == ("rebuild", 5)
    assert cache_file.stat().st_ino != inode
    assert len(reader) == 4 and len(reader.rows()) == 4  # the old file, still readable
    reader.close()
    assert [p.name for p in state.iterdir() if ".new-" in p.name] == []
    assert Api(repo).cache.last_refresh == ("fresh", 0)


def test_the_newest_runs_of_a_large_kept_selection_walk_the_runs_newest_first(repo: Path) -> None:
    runs = [
        runs_branch.make_run(i, {"lr": 0.1 if i % 4 else 0.2}, seconds=200_000_000 + i * 7)
        for i in range(40)
    ]
    _write(repo, runs)
    for _ in range(2):  # the selection made, then the one kept for this tip
        with Api(repo).runs(where="lr == 0.1") as selected:
            everything = selected.rows(["id", "config.lr"])
            newest = selected.rows(["id", "config.lr"], limit=5)
            snapshot = selected._snapshot
            condition = snapshot._newest_first(selected._condition, 5)
        assert len(everything) == 30 and newest == everything[:5]
        assert "+run_id IN (" in condition  # 30 of 40 runs: walk newest first, stop at 5
    with Api(repo).runs(where="lr == 0.2") as few:
        assert "+run_id" not in few._snapshot._newest_first(few._condition, 5)  # 10 of 40


def test_a_cold_build_removes_the_file_of_a_build_killed_midway(repo: Path) -> None:
    _write(repo, [runs_branch.make_run(i) for i in range(3)])
    state = repo / ".git" / "gitcfg"
    state.mkdir(parents=True, exist_ok=True)
    left = state / "query-cache.sqlite.new-999999"
    left.write_bytes(b"half a database")
    _drop_cache(repo)
    assert len(Api(repo).runs()) == 3
    assert not left.exists()


def test_the_run_fields_of_a_row_are_the_listed_ones_in_their_order() -> None:
    from gitcfg.rows import RUN_FIELDS
    from gitcfg.runfile import row_fields

    assert tuple(row_fields("x", {})) == RUN_FIELDS


def _odd_branch(tmp_path: Path) -> Path:
    """A repository of runs over many index files: most with entries, some written by a writer
    that does not know the index (read from their files), a chosen id, a damaged file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    rng = random.Random(5)
    runs = []
    for i in range(40):
        config = {f"c{j}": _random_value(rng) for j in range(rng.randrange(1, 5))}
        config["lr"] = rng.choice([0.001, 0.01])
        summary = {"acc": rng.random(), **({"extra": 1} if i % 5 == 0 else {})}
        runs.append(runs_branch.make_run(i, config, summary, seconds=200_000_000 + i * 3000))
    git(repo, "init", "-q")
    _write(repo, runs[:30])
    runs_branch.write_runs(repo, runs[30:])
    chosen = runs_branch.make_run(50, {"lr": 0.001})
    chosen["id"] = chosen["meta"]["id"] = "My-Run.1"
    damaged = runs_branch.make_run(51, seconds=200_000_000 + 7 * 3000)
    files = {**runs_branch.run_files(chosen), **runs_branch.run_files(damaged)}
    files[f"{run_dir(damaged['id'])}/summary.yaml"] = b"a: [1\n"
    Store.open(repo).write(files, "odd runs\n")
    return repo


def _count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the second processes builds fork from now on (cache._fork_part, counted)."""
    from gitcfg import cache

    forks: list[int] = []
    real_fork = cache._fork_part

    def counted(*args: Any) -> Any:
        child = real_fork(*args)
        forks.append(child.pid)
        return child

    monkeypatch.setattr(cache, "_fork_part", counted)
    return forks


def _split_answers(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """_answers of a cold build split between two processes; it leaves no file of its half."""
    from gitcfg import cache

    monkeypatch.setattr(cache, "_SPLIT_FROM", 2)
    _drop_cache(repo)
    answers = _answers(repo)
    assert not list((repo / ".git" / "gitcfg").glob("*.new-*"))
    return answers


def test_a_build_split_between_two_processes_equals_a_build_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitcfg import cache

    repo = _odd_branch(tmp_path)
    monkeypatch.setattr(cache, "_SPLIT_FROM", 10**9)
    whole = _answers(repo)
    assert whole["from_index"] == 30 + 1  # the damaged run and the 10 foreign ones: from files
    forks = _count_forks(monkeypatch)
    assert _split_answers(repo, monkeypatch) == whole
    assert len(forks) == 1


def test_a_failed_second_process_leaves_its_half_to_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from gitcfg import cache

    repo = _odd_branch(tmp_path)
    whole = _answers(repo)
    parent = os.getpid()
    real_insert_runs = cache._Writer.insert_runs

    def failing_in_the_child(self: Any, *args: Any) -> None:
        if os.getpid() != parent:
            raise OSError("disk full")
        real_insert_runs(self, *args)

    monkeypatch.setattr(cache._Writer, "insert_runs", failing_in_the_child)
    assert _split_answers(repo, monkeypatch) == whole


def test_an_entry_follows_every_change_of_its_run_directory(repo: Path) -> None:
    run = runs_branch.make_run(1)
    _write(repo, [run])
    assert _entry_is_current(repo, run["id"])
    store = Store.open(repo)
    # gitcfg's own commit of a file that is not YAML (a saved file): the entry follows
    store.write({f"{run_dir(run['id'])}/files/model.txt": b"weights\n"}, "save\n")
    assert _entry_is_current(repo, run["id"])
    assert "files/model.txt" in json.loads(_index_entries(repo)[run["id"]].names)
    # a writer that does not know the index adds a file: the entry is stale, not used
    runs_branch.commit(repo, {f"{run_dir(run['id'])}/notes.txt": b"by hand\n"})
    assert not _entry_is_current(repo, run["id"])
    _drop_cache(repo)
    api = Api(repo)
    with api.runs() as runs:
        assert "notes.txt" in next(iter(runs)).files
    assert api.cache.from_index == 0
    # gitcfg's next commit to the run reads the names from the tree, not the stale entry
    store.write({f"{run_dir(run['id'])}/files/model.txt": None}, "unsave\n")
    assert _entry_is_current(repo, run["id"])
    names = json.loads(_index_entries(repo)[run["id"]].names)
    assert "notes.txt" in names and "files/model.txt" not in names
    _drop_cache(repo)
    api = Api(repo)
    assert len(api.runs()) == 1 and api.cache.from_index == 1


@pytest.mark.parametrize(
    "header",
    ["#keys\t{not json", "#keys\t[[1, 2]]", "#keys\t[]", "#keys\t" + "[" * 5000, "no header"],
    ids=["not JSON", "keys not text", "no key lists", "nested past the limit", "no header"],
)
def test_a_damaged_key_list_header_reads_its_runs_from_their_files(repo: Path, header: str) -> None:
    runs = [runs_branch.make_run(i, seconds=200_000_000 + i) for i in range(3)]
    _write(repo, runs)
    expected = _answers(repo)
    assert expected.pop("from_index") == 3
    (path,) = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "index/").splitlines()
    lines = git(repo, "cat-file", "blob", f"gitcfg-runs:{path}").split("\n")
    assert lines[0].startswith(summaryindex.HEADER + "\t[[")
    lines = lines[1:] if header == "no header" else [header, *lines[1:]]
    runs_branch.commit(repo, {path: "\n".join(lines).encode()})
    _drop_cache(repo)
    found = _answers(repo)
    assert found.pop("from_index") == 0 and found == expected
    # gitcfg's next write to the file keeps those lines as they are and writes its own
    newer = runs_branch.make_run(9, seconds=200_000_000 + 9)
    _write(repo, [newer])
    assert _entry_is_current(repo, newer["id"])
    _drop_cache(repo)
    api = Api(repo)
    assert len(api.runs()) == 4 and api.cache.from_index == 1
