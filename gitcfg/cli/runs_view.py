"""How the commands that change runs render their results: init, migrate, amend, history, rm,
restore, checkout, rerun. Each function prints one library result (run data inert: app.echo)."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from gitcfg.cli.app import echo
from gitcfg.rows import inert, runs_phrase

if TYPE_CHECKING:
    from gitcfg.amend import ChangeResult, HistoryEntry
    from gitcfg.install import InitResult, UninstallResult
    from gitcfg.reproduce import Checkout, Rerun, RerunResult
    from gitcfg.store import Migration


# --- init ----------------------------------------------------------------------------------------


def print_init(result: InitResult, runs_branch: str) -> None:
    if not result.changed:
        echo(f"gitcfg: already initialised (runs branch {runs_branch})")
        return
    if result.created_branch:
        echo(f"created orphan branch {runs_branch} (README.md, FORMAT)")
    if result.set_config:
        echo(f"set git config gitcfg.branch = {runs_branch}")
    for name in result.hooks_installed:
        chained = " (your existing hook still runs first)" if name in result.hooks_chained else ""
        echo(f"installed {name} hook in {result.hooks_dir}{chained}")
    echo("next: call gitcfg.track(config) in your training script, then `gitcfg log`")


def print_migrated(result: Migration | None, runs_branch: str, exists: bool) -> None:
    from gitcfg.store import FORMAT_VERSION

    if not exists:
        echo(f"gitcfg: no runs branch {runs_branch} yet: nothing to migrate")
    elif result is None:
        echo(f"gitcfg: {runs_branch} already uses FORMAT {FORMAT_VERSION}")
    else:
        echo(
            f"migrated {runs_branch} from FORMAT {result.from_version} to {FORMAT_VERSION} "
            f"in {result.runs_commit[:10]}: {runs_phrase(result.runs)} moved, no file changed"
        )


def print_uninstall(result: UninstallResult) -> None:
    if not result.removed:
        echo(f"gitcfg: no gitcfg hooks in {result.hooks_dir}")
    for name in result.removed:
        if name in result.restored:
            echo(f"restored your {name} hook in {result.hooks_dir} (gitcfg's removed)")
        else:
            echo(f"removed gitcfg's {name} hook from {result.hooks_dir}")


# --- amend, history, rm, restore -----------------------------------------------------------------


def print_amended(result: ChangeResult, dry_run: bool) -> None:
    """`gitcfg amend`: the keys stored masked, then what changed in which run (or would)."""
    for key in result.masked:
        echo(f"gitcfg: warning: {key} is stored masked (its name looks secret)", err=True)
    if dry_run:
        for change in result.changed:
            echo(f"would amend {change.run_id}: {'; '.join(change.details)}")
        for run_id in result.unchanged:
            echo(f"unchanged {run_id}: already holds these values")
        echo("dry run: nothing written")
        return
    commit = (result.runs_commit or "")[:10]
    if len(result.changed) == 1 and not result.unchanged:
        change = result.changed[0]
        echo(f"amended {change.run_id} in {commit}: {'; '.join(change.changes)}")
        return
    echo(f"amended {runs_phrase(len(result.changed))} in {commit}:")
    for change in result.changed:
        echo(f"  {change.run_id}: {'; '.join(change.changes)}")
    for run_id in result.unchanged:
        echo(f"  {run_id}: unchanged (already holds these values)")


def print_history(run_id: str, entries: list[HistoryEntry], output: str) -> None:
    """`gitcfg history`: one line per commit (when, which, who, what) and its reason below."""
    if output == "json":
        document = [{"run_id": run_id, **dataclasses.asdict(entry)} for entry in entries]
        echo(json.dumps(document, indent=2))
        return
    echo(f"run {run_id}, oldest first:")
    for entry in entries:
        date = inert(entry.date[:16].replace("T", " "))
        author = inert(entry.author.split(" <")[0])
        what = f"{inert(entry.action):<5}  {inert(entry.what)}"
        echo(f"{date}  {entry.runs_commit[:10]}  {author}  {what}")
        for i, line in enumerate(entry.why.splitlines()):
            echo(("    why: " if i == 0 else "         ") + inert(line))


def print_removed(result: ChangeResult, dry_run: bool) -> None:
    if dry_run:
        for change in result.changed:
            echo(f"would {change.details[0]}")
        echo("dry run: nothing written")
        return
    commit = (result.runs_commit or "")[:10]
    run_ids = [change.run_id for change in result.changed]
    if len(run_ids) == 1:
        echo(
            f"removed run {run_ids[0]} in {commit} (`gitcfg history {run_ids[0][:10]}` still lists it)"
        )
    else:
        echo(f"removed {runs_phrase(len(run_ids))} in {commit}: {', '.join(run_ids)}")
        echo("(`gitcfg history RUN` still lists them; `gitcfg restore RUN` brings one back)")


def print_restored(run_id: str, runs_commit: str) -> None:
    echo(f"restored run {run_id} in {runs_commit[:10]}")


# --- checkout, rerun -----------------------------------------------------------------------------


def print_checkout(result: Checkout) -> None:
    """`gitcfg checkout`: the worktree made, the files written, how to re-run and what to mind."""
    patched = ", with the run's uncommitted changes (diff.patch)" if result.patch_applied else ""
    echo(f"created worktree {result.path} at {result.code_commit[:10]} (detached){patched}")
    echo(f"wrote {result.config_path}: the run's config (a valid --configs file)")
    if result.requirements_path is not None:
        python = f", recorded with Python {result.python}" if result.python else ""
        echo(
            f"wrote {result.requirements_path}: the run's installed packages{python}; "
            f"install them with:\n  pip install -r {_quote(result.requirements_path)}"
        )
    else:
        echo(
            "note: the run has no list of installed packages "
            "(it was recorded before gitcfg recorded them)"
        )
    if result.command:
        python = f" (recorded with Python {result.python})" if result.python else ""
        echo(f"re-run it{python}:\n  cd {_quote(result.cwd)} && {result.command}")
    else:
        echo("the run was started from an interactive session: no command line to re-run")
    if result.amended and result.config_path is not None:
        echo(
            "note: the config was amended after the run; the command re-runs it as it ran, "
            f"{result.config_path.name} holds the amended values"
        )
    if result.not_stored:
        echo(
            "note: not in the run's patch (binary, over the size limits, or secret-looking): "
            + ", ".join(result.not_stored)
        )
    if result.masked:
        echo(f"note: recorded masked, fill in before re-running: {', '.join(result.masked)}")
    echo(f"remove it with: git worktree remove {_quote(result.path)}")


def print_rerun_plan(plan: Rerun) -> None:
    """On stderr before `gitcfg rerun` runs the script (stdout is the script's)."""
    checkout = plan.checkout
    echo(
        f"gitcfg: re-running run {checkout.run_id} in worktree {checkout.path} "
        f"at {checkout.code_commit[:10]}:",
        err=True,
    )
    echo(f"  cd {_quote(checkout.cwd)} && {shlex.join(plan.argv)}", err=True)
    if checkout.masked:
        echo(
            f"gitcfg: warning: recorded masked, passed as '***': {', '.join(checkout.masked)}",
            err=True,
        )


def print_rerun_result(plan: Rerun, result: RerunResult) -> None:
    """On stderr after the script: the runs it recorded, its exit code, the worktree left."""
    checkout = plan.checkout
    original = checkout.run_id[:10]
    for new_run_id in result.new_run_ids:
        echo(
            f"gitcfg: recorded run {new_run_id} (rerun_of {original}); "
            f"compare: gitcfg diff {original} {new_run_id[:10]}",
            err=True,
        )
    if not result.new_run_ids:
        echo("gitcfg: the script recorded no run", err=True)
    echo(
        f"gitcfg: exit code {result.exit_code}; the worktree stays: "
        f"git worktree remove {_quote(checkout.path)}",
        err=True,
    )


def _quote(path: Path) -> str:
    return shlex.quote(str(path))
