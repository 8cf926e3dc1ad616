"""The Python API and the query cache, on runs branches built with git fast-import."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from hypothesis import given, settings
from hypothesis import strategies as st
from runs_branch import make_run, remove_runs, run_dir, run_files, write_runs

from gitcfg import aggregate, cache, where
from gitcfg.errors import (
    AmbiguousRun,
    BadQuery,
    MissingExtra,
    RunNotFound,
    UnknownKey,
    WhereSyntaxError,
)
from gitcfg.query import Api, differences, short_ids
from gitcfg.rows import run_row
from gitcfg.values import order_key, value_token, values_equal


def outline(grouping):
    """A grouping without its rows (rows hold NaN, which equals nothing)."""
    return [(g.values, g.count, g.aggregates, g.skipped) for g in grouping.groups]


def full_rows(runs):
    """The reference rows: every key of every run, newest first."""
    ordered = sorted(runs, key=lambda r: (r["meta"]["started_at"], r["id"]), reverse=True)
    return [run_row(r["id"], r["meta"], r["config"], r["summary"]) for r in ordered]


@pytest.fixture
def sweep(repo: Path):
    """24 finished runs (lr x seed) and 2 failed ones, on the code commit HEAD."""
    head = git(repo, "rev-parse", "HEAD")
    runs = [make_run(i, commit=head) for i in range(24)]
    runs += [
        make_run(100 + i, status="failed", commit=head, summary={"val_acc": float("nan")})
        for i in range(2)
    ]
    write_runs(repo, runs)
    return repo, runs


def test_runs_are_records_newest_first_with_fields(sweep) -> None:
    repo, runs = sweep
    api = Api(repo)
    found = api.runs()
    assert len(found) == 26
    expected = full_rows(runs)
    assert found.ids == [row["id"] for row in expected]
    newest = max(runs, key=lambda r: r["meta"]["started_at"])
    first = found[0]
    assert first.id == newest["id"] and first.name == newest["meta"]["name"]
    assert first.status == "failed" and first.code_commit == git(repo, "rev-parse", "HEAD")
    assert first.config == newest["config"] and first.config["model"]["depth"] == 18
    assert math.isnan(first.summary["val_acc"])
    assert first.started is not None
    assert first.started.isoformat().startswith(newest["meta"]["started_at"][:19])
    assert first.host == "box" and first.tags == [] and first.exit_code == 1
    assert first.row["config.model.depth"] == 18
    assert [r.id for r in found[:3]] == found.ids[:3]
    assert first.metrics() == []


def test_metrics_and_patch_come_from_git(repo: Path) -> None:
    run = make_run(1, metrics=[{"_step": 0, "loss": 1.0}, {"_step": 1, "loss": 0.5}])
    run["patch"] = b"diff --git a/x b/x\n"
    write_runs(repo, [run])
    record = Api(repo).run(run["id"][:10])
    assert record.metrics() == run["metrics"]
    assert record.patch() == run["patch"] and "diff.patch" in record.files


@pytest.mark.parametrize(
    "text",
    [
        "lr < 0.01",
        "lr == 1e-3 or seed == 2",
        "status == failed",
        "status != finished and val_acc > 0",
        "model.depth >= 18 and not seed in [0, 1]",
        "name contains '-1'",
        "missing_key == 3",
        "not missing_key == 3",
        "config.lr in [0.003, 0.03]",
        "val_acc == .nan",
    ],
)
def test_where_selects_what_matching_full_rows_selects(sweep, text: str) -> None:
    repo, runs = sweep
    expr = where.parse_where(text)
    rows = full_rows(runs)
    known = set().union(*rows)
    resolved = where.resolve_expr(expr, known)
    expected = [row["id"] for row in rows if where.matches(resolved, row)]
    assert Api(repo).runs(where=text).ids == expected


def test_where_clauses_in_a_list_are_anded(sweep) -> None:
    repo, _ = sweep
    both = Api(repo).runs(where=["lr < 0.01", "seed == 1"])
    assert both.ids and all(r.config["lr"] < 0.01 and r.config["seed"] == 1 for r in both)


def test_filter_syntax_error_points_at_the_column(sweep) -> None:
    repo, _ = sweep
    with pytest.raises(WhereSyntaxError) as caught:
        Api(repo).runs(where="lr >> 3")
    assert caught.value.caret_text().splitlines()[1].index("^") == 4


def test_group_by_matches_aggregating_full_rows(sweep) -> None:
    repo, runs = sweep
    grouping = (
        Api(repo).runs(status="finished").group_by("lr", aggs=["mean", "std", "min", "count"])
    )
    rows = [row for row in full_rows(runs) if row["status"] == "finished"]
    expected = aggregate.group_rows(rows, ["config.lr"], ["mean", "std", "min", "count"])
    assert grouping.keys == ("config.lr",)
    assert [g.values for g in grouping.groups] == [g.values for g in expected]
    assert [g.count for g in grouping.groups] == [6, 6, 6, 6]
    for got, want in zip(grouping.groups, expected, strict=True):
        assert got.skipped == want.skipped and set(got.aggregates) == set(want.aggregates)
        for metric, values in want.aggregates.items():  # SQLite sums without math.fsum
            assert got.aggregates[metric] == pytest.approx(values, rel=1e-12)
    assert grouping.constants == {
        "config.batch": 32,
        "config.model.depth": 18,
        "config.model.name": "resnet",
    }


def test_group_by_over_seed_warns_about_other_varying_keys(repo: Path) -> None:
    runs = [make_run(i, {"lr": 0.1, "seed": i % 2, "batch": 32 if i < 2 else 64}) for i in range(4)]
    write_runs(repo, runs)
    grouping = Api(repo).runs().group_by("lr", over="seed")
    assert grouping.over == "config.seed"
    assert grouping.confounders == {"config.batch": [32, 64]}  # sorted, not newest first
    clean = Api(repo).runs(where="batch == 32").group_by("lr", over="seed")
    assert clean.confounders == {}


def test_over_alone_groups_by_every_other_differing_key(sweep) -> None:
    repo, _ = sweep
    grouping = Api(repo).runs(status="finished").group_by(over="seed")
    assert grouping.keys == ("config.lr",) and len(grouping.groups) == 4
    assert grouping.confounders == {}


def test_unknown_keys_suggest_close_names(sweep) -> None:
    repo, _ = sweep
    runs = Api(repo).runs()
    with pytest.raises(UnknownKey) as caught:
        runs.group_by("lrr")
    assert caught.value.suggestions[0] == "lr" and "--group-by" in str(caught.value)
    with pytest.raises(UnknownKey):
        runs.group_by("lr", over="sed")


def test_rev_range_selects_runs_by_code_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("print('v2')\n")
    git(repo, "commit", "-qam", "v2")
    second = git(repo, "rev-parse", "HEAD")
    write_runs(
        repo, [make_run(1, commit=first), make_run(2, commit=second), make_run(3, commit=None)]
    )
    api = Api(repo)
    assert [r.code_commit for r in api.runs(rev="HEAD~1..HEAD")] == [second]
    assert {r.code_commit for r in api.runs(rev="HEAD")} == {first, second}
    assert len(api.runs()) == 3
    with pytest.raises(BadQuery, match="bad revision range 'nope..'"):
        api.runs(rev="nope..")
    with pytest.raises(BadQuery, match="not options"):
        api.runs(rev="--all")


def test_run_resolves_prefix_and_name_or_says_why_not(repo: Path) -> None:
    a, b = make_run(1, seconds=300_000_000), make_run(2, seconds=300_000_000)
    write_runs(repo, [a, b])
    api = Api(repo)
    assert api.run(a["id"][:12]).id == a["id"]
    assert api.run("run-2").id == b["id"]
    shared = os.path.commonprefix([a["id"], b["id"]])
    with pytest.raises(AmbiguousRun, match="matches 2 runs"):
        api.run(shared)
    with pytest.raises(RunNotFound):
        api.run("zzzzzzzz")


def test_short_ids_are_unique_among_all_runs(sweep) -> None:
    repo, runs = sweep
    selected = Api(repo).runs(where="seed == 0")
    shown = selected.short_ids(selected.ids)
    everything = short_ids(r["id"] for r in runs)
    for run_id, prefix in shown.items():
        assert prefix == everything[run_id]
        assert sum(r["id"].startswith(prefix) for r in runs) == 1


def test_differences_treat_types_and_missing_keys_as_changes() -> None:
    changed = differences({"a": 1, "b": 1.0, "c": "x"}, {"a": 1, "b": 1, "d": None})
    assert [key for key, *_ in changed] == ["b", "c", "d"]


def test_to_dataframe_has_one_row_per_run_and_dotted_columns(sweep) -> None:
    pandas = pytest.importorskip("pandas")
    repo, runs = sweep
    frame = Api(repo).to_dataframe(where="status == finished")
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 24
    assert {"id", "status", "config.lr", "config.model.depth", "summary.val_acc"} <= set(
        frame.columns
    )
    assert frame.groupby("config.lr")["summary.val_acc"].count().tolist() == [6, 6, 6, 6]


def test_to_dataframe_without_pandas_names_the_extra(sweep, monkeypatch) -> None:
    repo, _ = sweep
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtra, match=r"pip install 'gitcfg\[pandas\]'"):
        Api(repo).runs().to_dataframe()


# --- the cache -----------------------------------------------------------------------------------


def cache_file(repo: Path) -> Path:
    return repo / ".git" / "gitcfg" / cache.FILE_NAME


def test_warm_reads_run_no_git_and_parse_no_yaml(sweep, monkeypatch) -> None:
    repo, _ = sweep
    api = Api(repo)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("rebuild", 26)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("fresh", 0)
    monkeypatch.setenv("PATH", "")  # any git process would now fail
    from gitcfg import store, where, yamlio

    # A where literal is typed by YAML's scalar rules once a process (no run file): done here,
    # so the test does not depend on an earlier one having typed `0.01`.
    where.type_literal("0.01")

    def no_yaml(*args, **kwargs):
        raise AssertionError("a warm query parsed YAML")

    for module, name in (
        (yamlio, "load_yaml"),
        (yamlio, "load_yaml_fast"),
        (store, "load_mapping"),
        (store, "read_mapping"),
        (store, "read_row_mapping"),
        (cache, "read_row_mapping"),
    ):
        monkeypatch.setattr(module, name, no_yaml)
    runs = api.runs(where="lr < 0.01")
    assert len(runs) == 14 and runs.group_by("lr").groups
    assert Api(repo, store=api.store).run("run-3").config["lr"] == 0.03


def test_new_runs_are_read_incrementally(sweep) -> None:
    repo, runs = sweep
    api = Api(repo)
    assert len(api.runs()) == 26
    new = [make_run(200 + i) for i in range(10)]
    write_runs(repo, new)
    assert len(api.runs()) == 36
    assert api.cache.last_refresh == ("incremental", 10)
    assert Api(repo).runs().ids == [row["id"] for row in full_rows(runs + new)]


def test_amended_and_removed_runs_are_refreshed(sweep) -> None:
    repo, runs = sweep
    api = Api(repo)
    api.runs()
    amended = dict(runs[0], config={**runs[0]["config"], "lr": 0.5, "dataset": "v2"})
    write_runs(repo, [amended])
    remove_runs(repo, [runs[1]["id"]])
    found = api.runs()
    assert api.cache.last_refresh[0] == "incremental"
    assert runs[1]["id"] not in found.ids and len(found) == 25
    assert api.run(runs[0]["id"]).config["dataset"] == "v2"
    assert found.keys("config.").count("config.dataset") == 1
    assert [g.values for g in found.group_by("dataset").groups] == [("v2",), (None,)]
    assert outline(Api(repo, cache=False).runs().group_by("lr")) == outline(found.group_by("lr"))


def test_removing_a_key_everywhere_forgets_it(repo: Path) -> None:
    run = make_run(1, {"lr": 0.1, "old": 1})
    write_runs(repo, [run])
    api = Api(repo)
    assert "config.old" in api.runs().keys()
    write_runs(repo, [dict(run, config={"lr": 0.1})])
    assert "config.old" not in api.runs().keys()
    with pytest.raises(UnknownKey):
        api.runs().group_by("old")


def test_a_corrupt_cache_is_rebuilt(sweep) -> None:
    repo, _ = sweep
    Api(repo).runs()
    path = cache_file(repo)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    api = Api(repo)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("rebuild", 26)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_truncated_cache_is_rebuilt(sweep) -> None:
    repo, _ = sweep
    Api(repo).runs()
    path = cache_file(repo)
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    api = Api(repo)
    assert len(api.runs(where="seed == 1")) == 9 and api.cache.last_refresh == ("rebuild", 26)


def test_deleting_the_cache_is_harmless(sweep) -> None:
    repo, _ = sweep
    before = outline(Api(repo).runs().group_by("lr"))
    for suffix in ("", "-wal", "-shm"):
        Path(str(cache_file(repo)) + suffix).unlink(missing_ok=True)
    api = Api(repo)
    assert outline(api.runs().group_by("lr")) == before
    assert api.cache.last_refresh == ("rebuild", 26)


def test_a_cache_of_an_older_schema_is_rebuilt(sweep) -> None:
    repo, _ = sweep
    Api(repo).runs()
    conn = sqlite3.connect(cache_file(repo))
    conn.execute("DROP TABLE runs")
    conn.execute("CREATE TABLE runs (something_else TEXT)")
    conn.execute(f"PRAGMA user_version = {cache.SCHEMA - 1}")
    conn.commit()
    conn.close()
    api = Api(repo)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("rebuild", 26)


def test_another_runs_branch_rebuilds(sweep) -> None:
    repo, _ = sweep
    Api(repo).runs()
    git(repo, "branch", "other-runs", "gitcfg-runs")
    git(repo, "config", "gitcfg.branch", "other-runs")
    api = Api(repo)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("rebuild", 26)


def test_an_unwritable_state_dir_keeps_the_cache_in_memory(sweep) -> None:
    repo, _ = sweep
    (repo / ".git" / "gitcfg").write_text("not a directory")  # so nothing can be created in it
    api = Api(repo)
    assert len(api.runs(where="lr == 0.01")) == 6
    assert api.cache.path is None and api.cache.last_refresh == ("rebuild", 26)
    assert len(api.runs()) == 26 and api.cache.last_refresh == ("fresh", 0)


def test_a_read_only_git_dir_keeps_the_cache_in_memory(sweep) -> None:
    repo, _ = sweep
    state = repo / ".git" / "gitcfg"
    state.mkdir(exist_ok=True)
    state.chmod(0o500)
    try:
        if os.access(state, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        api = Api(repo)
        assert len(api.runs(where="lr == 0.01")) == 6
        assert api.cache.path is None
    finally:
        state.chmod(0o700)


def test_a_runs_snapshot_does_not_change_under_new_runs(sweep) -> None:
    repo, _ = sweep
    api = Api(repo)
    before = api.runs()
    write_runs(repo, [make_run(300 + i) for i in range(3)])
    after = Api(repo).runs()
    assert len(after) == 29
    assert len(before) == 26 and len(list(before)) == 26
    assert sum(g.count for g in before.group_by("lr").groups) == 26
    before.close()


def test_progress_is_reported_while_building(sweep) -> None:
    repo, _ = sweep
    seen = []
    Api(repo, progress=lambda done, total: seen.append((done, total))).runs()
    assert seen[-1] == (26, 26)


def test_keys_past_the_column_limit_are_read_from_json(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr(cache, "MAX_KEY_COLUMNS", 17)  # 14 run fields + 3 keys get columns
    runs = [
        make_run(i, {"a": i, "b": 1, "c": 2, "d": i % 2, "e": "x"}, {"acc": i / 10})
        for i in range(6)
    ]
    write_runs(repo, runs)
    api = Api(repo)
    found = api.runs(where="d == 1 and e == x")
    assert len(found) == 3
    grouping = found.group_by("d")
    assert grouping.metrics == ("summary.acc",) and grouping.groups[0].count == 3
    assert api.runs().differing() == (
        ["config.a", "config.d"],
        {"config.b": 1, "config.c": 2, "config.e": "x"},
    )


def test_the_runs_branch_missing_gives_no_runs(repo: Path) -> None:
    api = Api(repo)
    assert len(api.runs()) == 0
    with pytest.raises(RunNotFound):
        api.run("abc")


READER = """
import json, sys
from gitcfg.query import Api
counts = []
for _ in range(int(sys.argv[1])):
    runs = Api('.').runs()
    groups = runs.group_by('lr').groups
    counts.append((len(runs), sum(g.count for g in groups)))
    runs.close()
