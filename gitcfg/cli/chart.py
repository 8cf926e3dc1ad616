"""Line charts in the terminal, drawn with Unicode braille: pure, no dependency.

Each character cell is a 2 x 4 grid of dots (U+2800..U+28FF), so a 60 x 15 chart has 120 x 60
points. `draw` returns the cells with the index of the series that last inked each one; the CLI
colours them (rich). Without colours (NO_COLOR, a pipe, --no-color) braille lines all look alike,
and a braille cell cannot carry a marker, so `draw(..., markers=MARKERS)` draws each series with
its own character, one point per cell, and the legend shows that character. Why not plotext or
asciichart: both are fine, but the chart we need (a few lines, shared axes, a legend) is ~150
lines, and an extra dependency for it would be one more thing to install, pin and audit; braille
gives four times the resolution of block characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitcfg.plot import Series

# Bit of each dot in a braille cell, indexed [row][column] (ISO/TR 11548-1 numbering).
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE = 0x2800
# One character per series when there are no colours: shapes that differ at a glance, none of
# them an axis character (`-`, `|`) or a dot that reads as noise (`.`, `'`).
MARKERS = ("*", "o", "+", "x", "#", "@", "%", "=", "&", "$", "~", "^")


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart: `cells[row][col]` is (character, series index or None), top row first."""

    cells: tuple[tuple[tuple[str, int | None], ...], ...]
    y_range: tuple[float, float]
    x_range: tuple[float, float]


def draw(series: Sequence[Series], width: int, height: int, markers: Sequence[str] = ()) -> Chart:
    """Draw each series as a line through its points on shared axes, `width` x `height` cells:
    in braille, or with `markers`, each series in its own character (markers[i % len])."""
    width, height = max(width, 2), max(height, 2)
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    x_range = _span(min(xs, default=0.0), max(xs, default=1.0))
    y_range = _span(min(ys, default=0.0), max(ys, default=1.0))
    per_w, per_h = (1, 1) if markers else (2, 4)  # points per cell
    dots_w, dots_h = width * per_w, height * per_h
    bits = [[0] * width for _ in range(height)]
    owner: list[list[int | None]] = [[None] * width for _ in range(height)]

    def to_dot(x: float, y: float) -> tuple[int, int]:
        col = round((x - x_range[0]) / (x_range[1] - x_range[0]) * (dots_w - 1))
        row = round((y_range[1] - y) / (y_range[1] - y_range[0]) * (dots_h - 1))
        return col, row

    for index, one in enumerate(series):
        previous: tuple[int, int] | None = None
        for x, y in one.points:
            dot = to_dot(x, y)
            for col, row in _segment(previous or dot, dot):
                bits[row // per_h][col // per_w] |= _DOTS[row % per_h][col % per_w]
                owner[row // per_h][col // per_w] = index
            previous = dot

    def char(r: int, c: int) -> str:
        if not bits[r][c]:
            return " "
        if markers:
            return markers[(owner[r][c] or 0) % len(markers)]
        return chr(_BRAILLE + bits[r][c])

    cells = tuple(tuple((char(r, c), owner[r][c]) for c in range(width)) for r in range(height))
    return Chart(cells, y_range, x_range)


def _span(low: float, high: float) -> tuple[float, float]:
    if high > low:
        return low, high
    pad = abs(low) * 0.05 or 0.5  # a flat line sits in the middle
    return low - pad, high + pad


def _segment(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The dots of a straight line from start to end (Bresenham), both ends included."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    points = []
    while True:
        points.append((x0, y0))
        if (x0, y0) == (x1, y1):
            return points
        twice = 2 * error
        if twice >= dy:
            error += dy
            x0 += sx
        if twice <= dx:
            error += dx
            y0 += sy


def axis_label(value: float) -> str:
    """A short tick label: `0.912`, `1.2e-05`, `12000`."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2g}"
    return f"{value:.4g}"
