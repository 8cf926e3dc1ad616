"""How `gitcfg log` renders: which columns and rows its table has (Report, built by log_report from
a query.Runs), and how they print: a rich table fitted to the terminal (table_fit.py), or json, csv, md.

Shapes of the machine formats:

- json: a list of objects keyed by the column headers. Run rows: `id` (full), `name`, `status`,
  `age` (seconds), `commit` (full), config keys (`lr`, `model.depth`), metrics (`val_acc`). Group
  rows: the group keys, `runs`, and each metric as `{"mean": .., "std": ..}` (the --agg chosen).
- csv / md: the same columns, one header row; each aggregate is its own column `val_acc.mean`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from gitcfg import aggregate, query
from gitcfg.errors import BadQuery, UnknownKey
from gitcfg.rows import close_keys, inert, inert_json, resolve_key
from gitcfg.values import format_value

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from rich.console import Console

    from gitcfg.cli.table_fit import Layout
    from gitcfg.query import Api, Grouping, Runs

FORMATS = ("table", "json", "csv", "md")
RUN_COLUMNS = ("id", "name", "status", "age", "commit")
DERIVED = {"age": "started", "commit": "code_commit"}  # report columns computed from row keys
TABLE_ROWS = 100  # rows a table shows without --limit (a terminal, not a pipe)
HIDDEN_NAMED = 50  # columns the `not shown at this width` line names; the rest are counted


class Column(NamedTuple):
    key: str  # the row key (`config.lr`, `summary.val_acc`, `runs`)
    header: str  # what the user sees and what json/csv use as the field name
    kind: str = "value"  # value | config | metric | agg


class Report(NamedTuple):
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    constants: Mapping[str, Any] = {}  # config keys equal in every row (never mutated)
    warnings: tuple[str, ...] = ()
    total: int | None = None  # rows before --limit (None: all are here)
    noun: str = "runs"  # what a row is: "runs" or "groups"
    # Column keys a narrow table keeps: id, status, the first config key, and the metric that
    # matters (the --sort key's, else the first); the rest are left out first.
    keep: tuple[str, ...] = ()

    def head(self, limit: int | None) -> Report:
        """The first `limit` rows (None or a negative limit: all)."""
        if limit is None or limit < 0 or limit >= len(self.rows):
            return self
        return self._replace(rows=self.rows[:limit], total=self.total or len(self.rows))


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
    aggs: Sequence[str] | None = None,
    over: str | None = None,
    sort: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    all_keys: bool = False,
    limit: int | None = None,
    now: datetime | None = None,
    say_total: bool = True,
) -> Report:
    """The table `gitcfg log` prints for `runs`: one row per run, or per group with group_by/over.

    `aggs` (default mean, std) needs groups: BadQuery without group_by or over, rather than
    ignoring them. `say_total`: keep the count of rows before `limit`, for a `showing 100 of
    10,000` note.
    """
    if aggs is not None and not group_by and over is None:
        raise BadQuery("--agg aggregates groups of runs: add --group-by KEY (or --over KEY)")
    if group_by or over is not None:
        grouping = runs.group_by(*group_by, aggs=aggs or ("mean", "std"), over=over)
        table = group_report(grouping, sort=sort, columns=_column_keys(runs, columns), limit=limit)
    else:
        table = runs_report(
            runs, sort=sort, columns=columns, all_keys=all_keys, limit=limit, now=now
        )
    return table if say_total else table._replace(total=None)


NO_RUNS = "no runs yet: call gitcfg.track() in a script, then gitcfg log"
NO_MATCH = "no runs match"


def split_values(values: Sequence[str] | None) -> list[str]:
    """`--columns a,b --columns c` -> [a, b, c]."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def query_log(
    api: Api,
    warn: Callable[[Sequence[str]], None],
    *,
    rev_range: str | None = None,
    where: Sequence[str] | None = None,
    status: Sequence[str] | None = None,
    group_by: Sequence[str] | None = None,
    agg: Sequence[str] | None = None,
    over: str | None = None,
    sort: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    all_keys: bool = False,
    limit: int | None = None,
    say_total: bool = False,
) -> Report | str:
    """`gitcfg log`'s query, its options as given on the command line (repeatable, `a,b` lists):
    the report (log_report) of the runs they select, or, when none, the message saying so
    (NO_MATCH, NO_RUNS). `warn` gets the query's warnings. The typer command (cli/query.py) and
    the console script's fast path (cli/entry.py) both call this."""
    with api.runs(
        where=list(where) if where else None, rev=rev_range, status=split_values(status) or None
    ) as runs:
        warn(runs.warnings)
        if not len(runs):
            return NO_MATCH if rev_range or where or status else NO_RUNS
        return log_report(
            runs,
            group_by=group_by or (),
            aggs=split_values(agg) or None,
            over=over,
            sort=sort or (),
            columns=split_values(columns) or None,
            all_keys=all_keys,
            limit=limit,
            say_total=say_total,
        )


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
    """One row per run: id, name, status, age, commit, the run labels (group, project, entity,
    job_type, script) and config keys that differ, summary metrics."""
    if columns is not None:
        shown = [_run_column_key(runs, name) for name in columns]
        shown = ["id", *(key for key in shown if key != "id")]
        constant: dict[str, Any] = {}
    else:
        shown, constant = runs.log_keys(all_keys)
    sort_specs = [_sort_spec(runs, spec) for spec in sort]
    fetch = [DERIVED.get(key, key) for key in shown]
    fetch += [spec.lstrip("-") for spec in sort_specs]
    total = len(runs)
    rows: list[Mapping[str, Any]] = list(runs.rows(fetch, limit=None if sort_specs else limit))
    if sort_specs:
        rows = aggregate.sort_rows(rows, sort_specs)
        if limit is not None and limit >= 0:
            rows = rows[:limit]
    if now is None:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
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
    metrics = [key for key in shown if key.startswith("summary.")]
    sorted_by = [spec.lstrip("-") for spec in sort_specs if spec.lstrip("-") in metrics]
    first_config = next((key for key in shown if key.startswith("config.")), None)
    keep = ("id", "status", *(sorted_by or metrics)[:1], *([first_config] if first_config else []))
    return Report(tuple(table_columns), tuple(table_rows), constant, total=total, keep=keep)