print(json.dumps(counts))
"""


def test_concurrent_readers_and_a_writer_see_consistent_states(sweep, tmp_path: Path) -> None:
    repo, _ = sweep
    script = tmp_path / "reader.py"
    script.write_text(READER)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    readers = [
        subprocess.Popen(
            [sys.executable, str(script), "15"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for batch in range(5):
        write_runs(repo, [make_run(400 + 10 * batch + i) for i in range(5)])
    results = [proc.communicate(timeout=120) for proc in readers]
    for (out, err), proc in zip(results, readers, strict=True):
        assert proc.returncode == 0, err
        for total, grouped in json.loads(out):
            assert total == grouped and total in range(26, 52, 5)
    assert len(Api(repo).runs()) == 51
    assert sqlite3.connect(cache_file(repo)).execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- cells ---------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(values)
def test_cells_round_trip(value) -> None:
    decoded = cache.decode_cell(cache.encode_cell(value))
    assert value_token(decoded) == value_token(value)
    assert type(decoded) is type(value) or (value is None and decoded is None)


@settings(max_examples=300, deadline=None)
@given(scalars, scalars)
def test_sql_equality_of_cells_is_yaml_equality(left, right) -> None:
    conn = sqlite3.connect(":memory:")
    a, b = cache.encode_cell(left), cache.encode_cell(right)
    (distinct,) = conn.execute(
        "SELECT count(DISTINCT v) FROM (SELECT ? AS v UNION ALL SELECT ?)", (a, b)
    ).fetchone()
    assert (distinct == 1) == values_equal(left, right)


def test_run_files_layout_matches_the_store() -> None:
    from gitcfg import store

    run = make_run(1)
    assert store.run_dir(run["id"]) == run_dir(run["id"])
    assert set(run_files(run)) == {
        f"{run_dir(run['id'])}/{name}"
        for name in ("run.yaml", "config.yaml", "summary.yaml", "metrics.jsonl")
    }


# --- SQL and Python agree ------------------------------------------------------------------------

cell_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.0, -0.0]),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]),
    st.sampled_from(["a", "1", ""]),
)
maybe = st.one_of(st.just("MISSING"), cell_values)
run_values = st.tuples(maybe, maybe, maybe, maybe, maybe)


def memory_snapshot(value_rows):
    """A cache in memory holding one run per tuple (g, h, seed, m, n); "MISSING" leaves a key out."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    writer = cache._Writer(conn)
    writer.reset()
    rows = []
    for i, (g, h, seed, m, n) in enumerate(value_rows):
        config = {k: v for k, v in (("g", g), ("h", h), ("seed", seed)) if v != "MISSING"}
        summary = {k: v for k, v in (("m", m), ("n", n)) if v != "MISSING"}
        run = make_run(i, config, summary)
        writer.insert(run["id"], run["meta"], config, summary, '["run.yaml"]')
        rows.append(run_row(run["id"], run["meta"], config, summary))
    writer.finish("refs/heads/gitcfg-runs", "0" * 40)
    rows.sort(key=lambda row: (row["started"], row["id"]), reverse=True)
    return cache.Snapshot(conn, own=False), rows


