"""The `gitcfg` command: typer options over the library, rendered with rich.

`app.py` holds the app, its error translation (one line and exit 1 for a GitcfgError) and the
helpers every command shares; one module per family of commands registers on it: `runs.py`
(init, show, amend, history, rm, restore, checkout, rerun), `share.py` (push, pull), `query.py`
(log, diff, plot), `ui.py` (ui, report), `demo.py`. `tables.py` renders tables (`gitcfg log`,
`diff`), `chart.py` the terminal chart (`gitcfg plot`). Only this package imports typer or rich. `gitcfg.cli:main` is the
console script (and `python -m gitcfg`): `entry.py`, whose fast path answers `gitcfg log ...
--format json` without importing typer or rich. So importing this package is cheap: the typer
app (`gitcfg.cli.app`, with every command registered) is loaded on first use.
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
