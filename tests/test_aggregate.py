import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitcfg.aggregate import (
    AGGREGATES,
    check_aggs,
    confounders,
    differing_keys,
    format_mean_std,
    group_rows,
    numeric_metrics,
    prefixed_keys,
    sort_rows,
)
from gitcfg.errors import BadQuery


def run(run_id, **fields):
    """A flat row: `lr=` goes under config., `s_acc=` under summary., `_status=` as a run field."""
    row = {"id": run_id}
    for name, value in fields.items():
        if name.startswith("s_"):
            row["summary." + name[2:]] = value
        elif name.startswith("_"):
            row[name[1:]] = value
        else:
            row["config." + name.replace("__", ".")] = value
    return row


# --- differing_keys -----------------------------------------------------------------------


def test_differing_keys_splits_varying_from_constant_in_first_seen_order():
    rows = [
        run("a", lr=0.1, epochs=4, model__depth=18, s_acc=0.9),
        run("b", lr=0.01, epochs=4, model__depth=18, s_acc=0.8),
        run("c", lr=0.1, epochs=4, model__depth=34, s_acc=0.7),
    ]
    assert differing_keys(rows) == (
        ["config.lr", "config.model.depth"],
        {"config.epochs": 4},
    )
    assert differing_keys(rows, prefix="summary.") == (["summary.acc"], {})


def test_a_key_missing_from_some_rows_is_varying():
    rows = [run("a", lr=0.1), run("b", lr=0.1, warmup=None), run("c", lr=0.1, dropout=0.5)]
    varying, constant = differing_keys(rows)
    assert varying == ["config.warmup", "config.dropout"]
    assert constant == {"config.lr": 0.1}


def test_differing_keys_compares_yaml_values():
    rows = [
        run("a", lr=1, amp=True, layers=[64, 64], x=float("nan")),
        run("b", lr=1.0, amp=1, layers=[64, 64], x=float("nan")),
    ]
    varying, constant = differing_keys(rows)
    assert varying == ["config.amp"]  # True is not 1
    assert list(constant) == ["config.lr", "config.layers", "config.x"]


def test_prefixed_keys_are_listed_in_first_seen_order():
    rows = [run("a", lr=1, s_acc=1), run("b", seed=2, lr=1), run("c", model__depth=3)]
    assert prefixed_keys(rows, "config.") == ["config.lr", "config.seed", "config.model.depth"]
    assert prefixed_keys(rows, "summary.") == ["summary.acc"]


def test_differing_keys_of_one_row_or_none():
    assert differing_keys([run("a", lr=0.1)]) == ([], {"config.lr": 0.1})
    assert differing_keys([]) == ([], {})


# --- group_rows ---------------------------------------------------------------------------


