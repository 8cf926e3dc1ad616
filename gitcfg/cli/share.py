"""The commands that share runs through a git remote: push, pull (library: sync.py; output:
share_view.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gitcfg.cli.app import _store, app
from gitcfg.cli.share_view import print_pulled, print_pushed, print_shallow_fetch

_REMOTE_HELP = "A git remote (default: the current branch's upstream remote, else origin)."
_QUIET_HELP = "Print nothing when there is nothing to do (for hooks)."
_CHUNK_HELP = (
    "Push a branch bigger than SIZE in chunks of history, older commits first (1g, 500m; "
    "default: git config gitcfg.pushChunkSize, else 1g)."
)


@app.command()
def push(
    remote: Annotated[Optional[str], typer.Argument(help=_REMOTE_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
    chunk_size: Annotated[
        Optional[str], typer.Option("--chunk-size", metavar="SIZE", help=_CHUNK_HELP)
    ] = None,
) -> None:
    """Share runs: merge the remote's runs branch into yours, then push yours (never forced).

    Example: gitcfg push origin
    """
    from gitcfg import sync

    store = _store()
    limit = sync.push_chunk_size(store, chunk_size)  # a bad size fails before any fetch
    print_pushed(sync.push(store, remote, limit), store.runs_branch, quiet)


@app.command()
def pull(
    remote: Annotated[Optional[str], typer.Argument(help=_REMOTE_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
) -> None:
    """Fetch the remote's runs and merge them into your runs branch (your worktree is untouched).

    Example: gitcfg pull origin
    """
    from gitcfg import sync

    store = _store()
    if sync.fetch_depth(store) == 1 and not quiet:
        print_shallow_fetch(store.runs_branch)
    print_pulled(sync.pull(store, remote), store.runs_branch, quiet)
