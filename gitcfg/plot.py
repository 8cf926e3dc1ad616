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


# --- wandb.plot.* chart values for log(): accepted, not recorded (see media.py) ------------------


def _chart(*args: object, **kwargs: object) -> object:
    """A chart for `log()` as wandb.plot builds; gitcfg skips it with one warning per key."""
    from gitcfg.media import CustomChart

    return CustomChart(*args, **kwargs)


line = scatter = bar = histogram = line_series = _chart
confusion_matrix = pr_curve = roc_curve = plot_table = _chart
