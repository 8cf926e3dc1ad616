"""The commands that show runs as a page: ui (a local live server), report (one HTML file).

Each parses its options and calls the library (gitcfg.ui): the server, or the report's data,
page and atomic write. docs/ui.md describes both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gitcfg.cli.app import RangeArgument, WhereOption, _warn, app, echo
from gitcfg.cli.query import _api
from gitcfg.errors import GitcfgError
from gitcfg.rows import runs_phrase


@app.command("ui")
def ui_command(
    rev_range: RangeArgument = None,
    where: WhereOption = None,
    port: Annotated[
        int, typer.Option("--port", help="The port to serve on (default: a free one).")
    ] = 0,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="The address to serve on; anything but loopback shows runs to others."
        ),
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a web browser.")
    ] = False,
) -> None:
    """Serve the runs as a live local web page: table, groups, parallel coordinates, curves.

    Read-only; runs recorded while it is open appear within about 2 s. Ctrl-C stops it.
    Example: gitcfg ui main~10.. --where 'status == finished' --open
    """
    from gitcfg.ui.data import Selection, select
    from gitcfg.ui.server import is_loopback, make_server

    if not 0 <= port <= 65535:
        raise GitcfgError(f"--port {port} is not a port: give 1-65535 (or leave it out)")
    api = _api()
    selection = Selection(rev_range, tuple(where or ()))
    with select(api, selection) as runs:  # a filter that does not parse fails here, not later
        _warn(runs.warnings)
        count = len(runs)
    server, url = make_server(api, selection, host, port)
    if not is_loopback(host):
        _warn(
            [
                f"serving on {host}, not on loopback: the runs become visible on the network to "
                "anyone who can reach this address"
            ]
        )
    try:  # from the URL's line on, Ctrl-C is the way to stop: not an interruption
        echo(f"gitcfg ui: {runs_phrase(count)} at {url} (Ctrl-C stops it)")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        echo("gitcfg ui: stopped", err=True)
    finally:
        server.server_close()


@app.command("report")
def report_command(
    rev_range: RangeArgument = None,
    where: WhereOption = None,
    group_by: Annotated[
        Optional[list[str]],
        typer.Option(
            "--group-by",
            "-g",
            help="Group by KEY (repeatable: one grouping by all of them; default: one grouping "
            "per config key that differs).",
            metavar="KEY",
        ),
    ] = None,
    metric: Annotated[
        Optional[list[str]],
        typer.Option(
            "--metric",
            "-m",
            help="A metric whose curves to embed (repeatable; default: the first 4 logged).",
            metavar="M",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The HTML file to write.", metavar="FILE")
    ] = Path("report.html"),
) -> None:
    """Write the runs page as one self-contained HTML file: no network request when opened.

    Example: gitcfg report main~10.. --where 'status == finished' --group-by lr -o report.html
    """
    from gitcfg.ui.data import Selection
    from gitcfg.ui.report import render_report, report_data, write_report

    if not output.parent.is_dir():
        raise GitcfgError(
            f"cannot write the report to {str(output)!r}: no directory {str(output.parent)!r}"
        )
    api = _api()
    selection = Selection(rev_range, tuple(where or ()))
    document = report_data(api, selection, group_by or (), metric or ())
    _warn(document["header"]["warnings"])
    text = render_report(document)
    write_report(output, text)
    size = len(text.encode())
    shown = f"{size / 1_048_576:.1f} MiB" if size >= 1_048_576 else f"{size / 1024:.0f} KiB"
    echo(f"wrote {output}: {runs_phrase(document['header']['runs'])}, {shown}")
