"""The reading commands of `gitcfg`: log, diff, plot (registered on cli.app).

Each parses its options, makes one library call (query), and renders the result (tables, chart).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any, Optional

import typer

from gitcfg.cli.app import (
    MAX_HEIGHT,
    MAX_LIMIT,
    _console,
    _store,
    _warn,
    app,
    check_bound,
    check_format,
    echo,
)
from gitcfg.rows import format_value, inert, inert_json, runs_phrase

_COLOURS = ("cyan", "magenta", "yellow", "green", "blue", "red", "bright_cyan", "bright_magenta",
            "bright_yellow", "bright_green", "bright_blue", "bright_red")  # fmt: skip


def _api() -> Any:
    """The Api of the repository containing the cwd, with a progress bar for a slow cold cache."""
    from gitcfg.query import Api

    return Api(store=_store(), progress=_progress_bar())


def _progress_bar() -> Any:
    """A progress(done, total) callback that shows a rich bar on stderr once a second has passed."""
    started = time.monotonic()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            if time.monotonic() - started < 1.0 or done >= total:
                return
            from rich.progress import Progress

            bar = state["bar"] = Progress(console=_console(stderr=True), transient=True)
            bar.start()
            state["task"] = bar.add_task("reading runs into the query cache", total=total)
        bar.update(state["task"], completed=done, total=total)
        if done >= total:
            bar.stop()

    return update


def _split(values: list[str] | None) -> list[str]:
    """`--columns a,b --columns c` -> [a, b, c]."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _say_empty(message: str, output: str) -> None:
    """An empty result: the message for people, an empty document for pipes."""
    if output == "json":
        echo("[]")
    if output == "table":
        echo(message)
    else:
        echo(f"gitcfg: {message}", err=True)


# --- log ---------------------------------------------------------------------------------------