def _run_column_key(runs: Runs, name: str) -> str:
    """A --columns/--sort name as a run-row key; `age` and `commit` are report columns."""
    if name in DERIVED or name == "id":
        return name
    return runs.resolve(name, "--columns")


def _sort_spec(runs: Runs, spec: str) -> str:
    """`-val_acc` -> `-summary.val_acc`; `age` sorts by start time, newest first."""
    name, descending = aggregate.parse_sort_spec(spec)
    if not name:
        raise BadQuery(f"empty key in --sort {spec!r}; write --sort KEY or --sort -KEY")
    try:
        key = _run_column_key(runs, name)
    except UnknownKey as e:
        raise UnknownKey(name, e.suggestions, "--sort") from None
    if key == "age":  # youngest first, as ages grow
        return ("" if descending else "-") + "started"
    if spec[:1] not in ("-", "+") and query.summary_goal(runs, key) == "maximize":
        descending = True  # define_metric(goal="maximize"): best first; `+KEY` sorts ascending
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
                f"numeric summary metric (metrics: {', '.join(query.short_name(m) for m in metrics) or 'none'})"
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
    sorted_by: list[str] = []
    if sort:
        table_rows, sorted_by = _sort_groups(table_rows, grouping, metrics, sort)
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
        tuple(grouping.warnings(metrics)),
        total=total,
        noun="groups",
        keep=(*grouping.keys[:1], "runs", *[k for k in [*sorted_by, *metrics] if k in metrics][:1]),
    )


