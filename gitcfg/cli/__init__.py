"""The `gitcfg` command: typer options over the library, rendered with rich.

`app.py` holds the app, its error translation (one line and exit 1 for a GitcfgError) and the
helpers every command shares. One module per family of commands registers on it, each command
its options, one library call and one render call; the output is rendered beside it:

    commands                                 module      rendered by
    log, diff, plot                          query.py    tables.py (the `gitcfg log` table, with
                                                         table_fit.py), diff_view.py, chart.py
    show                                     runs.py     show_view.py
    init, amend, history, rm, restore,       runs.py     runs_view.py
    checkout, rerun
    push, pull                               share.py    share_view.py
    ui, report                               ui.py       its two lines; the page: gitcfg/ui/
    demo                                     demo.py     demo_view.py

Rendering decides nothing about the data (the library does, with tests): it chooses words,
columns, widths and colours, and prints run data inert (app.echo). Only this package (and
gitcfg/ui/) imports typer or rich. `gitcfg.cli:main` is the console script (and
`python -m gitcfg`): `entry.py`, whose fast path answers `gitcfg log ... --format json` without
importing typer or rich (tables.py imports neither at module level). So importing this package
is cheap: the typer app (`gitcfg.cli.app`, with every command registered) is loaded on first use.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from gitcfg.cli.entry import main

if TYPE_CHECKING:  # at run time, loaded on first use (_Package)
    from gitcfg.cli.app import app as app

__all__ = ["app", "main"]


def _typer_app() -> Any:
    # Importing a command module registers its commands on `app`; `gitcfg --help` orders them by
    # app.COMMAND_SUMMARIES, not by this order.
    import importlib

    for name in ("app", "demo", "query", "runs", "share", "ui"):
        importlib.import_module(f"gitcfg.cli.{name}")
    return sys.modules["gitcfg.cli.app"].app


class _Package(types.ModuleType):
    """`gitcfg.cli.app` is the typer app (not its module), loaded on first use."""

    def __getattr__(self, name: str) -> Any:
        if name == "app":
            return _typer_app()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "app" and isinstance(value, types.ModuleType):  # the submodule, just imported
            super().__setattr__(name, value.app)
            _typer_app()  # its commands registered, as an import of gitcfg.cli.app always gave
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
