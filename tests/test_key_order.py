"""The keys' order (`log`'s columns, `Runs.keys()`) depends on the runs branch only, never on how
the cache got there: after any sequence of recordings, amendments and removals, refreshed one
commit at a time, it is the order a build from scratch gives (the newest run having a key ranks
it, then the key's place in that run's row). Real repositories, gitcfg's own writer and a foreign
one (no summary index), keys in columns and past MAX_KEY_COLUMNS."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import runs_branch
from test_cold_build_review import _drop_cache

from gitcfg import cache
from gitcfg.query import Api
from gitcfg.store import Store

POOL = ["lr", "seed", "batch", "opt", "wd", "k0", "k1", "k2", "k3", "k4", "k5", "k6"]


def _keys(repo: Path, expected_refresh: str) -> list[str]:
    api = Api(repo)
    with api.runs() as selected:
        keys = selected.keys()
    assert api.cache.last_refresh[0] == expected_refresh
    return keys


def _scratch_keys(repo: Path, copy: Path) -> list[str]:
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, symlinks=True)
    _drop_cache(copy)
    return _keys(copy, "rebuild")


def _config(rng: random.Random) -> dict[str, Any]:
    names = rng.sample(POOL, rng.randint(1, len(POOL)))
    config: dict[str, Any] = {name: rng.choice([0.1, 3, "x", None, True]) for name in names}
    if rng.random() < 0.3:
        config["model"] = {rng.choice(["depth", "width"]): 4, "name": "net"}
    return config


def _summary(rng: random.Random) -> dict[str, Any]:
    return {name: rng.random() for name in rng.sample(["acc", "loss", "f1"], rng.randint(0, 3))}


@pytest.mark.parametrize("max_columns", [cache.MAX_KEY_COLUMNS, 16])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_incremental_refresh_keeps_the_order_a_build_from_scratch_gives(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, max_columns: int
) -> None:
    """16 columns: the run fields fill most, so many config keys live past the limit."""
    monkeypatch.setattr(cache, "MAX_KEY_COLUMNS", max_columns)
    rng = random.Random(seed)
    store = Store.open(repo)
    live: dict[str, dict[str, Any]] = {}  # run id -> run
    actions: list[str] = []
    for step in range(24):
        action = rng.choices(["add", "amend", "amend newest", "remove"], [5, 3, 2, 2])[0]
        if not live:
            action = "add"
        if action == "add":
            run = runs_branch.make_run(step, _config(rng), _summary(rng), seconds=300_000 + step)
        else:
            newest = max(live)
            target = newest if action == "amend newest" else rng.choice(sorted(live))
            run = live[target]
        if action == "remove":
            del live[run["id"]]
            runs_branch.remove_runs(repo, [run["id"]])
        else:
            if action != "add":
                run = {**run, "config": _config(rng), "summary": _summary(rng)}
            live[run["id"]] = run
            if rng.random() < 0.5:  # gitcfg's writer: the runs are read from the index
                store.write(runs_branch.run_files(run), f"run {run['id']}\n")
            else:  # a foreign writer: read from the run's files
                runs_branch.write_runs(repo, [run])
        actions.append(action)
        incremental = _keys(repo, "rebuild" if step == 0 else "incremental")
        assert incremental == _scratch_keys(repo, tmp_path / "copy"), (step, actions)
    assert {"add", "amend", "amend newest", "remove"} <= set(actions)  # each path was taken


def test_removing_the_run_that_ranked_a_key_hands_it_to_the_next_newest(repo: Path) -> None:
    """The run that put `b` first goes; `b` then takes its place in the next newest run having it,
    behind keys of newer runs, as a build from scratch places it."""
    older = runs_branch.make_run(1, {"a": 1, "b": 2}, {})
    middle = runs_branch.make_run(2, {"c": 1}, {})
    newest = runs_branch.make_run(3, {"b": 1, "c": 2}, {})
    runs_branch.write_runs(repo, [older, middle, newest])
    before = _keys(repo, "rebuild")
    assert before.index("config.b") < before.index("config.c") < before.index("config.a")
    runs_branch.remove_runs(repo, [newest["id"]])
    after = _keys(repo, "incremental")
    assert after.index("config.c") < after.index("config.a") < after.index("config.b")


def test_yaml_keys_that_are_not_text_are_named_as_the_row_names_them(repo: Path) -> None:
    """A hand-written config.yaml: YAML reads `on:` as True, `~:` as None, a date as a date. The
    row, the run's config in the Api and the keys' order all name them by str(); a date key
    made every query fail (the cache's JSON texts could not hold it)."""
    run = runs_branch.make_run(1, {}, {"acc": 1})
    files = runs_branch.run_files(run)
    files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = (
        b"on: push\n~: 1\n2020-01-01: x\nnested: {yes: [{no: 2}]}\nb: 2\n"
    )
    runs_branch.commit(repo, files)
    with Api(repo).runs() as selected:
        [found] = list(selected)
        keys = selected.keys()
        row = selected.rows()[0]
    assert found.config == {
        "True": "push",
        "None": 1,
        "2020-01-01": "x",
        "nested": {"True": [{"False": 2}]},
        "b": 2,
    }
    config_keys = [key for key in keys if key.startswith("config.")]
    assert config_keys == [
        "config.True",
        "config.None",
        "config.2020-01-01",
        "config.nested.True",
        "config.b",
    ]
    assert row["config.2020-01-01"] == "x" and row["config.None"] == 1
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", "log", "--format", "json", "--all-keys"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [logged] = json.loads(proc.stdout)  # short names where they are unambiguous
    assert logged["2020-01-01"] == "x" and logged["True"] == "push" and logged["None"] == 1


def test_a_run_with_such_keys_written_by_gitcfg_is_served_from_the_index_alike(
    repo: Path, tmp_path: Path
) -> None:
    """gitcfg's writer indexes it (texts and row agree now that keys are text); a cold build
    from the index gives what reading its files gives."""
    run = runs_branch.make_run(1, {}, {"acc": 1})
    files = runs_branch.run_files(run)
    files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = b"on: push\n2020-01-01: x\nb: 2\n"
    Store.open(repo).write(files, f"run {run['id']}\n")
    api = Api(repo)
    with api.runs() as selected:
        from_index = ([r.config for r in selected], selected.keys(), selected.rows())
    assert api.cache.last_refresh[0] == "rebuild" and api.cache.from_index == 1
    assert from_index[0] == [{"True": "push", "2020-01-01": "x", "b": 2}]
    runs_branch.commit(repo, {"index": None}, "drop the index")
    plain = Api(repo)
    _drop_cache(repo)
    with plain.runs() as selected:
        from_files = ([r.config for r in selected], selected.keys(), selected.rows())
    assert plain.cache.from_index == 0
    assert from_files == from_index