def _sort_groups(
    rows: list[dict[str, Any]], grouping: Grouping, metrics: Sequence[str], specs: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Sort group rows by group keys, `runs`, or a metric's first aggregate (mean by default);
    return them and the keys sorted by."""
    by = "mean" if "mean" in grouping.aggs else grouping.aggs[0]
    known = [*grouping.keys, "runs", *metrics]
    sortable, keys, names = [], [], []
    for spec in specs:
        name, descending = aggregate.parse_sort_spec(spec)
        key = resolve_key(known, name)
        if key is None:
            raise UnknownKey(name, close_keys(name, known), "--sort")
        keys.append(("-" if descending else "") + key)
        names.append(key)
    for index, row in enumerate(rows):
        flat: dict[str, Any] = {"_index": index}
        for key in known:
            value = row.get(key)
            flat[key] = (value or {}).get(by) if key in metrics else value
        sortable.append(flat)
    order = aggregate.sort_rows(sortable, keys)
    sorted_rows = [rows[index] for index in (cast(int, flat["_index"]) for flat in order)]
    return sorted_rows, names


# --- rendering ---------------------------------------------------------------------------------


class _TableColumn(NamedTuple):
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
        return query.format_age(value)
    if column.key == "status" and row.get("heartbeat_s") is not None:
        return f"{value} (hb {query.format_age(row['heartbeat_s'])})"
    if column.key == "commit":
        return str(value)[:8] if value else "–"
    if column.kind == "agg":
        aggs = value or {}
        if table_column.agg == ("mean", "std"):
            return aggregate.format_mean_std(aggs.get("mean"), aggs.get("std"))
        return format_value(aggs.get(table_column.agg[0]))
    # Config values and group labels are shown exactly: they are columns because they differ.
    return format_value(value, 4 if column.kind == "metric" else None)


def _plain_value(column: Column, row: Mapping[str, Any]) -> object:
    value = row.get(column.key)
    if column.key == "age" and value is not None:
        return round(value, 3)
    return value


def emit(report: Report, output: str, console: Any, err_console: Any | None = None) -> None:
    """Print `report` as a rich table (with a line of constant keys) or as json/csv/md on stdout.

    Warnings go to `err_console` (stderr) when given, so that pipes get clean data. JSON keeps
    NaN and infinities as Python's json writes them (NaN, Infinity), as metrics.jsonl does.
    """
    warn_to = err_console or console
    for warning in report.warnings:
        from rich.markup import escape

        warn_to.print(f"[yellow]warning:[/yellow] {escape(inert(warning))}", highlight=False)
    if output == "json":
        data = [{c.header: _plain_value(c, r) for c in report.columns} for r in report.rows]
        text = inert_json(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        console.file.write(text + "\n")
        return
    if output in ("csv", "md"):
        headers, matrix = _flat_matrix(report)
        if output == "csv":
            import csv

            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")  # quotes cells holding \n, ", ","
            writer.writerow(inert(header, "\r\n\t") for header in headers)
            writer.writerows([inert(cell, "\r\n\t") for cell in line] for line in matrix)
            console.file.write(buffer.getvalue())
        else:
            lines = [_md_row(headers), "|" + "---|" * len(headers)]
            lines += [_md_row(line) for line in matrix]
            console.file.write("\n".join(lines) + "\n")
        return
    from rich.markup import escape

    if report.constants:
        same = ", ".join(
            inert(f"{k.removeprefix('config.')}={format_value(v, None)}")
            for k, v in report.constants.items()
        )
        console.print(f"[dim]same in every run: {escape(same)}[/dim]", highlight=False)
    if report.rows:
        hidden = _print_table(report, console)
    else:  # --limit 0
        hidden = []
    if report.total is not None and report.total > len(report.rows):
        console.print(
            f"[dim]showing {len(report.rows)} of {report.total:,} {report.noun} "
            "(--limit N for more, --limit -1 for all)[/dim]",
            highlight=False,
        )
    if hidden:
        named = ", ".join(hidden[:HIDDEN_NAMED])
        if len(hidden) > HIDDEN_NAMED:
            named += f" and {len(hidden) - HIDDEN_NAMED:,} more"
        # Wrapped at spaces only: `--format=json|csv|md` is one word, so it is never split.
        console.print(
            f"[dim]not shown at this width: {escape(inert(named))} "
            "(widen the terminal or use --format=json|csv|md)[/dim]",
            highlight=False,
        )


def _md_row(cells: Sequence[str]) -> str:
    """One Markdown table row: `|` escaped, line breaks as <br> (a raw one would end the table)."""
    escaped = (
        inert(cell, "\r\n")
        .replace("|", "\\|")
        .replace("\r\n", "<br>")
        .replace("\r", "<br>")
        .replace("\n", "<br>")
        for cell in cells
    )
    return "| " + " | ".join(escaped) + " |"


def _print_table(report: Report, console: Any) -> list[str]:
    """Print the rows as a rich table that fits the console; return the headers left out."""
    from rich.table import Table
    from rich.text import Text

    from gitcfg.cli.table_fit import fit_columns, shorten_all  # a table only: not json, csv, md

    table_columns = _table_columns(report)
    cells = [[inert(_cell(c, row)) for c in table_columns] for row in report.rows]
    keep: list[int] = []
    for key in report.keep:  # an aggregated metric keeps its first table column
        keep += [i for i, c in enumerate(table_columns) if c.column.key == key][:1]
    # A metric split into several aggregates (`--agg mean,std,min,max`) gets a header row of its
    # own over them, so each column's header is only `mean ± std`, `min`, ...: repeated in every
    # column, a long metric name had to be cut to `train… min` even at 200 columns.
    keys = [c.column.key for c in table_columns if c.column.kind == "agg"]
    grouped = any(keys.count(key) > 1 for key in keys)
    headers = [inert(_sub_header(c) if grouped else c.header) for c in table_columns]
    if grouped and keep:  # the metric that matters keeps its whole name over its columns
        headers = _room_for_kept_metric(table_columns, headers, cells, keep)
    layout = fit_columns([c.column for c in table_columns], headers, cells, console.width, keep)
    spans: list[tuple[int, int, str]] = []
    if grouped:
        widths, spans = _metric_spans(table_columns, layout, console.width)
        layout = layout._replace(widths=widths)
    hidden: dict[str, None] = {}  # an aggregated metric left out whole is named once
    shown = set(layout.shown)
    columns_shown = {table_columns[i].column for i in shown}
    for i, table_column in enumerate(table_columns):
        if i not in shown:
            whole = table_column.column not in columns_shown
            hidden[table_column.column.header if whole else table_column.header] = None
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, header, width in zip(layout.shown, layout.headers, layout.widths, strict=True):
        column = table_columns[i].column
        numeric = column.kind in ("metric", "agg") or column.key == "runs"
        table.add_column(
            Text(header),
            justify="right" if numeric else "left",
            overflow="ellipsis",
            no_wrap=True,
            width=width,
        )
    shortened = [
        shorten_all([line[i] for line in cells], w)
        for i, w in zip(layout.shown, layout.widths, strict=True)
    ]
    for r in range(len(cells)):
        table.add_row(*(Text(column[r]) for column in shortened))
    if spans:
        console.print(Text(_span_line(spans), style="bold"), highlight=False)
    console.print(table, highlight=False)
    return list(hidden)


def _sub_header(table_column: _TableColumn) -> str:
    """The header of an aggregate's own column under its metric's span: `mean ± std`, `max`."""
    if table_column.column.kind != "agg":
        return table_column.header
    return " ± ".join(table_column.agg)


def _room_for_kept_metric(
    table_columns: Sequence[_TableColumn],
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    keep: Sequence[int],
) -> list[str]:
    """`headers` with the first column of each kept metric padded so that its columns together
    are as wide as the metric's name (fit_columns keeps a kept metric's column whole)."""
    from gitcfg.cli.table_fit import GAP

    out = list(headers)
    for first in keep:
        column = table_columns[first].column
        if column.kind != "agg":
            continue
        group = [i for i, c in enumerate(table_columns) if c.column.key == column.key]
        natural = [max([len(headers[i]), *(len(line[i]) for line in cells)]) for i in group]
        need = len(column.header) - (sum(natural[1:]) + GAP * (len(group) - 1))
        out[first] = headers[first].rjust(need)
    return out


def _metric_spans(
    table_columns: Sequence[_TableColumn], layout: Layout, width: int
) -> tuple[list[int], list[tuple[int, int, str]]]:
    """The shown columns' widths and (start, width, metric header) of each metric's columns; a
    span narrower than its header widens its first column while the table has room."""
    from gitcfg.cli.table_fit import GAP

    groups: list[tuple[str, list[int]]] = []  # (metric header, positions in layout.shown)
    previous = None
    for position, index in enumerate(layout.shown):
        column = table_columns[index].column
        if column.kind == "agg" and previous == column.key:
            groups[-1][1].append(position)
        elif column.kind == "agg":
            groups.append((column.header, [position]))
        previous = column.key
    widths = list(layout.widths)
    room = width - (sum(widths) + GAP * (len(widths) - 1))

    def span(positions: Sequence[int]) -> int:
        return sum(widths[p] for p in positions) + GAP * (len(positions) - 1)

    for header, positions in groups:
        grow = min(max(len(header) - span(positions), 0), max(room, 0))
        widths[positions[0]] += grow
        room -= grow
    starts = [sum(widths[:p]) + GAP * p for p in range(len(widths))]
    return widths, [(starts[ps[0]], span(ps), header) for header, ps in groups]


def _span_line(spans: Sequence[tuple[int, int, str]]) -> str:
    """The line over the table: each metric's name centred over its columns, `── name ──`."""
    from gitcfg.cli.table_fit import shorten

    line = ""
    for start, width, header in spans:
        label = shorten(inert(header), width)
        fill = "─" if width - len(label) >= 4 else " "  # a rule only where it shows the span
        if fill == "─":
            label = f" {label} "
        left = (width - len(label)) // 2
        text = fill * left + label + fill * (width - len(label) - left)
        line = line.ljust(start) + text
    return line.rstrip()


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


