"""Tables for the CLI: which columns `gitcfg log` shows, and how they print (rich, json, csv, md).

The choice of columns is data (Report); rendering is the only place rich is imported.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from gitcfg import aggregate, query
from gitcfg.where import Row

FORMATS = ("table", "json", "csv", "md")
RUN_COLUMNS = ("id", "name", "status", "age", "commit")


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the row key (`config.lr`, `summary.val_acc`, `runs`)
    header: str  # what the user sees and what json/csv use as the field name
    kind: str = "value"  # value | config | metric | agg


@dataclass(frozen=True, slots=True)
class Report:
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    constants: Mapping[str, Any] = field(default_factory=dict)  # config keys equal in every row
    warnings: tuple[str, ...] = ()

    def head(self, limit: int) -> Report:
        return replace(self, rows=self.rows[: max(limit, 0)])


def _headers(keys: Sequence[str]) -> dict[str, str]:
    """Short names (`lr`, `val_acc`) unless a config key and a metric share one."""
    short = {k: k.split(".", 1)[1] if k.startswith(("config.", "summary.")) else k for k in keys}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: (name if counts[name] == 1 else k) for k, name in short.items()}


def runs_table(rows: Sequence[Row], all_keys: bool = False, now: datetime | None = None) -> Report:
    """One row per run: id, name, status, age, commit, config keys that differ, summary metrics."""
    varying, constant = aggregate.differing_keys(rows, "config.")
    config_keys = list(varying) if not all_keys else [*varying, *constant]
    if all_keys:
        config_keys = [k for k in _ordered_keys(rows, "config.")]
    metric_keys = _ordered_keys(rows, "summary.")
    headers = _headers([*config_keys, *metric_keys])
    short = query.short_ids(r["id"] for r in rows)
    now = now or datetime.now(timezone.utc)
    table_rows = []
    for row in rows:
        out = dict(row)
        out["id"] = row["id"]
        out["_short_id"] = short[row["id"]]
        out["age"] = query.age_seconds(row.get("started"), now)
        out["commit"] = row.get("code_commit")
        table_rows.append(out)
    columns = [
        Column("id", "id"),
        Column("name", "name"),
        Column("status", "status"),
        Column("age", "age"),
        Column("commit", "commit"),
        *(Column(k, headers[k], "config") for k in config_keys),
        *(Column(k, headers[k], "metric") for k in metric_keys),
    ]
    return Report(tuple(columns), tuple(table_rows), {} if all_keys else constant)


def group_table(
    rows: Sequence[Row], keys: Sequence[str], aggs: Sequence[str] = ("mean", "std")
) -> Report:
    """One row per distinct value of `keys`: the value(s), run count, aggregates of each metric."""
    groups = aggregate.group_rows(rows, keys, aggs)
    metric_keys = aggregate.numeric_metrics(rows)
    headers = _headers([*groups[0].keys, *metric_keys]) if groups else {}
    key_columns = [Column(k, headers.get(k, k), "config") for k in (groups[0].keys if groups else keys)]
    table_rows = []
    for group in groups:
        out: dict[str, Any] = dict(zip(group.keys, group.values, strict=True))
        out["runs"] = group.count
        for metric in metric_keys:
            out[metric] = group.aggregates.get(metric, {})
        table_rows.append(out)
    columns = [*key_columns, Column("runs", "runs")]
    columns += [Column(m, headers[m], "agg") for m in metric_keys]
    _, constant = aggregate.differing_keys(rows, "config.")
    return Report(tuple(columns), tuple(table_rows), constant)


def _ordered_keys(rows: Sequence[Row], prefix: str) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key.startswith(prefix):
                seen.setdefault(key, None)
    return list(seen)


# --- rendering ---------------------------------------------------------------------------------


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def format_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _cell(column: Column, row: Mapping[str, Any]) -> str:
    value = row.get(column.key)
    if column.key == "status" and row.get("heartbeat_s") is not None:  # journal.add_heartbeats
        return f"{value} (hb {format_age(row['heartbeat_s'])})"
    if column.key == "id":
        return str(row.get("_short_id") or value)
    if column.key == "age":
        return format_age(value)
    if column.key == "commit":
        return str(value)[:8] if value else "–"
    if column.kind == "agg":
        aggs = value or {}
        if set(aggs) >= {"mean", "std"} and len(aggs) == 2:
            return aggregate.format_mean_std(aggs["mean"], aggs["std"])
        return " ".join(f"{k}={format_value(v)}" for k, v in aggs.items())
    return format_value(value)


def _plain_value(column: Column, row: Mapping[str, Any]) -> Any:
    value = row.get(column.key)
    if column.key == "age" and value is not None:
        return round(value, 3)
    return value


def emit(report: Report, output: str, console: Any) -> None:
    """Print `report` as a rich table (with a line of constant keys) or as json/csv/md on stdout."""
    if output == "json":
        data = [{c.header: _plain_value(c, r) for c in report.columns} for r in report.rows]
        console.file.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    if output in ("csv", "md"):
        headers, matrix = _flat_matrix(report)
        if output == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(headers)
            writer.writerows(matrix)
            console.file.write(buffer.getvalue())
        else:
            lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in matrix]
            console.file.write("\n".join(lines) + "\n")
        return
    from rich.table import Table

    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if report.constants:
        same = ", ".join(
            f"{k.removeprefix('config.')}={format_value(v)}" for k, v in report.constants.items()
        )
        console.print(f"[dim]same in every run: {same}[/dim]", overflow="fold")
    cells = [[_cell(c, row) for c in report.columns] for row in report.rows]
    shown = _fit_columns(report.columns, cells, console.width)
    hidden = [c.header for i, c in enumerate(report.columns) if i not in shown]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i in shown:
        column = report.columns[i]
        numeric = column.kind in ("metric", "agg") or column.key == "runs"
        table.add_column(
            column.header,
            justify="right" if numeric else "left",
            overflow="ellipsis",
            no_wrap=True,
            max_width=MAX_CELL if column.kind in ("config", "value") else None,
        )
    for line in cells:
        table.add_row(*(line[i] for i in shown))
    console.print(table)
    if hidden:
        console.print(
            f"[dim]not shown at this width: {', '.join(hidden)} "
            "(widen the terminal, or use --format json|csv|md)[/dim]"
        )


MAX_CELL = 28
# When the terminal is too narrow, columns go in this order (first dropped first).
_DROP_ORDER = ("name", "age", "commit")


def _fit_columns(columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indexes of the columns to show so the table fits `width`: drop name, age, commit, then
    the rightmost metric and config columns; id and status always stay."""
    widths = []
    for i, column in enumerate(columns):
        natural = max([len(column.header), *(len(line[i]) for line in cells)])
        widths.append(min(natural, MAX_CELL) if column.kind in ("config", "value") else natural)
    shown = list(range(len(columns)))

    def total() -> int:
        return sum(widths[i] for i in shown) + 2 * (len(shown) - 1)

    droppable = [i for name in _DROP_ORDER for i, c in enumerate(columns) if c.key == name]
    droppable += [i for i in reversed(range(len(columns))) if columns[i].kind in ("metric", "agg")]
    droppable += [i for i in reversed(range(len(columns))) if columns[i].kind == "config"][:-1]
    for index in droppable:
        if total() <= width:
            break
        if len(shown) > 2:
            shown.remove(index)
    return shown


def _flat_matrix(report: Report) -> tuple[list[str], list[list[str]]]:
    """Headers and string cells for csv/md: aggregates split into `metric.mean`, `metric.std`."""
    headers: list[str] = []
    extractors = []
    for column in report.columns:
        if column.kind == "agg":
            names = list(next((r[column.key] for r in report.rows if r.get(column.key)), {}))
            for name in names:
                headers.append(f"{column.header}.{name}")
                extractors.append(lambda r, c=column, n=name: (r.get(c.key) or {}).get(n))
        else:
            headers.append(column.header)
            extractors.append(lambda r, c=column: _plain_value(c, r))
    matrix = [["" if (v := get(r)) is None else _csv_text(v) for get in extractors] for r in report.rows]
    return headers, matrix


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
