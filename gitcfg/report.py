"""Tables for the CLI: which columns `gitcfg log` shows, and how they print (rich, json, csv, md).

The choice of columns and rows is data (Report, built by log_report from a query.Runs); rendering
(emit) is the only place rich is imported. Shapes of the machine formats:

- json: a list of objects keyed by the column headers. Run rows: `id` (full), `name`, `status`,
  `age` (seconds), `commit` (full), config keys (`lr`, `model.depth`), metrics (`val_acc`). Group
  rows: the group keys, `runs`, and each metric as `{"mean": .., "std": ..}` (the --agg chosen).
- csv / md: the same columns, one header row; each aggregate is its own column `val_acc.mean`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from gitcfg import aggregate, query
from gitcfg.errors import BadQuery, UnknownKey
from gitcfg.rows import format_value
from gitcfg.where import close_keys

if TYPE_CHECKING:
    from gitcfg.query import Grouping, Runs

FORMATS = ("table", "json", "csv", "md")
RUN_COLUMNS = ("id", "name", "status", "age", "commit")
DERIVED = {"age": "started", "commit": "code_commit"}  # report columns computed from row keys
TABLE_ROWS = 100  # rows a table shows without --limit (a terminal, not a pipe)


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
    total: int | None = None  # rows before --limit (None: all are here)
    noun: str = "runs"  # what a row is: "runs" or "groups"

    def head(self, limit: int | None) -> Report:
        """The first `limit` rows (None or a negative limit: all)."""
        if limit is None or limit < 0 or limit >= len(self.rows):
            return self
        return replace(self, rows=self.rows[:limit], total=self.total or len(self.rows))


def _headers(keys: Sequence[str]) -> dict[str, str]:
    """Short names (`lr`, `val_acc`) unless a config key and a metric share one."""
    short = {k: k.split(".", 1)[1] if k.startswith(("config.", "summary.")) else k for k in keys}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: (name if counts[name] == 1 else k) for k, name in short.items()}


# --- building reports --------------------------------------------------------------------------


def log_report(
    runs: Runs,
    *,
    group_by: Sequence[str] = (),
    aggs: Sequence[str] = ("mean", "std"),
    over: str | None = None,
    sort: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    all_keys: bool = False,
    limit: int | None = None,
    now: datetime | None = None,
    say_total: bool = True,
) -> Report:
    """The table `gitcfg log` prints for `runs`: one row per run, or per group with group_by/over.

    `say_total`: keep the count of rows before `limit`, for a `showing 100 of 10,000` note.
    """
    if group_by or over is not None:
        grouping = runs.group_by(*group_by, aggs=aggs, over=over)
        table = group_report(grouping, sort=sort, columns=_column_keys(runs, columns), limit=limit)
    else:
        table = runs_report(
            runs, sort=sort, columns=columns, all_keys=all_keys, limit=limit, now=now
        )
    return table if say_total else replace(table, total=None)


def _column_keys(runs: Runs, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    return [runs.resolve(name, "--columns") for name in columns]


def runs_report(
    runs: Runs,
    *,
    sort: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    all_keys: bool = False,
    limit: int | None = None,
    now: datetime | None = None,
) -> Report:
    """One row per run: id, name, status, age, commit, config keys that differ, summary metrics."""
    varying, constant = runs.differing("config.")
    if columns is not None:
        shown = [_run_column_key(runs, name) for name in columns]
        shown = ["id", *(key for key in shown if key != "id")]
        constant = {}
    else:
        config_keys = runs.keys("config.") if all_keys else varying
        metric_keys = runs.keys("summary.")
        shown = ["id", "name", "status", "age", "commit", *config_keys, *metric_keys]
        if all_keys:
            constant = {}
    sort_specs = [_sort_spec(runs, spec, _run_column_key) for spec in sort]
    fetch = [DERIVED.get(key, key) for key in shown]
    fetch += [spec.lstrip("-") for spec in sort_specs]
    total = len(runs)
    rows: list[Mapping[str, Any]] = list(runs.rows(fetch, limit=None if sort_specs else limit))
    if sort_specs:
        rows = aggregate.sort_rows(rows, sort_specs)
        if limit is not None and limit >= 0:
            rows = rows[:limit]
    now = now or datetime.now(timezone.utc)
    short = runs.short_ids(row["id"] for row in rows)
    table_rows = []
    for row in rows:
        out = dict(row)
        out["_short_id"] = short[row["id"]]
        out["age"] = query.age_seconds(row.get("started"), now)
        out["commit"] = row.get("code_commit")
        table_rows.append(out)
    headers = _headers([key for key in shown if key.startswith(("config.", "summary."))])
    table_columns = []
    for key in shown:
        kind = (
            "config"
            if key.startswith("config.")
            else "metric"
            if key.startswith("summary.")
            else "value"
        )
        table_columns.append(Column(key, headers.get(key, key), kind))
    return Report(tuple(table_columns), tuple(table_rows), constant, total=total)


def _run_column_key(runs: Runs, name: str) -> str:
    """A --columns/--sort name as a run-row key; `age` and `commit` are report columns."""
    if name in DERIVED or name == "id":
        return name
    return runs.resolve(name, "--columns")


def _sort_spec(runs: Runs, spec: str, resolve: Any) -> str:
    """`-val_acc` -> `-summary.val_acc`; `age` sorts by start time, newest first."""
    descending = spec.startswith("-")
    name = spec[1:] if spec[:1] in ("-", "+") else spec
    if not name:
        raise BadQuery(f"empty key in --sort {spec!r}; write --sort KEY or --sort -KEY")
    try:
        key = str(resolve(runs, name))
    except UnknownKey as e:
        raise UnknownKey(name, e.suggestions, "--sort") from None
    if key == "age":  # youngest first, as ages grow
        return ("" if descending else "-") + "started"
    return ("-" if descending else "") + DERIVED.get(key, key)


def group_report(
    grouping: Grouping,
    *,
    sort: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> Report:
    """One row per group: the group's values, its run count, the aggregates of each metric."""
    metrics = list(grouping.metrics)
    if columns is not None:
        unknown = [key for key in columns if key not in metrics and key not in grouping.keys]
        if unknown:
            raise BadQuery(
                f"--columns with --group-by lists metrics to aggregate; {unknown[0]!r} is not a "
                f"numeric summary metric (metrics: {', '.join(_short(m) for m in metrics) or 'none'})"
            )
        metrics = [key for key in columns if key in metrics]
    headers = _headers([*grouping.keys, *metrics])
    table_rows = []
    for group in grouping.groups:
        out: dict[str, Any] = dict(zip(grouping.keys, group.values, strict=True))
        out["runs"] = group.count
        for metric in metrics:
            out[metric] = group.aggregates.get(metric, {})
        table_rows.append(out)
    if sort:
        table_rows = _sort_groups(table_rows, grouping, metrics, sort)
    total = len(table_rows)
    if limit is not None and limit >= 0:
        table_rows = table_rows[:limit]
    table_columns = [Column(key, headers[key], "config") for key in grouping.keys]
    table_columns.append(Column("runs", "runs"))
    table_columns += [Column(metric, headers[metric], "agg") for metric in metrics]
    return Report(
        tuple(table_columns),
        tuple(table_rows),
        grouping.constants,
        tuple(_group_warnings(grouping, metrics)),
        total=total,
        noun="groups",
    )


