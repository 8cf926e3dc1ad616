"""The `gitcfg` Typer app that every command module registers on, and what they share.

cli.py (writing and per-run commands) and cli_query.py (log, diff, plot) both import this module,
and cli.py imports cli_query: imports run one way. Errors the library raises on purpose
(GitcfgError) print one line and exit 1; usage errors exit 2 (typer's); anything unexpected exits
3 with a short traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from gitcfg._version import __version__
from gitcfg.errors import GitcfgError

EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 3, 130
# click's own exceptions (usage errors, Exit, Abort) pass through untouched. typer >= 0.29 vendors
# click, so they are found through typer's public names rather than by importing click.
_CLICK_EXCEPTIONS: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


class _Group(TyperGroup):
    """Translate library errors at the one CLI boundary (works under CliRunner too)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GitcfgError as e:
            # One line; a filter syntax error adds its text with a caret under the position.
            typer.echo(f"gitcfg: error: {e}", err=True)
            caret = getattr(e, "caret_text", None)
            for line in caret().splitlines() if callable(caret) else ():
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            typer.echo("gitcfg: interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except _CLICK_EXCEPTIONS:
            raise
        except Exception as e:  # a bug: keep a traceback, without locals (configs hold secrets)
            import traceback

            typer.echo("gitcfg: internal error (please report it):", err=True)
            typer.echo("".join(traceback.format_exception(e, limit=-6)).rstrip(), err=True)
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=_Group,
    help="Record each run's config, code commit and metrics on an orphan branch of your git repo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gitcfg {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """gitcfg: which settings produced which result, from which code."""


def _store(path: Path | None = None) -> Any:
    """Open the repo's store, first committing the journals of runs whose process died here."""
    from gitcfg.journal import recover_quietly
    from gitcfg.store import Store

    store = Store.open(path or Path.cwd())
    for line in recover_quietly(store):
        typer.echo(f"gitcfg: {line}", err=True)
    return store


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)