def same_number(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-12) or (a != a and b != b)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(run_values, min_size=1, max_size=12),
    st.sampled_from([["config.g"], ["config.g", "config.h"], []]),
)
def test_sql_grouping_agrees_with_aggregate(value_rows, keys) -> None:
    snapshot, rows = memory_snapshot(value_rows)
    aggs = ("mean", "std", "min", "max", "count")
    metrics = [k for k in ("summary.m", "summary.n") if any(k in row for row in rows)]
    in_sql = snapshot.group_summaries(keys, metrics, aggs, "1", [])
    if in_sql is None:
        return
    numeric, got = in_sql
    assert sorted(numeric) == sorted(aggregate.numeric_metrics(rows))  # order: the cache's keys
    expected = aggregate.group_rows(rows, keys, aggs, numeric)
    got.sort(key=lambda group: tuple(order_key(v) for v in group.values))
    assert [tuple(map(value_token, g.values)) for g in got] == [
        tuple(map(value_token, g.values)) for g in expected
    ]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.count == theirs.count and mine.skipped == theirs.skipped
        for metric in numeric:
            for agg in aggs:
                assert same_number(mine.aggregates[metric][agg], theirs.aggregates[metric][agg])
    config_keys = [k for k in ("config.g", "config.h", "config.seed") if any(k in r for r in rows)]
    varying, constant = snapshot.constant_keys(config_keys, "1", [])
    want_varying, want_constant = aggregate.differing_keys(rows)
    assert sorted(varying) == sorted(want_varying)
    assert {k: value_token(v) for k, v in constant.items()} == {
        k: value_token(v) for k, v in want_constant.items()
    }
    if "config.seed" in config_keys:
        others = [k for k in varying if k not in keys and k != "config.seed"]
        found = snapshot.varying_within(keys, others, "1", [])
        confounded = aggregate.confounders(rows, keys, "config.seed")
        assert set(found) == set(confounded)
        for key, values in found.items():
            assert {value_token(v) for v in values} == {value_token(v) for v in confounded[key]}


