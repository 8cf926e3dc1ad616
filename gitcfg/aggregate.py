"""Pure reductions over run rows: differing keys, groups with mean ± std, confounders, sorting.

Rows are flat mappings as the store builds them (`config.lr`, `summary.val_acc`, `status`, ...).
Keys passed in are resolved as `--where` resolves them (see rows.resolve_key) against the keys of
all the rows; a key that resolves to nothing reads as missing. Check user-typed keys first with
rows.require_key to get an UnknownKey error with suggestions.

Values are compared as YAML values (where.values_equal): 1 and 1.0 are one group, True and 1 are
not, lists compare item by item, NaN equals NaN. A missing key and a null value group together
(both None), but a key missing from some rows counts as differing in differing_keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from math import isfinite
from operator import itemgetter
from typing import NamedTuple, cast

from gitcfg.errors import BadQuery
from gitcfg.rows import Row, resolve_key
from gitcfg.values import order_key, value_token

AGGREGATES = ("mean", "std", "min", "max", "count", "median")
Number = int | float

_MISSING = object()
_NUMBER_TYPES = (int, float)  # exact types: a bool is no metric


def prefixed_keys(rows: Sequence[Row], prefix: str) -> list[str]:
    """Return the keys starting with `prefix` across `rows`, in first-seen order."""
    known: set[str] = set()
    found: dict[str, None] = {}
    for row in rows:
        if known.issuperset(row):  # most rows bring no new key; this check runs in C
            continue
        for key in row:
            if key not in known:
                known.add(key)
                if key.startswith(prefix):
                    found[key] = None
    return list(found)


def _partition(rows: Sequence[Row], keys: Sequence[str]) -> dict[tuple[object, ...], list[Row]]:
    """Return the rows by their combination of `keys` values (missing as None), first-seen order."""
    members: dict[tuple[object, ...], list[Row]] = {}
    if len(keys) == 1:  # the usual --group-by; a generator per row would cost a third of the time
        (key,) = keys
        for row in rows:
            members.setdefault((value_token(row.get(key)),), []).append(row)
        return members
    for row in rows:
        token = tuple([value_token(row.get(key)) for key in keys])
        members.setdefault(token, []).append(row)
    return members


def _known_keys(rows: Sequence[Row]) -> set[str]:
    known: set[str] = set()
    for row in rows:
        known.update(row)
    return known


def _resolve_all(rows: Sequence[Row], keys: Iterable[str]) -> list[str]:
    known = _known_keys(rows)
    return [resolve_key(known, key) or key for key in keys]


def differing_keys(
    rows: Iterable[Row], prefix: str = "config."
) -> tuple[list[str], dict[str, object]]:
    """Split the `prefix` keys of `rows` into those whose values differ and those constant.

    Returns (varying keys, {constant key: value}), each in first-seen order. A key missing from
    some rows is varying; with one row every key is constant; with none both are empty.
    """
    rows = list(rows)
    varying: list[str] = []
    constant: dict[str, object] = {}
    if not rows:
        return varying, constant
    first, others = rows[0], rows[1:]
    for key in prefixed_keys(rows, prefix):  # a loop, not a set per key: 100,000 keys in 0.1 s
        if key not in first:
            varying.append(key)
            continue
        token = value_token(first[key])
        for row in others:
            if key not in row or value_token(row[key]) != token:
                varying.append(key)
                break
        else:
            constant[key] = first[key]
    return varying, constant


class Group(NamedTuple):
    """The runs sharing one combination of values of the grouped keys, and their metric aggregates."""

    keys: tuple[str, ...]  # the row keys grouped by, resolved (`config.lr`)
    values: tuple[object, ...]  # this group's value of each key, as first seen; None when missing
    rows: tuple[Row, ...]  # the group's runs, in input order
    aggregates: dict[str, dict[str, Number | None]]  # metric -> {agg: value}; None when undefined
    skipped: dict[str, int]  # metric -> non-finite values (nan, ±inf) left out of its aggregates

    @property
    def count(self) -> int:  # type: ignore[override]  # not tuple.count: the number of runs
        return len(self.rows)


def numeric_metrics(rows: Iterable[Row], prefix: str = "summary.") -> list[str]:
    """Return the `prefix` keys holding an int or float (not a bool) in some row, first-seen order."""
    rows = list(rows)
    return [
        key
        for key in prefixed_keys(rows, prefix)
        if any(type(row.get(key)) in _NUMBER_TYPES for row in rows)
    ]


def _aggregate(values: list[Number], aggs: Sequence[str]) -> dict[str, Number | None]:
    """Return each requested aggregate of finite `values`; mean/min/max/median None when empty."""
    n = len(values)
    result: dict[str, Number | None] = {}
    mean, std = _mean_std(values)
    for agg in aggs:
        if agg == "count":
            result[agg] = n
        elif agg == "mean":
            result[agg] = mean
        elif agg == "std":  # sample std (ddof=1), like statistics.stdev; undefined for one run
            result[agg] = std
        elif agg == "min":
            result[agg] = min(values) if n else None
        elif agg == "max":
            result[agg] = max(values) if n else None
        elif agg == "median":
            ordered = sorted(values)
            mid = n // 2
            if not n:
                result[agg] = None
            else:
                result[agg] = ordered[mid] if n % 2 else _midpoint(ordered[mid - 1], ordered[mid])
    return result


def _mean_std(values: list[Number]) -> tuple[float | None, float | None]:
    """The mean and sample std (ddof=1, like statistics.stdev; None for fewer than 2 values) of
    finite `values`. Values near the float limit (1e300) are reduced by their largest magnitude
    first, so squares cannot overflow; an integer beyond any float has neither (None)."""
    n = len(values)
    if not n:
        return None, None
    try:
        floats = [float(v) for v in values]
        mean = math.fsum(floats) / n
        std = None if n < 2 else math.sqrt(math.fsum((v - mean) ** 2 for v in floats) / (n - 1))
    except OverflowError:  # an intermediate sum or square past the float limit
        mean = std = math.inf
    if math.isfinite(mean) and (std is None or math.isfinite(std)):
        return mean, std
    try:
        floats = [float(v) for v in values]
    except OverflowError:  # an integer larger than any float
        return None, None
    scale = max(abs(v) for v in floats)
    scaled = [v / scale for v in floats]
    unit_mean = math.fsum(scaled) / n
    if n < 2:
        return unit_mean * scale, None
    unit_std = math.sqrt(math.fsum((v - unit_mean) ** 2 for v in scaled) / (n - 1))
    std = unit_std * scale
    return unit_mean * scale, (std if math.isfinite(std) else None)


def _midpoint(low: Number, high: Number) -> Number:
    """(low + high) / 2 without overflowing to inf near the float limit."""
    if isinstance(low, int) and isinstance(high, int):
        return (low + high) / 2 if abs(low + high) < 2**1023 else (low + high) // 2
    middle = (low + high) / 2
    return middle if math.isfinite(middle) else low / 2 + high / 2


def check_aggs(aggs: Iterable[str]) -> tuple[str, ...]:
    """Return `aggs` as a tuple (duplicates dropped); raise BadQuery naming an unknown one."""
    chosen = tuple(dict.fromkeys(agg.strip().lower() for agg in aggs if agg.strip()))
    for agg in chosen:
        if agg not in AGGREGATES:
            raise BadQuery(
                f"unknown aggregate {agg!r} in --agg; choose from {', '.join(AGGREGATES)}"
            )
    return chosen


def group_rows(
    rows: Iterable[Row],
    keys: Sequence[str],
    aggs: Iterable[str] = ("mean", "std"),
    metrics: Sequence[str] | None = None,
) -> list[Group]:
    """Return one Group per distinct combination of `keys` values, sorted by those values.

    `metrics` default to every numeric summary metric (numeric_metrics) not grouped by.
    Non-numeric values of a metric are ignored; non-finite ones are left out and counted in
    Group.skipped. Groups sort by their values: numbers numerically, then NaN, strings, bools,
    lists, and None (missing) last. No keys gives one group of all rows (none when there are no
    rows).
    """
    rows = list(rows)
    chosen = check_aggs(aggs)
    resolved = tuple(_resolve_all(rows, keys))
    if metrics is None:  # a summary key grouped by is each group's value, not a metric
        metric_keys = [key for key in numeric_metrics(rows) if key not in resolved]
    else:
        metric_keys = _resolve_all(rows, metrics)
    groups = []
    for group_members in _partition(rows, resolved).values():
        aggregates: dict[str, dict[str, Number | None]] = {}
        skipped: dict[str, int] = {}
        for metric in metric_keys:
            values = [row.get(metric) for row in group_members]
            numbers = cast("list[Number]", [v for v in values if type(v) in _NUMBER_TYPES])
            finite = [v for v in numbers if isinstance(v, int) or isfinite(v)]  # ints: any size
            skipped[metric] = len(numbers) - len(finite)
            aggregates[metric] = _aggregate(finite, chosen)
        first = group_members[0]
        groups.append(
            Group(
                keys=resolved,
                values=tuple(first.get(key) for key in resolved),
                rows=tuple(group_members),
                aggregates=aggregates,
                skipped=skipped,
            )
        )
    groups.sort(key=lambda group: tuple(order_key(value) for value in group.values))
    return groups


def confounders(
    rows: Iterable[Row], group_keys: Sequence[str], over_key: str, prefix: str = "config."
) -> dict[str, list[object]]:
    """Return the `prefix` keys, other than the group keys and `over_key`, that vary inside a group.

    Each maps to the distinct values (None for missing) it takes inside the groups where it varies,
    first-seen order: with `--group-by lr --over seed`, a `batch_size` here confounds the comparison.
    """
    rows = list(rows)
    resolved = _resolve_all(rows, [*group_keys, over_key])
    groups = list(_partition(rows, resolved[:-1]).values())
    found: dict[str, list[object]] = {}
    for key in prefixed_keys(rows, prefix):
        if key in resolved:
            continue
        for group_members in groups:
            tokens = {value_token(row[key]) if key in row else _MISSING for row in group_members}
            if len(tokens) < 2:
                continue
            seen = found.setdefault(key, [])
            seen_tokens = {value_token(value) for value in seen}
            for row in group_members:
                value = row.get(key)
                if value_token(value) not in seen_tokens:
                    seen.append(value)
                    seen_tokens.add(value_token(value))
    return found


def parse_sort_spec(spec: str) -> tuple[str, bool]:
    """`-val_acc` -> ("val_acc", True): the key a --sort spec names, and whether it is descending."""
    return (spec[1:] if spec[:1] in ("-", "+") else spec), spec.startswith("-")


def sort_rows(rows: Iterable[Row], specs: Sequence[str]) -> list[Row]:
    """Return `rows` sorted by each spec in turn (`key` ascending, `-key` descending).

    Missing, null and NaN values sort last in either direction; ties keep their input order.
    """
    result = list(rows)
    known = _known_keys(result)
    for spec in reversed(specs):
        name, descending = parse_sort_spec(spec)
        key = resolve_key(known, name) or name
        present: list[Row] = []
        missing: list[Row] = []
        for row in result:
            value = row.get(key)
            (missing if value is None or value != value else present).append(row)  # NaN != NaN
        if all(type(row[key]) in _NUMBER_TYPES for row in present):  # the usual case, 2x faster
            present.sort(key=itemgetter(key), reverse=descending)
        else:
            value_of = itemgetter(key)
            present.sort(key=lambda row: order_key(value_of(row)), reverse=descending)
        result = present + missing
    return result


def format_mean_std(mean: float | None, std: float | None, digits: int = 4) -> str:
    """Return `mean ± std` rounded to the std's precision: `0.912 ± 0.004`, `1234 ± 23`.

    The std keeps one significant digit, two when it starts with 1 (0.012, not 0.01); the mean is
    rounded to the same decimal place. Without a std (one run) the mean keeps `digits`
    significant digits and the std shows as `–`; a zero std shows as `0`.
    """
    if mean is None:
        return "–"
    if std is None or not (math.isfinite(std) and math.isfinite(mean)):
        return f"{mean:.{digits}g} ± –"
    if std == 0:
        return f"{mean:.{digits}g} ± 0"
    exponent = math.floor(math.log10(abs(std)))
    significant = 2 if abs(std) / 10**exponent < 2 else 1
    decimals = significant - 1 - exponent
    if decimals > 6 or abs(mean) >= 1e9:  # tiny or huge: fixed point would be unreadable
        return f"{mean:.{digits}g} ± {std:.{significant}g}"
    decimals = max(decimals, 0)
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"
