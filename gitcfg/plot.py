"""Metric series for charts (`gitcfg plot`), and the wandb.plot.* chart constructors for log().

A Series is a line's points; query.metric_lines builds them (clean_points, mean_series) and
cli/chart.py draws them in the terminal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitcfg.values import is_number


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y), sorted by x, finite


def clean_points(points: Iterable[tuple[object, object]]) -> tuple[tuple[float, float], ...]:
    """Keep the points whose x and y are finite numbers (not bools), sorted by x."""
    out = []
    for x, y in points:
        if is_number(x) and is_number(y) and math.isfinite(x) and math.isfinite(y):  # type: ignore[arg-type]
            out.append((float(x), float(y)))  # type: ignore[arg-type]
    out.sort(key=lambda point: point[0])
    return tuple(out)


def mean_series(label: str, members: Sequence[Sequence[tuple[float, float]]]) -> Series:
    """The mean of several series at each x any of them has (a run lacking that x is left out)."""
    sums: dict[float, list[float]] = {}
    for points in members:
        for x, y in points:
            sums.setdefault(x, []).append(y)
    points = tuple(sorted((x, math.fsum(ys) / len(ys)) for x, ys in sums.items()))
    return Series(label, points)


Points = tuple[tuple[float, float], ...]


def downsample(points: Points, most: int) -> tuple[Points, bool]:
    """At most `most` points of a series sorted by x, and whether any were dropped: the series
    cut into most // 2 runs of consecutive points, each kept as its lowest and highest point in x
    order, so peaks and dips survive (a line drawn from them looks like the full one)."""
    if len(points) <= most:
        return points, False
    buckets = max(most // 2, 1)
    size = len(points) / buckets
    out: list[tuple[float, float]] = []
    for bucket in range(buckets):
        chunk = points[int(bucket * size) : int((bucket + 1) * size)]
        if not chunk:
            continue
        low = min(range(len(chunk)), key=lambda i: chunk[i][1])
        high = max(range(len(chunk)), key=lambda i: chunk[i][1])
        out += [chunk[i] for i in sorted({low, high})]
    return tuple(out), True


@dataclass(frozen=True, slots=True)
class Band:
    """Several runs' series as one: at each x any of them has, the mean and the std of their
    values there (sample std; 0 where one run has the x)."""

    label: str
    x: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def band(label: str, members: Sequence[Points]) -> Band:
    """The mean ± std of `members` at each x (a run lacking that x is left out)."""
    values: dict[float, list[float]] = {}
    for points in members:
        for x, y in points:
            values.setdefault(x, []).append(y)
    xs = sorted(values)
    means, stds = [], []
    for x in xs:
        ys = values[x]
        mean = math.fsum(ys) / len(ys)
        means.append(mean)
        spread = math.fsum((y - mean) ** 2 for y in ys) / (len(ys) - 1) if len(ys) > 1 else 0.0
        stds.append(math.sqrt(spread))
    return Band(label, tuple(xs), tuple(means), tuple(stds))


# --- wandb.plot.* chart values for log(): accepted, not recorded (see media.py) ------------------


def _chart(*args: object, **kwargs: object) -> object:
    """A chart for `log()` as wandb.plot builds; gitcfg skips it with one warning per key."""
    from gitcfg.media import CustomChart

    return CustomChart(*args, **kwargs)


line = scatter = bar = histogram = line_series = _chart
confusion_matrix = pr_curve = roc_curve = plot_table = _chart
