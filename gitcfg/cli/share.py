"""The commands that share runs through a git remote: push, pull (library: sync.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gitcfg.cli.app import _store, app, echo
from gitcfg.rows import runs_phrase

if TYPE_CHECKING:
    from gitcfg.sync import SyncResult

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
    result = sync.push(store, remote, limit)
    _echo_incoming(result, quiet)
    if result.pushed:
        sent = runs_phrase(len(result.sent))
        chunks = f" in {result.chunks} chunks" if result.chunks > 1 else ""
        echo(f"pushed {store.runs_branch} to {result.remote}{chunks}: {sent} new or changed")
    elif not quiet:
        what = "no runs recorded yet" if result.merge.tip is None else "already up to date"
        echo(f"nothing to push to {result.remote}: {what}")


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
        echo(
            f"this clone is shallow: fetching only the tip of the remote's {store.runs_branch} "
            "(every run as it stands now, not its history)"
        )
    result = sync.pull(store, remote)
    if not result.remote_had_branch:
        if not quiet:
            echo(
                f"{result.remote} has no {store.runs_branch} branch yet (`gitcfg push` creates it)"
            )
        return
    _echo_incoming(result, quiet)
    if result.merge.kind == "up to date" and not quiet:
        echo(f"already up to date with {result.remote}")


def _echo_incoming(result: SyncResult, quiet: bool) -> None:
    merge = result.merge
    if merge.kind == "up to date":
        return
    how = {"created": "new branch", "fast-forward": "fast-forward", "merged": "merge commit"}
    received = runs_phrase(len(merge.received))
    echo(f"from {result.remote}: {received} new or changed ({how[merge.kind]})")
    for reconciled in merge.reconciled:
        for line in reconciled.describe().removeprefix("Reconciled ").splitlines():
            echo("  " + line)
