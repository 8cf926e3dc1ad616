"""HTML tables for notebooks: how `Runs`, `Grouping` and `StoredRun` show in Jupyter.

A pure renderer: query.py chooses the columns and formats the cells (as `gitcfg log` does), this
writes them as a plain `<table>` with inline styles, every header and cell escaped with
`html.escape` (names, keys and values come from runs, pulled ones too), no JavaScript and no
external CSS, so the tables survive static notebook renderers. A long table is cut as pandas
cuts one: the first and last rows around a `…` row, and the count below.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

EDGE_ROWS = 5  # rows kept at each end of a cut table
_TABLE = '<table class="gitcfg" style="border-collapse:collapse">'
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd"


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(text: str, numeric: bool, tag: str = "td") -> str:
    align = "right" if numeric else "left"
    return f'<{tag} style="{_CELL};text-align:{align}">{_escape(text)}</{tag}>'


def _row(cells: Sequence[str], numeric: Sequence[bool]) -> str:
    return "<tr>" + "".join(_cell(c, n) for c, n in zip(cells, numeric, strict=True)) + "</tr>"


def html_table(
    headers: Sequence[str],
    numeric: Sequence[bool],
    rows: Sequence[Sequence[str]],
    caption: str = "",
    noun: str = "rows",
    max_rows: int = 60,
) -> str:
    """The table; numeric columns right-aligned. More than `max_rows` rows: the first and last
    EDGE_ROWS around a `…` row, and `N <noun>` below."""
    parts = [_TABLE]
    if caption:
        parts.append(f'<caption style="text-align:left">{_escape(caption)}</caption>')
    parts.append("<thead><tr>")
    parts += [_cell(h, n, "th") for h, n in zip(headers, numeric, strict=True)]
    parts.append("</tr></thead><tbody>")
    cut = len(rows) > max_rows
    head = rows[:EDGE_ROWS] if cut else rows
    parts += [_row(cells, numeric) for cells in head]
    if cut:
        parts.append(_row(["…"] * len(headers), numeric))
        parts += [_row(cells, numeric) for cells in rows[-EDGE_ROWS:]]
    parts.append("</tbody></table>")
    if cut:
        parts.append(f"<p>{len(rows)} {_escape(noun)}</p>")
    return "".join(parts)