def test_group_by_lr_gives_count_mean_and_sample_std():
    accs = {0.1: [0.91, 0.93, 0.92], 0.01: [0.85, 0.80]}
    rows = [
        run(f"{lr}-{i}", lr=lr, seed=i, s_acc=acc, s_loss=1 - acc)
        for lr, values in accs.items()
        for i, acc in enumerate(values)
    ]
    groups = group_rows(rows, ["lr"], aggs=["mean", "std", "min", "max", "count", "median"])
    assert [group.values for group in groups] == [(0.01,), (0.1,)]  # numeric order
    assert [group.count for group in groups] == [2, 3]
    for group in groups:
        values = accs[group.values[0]]
        got = group.aggregates["summary.acc"]
        assert got["mean"] == pytest.approx(statistics.fmean(values))
        assert got["std"] == pytest.approx(statistics.stdev(values))
        assert got["median"] == pytest.approx(statistics.median(values))
        assert (got["min"], got["max"], got["count"]) == (min(values), max(values), len(values))
        assert list(got) == ["mean", "std", "min", "max", "count", "median"]
        assert group.keys == ("config.lr",)
        assert group.skipped == {"summary.acc": 0, "summary.loss": 0}
    assert list(groups[0].aggregates) == ["summary.acc", "summary.loss"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([1e-3, 1e-4, 3e-4]),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_aggregates_agree_with_the_statistics_module(pairs):
    rows = [run(str(i), lr=lr, s_m=m) for i, (lr, m) in enumerate(pairs)]
    groups = group_rows(rows, ["lr"], aggs=AGGREGATES)
    assert sum(group.count for group in groups) == len(rows)
    for group in groups:
        values = [m for lr, m in pairs if lr == group.values[0]]
        got = group.aggregates["summary.m"]
        assert got["mean"] == pytest.approx(statistics.fmean(values), rel=1e-9, abs=1e-6)
        assert got["median"] == pytest.approx(statistics.median(values), rel=1e-9, abs=1e-6)
        if len(values) > 1:
            assert got["std"] == pytest.approx(statistics.stdev(values), rel=1e-6, abs=1e-6)
        else:
            assert got["std"] is None
        assert (got["min"], got["max"], got["count"]) == (min(values), max(values), len(values))


def test_a_single_run_has_no_std():
    (group,) = group_rows([run("a", lr=0.1, s_acc=0.9)], ["lr"])
    assert group.aggregates["summary.acc"] == {"mean": 0.9, "std": None}


def test_non_finite_values_are_skipped_and_counted():
    rows = [
        run("a", lr=1, s_loss=0.5),
        run("b", lr=1, s_loss=float("nan")),
        run("c", lr=1, s_loss=float("inf")),
        run("d", lr=1, s_loss=0.7),
    ]
    (group,) = group_rows(rows, ["lr"], aggs=["mean", "count", "max"])
    assert group.count == 4
    assert group.skipped == {"summary.loss": 2}
    assert group.aggregates["summary.loss"] == {"mean": pytest.approx(0.6), "count": 2, "max": 0.7}


def test_a_group_without_any_value_of_a_metric_has_none_aggregates():
    rows = [run("a", lr=1, s_acc=0.9), run("b", lr=2), run("c", lr=3, s_acc=float("nan"))]
    groups = group_rows(rows, ["lr"], aggs=AGGREGATES)
    assert groups[1].aggregates["summary.acc"] == {
        "mean": None,
        "std": None,
        "min": None,
        "max": None,
        "count": 0,
        "median": None,
    }
    assert groups[2].skipped == {"summary.acc": 1}


def test_only_numeric_summary_values_are_metrics():
    rows = [
        run("a", s_acc=0.9, s_best=True, s_note="ok", s_epochs=3, s_ckpt=[1, 2]),
        run("b", s_acc="n/a", s_loss=0.1),
    ]
    assert numeric_metrics(rows) == ["summary.acc", "summary.epochs", "summary.loss"]
    (group,) = group_rows(rows, [], aggs=["count", "mean"])
    assert group.values == ()
    assert group.aggregates["summary.acc"] == {"count": 1, "mean": 0.9}  # "n/a" ignored


def test_explicit_metrics_resolve_bare_names():
    rows = [run("a", lr=1, s_acc=0.9, s_loss=0.1)]
    (group,) = group_rows(rows, ["lr"], metrics=["acc"])
    assert list(group.aggregates) == ["summary.acc"]


def test_groups_use_yaml_equality_and_keep_the_first_seen_value():
    rows = [
        run("a", lr=1, s_acc=0.1),
        run("b", lr=1.0, s_acc=0.2),
        run("c", lr=True, s_acc=0.3),
        run("d", lr="1", s_acc=0.4),
        run("e", s_acc=0.5),
        run("f", lr=None, s_acc=0.6),
    ]
    groups = group_rows(rows, ["lr"])
    assert [(group.values, [r["id"] for r in group.rows]) for group in groups] == [
        ((1,), ["a", "b"]),
        (("1",), ["d"]),
        ((True,), ["c"]),
        ((None,), ["e", "f"]),  # missing and null together, last
    ]
    assert type(groups[0].values[0]) is int


def test_groups_sort_numbers_numerically_then_strings_and_none_last():
    values = [10, 9, "b", None, 0.5, "a", float("nan"), [1, 2], -1]
    rows = [run(str(i), depth=v) for i, v in enumerate(values)]
    ordered = [group.values[0] for group in group_rows(rows, ["depth"])]
    assert ordered[:4] == [-1, 0.5, 9, 10]
    assert math.isnan(ordered[4])
    assert ordered[5:] == ["a", "b", [1, 2], None]


def test_list_values_group_together():
    rows = [run("a", layers=[64, 64]), run("b", layers=[64, 64]), run("c", layers=[32])]
    groups = group_rows(rows, ["layers"])
    assert [(g.values, g.count) for g in groups] == [(([32],), 1), (([64, 64],), 2)]


def test_group_by_several_keys_and_by_run_fields():
    rows = [
        run("a", lr=1, depth=18, _status="finished"),
        run("b", lr=1, depth=34, _status="finished"),
        run("c", lr=1, depth=18, _status="failed"),
        run("d", lr=2, depth=18, _status="finished"),
    ]
    groups = group_rows(rows, ["lr", "depth"])
    assert [(g.values, g.count) for g in groups] == [((1, 18), 2), ((1, 34), 1), ((2, 18), 1)]
    assert [g.values for g in group_rows(rows, ["status"])] == [("failed",), ("finished",)]


def test_no_rows_give_no_groups():
    assert group_rows([], ["lr"]) == []
    assert group_rows([], []) == []


def test_unknown_aggregates_are_a_bad_query():
    assert check_aggs(["Mean", " std", "mean", ""]) == ("mean", "std")
    with pytest.raises(BadQuery, match="unknown aggregate 'avg' in --agg; choose from mean"):
        group_rows([run("a")], ["lr"], aggs=["avg"])


# --- confounders --------------------------------------------------------------------------


def test_confounders_name_keys_varying_inside_a_group():
    rows = [
        run("a", lr=0.1, seed=1, batch=32, epochs=4),
        run("b", lr=0.1, seed=2, batch=64, epochs=4),
        run("c", lr=0.01, seed=1, batch=32, epochs=8),  # epochs varies only across groups
        run("d", lr=0.01, seed=2, batch=32, epochs=8),
    ]
    assert confounders(rows, ["lr"], "seed") == {"config.batch": [32, 64]}


def test_no_confounders_when_only_the_over_key_varies():
    rows = [run(str(s), lr=lr, seed=s, epochs=4) for lr in (1, 2) for s in range(3)]
    assert confounders(rows, ["lr"], "seed") == {}


def test_a_key_missing_in_part_of_a_group_confounds():
    rows = [run("a", lr=1, seed=1), run("b", lr=1, seed=2, warmup=100)]
    assert confounders(rows, ["lr"], "seed") == {"config.warmup": [None, 100]}


def test_confounders_resolve_explicit_and_bare_keys():
    rows = [run("a", lr=1, seed=1, wd=0), run("b", lr=1, seed=2, wd=0.1)]
    expected = {"config.wd": [0, 0.1]}
    assert confounders(rows, ["config.lr"], "config.seed") == expected
    assert confounders(rows, [], "seed") == expected  # no group keys: one group of all runs


# --- sort_rows ----------------------------------------------------------------------------


def ids(rows):
    return [row["id"] for row in rows]


def test_sort_ascending_and_descending_with_missing_values_last():
    rows = [
        run("a", s_acc=0.5),
        run("b"),
        run("c", s_acc=0.9),
        run("d", s_acc=float("nan")),
        run("e", s_acc=None),
        run("f", s_acc=0.7),
    ]
    assert ids(sort_rows(rows, ["acc"])) == ["a", "f", "c", "b", "d", "e"]
    assert ids(sort_rows(rows, ["-acc"])) == ["c", "f", "a", "b", "d", "e"]
    assert ids(sort_rows(rows, ["+summary.acc"])) == ["a", "f", "c", "b", "d", "e"]


def test_sort_by_several_keys_is_stable():
    rows = [
        run("a", lr=1, s_acc=0.5),
        run("b", lr=2, s_acc=0.9),
        run("c", lr=1, s_acc=0.9),
        run("d", lr=2, s_acc=0.9),
        run("e", lr=1, s_acc=0.5),
    ]
    assert ids(sort_rows(rows, ["-acc", "lr"])) == ["c", "b", "d", "a", "e"]
    assert ids(sort_rows(rows, ["lr", "-acc"])) == ["c", "a", "e", "b", "d"]
    assert ids(sort_rows(rows, [])) == ids(rows)


def test_sort_orders_numbers_numerically_and_mixed_types_without_error():
    rows = [run("a", d=10), run("b", d=9), run("c", d="x"), run("d", d=True), run("e", d=0.5)]
    assert ids(sort_rows(rows, ["d"])) == ["e", "b", "a", "c", "d"]
    assert ids(sort_rows(rows, ["-d"])) == ["d", "c", "a", "b", "e"]


def test_sort_by_a_run_field():
    rows = [run("a", _started="2026-11-26T10:00:00Z"), run("b", _started="2026-11-25T10:00:00Z")]
    assert ids(sort_rows(rows, ["started"])) == ["b", "a"]


# --- format_mean_std ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "std", "text"),
    [
        (0.9123, 0.0043, "0.912 ± 0.004"),
        (0.9123, 0.0123, "0.912 ± 0.012"),  # a leading 1 keeps two digits
        (0.9123, 0.0096, "0.912 ± 0.010"),
        (91.234, 0.41, "91.2 ± 0.4"),
        (1234.5, 23.2, "1234 ± 23"),
        (1234.5, 230.0, "1234 ± 230"),
        (0.93, None, "0.93 ± –"),
        (0.123456, None, "0.1235 ± –"),
        (0.5, 0.0, "0.5 ± 0"),
        (-0.25, 0.05, "-0.25 ± 0.05"),
        (1.2e-5, 3e-7, "1.2e-05 ± 3e-07"),
        (3e9, 1e3, "3e+09 ± 1e+03"),
        (None, None, "–"),
        (math.inf, None, "inf ± –"),
    ],
)
def test_format_mean_std(mean, std, text):
    assert format_mean_std(mean, std) == text


