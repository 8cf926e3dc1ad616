"""Review of the keys' order kept through incremental refreshes (cache._Writer._order_keys,
_rank_from_table; SCHEMA 9): cases where a refresh still gives another order than a build from
scratch. Real repositories, no mocks."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import runs_branch
from conftest import git
from test_cold_build_review import _drop_cache
from test_key_order import _keys, _scratch_keys

from gitcfg import cache, gitio
from gitcfg.query import Api
from gitcfg.store import Store

RUNS_REF = "refs/heads/gitcfg-runs"


# A config.yaml written by hand (or any YAML writer) may hold an unquoted `on:`/`yes:`/`true:`
# or `~:` key: YAML reads it as True or None, the flat row names it `config.True`, but the
# records texts (JSON) hold "true"/"null", so _places (run_row over the texts) never finds it.
FOREIGN_CONFIGS = [
    pytest.param(b"on: push\nb: 2\n", "config.True", id="bool-key"),
    pytest.param(b"~: 1\nb: 2\n", "config.None", id="null-key"),
]


def _commit_raw(repo: Path, run: dict, config_yaml: bytes) -> None:
    files = runs_branch.run_files(run)
    files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = config_yaml
    runs_branch.commit(repo, files)


@pytest.mark.parametrize("max_columns", [cache.MAX_KEY_COLUMNS, 14])
@pytest.mark.parametrize(("config_yaml", "key"), FOREIGN_CONFIGS)
def test_a_key_yaml_reads_as_a_bool_or_null_is_reranked_after_its_ranking_run_goes(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config_yaml: bytes,
    key: str,
    max_columns: int,
) -> None:
    """The run that ranked the key is removed; the next newest run having it must rank it
    (before `config.b`, as a build from scratch places it). _rank_from_table looks the key up
    in run_row(json texts), where it is spelt `config.true`/`config.null`: the key is left
    unranked and put last (and, past MAX_KEY_COLUMNS, every run's records are parsed)."""
    monkeypatch.setattr(cache, "MAX_KEY_COLUMNS", max_columns)
    older = runs_branch.make_run(1, {}, {})
    middle = runs_branch.make_run(2, {"c": 1}, {})
    newest = runs_branch.make_run(3, {}, {})
    _commit_raw(repo, older, config_yaml)
    runs_branch.write_runs(repo, [middle])
    _commit_raw(repo, newest, config_yaml)
    before = _keys(repo, "rebuild")
    assert key in before
    runs_branch.remove_runs(repo, [newest["id"]])
    after = _keys(repo, "incremental")
    scratch = _scratch_keys(repo, tmp_path / "copy")
    assert scratch.index(key) < scratch.index("config.b")
    assert after == scratch


def _runs_scans(conn: sqlite3.Connection, repo: Path, whole: bool) -> int:
    """How many queries over the runs table's rows (`FROM runs WHERE`, run id lookups aside)
    cache._update makes to bring `conn` to the branch's tip (a count, not a time)."""
    scans = [0]

    def seen(sql: str) -> None:
        scans[0] += "FROM runs WHERE" in sql and "run_id IN" not in sql

    tip = git(repo, "rev-parse", RUNS_REF)
    conn.set_trace_callback(seen)
    cache._update(conn, gitio.discover(repo), RUNS_REF, tip, None, whole=whole)
    conn.set_trace_callback(None)
    return scans[0]


def test_removing_the_run_that_ranked_many_keys_reads_the_runs_once(
    repo: Path, tmp_path: Path
) -> None:
    """The newest run and the oldest one share 1,000 config keys no run between them has (a
    family of wide-config runs, then another family, then one wide run again). Removing the
    newest run makes every one of those keys lost. One
    `SELECT run_id FROM runs WHERE c<col> IS NOT NULL ORDER BY run_id DESC LIMIT 1` per key
    walked the whole runs table back to the oldest run, once per key: 5.2 s here, a rebuild
    0.66 s. Now one pass back finds every holder (each query resumes below the last one found):
    0.27 s (2,000 runs x 1,000 columns checked)."""
    wide = {f"k{j}": j for j in range(1000)}
    runs = [runs_branch.make_run(0, {"lr": 1, **wide}, {"acc": 1})]
    runs += [runs_branch.make_run(i, {"lr": 1}, {"acc": 1}) for i in range(1, 2000)]
    newest = runs_branch.make_run(3000, {"lr": 1, **wide}, {"acc": 1})
    runs_branch.write_runs(repo, [*runs, newest])
    conn = sqlite3.connect(tmp_path / "cache.sqlite", isolation_level=None)
    _runs_scans(conn, repo, whole=True)
    _keys(repo, "rebuild")  # gitcfg's own cache too
    runs_branch.remove_runs(repo, [newest["id"]])
    # The run before the removed one holds lr and acc (a short read); the oldest, the 1,000.
    assert _runs_scans(conn, repo, whole=False) == 2
    assert _keys(repo, "incremental") == _scratch_keys(repo, tmp_path / "copy")  # and the order


# --- coverage, passing: paths tests/test_key_order.py does not take --------------------------


def _keys_table(repo: Path) -> list[tuple[str, int, str | None, int | None]]:
    """The keys table's rows some run has: key, runs, newest, place, in the table's order."""
    conn = sqlite3.connect(repo / ".git" / "gitcfg" / "query-cache.sqlite")
    try:
        return conn.execute(
            "SELECT key, runs, newest, place FROM keys WHERE runs != 0 ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


def _random_config(rng: random.Random) -> dict[str, Any]:
    names = rng.sample(["lr", "seed", "batch", "opt", "wd", "k0", "k1", "k2"], rng.randint(0, 8))
    config: dict[str, Any] = {name: rng.choice([0.1, 3, "x", None, {}]) for name in names}
    if rng.random() < 0.2:
        config["model"] = {rng.choice(["depth", "width"]): 4}
    elif rng.random() < 0.1:
        config["model.depth"] = 3  # the same flat key as {"model": {"depth": ...}}
    return config


@pytest.mark.parametrize("seed", [0, 1])
def test_coverage_passing_a_refresh_through_the_summary_index_keeps_ranks_and_counts(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Coverage, passing. INDEX_FROM 1: every incremental refresh reads the changed runs through
    insert_indexed (the path of >= 1,000 changed runs), with batches of runs, removals of two at
    once, a run made unreadable, keys past MAX_KEY_COLUMNS; after each commit the keys table
    (order, runs counts, newest, place) equals a build from scratch's."""
    monkeypatch.setattr(cache, "MAX_KEY_COLUMNS", 22)
    monkeypatch.setattr(cache, "INDEX_FROM", 1)
    rng = random.Random(seed)
    store = Store.open(repo)
    live: dict[str, dict[str, Any]] = {}
    for step in range(16):
        action = rng.choices(["add", "amend", "remove", "batch", "unreadable"], [5, 3, 2, 1, 1])[0]
        if not live:
            action = "add"
        if action == "remove":
            victims = rng.sample(sorted(live), min(2, len(live)))
            for victim in victims:
                del live[victim]
            runs_branch.remove_runs(repo, victims)
        elif action == "unreadable":
            run = live[rng.choice(sorted(live))]
            files = runs_branch.run_files(run)
            files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = b"a: [\n"
            runs_branch.commit(repo, files)
        else:
            batch = []
            for j in range(3 if action == "batch" else 1):
                if action == "amend":
                    run = {**live[rng.choice(sorted(live))], "config": _random_config(rng)}
                else:
                    summary = {"acc": 1} if rng.random() < 0.5 else {}
                    seconds = 300_000 + rng.randint(0, 400)
                    run = runs_branch.make_run(
                        step * 10 + j, _random_config(rng), summary, seconds=seconds
                    )
                live[run["id"]] = run
                batch.append(run)
            if rng.random() < 0.5:
                for run in batch:
                    store.write(runs_branch.run_files(run), f"run {run['id']}\n")
            else:
                runs_branch.write_runs(repo, batch)
        incremental = _keys(repo, "rebuild" if step == 0 else "incremental")
        assert incremental == _scratch_keys(repo, tmp_path / "copy"), step
        assert _keys_table(repo) == _keys_table(tmp_path / "copy"), step


def test_coverage_passing_a_split_build_then_a_removal_keeps_the_scratch_ranks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coverage, passing. A build split between two processes (_fork_part/_merge_part) stores
    the ranks a build in one process stores; removing the three newest runs then refreshes to
    the keys table a build from scratch gives."""
    from test_summary_index import _count_forks, _odd_branch

    repo = _odd_branch(tmp_path)
    monkeypatch.setattr(cache, "_SPLIT_FROM", 10**9)
    _keys(repo, "rebuild")
    whole = _keys_table(repo)
    _drop_cache(repo)
    monkeypatch.setattr(cache, "_SPLIT_FROM", 2)
    forks = _count_forks(monkeypatch)
    _keys(repo, "rebuild")
    assert len(forks) == 1
    assert _keys_table(repo) == whole
    with Api(repo).runs() as selected:
        ids = sorted(run.id for run in selected)
    runs_branch.remove_runs(repo, ids[-3:])
    incremental = _keys(repo, "incremental")
    monkeypatch.setattr(cache, "_SPLIT_FROM", 10**9)
    assert incremental == _scratch_keys(repo, tmp_path / "copy")
    assert _keys_table(repo) == _keys_table(tmp_path / "copy")
