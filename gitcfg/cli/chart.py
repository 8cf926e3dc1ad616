"""Line charts in the terminal, drawn with Unicode braille, no dependency but rich.

Each character cell is a 2 x 4 grid of dots (U+2800..U+28FF), so a 60 x 15 chart has 120 x 60
points. `draw` (pure) returns the cells with the index of the series that last inked each one;
`print_chart` frames them (y ticks, axes, legend) and colours them with rich. Without colours
(NO_COLOR, a pipe, --no-color) braille lines all look alike, and a braille cell cannot carry a
marker, so `draw(..., markers=MARKERS)` draws each series with its own character, one point per
cell, and the legend shows that character. Why not plotext or
asciichart: both are fine, but the chart we need (a few lines, shared axes, a legend) is ~150
lines, and an extra dependency for it would be one more thing to install, pin and audit; braille
gives four times the resolution of block characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitcfg.plot import Series
from gitcfg.rows import inert

if TYPE_CHECKING:
    from rich.console import Console

# Bit of each dot in a braille cell, indexed [row][column] (ISO/TR 11548-1 numbering).
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_BRAILLE = 0x2800
# One character per series when there are no colours: shapes that differ at a glance, none of
# them an axis character (`-`, `|`) or a dot that reads as noise (`.`, `'`).
MARKERS = ("*", "o", "+", "x", "#", "@", "%", "=", "&", "$", "~", "^")
# With colours, series i is drawn (and its legend swatch) in COLOURS[i % len(COLOURS)].
COLOURS = (
    "cyan",
    "magenta",
    "yellow",
    "green",
    "blue",
    "red",
    "bright_cyan",
    "bright_magenta",
    "bright_yellow",
    "bright_green",
    "bright_blue",
    "bright_red",
)
LABEL_WIDTH = 9  # the y axis's tick labels, right-aligned; the x key's name is cut to it


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


def print_chart(
    console: Console,
    series: Sequence[Series],
    x_label: str,
    height: int,
    no_color: bool = False,
    left_out: str = "",
) -> None:
    """Print the chart at the console's width: y tick labels, the axes, the x range, a legend
    (one colour or marker per series), and `left_out` (which runs lacked the metric) dimmed."""
    from rich.markup import escape

    width = max(console.width - LABEL_WIDTH - 2, 20)
    # Braille lines told apart by colour; without colours, by a marker character per line.
    colour = not no_color and not console.no_color and console.color_system is not None
    markers = () if colour else MARKERS
    chart = draw(series, width, max(height, 4), markers)
    y_low, y_high = chart.y_range
    ticks = {0: y_high, len(chart.cells) - 1: y_low, len(chart.cells) // 2: (y_low + y_high) / 2}
    for index, row in enumerate(chart.cells):
        label = axis_label(ticks[index]) if index in ticks else ""
        text = "".join(
            char if owner is None or markers else f"[{COLOURS[owner % len(COLOURS)]}]{char}[/]"
            for char, owner in row
        )
        console.print(f"{label:>{LABEL_WIDTH}} ┤{text}", highlight=False, soft_wrap=True)
    x_low, x_high = chart.x_range
    left, right = axis_label(x_low), axis_label(x_high)
    axis = escape(f"{inert(x_label)[:LABEL_WIDTH]:>{LABEL_WIDTH}}")
    console.print(f"{axis} └" + "─" * width, highlight=False)
    gap = max(width - len(left) - len(right), 1)
    console.print(" " * (LABEL_WIDTH + 2) + left + " " * gap + right, highlight=False)
    for index, line in enumerate(series):
        if markers:
            swatch = markers[index % len(markers)]
        else:
            swatch = f"[{COLOURS[index % len(COLOURS)]}]━━[/]"
        console.print(f"  {swatch} {escape(inert(line.label))}", highlight=False)
    if left_out:
        console.print(f"[dim]{escape(left_out)}[/dim]", highlight=False)