def test_aggregates_near_the_float_limit_do_not_overflow():
    """Squares of 1e300 overflow a float (and so did `gitcfg log --group-by` on such a summary):
    mean and std are computed on values scaled by the largest magnitude instead."""
    values = (1e300, -1e300, 1.5e308, 1.6e308)
    rows = [{"config.lr": 1, "summary.x": v} for v in values]
    (group,) = group_rows(rows, ["config.lr"], ("mean", "std", "median"))
    stats = group.aggregates["summary.x"]
    scaled = [v / 1.6e308 for v in values]
    assert stats["mean"] == pytest.approx(statistics.fmean(scaled) * 1.6e308)
    assert stats["std"] == pytest.approx(statistics.stdev(scaled) * 1.6e308)
    assert stats["median"] == pytest.approx(1e300 / 2 + 1.5e308 / 2)
    top = [{"config.lr": 1, "summary.x": v} for v in (1.7e308, 1.75e308)]
    (group,) = group_rows(top, ["config.lr"], ("mean", "median"))
    assert group.aggregates["summary.x"]["mean"] == pytest.approx(1.725e308)
    assert group.aggregates["summary.x"]["median"] == pytest.approx(1.725e308)


def test_an_integer_beyond_any_float_has_no_mean():
    rows = [{"config.lr": 1, "summary.x": v} for v in (10**400, 1)]
    (group,) = group_rows(rows, ["config.lr"], ("mean", "std", "min", "max"))
    stats = group.aggregates["summary.x"]
    assert (stats["mean"], stats["std"]) == (None, None)
    assert (stats["min"], stats["max"]) == (1, 10**400)