def print_log(
    report: Report, output: str, state_dir: Path, console: Console, err_console: Console
) -> None:
    """`gitcfg log`: `report` (log_report) with the heartbeats of runs running on this machine."""
    add_heartbeats(report.rows, state_dir)
    emit(report, output, console, err_console)


def add_heartbeats(rows: Sequence[Mapping[str, Any]], state_dir: Path) -> None:
    """Mark runs running on this machine with their last heartbeat: `running (hb 3s ago)`.

    Sets `heartbeat_s` in place on the report's run rows (dicts built by log_report).
    """
    running = [
        cast(dict[str, Any], row)
        for row in rows
        if row.get("status") == "running" and "id" in row  # not a group row (`-g status`)
    ]
    if running:
        from gitcfg.journal import heartbeat_ages

        ages = heartbeat_ages(state_dir, (str(row["id"]) for row in running))
        for row in running:
            if row["id"] in ages:
                row["heartbeat_s"] = ages[row["id"]]


def say_empty(message: str, output: str) -> None:
    """An empty result: the message for people, an empty document for pipes."""
    from gitcfg.cli.app import echo  # here: entry.py's fast path imports this module, not typer

    if output == "json":
        echo("[]")
    if output == "table":
        echo(message)
    else:
        echo(f"gitcfg: {message}", err=True)