def _short(key: str) -> str:
    return key.split(".", 1)[1] if key.startswith(("config.", "summary.")) else key


def _sort_groups(
    rows: list[dict[str, Any]], grouping: Grouping, metrics: Sequence[str], specs: Sequence[str]
) -> list[dict[str, Any]]:
    """Sort group rows by group keys, `runs`, or a metric's first aggregate (mean by default)."""
    by = "mean" if "mean" in grouping.aggs else grouping.aggs[0]
    known = [*grouping.keys, "runs", *metrics]
    sortable, keys = [], []
    for spec in specs:
        descending = spec.startswith("-")
        name = spec[1:] if spec[:1] in ("-", "+") else spec
        key = _pick(name, known)
        if key is None:
            raise UnknownKey(name, close_keys(name, known), "--sort")
        keys.append(("-" if descending else "") + key)
    for index, row in enumerate(rows):
        flat: dict[str, Any] = {"_index": index}
        for key in known:
            value = row.get(key)
            flat[key] = (value or {}).get(by) if key in metrics else value
        sortable.append(flat)
    order = aggregate.sort_rows(sortable, keys)
    return [rows[index] for index in (cast(int, flat["_index"]) for flat in order)]


def _pick(name: str, known: Sequence[str]) -> str | None:
    for candidate in (name, "config." + name, "summary." + name):
        if candidate in known:
            return candidate
    return None


def _group_warnings(grouping: Grouping, metrics: Sequence[str]) -> list[str]:
    warnings = []
    if grouping.over is not None:
        over = _short(grouping.over)
        groups = ", ".join(_short(key) for key in grouping.keys) or "the other keys"
        for key, values in grouping.confounders.items():
            shown = ", ".join(format_value(v) for v in values[:4]) + (
                ", ..." if len(values) > 4 else ""
            )
            warnings.append(
                f"{_short(key)} also varies inside groups of {groups} ({shown}), not only {over}: "
                f"the comparison is confounded; add --group-by {_short(key)} or filter with --where"
            )
    for metric in metrics:
        skipped = sum(group.skipped.get(metric, 0) for group in grouping.groups)
        if skipped:
            warnings.append(f"{_short(metric)}: {skipped} non-finite values (nan/inf) left out")
    return warnings


# --- rendering ---------------------------------------------------------------------------------


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


@dataclass(frozen=True, slots=True)
class _TableColumn:
    """One column as a table prints it: an aggregate column splits into mean ± std and the rest."""

    column: Column
    header: str
    agg: tuple[str, ...] = ()  # for an agg column: ("mean", "std") or one aggregate


