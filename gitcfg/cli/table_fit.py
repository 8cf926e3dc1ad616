"""Fitting a table to the terminal: which columns stay, how wide, under which headers.

Pure: text in, widths out (no rich). `gitcfg log`'s table (tables.py) is the user; the rules are in
fit_columns' docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol


class FitColumn(Protocol):
    """What fitting needs of a column (tables.Column has it)."""

    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> str: ...


ELLIPSIS = "…"
GAP = 2  # spaces between columns (rich's padding of 1 on each side, none at the edges)
MIN_CELL = 12  # a long config value or name is cut (in the middle) to no less than this
MIN_HEADER = 10  # a long header is cut to no less than this (or its content's width)
# When the terminal is too narrow, these go first (first dropped first); then the metrics from
# the right, then the config and other columns from the right, except those Report.keep names.
_DROP_FIRST = ("name", "age", "commit")
_UNCUT = ("id", "status", "age", "commit")  # short already, and cut they would mislead


def shorten(text: str, width: int, head: int | None = None) -> str:
    """`text` cut to `width` characters with `…` for the middle; `head` characters stay in front
    (default a third: the tail of ids, paths and shard names tells values apart)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head = keep // 3 if head is None else min(head, keep)
    return text[:head] + ELLIPSIS + text[len(text) - (keep - head) :]


def shorten_all(texts: Sequence[str], width: int, head: int | None = None) -> list[str]:
    """Each text shortened to `width`; the cut moves until different texts still look different
    (when some cut can tell them apart)."""
    distinct = set(texts)
    if all(len(text) <= width for text in distinct) or width <= 1:
        return [shorten(text, width) for text in texts]
    keep = width - 1
    first = keep // 3 if head is None else min(head, keep)
    for split in (first, *(h for h in range(keep + 1) if h != first)):
        cut = {text: shorten(text, width, split) for text in distinct}
        if len(set(cut.values())) == len(distinct):
            return [cut[text] for text in texts]
    return [shorten(text, width, first) for text in texts]


class Layout(NamedTuple):
    shown: list[int]  # the indexes of the columns shown, in order
    widths: list[int]  # each shown column's width
    headers: list[str]  # each shown column's header, shortened to fit its width


def fit_columns(
    columns: Sequence[FitColumn],
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    width: int,
    keep: Sequence[int] = (),
) -> Layout:
    """Which columns to show, how wide, under which headers, so that the table fits `width`.

    In turn, until it fits: drop name, age and commit; narrow long headers and long text cells
    (to MIN_HEADER, MIN_CELL, or their content), the widest first; drop the metrics from the
    right, then the config and other columns from the right. Columns in `keep` stay, and a
    metric among them keeps its whole header.
    """
    count = len(columns)
    content = [max((len(line[i]) for line in cells), default=0) for i in range(count)]
    natural = [max(len(headers[i]), content[i]) for i in range(count)]
    floor = []
    for i, column in enumerate(columns):
        cuttable = column.kind in ("config", "value") and column.key not in _UNCUT
        cell = min(content[i], MIN_CELL) if cuttable else content[i]
        if i in keep and column.kind in ("metric", "agg"):  # the result: its name stays whole
            floor.append(natural[i])
        else:
            floor.append(max(cell, min(len(headers[i]), MIN_HEADER)))
    shown = set(range(count))
    # Running sums of the shown columns' natural and floor widths: each drop is O(1), so that
    # fitting 100,000 config keys is linear (a sum per drop made it quadratic: 10k keys, 50 s).
    sums = [sum(natural), sum(floor)]

    def total(which: int) -> int:
        return sums[which] + GAP * (len(shown) - 1)

    def drop(index: int) -> None:
        shown.discard(index)
        sums[0] -= natural[index]
        sums[1] -= floor[index]

    kept = set(keep)
    first = [i for name in _DROP_FIRST for i, c in enumerate(columns) if c.key == name]
    metrics = [i for i in reversed(range(count)) if columns[i].kind in ("metric", "agg")]
    skip = set(first) | set(metrics)
    others = [i for i in reversed(range(count)) if i not in skip]
    for index in first:
        if total(0) <= width:
            break
        if index not in kept:
            drop(index)
    for index in (*metrics, *others):
        if total(1) <= width:
            break
        if index not in kept and index in shown:
            drop(index)
    # The widest columns give way first: every shown column is capped at the largest cap that
    # fits, and none goes below its floor.
    low, high = 0, max((natural[i] for i in shown), default=0)
    while low < high:
        cap = (low + high + 1) // 2
        capped = sum(max(floor[i], min(natural[i], cap)) for i in shown)
        if capped + GAP * (len(shown) - 1) <= width:
            low = cap
        else:
            high = cap - 1
    order = sorted(shown)
    widths = [max(floor[i], min(natural[i], low)) for i in order]
    return Layout(order, widths, _fit_headers([headers[i] for i in order], widths))


def _fit_headers(headers: Sequence[str], widths: Sequence[int]) -> list[str]:
    """Headers cut to their columns' widths: the last dotted part when that fits and no other
    header ends so (`model.depth` -> `depth`), else `…` in the middle, all still different."""
    tails: dict[str, int] = {}
    for header in headers:
        tail = header.rsplit(".", 1)[-1]
        tails[tail] = tails.get(tail, 0) + 1
    out = []
    for header, width in zip(headers, widths, strict=True):
        tail = header.rsplit(".", 1)[-1]
        if len(header) > width and tail != header and tails[tail] == 1 and len(tail) <= width:
            header = tail
        out.append(header)
    by_width: dict[int, list[int]] = {}
    for i, width in enumerate(widths):
        by_width.setdefault(width, []).append(i)
    for width, indexes in by_width.items():  # headers of one width are cut so they stay different
        cut = shorten_all([out[i] for i in indexes], width, head=(width - 1 + 1) // 2)
        for i, header in zip(indexes, cut, strict=True):
            out[i] = header
    return out