@app.command("log")
def log_command(
    rev_range: Annotated[
        Optional[str],
        typer.Argument(
            help="Only runs whose code commit is in this git range (main~10..main, v1.2.., HEAD).",
            show_default=False,
        ),
    ] = None,
    where: Annotated[
        Optional[list[str]],
        typer.Option(
            "--where",
            "-w",
            help="Filter, e.g. 'lr < 0.01 and status == finished' (repeatable: clauses are ANDed).",
            metavar="EXPR",
        ),
    ] = None,
    group_by: Annotated[
        Optional[list[str]],
        typer.Option(
            "--group-by", "-g", help="One row per value of KEY (repeatable).", metavar="KEY"
        ),
    ] = None,
    agg: Annotated[
        Optional[list[str]],
        typer.Option(
            "--agg",
            help="Aggregates of each metric per group: mean,std,min,max,count,median.",
            metavar="A,A",
        ),
    ] = None,
    over: Annotated[
        Optional[str],
        typer.Option(
            "--over",
            help="The key expected to vary inside a group (e.g. seed); warns when "
            "another key does. Alone, groups by every other differing config key.",
            metavar="KEY",
        ),
    ] = None,
    sort: Annotated[
        Optional[list[str]],
        typer.Option(
            "--sort",
            "-s",
            help="Sort by KEY, or -KEY for descending (repeatable).",
            metavar="[-]KEY",
        ),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(
            "--limit", "-n", help="At most N rows (-1: all; a table shows 100 by default)."
        ),
    ] = None,
    columns: Annotated[
        Optional[list[str]],
        typer.Option("--columns", "-c", help="Show these columns, in this order.", metavar="K,K"),
    ] = None,
    all_keys: Annotated[
        bool, typer.Option("--all-keys", help="Show every config key, not only those that differ.")
    ] = False,
    status: Annotated[
        Optional[list[str]],
        typer.Option(
            "--status", help="Only runs with this status (repeatable, or S,S).", metavar="S"
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--format", "-f", help="table, json, csv or md.")
    ] = "table",
) -> None:
    """List runs, newest first, showing only the config keys that differ.

    Examples: gitcfg log main~10.. --group-by lr --over seed;
    gitcfg log --where 'model.depth >= 18 and status == finished' --sort -val_acc -n 5
    """
    from gitcfg.cli import tables as report

    check_format(output, report.FORMATS)
    check_bound(limit, "--limit", MAX_LIMIT, "rows (-1: all)")
    api = _api()
    with api.runs(where=where or None, rev=rev_range, status=_split(status) or None) as runs:
        _warn(runs.warnings)
        if not len(runs):
            filtered = rev_range or where or status
            _say_empty("no runs match" if filtered else
                       "no runs yet: call gitcfg.track() in a script, then gitcfg log", output)  # fmt: skip
            return
        capped = limit is None and output == "table"  # a terminal: the newest 100, and a note
        if capped:
            limit = report.TABLE_ROWS
        table = report.log_report(
            runs,
            group_by=group_by or (),
            aggs=_split(agg) or None,
            over=over,
            sort=sort or (),
            columns=_split(columns) or None,
            all_keys=all_keys,
            limit=limit,
            say_total=capped or limit == 0,  # --limit 0: say how many runs there are
        )
    report.add_heartbeats(table.rows, api.store.repo.state_dir)
    report.emit(table, output, _console(), _console(stderr=True))


# --- diff --------------------------------------------------------------------------------------


@app.command("diff")
def diff_command(
    run_a: Annotated[str, typer.Argument(help="Run id, unique prefix or name.", metavar="A")],
    run_b: Annotated[str, typer.Argument(help="Run id, unique prefix or name.", metavar="B")],
    code: Annotated[
        bool, typer.Option("--code", help="Also the diff of their code (commit plus diff.patch).")
    ] = False,
    env: Annotated[
        bool,
        typer.Option("--env", help="Also their environments: packages, Python version, platform."),
    ] = False,
    output: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Show what differs between two runs: config, summary and run fields, side by side.

    Example: gitcfg diff 06fq8qz 06fq8r0 --code --env
    """
    from gitcfg import query

    check_format(output, ("table", "json"))
    api = _api()
    a, b = api.run(run_a), api.run(run_b)
    changes = query.diff_runs(a, b)
    console = _console()
    patch = (
        query.code_diff(api, a, b, color=output == "table" and console.is_terminal)
        if code
        else None
    )
    environment = query.env_diff(a, b) if env else None
    if output == "json":
        document: dict[str, Any] = {"a": a.id, "b": b.id}
        for section in ("config", "summary", "run"):
            document[section] = [_json_change(*change) for change in getattr(changes, section)]
        if patch is not None:
            document["code"] = patch.decode(errors="replace")
        if environment is not None:
            document["env"] = _json_env(environment)
        echo(inert_json(json.dumps(document, indent=2, ensure_ascii=False, default=str)))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("", overflow="fold")
    for record in (a, b):
        header = f"{record.id[:10]} {record.name or ''}".strip()
        table.add_column(escape(inert(header)), overflow="fold")
    sections = [("config", changes.config), ("summary", changes.summary), ("run", changes.run)]
    if environment is not None:
        sections.append(("environment", environment.run + environment.packages))
    for title, changed in sections:
        if not changed:
            continue
        table.add_row(f"[bold]{title}[/bold]", "", "")
        for key, left, right in changed:
            table.add_row(f"  {escape(inert(key))}", _side(left), _side(right))
    if not any(changed for _, changed in sections):
        console.print("same config, summary and run fields")
    else:
        console.print(table, highlight=False)
    if not changes.config:
        console.print("[dim]config: identical[/dim]", highlight=False)
    if environment is not None:
        console.print(_env_summary(environment), highlight=False)
    if patch is not None:
        console.file.flush()
        if patch:
            sys.stdout.write("\n")
            sys.stdout.flush()
            sys.stdout.buffer.write(patch)
            sys.stdout.flush()
        else:
            console.print("code: identical (same commit and patch)")


def _side(value: object) -> str:
    """A value as `diff` shows it: exact (these are the values that differ), markup escaped."""
    from rich.markup import escape

    from gitcfg.query import MISSING

    if value is MISSING:
        return "[dim](missing)[/dim]"
    return escape(inert(format_value(value, None)))


def _env_summary(environment: Any) -> str:
    """`packages: 1 added, 2 changed`, `environment: identical`, or which run has no list."""
    from gitcfg.query import MISSING

    if environment.unrecorded:
        ids = " and ".join(run_id[:10] for run_id in environment.unrecorded)
        return f"packages: not recorded for {ids} (recorded before gitcfg listed packages)"
    counts = {"added": 0, "removed": 0, "changed": 0}
    for _, left, right in environment.packages:
        counts["added" if left is MISSING else "removed" if right is MISSING else "changed"] += 1
    if not any(counts.values()) and not environment.run:
        return "[dim]environment: identical (same packages, Python and platform)[/dim]"
    parts = [f"{n} {what}" for what, n in counts.items() if n]
    return "packages: " + (", ".join(parts) if parts else "identical")


def _json_env(environment: Any) -> dict[str, Any]:
    from gitcfg.query import MISSING

    packages = []
    for name, left, right in environment.packages:
        change = "added" if left is MISSING else "removed" if right is MISSING else "changed"
        packages.append({"change": change, **_json_change(name, left, right)})
    return {
        "run": [_json_change(*change) for change in environment.run],
        "packages": packages,
        "unrecorded": list(environment.unrecorded),
    }


def _json_change(key: str, left: object, right: object) -> dict[str, Any]:
    from gitcfg.query import MISSING

    out: dict[str, Any] = {"key": key}
    if left is not MISSING:
        out["a"] = left
    if right is not MISSING:
        out["b"] = right
    return out


# --- plot --------------------------------------------------------------------------------------


@app.command("plot")
def plot_command(
    metric: Annotated[str, typer.Argument(help="A metric the runs logged, e.g. val_acc.")],
    run_ids: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Runs to plot (default: the newest runs that logged METRIC).",
            metavar="[RUN]...",
            show_default=False,
        ),
    ] = None,
    group_by: Annotated[
        Optional[str],
        typer.Option(
            "--group-by",
            "-g",
            help="One line per value of KEY: the mean over its runs.",
            metavar="KEY",
        ),
    ] = None,
    where: Annotated[
        Optional[list[str]],
        typer.Option("--where", "-w", help="Filter the runs (as in gitcfg log).", metavar="EXPR"),
    ] = None,
    x: Annotated[
        Optional[str],
        typer.Option(
            "--x",
            help="The logged key on the x axis (default: the metric's step_metric, else _step).",
        ),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(
            "--limit", "-n", help="At most N runs (default 10 without --group-by; -1: all)."
        ),
    ] = None,
    height: Annotated[int, typer.Option("--height", help="Chart height in lines.")] = 16,
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color", help="No colours: each line its own marker (as with NO_COLOR or a pipe)."
        ),
    ] = False,
) -> None:
    """Draw METRIC over steps in the terminal: one line per run, or per group (its mean).

    Example: gitcfg plot val_acc --group-by lr
    """
    from rich.markup import escape

    from gitcfg import query
    from gitcfg.cli import chart as plot

    check_bound(limit, "--limit", MAX_LIMIT, "runs (-1: all)")
    check_bound(height, "--height", MAX_HEIGHT, "lines")
    api = _api()
    if run_ids:
        records = [api.run(run_id) for run_id in run_ids]
    else:
        with api.runs(where=where or None) as runs:
            _warn(runs.warnings)
            records = list(runs)
        if limit is None and group_by is None:
            limit = 10
    if limit is not None and limit >= 0:
        records = records[:limit]
    if not records:
        echo("no runs match" if where else "no runs yet")
        return
    lines, missing = query.metric_lines(api, records, metric, x=x, group_by=group_by)
    if x is None:  # the axis label: the step_metric the runs share, else _step
        axes = {query.metric_x(record.meta, metric) for record in records}
        x = axes.pop() if len(axes) == 1 else "_step"
    if not lines:
        from gitcfg.errors import GitcfgError

        raise GitcfgError(
            f"none of these {len(records)} runs logged {metric!r}; "
            "`gitcfg show RUN --metrics` lists what a run logged"
        )
    console = _console()
    label_width = 9
    width = max(console.width - label_width - 2, 20)
    # Braille lines told apart by colour; without colours, by a marker character per line.
    colour = not no_color and not console.no_color and console.color_system is not None
    markers = () if colour else plot.MARKERS
    chart = plot.draw(lines, width, max(height, 4), markers)
    y_low, y_high = chart.y_range
    for index, row in enumerate(chart.cells):
        if index == 0:
            label = plot.axis_label(y_high)
        elif index == len(chart.cells) - 1:
            label = plot.axis_label(y_low)
        elif index == len(chart.cells) // 2:
            label = plot.axis_label((y_low + y_high) / 2)
        else:
            label = ""
        text = "".join(
            char if owner is None or markers else f"[{_COLOURS[owner % len(_COLOURS)]}]{char}[/]"
            for char, owner in row
        )
        console.print(f"{label:>{label_width}} ┤{text}", highlight=False, soft_wrap=True)
    x_low, x_high = chart.x_range
    left, right = plot.axis_label(x_low), plot.axis_label(x_high)
    axis = escape(f"{inert(x)[:label_width]:>{label_width}}")
    console.print(f"{axis} └" + "─" * width, highlight=False)
    gap = max(width - len(left) - len(right), 1)
    console.print(" " * (label_width + 2) + left + " " * gap + right, highlight=False)
    for index, line in enumerate(lines):
        if markers:
            console.print(
                f"  {markers[index % len(markers)]} {escape(inert(line.label))}", highlight=False
            )
        else:
            colour_name = _COLOURS[index % len(_COLOURS)]
            console.print(f"  [{colour_name}]━━[/] {escape(inert(line.label))}", highlight=False)
    if missing:
        console.print(
            f"[dim]{runs_phrase(len(missing))} did not log {escape(inert(metric))}: left out[/dim]",
            highlight=False,
        )