def test_sql_std_survives_a_large_offset_between_groups(repo: Path) -> None:
    import statistics

    times = {"a": [1.7e9 + i * 1e-3 for i in range(5)], "b": [1.0 + i * 1e-3 for i in range(5)]}
    runs = [
        make_run(10 * n + i, {"arm": name}, {"t": value})
        for n, (name, values) in enumerate(times.items())
        for i, value in enumerate(values)
    ]
    write_runs(repo, runs)
    groups = Api(repo).runs().group_by("arm").groups
    for group, (name, values) in zip(groups, times.items(), strict=True):
        assert group.values == (name,)
        python = aggregate.group_rows([{"t": v} for v in values], [], ["mean", "std"], ["t"])[0]
        assert group.aggregates["summary.t"]["std"] == pytest.approx(
            python.aggregates["t"]["std"], rel=1e-12
        )
        assert group.aggregates["summary.t"]["std"] == pytest.approx(
            statistics.stdev(values), rel=1e-6
        )
        assert group.aggregates["summary.t"]["mean"] == pytest.approx(
            statistics.mean(values), rel=1e-15
        )


# --- the fast YAML loader the cache builds with ----------------------------------------------

yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=10),
        st.sampled_from(["yes", "no", "0o17", "017", "1:30", "2024-01-01", "1e-3", "~", "<<", "="]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
TRICKY_YAML = [
    "on: push\n~: 1\n2020-01-01: x\nb: 2\n",  # keys YAML reads as True, None, a date
    "1: a\n'1': b\n",  # one text, two keys: the later value with text keys
    "1: a\ntrue: b\n",  # keys of equal values: a duplicate
    "m:\n  .inf: 1\n  yes: [{no: 2}]\n",
    "a: &x [1]\nb: *x\n",
    "<<: {a: 1}\nb: 2\n",
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
    "? [1, 2]\n: x\n",
    "",
    "x",
    "- 0o17\n- 017\n- 1:30\n- .inf\n- yes\n- 2024-01-01\n- !!binary aGk=\n",
    "a: !!set {x, y}\n",
    "bad: [",
    "=: 1\n",
    "{1: 2, 1.5: 3, true: 4, null: 5}",
    "a: !custom 1",
    "!!python/object:os.system x",
    "a: 1\n---\nb: 2\n",
    "a: 1\na: 2\n",
    "- !!str 12\n- !!int '7'\n",
    "a: !!omap [x: 1, y: 2]\n",
    "t: 2001-12-14t21:59:43.10-05:00\n",
]


def _load_or_error(load, text):
    try:
        return load(text)
    except Exception as e:  # the same error class is part of the contract
        return type(e)


def _text_keys(value: Any) -> Any:
    """load_yaml's value with the keys load_yaml_fast gives: str() of each (`on:` -> "True")."""
    from gitcfg.yamlio import _text_keys

    return _text_keys(value)


@settings(max_examples=300, deadline=None)
@given(yaml_values)
def test_fast_yaml_loading_equals_load_yaml(value) -> None:
    import yaml

    from gitcfg.yamlio import dump_yaml, load_yaml, load_yaml_fast

    for text in (dump_yaml(value), yaml.safe_dump(value, default_flow_style=True)):
        fast, slow = _load_or_error(load_yaml_fast, text), _load_or_error(load_yaml, text)
        assert value_token(fast) == value_token(slow)
        texts = _load_or_error(lambda t: load_yaml_fast(t, text_keys=True), text)
        assert value_token(texts) == value_token(_text_keys(slow))


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_fast_yaml_loading_equals_load_yaml_on_tricky_documents(text) -> None:
    from gitcfg.yamlio import load_yaml, load_yaml_fast

    slow = _load_or_error(load_yaml, text)
    assert _load_or_error(load_yaml_fast, text) == slow
    texts = _load_or_error(lambda t: load_yaml_fast(t, text_keys=True), text)
    assert texts == _text_keys(slow)


@pytest.mark.slow
def test_ten_thousand_runs_read_through_the_cache_match_the_store(repo: Path) -> None:
    from gitcfg.rows import run_row

    runs = [make_run(i) for i in range(10_000)]
    write_runs(repo, runs)
    api = Api(repo)
    grouping = api.runs(where="seed != 1").group_by("lr", over="seed")
    assert api.cache.last_refresh == ("rebuild", 10_000)
    runs.sort(key=lambda r: (r["meta"]["started_at"], r["id"]), reverse=True)  # newest first
    rows = [run_row(r["id"], r["meta"], r["config"], r["summary"]) for r in runs]  # as written
    rows = [row for row in rows if row["config.seed"] != 1]
    expected = aggregate.group_rows(rows, ["config.lr"], ["mean", "std"])
    assert [(g.values, g.count) for g in grouping.groups] == [(g.values, g.count) for g in expected]
    for got, want in zip(grouping.groups, expected, strict=True):
        for metric, values in want.aggregates.items():
            assert got.aggregates[metric] == pytest.approx(values, rel=1e-12)
    assert grouping.confounders == {}
    write_runs(repo, [make_run(20_000 + i) for i in range(10)])
    assert len(api.runs()) == 10_010 and api.cache.last_refresh == ("incremental", 10)
    git(repo, "fsck", "--no-progress")


# --- the line parser behind load_yaml_fast (gitcfg's own block-style files) -------------------


def typed(value):
    """`value` with every scalar's type spelled out: 1, 1.0 and True differ; NaN equals NaN."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


_ATOMS = [
    "a",
    "x y",
    "'x'",
    "'a''b'",
    "'",
    "''",
    "1",
    "-1",
    "1.5",
    "1e3",
    "1_0",
    "0o7",
    "07",
    "0x1f",
    "1:30",
    ".inf",
    "-.nan",
    "-",
    "-x",
    "?x",
    ":x",
    "x:",
    "x:y",
    "{}",
    "[]",
    "[1]",
    "{a: 1}",
    "yes",
    "No",
    "~",
    "null",
    "<<",
    "=",
    "&a",
    "*a",
    "!!str x",
    "|",
    ">",
    '"q"',
    "2020-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "é",
    "a #b",
    "a#b",
    "%x",
    "@x",
    ",x",
    "x,",
    "#",
    "",
    " ",
    "x ",
    " x",
    "---",
    "...",
    "\t",
    "\u2028",
    "\x85",
    "\ufeff",
]


def _line(parts: tuple[int, int, str, str]) -> str:
    indent, kind, key, value = parts
    return " " * indent + (f"{key}: {value}", f"{key}:", f"- {value}")[kind]


yaml_lines = st.tuples(
    st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4]),
    st.integers(0, 2),
    st.sampled_from(_ATOMS),
    st.sampled_from(_ATOMS),
).map(_line)


@settings(max_examples=1500, deadline=None)
@given(st.lists(yaml_lines, min_size=1, max_size=7).map("\n".join), st.booleans())
def test_the_line_parser_reads_what_libyaml_reads_or_gives_up(text, newline) -> None:
    from gitcfg.yamlio import _load_block, load_yaml

    text += "\n" if newline else ""
    found = _load_block(text)
    if found is not None:  # None: load_yaml_fast asks libyaml
        assert typed(found) == typed(_load_or_error(load_yaml, text))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.text(max_size=6), st.integers(), st.none()), yaml_values, max_size=5
    ),
    st.integers(5, 90),
)
def test_the_line_parser_reads_dumped_mappings_as_libyaml_does(value, width) -> None:
    import yaml

    from gitcfg.yamlio import _load_block, dump_yaml, load_yaml

    for text in (
        dump_yaml(value),
        yaml.safe_dump(value, width=width, allow_unicode=True),
        yaml.safe_dump(value, indent=4, sort_keys=False),
    ):
        found = _load_block(text)
        if found is not None:
            assert typed(found) == typed(load_yaml(text))


def test_run_files_gitcfg_writes_take_the_line_parser() -> None:
    """The cold cache build reads run.yaml with it: ~5x faster than libyaml (tests/bench)."""
    from gitcfg.yamlio import _load_block, dump_yaml, load_yaml

    run = make_run(
        3,
        {
            "lr": 1e-4,
            "path": "/data/a b/c.tar",
            "version": "1.10",
            "when": "2024-01-01",
            "flag": "yes",
            "empty": {},
            "none": [],
            "nested": {"list": [1, "two", 3.5]},
            "odd key: x": "it's",
            "unicode": "héllo ✓",
            "neg": -2,
        },
    )
    run["meta"]["argv"] = ["train.py", "--lr", "1e-4", "-v"]
    document: dict[str, Any]
    for document in (run["meta"], run["config"], run["summary"], {}):
        text = dump_yaml(document)
        assert _load_block(text) == load_yaml(text) == document
