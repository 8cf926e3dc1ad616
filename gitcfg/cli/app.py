"""The `gitcfg` Typer app that every command module registers on, and what they share.

Every command module of the package (runs, share, query, demo) imports this module, and
cli/__init__.py imports them: imports run one way. Errors the library raises on purpose
(GitcfgError) print one line and exit 1; usage errors exit 2 (typer's); anything unexpected exits
3 with a short traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from gitcfg._version import __version__

# Exit codes, --limit's bound and the closed-pipe exit live in base.py (entry.py's fast path uses them too).
from gitcfg.cli.base import EXIT_CLOSED_PIPE as EXIT_CLOSED_PIPE
from gitcfg.cli.base import EXIT_ERROR as EXIT_ERROR
from gitcfg.cli.base import EXIT_INTERNAL as EXIT_INTERNAL
from gitcfg.cli.base import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from gitcfg.cli.base import MAX_LIMIT as MAX_LIMIT
from gitcfg.cli.base import check_bound as check_bound
from gitcfg.cli.base import closed_pipe_exit as closed_pipe_exit
from gitcfg.cli.base import open_store
from gitcfg.errors import GitcfgError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console

    from gitcfg.store import Store

# click's own exceptions (usage errors, Exit, Abort) pass through untouched. typer >= 0.29 vendors
# click, so they are found through typer's public names rather than by importing click.
_CLICK_EXCEPTIONS: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


# `gitcfg --help` lists the commands in this order, by how often a user needs them, each with
# this one-line summary (at most 60 characters: one line at 80 columns). The order lives here,
# not in the order the modules register commands, so a command module can be added anywhere: a
# new command goes in this table where it belongs; one missing from it is listed after these,
# with the first sentence of its docstring (as in git's command-list.txt).
COMMAND_SUMMARIES: dict[str, str] = {
    "log": "List runs, newest first, with the config keys that differ.",
    "show": "Print one run: metadata, config and summary.",
    "diff": "Compare two runs: config, summary, code, packages.",
    "plot": "Draw a metric over steps in the terminal.",
    "ui": "Browse the runs in a live local web page.",
    "report": "Write the runs page as one self-contained HTML file.",
    "amend": "Change a finished run's config, summary, tags or notes.",
    "history": "List every commit that changed a run: when, who, why.",
    "push": "Share your runs: merge the remote's, then push yours.",
    "pull": "Fetch the remote's runs and merge them into yours.",
    "checkout": "Make a worktree with a run's exact code and config.",
    "rerun": "Run a recorded run again on its code, as a new run.",
    "rm": "Remove runs from the runs branch (their history stays).",
    "restore": "Bring a removed run back.",
    "init": "Create the runs branch and install gitcfg's git hooks.",
    "migrate": "Move the runs branch to the current FORMAT now.",
    "demo": "Try gitcfg: a scratch repo with a 12-run sweep.",
}


class _Group(TyperGroup):
    """Translate library errors at the one CLI boundary (works under CliRunner too).

    `ctx` and `formatter` are click's Context and HelpFormatter: click's own before typer 0.28,
    typer's vendored copy from it, so neither can be named for every supported typer.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands in COMMAND_SUMMARIES's order; others after them, as registered."""
        order = list(COMMAND_SUMMARIES)
        registered = list(super().list_commands(ctx))
        return sorted(
            registered,
            key=lambda name: (
                order.index(name) if name in order else len(order),
                registered.index(name),
            ),
        )

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Each command with its whole summary (click would cut a long first sentence with `...`)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                summary = COMMAND_SUMMARIES.get(name) or command.get_short_help_str(limit=200)
                rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except GitcfgError as e:
            # One line; a filter syntax error adds its text with a caret under the position.
            from gitcfg.rows import inert

            echo(f"gitcfg: error: {inert(str(e))}", err=True)
            caret = getattr(e, "caret_text", None)
            for line in caret().splitlines() if callable(caret) else ():
                echo(f"  {line}", err=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            typer.echo("gitcfg: interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # `gitcfg show RUN --metrics | head -1`: the reader has gone
            raise typer.Exit(closed_pipe_exit()) from None
        except _CLICK_EXCEPTIONS:
            raise
        except Exception as e:  # a bug: keep a traceback, without locals (configs hold secrets)
            if type(e).__module__ == "sqlite3":  # the query cache raced a deletion twice (cache.py)
                typer.echo(f"gitcfg: error: the query cache failed ({e}); run it again", err=True)
                raise typer.Exit(EXIT_ERROR) from None
            import traceback

            typer.echo("gitcfg: internal error (please report it):", err=True)
            typer.echo("".join(traceback.format_exception(e, limit=-6)).rstrip(), err=True)
            raise typer.Exit(EXIT_INTERNAL) from None


MAX_HEIGHT = 500  # plot --height: lines


def check_format(output: str | None, formats: Sequence[str], option: str = "--format") -> None:
    """A usage error (exit 2) naming the value when `output` is not one of `formats`."""
    if output is not None and output not in formats:
        raise typer.BadParameter(
            f"{output!r} is not a format; choose one of {', '.join(formats)}", param_hint=option
        )


# The run selection log, ui and report take, declared once so their --help reads the same.
RangeArgument = Annotated[
    Optional[str],
    typer.Argument(
        help="Only runs whose code commit is in this git range (main~10..main, v1.2.., HEAD).",
        show_default=False,
    ),
]
WhereOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--where",
        "-w",
        help="Filter, e.g. 'lr < 0.01 and status == finished' (repeatable: clauses are ANDed).",
        metavar="EXPR",
    ),
]


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


def _store(path: Path | None = None) -> Store:
    """Open the repo's store, first committing the journals of runs whose process died here."""
    return open_store(path or Path.cwd(), lambda line: echo(line, err=True))


def echo(text: str = "", err: bool = False, nl: bool = True) -> None:
    """typer.echo for text that quotes run data (ids, keys, authors, reasons, paths): every
    control character but line breaks and tabs written as an escape (rows.inert_lines), so no
    string from a run, pulled or not, can drive the terminal (OSC 52, cursor moves)."""
    from gitcfg.rows import inert_lines

    typer.echo(inert_lines(text), err=err, nl=nl)


def _warn(warnings: Iterable[str]) -> None:
    """Print each warning as one line on stderr: `gitcfg: warning: ...` (a query's `.warnings`)."""
    from gitcfg.rows import inert

    for warning in warnings:  # one line each, whatever key or run name it quotes
        echo(f"gitcfg: warning: {inert(warning)}", err=True)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)
