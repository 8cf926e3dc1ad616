"""The `gitcfg` command: typer options over the library, rendered with rich.

`app.py` holds the app, its error translation (one line and exit 1 for a GitcfgError) and the
helpers every command shares; one module per family of commands registers on it: `runs.py`
(init, show, amend, history, rm, restore, checkout, rerun), `share.py` (push, pull), `query.py`
(log, diff, plot), `ui.py` (ui, report), `demo.py`. `tables.py` renders tables (`gitcfg log`, `diff`), `chart.py` the
terminal chart (`gitcfg plot`). Only this package imports typer or rich. `gitcfg.cli:main` is the
console script (and `python -m gitcfg`).
"""

from __future__ import annotations

import sys

# Importing a command module registers its commands on `app`; `gitcfg --help` orders them by
# app.COMMAND_SUMMARIES, not by this order.
from gitcfg.cli import demo, query, runs, share, ui  # noqa: F401
from gitcfg.cli.app import EXIT_INTERRUPTED, app, closed_pipe_exit

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # output closed outside a command (e.g. while printing --help)
        sys.exit(closed_pipe_exit())
