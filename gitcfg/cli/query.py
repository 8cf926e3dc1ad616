"""The reading commands of `gitcfg`: log, diff, plot (registered on cli.app).

Each parses its options, makes one library call (query), and renders the result (tables, chart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gitcfg.cli.app import (
    MAX_HEIGHT,
    MAX_LIMIT,
    RangeArgument,
    WhereOption,
    _console,
    _store,
    _warn,
    app,
    check_bound,
    check_format,
    echo,
)
from gitcfg.cli.base import progress_bar
from gitcfg.rows import inert, runs_phrase

if TYPE_CHECKING:
    from gitcfg.query import Api


def _api() -> Api:
    """The Api of the repository containing the cwd, with a progress bar for a slow cold cache."""
    from gitcfg.query import Api

    return Api(store=_store(), progress=progress_bar())


# --- log ---------------------------------------------------------------------------------------


@app.command("log")
def log_command(
    rev_range: RangeArgument = None,
    where: WhereOption = None,
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
    capped = limit is None and output == "table"  # a terminal: the newest 100, and a note
    api = _api()
    table = report.query_log(
        api,
        _warn,
        rev_range=rev_range,
        where=where,
        status=status,
        group_by=group_by,
        agg=agg,
        over=over,
        sort=sort,
        columns=columns,
        all_keys=all_keys,
        limit=report.TABLE_ROWS if capped else limit,
        say_total=capped or limit == 0,  # --limit 0: say how many runs there are
    )
    if isinstance(table, str):
        report.say_empty(table, output)
        return
    report.print_log(table, output, api.store.repo.state_dir, _console(), _console(stderr=True))


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
    from gitcfg.cli.diff_view import print_diff

    print_diff(console, output, changes, environment, patch)


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
    from gitcfg import query

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
    if not lines:
        from gitcfg.errors import GitcfgError

        raise GitcfgError(
            f"none of these {len(records)} runs logged {metric!r}; "
            "`gitcfg show RUN --metrics` lists what a run logged"
        )
    from gitcfg.cli.chart import print_chart

    x_label = x if x is not None else query.metric_axis(records, metric)  # shared step_metric
    left_out = (
        f"{runs_phrase(len(missing))} did not log {inert(metric)}: left out" if missing else ""
    )
    print_chart(_console(), lines, x_label, height, no_color, left_out)
