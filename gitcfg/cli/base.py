"""What the typer app (app.py) and the console script's fast path (entry.py) share: exit codes,
bounds, the closed-pipe exit, the cold-cache progress bar. Imports neither typer nor rich at
module level (rich only when a bar is shown)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from gitcfg.store import Store

EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 1, 3, 130, 141


def progress_bar() -> Any:
    """A progress(done, total) callback that shows a rich bar on stderr once a second has passed
    (rich is imported then, not before)."""
    import time

    started = time.monotonic()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            if time.monotonic() - started < 1.0 or done >= total:
                return
            from rich.console import Console
            from rich.progress import Progress

            console = Console(stderr=True, highlight=False, soft_wrap=False)
            bar = state["bar"] = Progress(console=console, transient=True)
            bar.start()
            state["task"] = bar.add_task("reading runs into the query cache", total=total)
        bar.update(state["task"], completed=done, total=total)
        if done >= total:
            bar.stop()

    return update


MAX_LIMIT = 1_000_000_000  # --limit: rows or runs (more than any branch holds; -1 means all)


def check_bound(value: int | None, option: str, most: int, what: str) -> None:
    """GitcfgError naming `option` when `value` is past `most` (either sign): a 30-digit --limit
    would overflow SQLite, a --height of 100000 would draw for minutes."""
    from gitcfg.errors import GitcfgError

    if value is not None and abs(value) > most:
        text = str(value)
        shown = text if len(text) <= 20 else f"{text[:12]}… ({len(text)} digits)"
        raise GitcfgError(f"{option} {shown} is too large: at most {most:,} {what}")


def closed_pipe_exit() -> int:
    """Quiet exit status for a closed output pipe: 141 (128 + SIGPIPE), as git and coreutils give.

    stdout is pointed at /dev/null first, so the interpreter's final flush does not fail again
    ("Exception ignored ... BrokenPipeError", the recipe of Python's signal module docs).
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE


def adopted_line(runs_branch: str, adopted: str | None) -> str | None:
    """The line a command prints when it made the runs branch from a clone's remote-tracking one
    (Store.adopt_remote_branch), else None."""
    if not adopted:
        return None
    return (
        f"gitcfg: created branch {runs_branch} from {adopted} "
        "(the runs your clone fetched; `gitcfg pull` brings newer ones)"
    )


def open_store(path: Path, say: Callable[[str], None]) -> Store:
    """The store of the repository containing `path`, as every command opens it: `say` gets the
    line telling that the runs branch was made from a clone's (adopted_line), then one line per
    journal of a run whose process died here, committed (journal.recover_quietly; journal.py is
    imported only when a journal exists)."""
    from gitcfg import gitio
    from gitcfg.store import Store

    store = Store.open(path)
    adopted = adopted_line(store.runs_branch, store.adopted)  # after a plain `git clone`
    if adopted:
        say(adopted)
    if gitio.has_journals(store.repo.state_dir):
        from gitcfg.journal import recover_quietly

        for line in recover_quietly(store):
            say(f"gitcfg: {line}")
    return store