def _table_columns(report: Report) -> list[_TableColumn]:
    out = []
    for column in report.columns:
        if column.kind != "agg":
            out.append(_TableColumn(column, column.header))
            continue
        names = list(next((r[column.key] for r in report.rows if r.get(column.key)), {}))
        if "mean" in names and "std" in names:
            out.append(_TableColumn(column, column.header, ("mean", "std")))
            names = [n for n in names if n not in ("mean", "std")]
        out += [_TableColumn(column, f"{column.header} {name}", (name,)) for name in names]
    return out


def _cell(table_column: _TableColumn, row: Mapping[str, Any]) -> str:
    column = table_column.column
    value = row.get(column.key)
    if column.key == "id":
        return str(row.get("_short_id") or value)
    if column.key == "age":
        return format_age(value)
    if column.key == "status" and row.get("heartbeat_s") is not None:
        return f"{value} (hb {format_age(row['heartbeat_s'])})"
    if column.key == "commit":
        return str(value)[:8] if value else "–"
    if column.kind == "agg":
        aggs = value or {}
        if table_column.agg == ("mean", "std"):
            return aggregate.format_mean_std(aggs.get("mean"), aggs.get("std"))
        return format_value(aggs.get(table_column.agg[0]))
    return format_value(value)


def _plain_value(column: Column, row: Mapping[str, Any]) -> Any:
    value = row.get(column.key)
    if column.key == "age" and value is not None:
        return round(value, 3)
    return value


def emit(report: Report, output: str, console: Any, err_console: Any | None = None) -> None:
    """Print `report` as a rich table (with a line of constant keys) or as json/csv/md on stdout.

    Warnings go to `err_console` (stderr) when given, so that pipes get clean data.
    """
    warn_to = err_console or console
    for warning in report.warnings:
        warn_to.print(f"[yellow]warning:[/yellow] {warning}", overflow="fold", highlight=False)
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
            lines += [
                "| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in matrix
            ]
            console.file.write("\n".join(lines) + "\n")
        return
    from rich.table import Table

    if report.constants:
        same = ", ".join(
            f"{k.removeprefix('config.')}={format_value(v)}" for k, v in report.constants.items()
        )
        console.print(f"[dim]same in every run: {same}[/dim]", overflow="fold", highlight=False)
    table_columns = _table_columns(report)
    cells = [[_cell(c, row) for c in table_columns] for row in report.rows]
    shown = _fit_columns(
        [c.column for c in table_columns], cells, console.width, [c.header for c in table_columns]
    )
    hidden = list(dict.fromkeys(c.header for i, c in enumerate(table_columns) if i not in shown))
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i in shown:
        column = table_columns[i].column
        numeric = column.kind in ("metric", "agg") or column.key == "runs"
        table.add_column(
            table_columns[i].header,
            justify="right" if numeric else "left",
            overflow="ellipsis",
            no_wrap=True,
            max_width=MAX_CELL if column.kind in ("config", "value") else None,
        )
    for line in cells:
        table.add_row(*(line[i] for i in shown))
    console.print(table, highlight=False)
    if report.total is not None and report.total > len(report.rows):
        console.print(
            f"[dim]showing {len(report.rows)} of {report.total:,} {report.noun} "
            "(--limit N for more, --limit -1 for all)[/dim]",
            highlight=False,
        )
    if hidden:
        console.print(
            f"[dim]not shown at this width: {', '.join(hidden)} "
            "(widen the terminal or use --format json|csv|md)[/dim]",
            overflow="fold",
            highlight=False,
        )


MAX_CELL = 28
# When the terminal is too narrow, columns go in this order (first dropped first).
_DROP_ORDER = ("name", "age", "commit")


def _fit_columns(
    columns: Sequence[Column],
    cells: Sequence[Sequence[str]],
    width: int,
    headers: Sequence[str] | None = None,
) -> list[int]:
    """Indexes of the columns to show so the table fits `width`: drop name, age, commit, then
    the rightmost metric and config columns; id and status always stay."""
    headers = headers or [column.header for column in columns]
    widths = []
    for i, column in enumerate(columns):
        natural = max([len(headers[i]), *(len(line[i]) for line in cells)])
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
    cells: list[tuple[Column, str | None]] = []  # (column, aggregate name or None)
    for column in report.columns:
        if column.kind == "agg":
            names = list(next((r[column.key] for r in report.rows if r.get(column.key)), {}))
            headers += [f"{column.header}.{name}" for name in names]
            cells += [(column, name) for name in names]
        else:
            headers.append(column.header)
            cells.append((column, None))

    def text(row: Mapping[str, Any], column: Column, agg: str | None) -> str:
        value = _plain_value(column, row) if agg is None else (row.get(column.key) or {}).get(agg)
        return "" if value is None else _csv_text(value)

    return headers, [[text(row, column, agg) for column, agg in cells] for row in report.rows]


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
