"""How `gitcfg push` and `gitcfg pull` render their results (library: sync.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitcfg.cli.app import echo
from gitcfg.rows import runs_phrase

if TYPE_CHECKING:
    from gitcfg.sync import SyncResult

_HOW = {"created": "new branch", "fast-forward": "fast-forward", "merged": "merge commit"}


def print_pushed(result: SyncResult, runs_branch: str, quiet: bool) -> None:
    """What came in (merged before the push), then what went out, or why nothing did."""
    print_incoming(result)
    if result.pushed:
        sent = runs_phrase(len(result.sent))
        chunks = f" in {result.chunks} chunks" if result.chunks > 1 else ""
        echo(f"pushed {runs_branch} to {result.remote}{chunks}: {sent} new or changed")
    elif not quiet:
        what = "no runs recorded yet" if result.merge.tip is None else "already up to date"
        echo(f"nothing to push to {result.remote}: {what}")


def print_shallow_fetch(runs_branch: str) -> None:
    """Before a pull into a shallow clone: what it fetches."""
    echo(
        f"this clone is shallow: fetching only the tip of the remote's {runs_branch} "
        "(every run as it stands now, not its history)"
    )


def print_pulled(result: SyncResult, runs_branch: str, quiet: bool) -> None:
    """What came in, how it was merged, and each key reconciled; `quiet`: nothing when nothing did."""
    if not result.remote_had_branch:
        if not quiet:
            echo(f"{result.remote} has no {runs_branch} branch yet (`gitcfg push` creates it)")
        return
    print_incoming(result)
    if result.merge.kind == "up to date" and not quiet:
        echo(f"already up to date with {result.remote}")


def print_incoming(result: SyncResult) -> None:
    merge = result.merge
    if merge.kind == "up to date":
        return
    received = runs_phrase(len(merge.received))
    echo(f"from {result.remote}: {received} new or changed ({_HOW[merge.kind]})")
    for reconciled in merge.reconciled:
        for line in reconciled.describe().removeprefix("Reconciled ").splitlines():
            echo("  " + line)
