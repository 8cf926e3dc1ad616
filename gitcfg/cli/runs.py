"""The commands on runs: init, show, amend, history, rm, restore, checkout, rerun.

Each parses its options, makes one library call and prints the result (app.echo).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from gitcfg.cli.app import EXIT_INTERRUPTED, _store, app, check_format, echo
from gitcfg.errors import GitcfgError
from gitcfg.rows import runs_phrase

if TYPE_CHECKING:
    from gitcfg.amend import HistoryEntry
    from gitcfg.store import Store

# --- init --------------------------------------------------------------------------------------


@app.command()
def init(
    uninstall_hooks: Annotated[
        bool,
        typer.Option(
            "--uninstall-hooks",
            help="Remove gitcfg's hooks and put back the ones they chained, byte for byte.",
        ),
    ] = False,
) -> None:
    """Create the runs branch and install gitcfg's git hooks in this repository.

    Idempotent: a second run changes nothing. Example: gitcfg init
    """
    from gitcfg.install import init_repo

    if uninstall_hooks:
        _uninstall_hooks()
        return
    store = _store()
    result = init_repo(store)
    if not result.changed:
        echo(f"gitcfg: already initialised (runs branch {store.runs_branch})")
        return
    if result.created_branch:
        echo(f"created orphan branch {store.runs_branch} (README.md, FORMAT)")
    if result.set_config:
        echo(f"set git config gitcfg.branch = {store.runs_branch}")
    for name in result.hooks_installed:
        chained = " (your existing hook still runs first)" if name in result.hooks_chained else ""
        echo(f"installed {name} hook in {result.hooks_dir}{chained}")
    echo("next: call gitcfg.track(config) in your training script, then `gitcfg log`")


def _uninstall_hooks() -> None:
    from gitcfg.install import uninstall_hooks

    result = uninstall_hooks(_store())
    if not result.removed:
        echo(f"gitcfg: no gitcfg hooks in {result.hooks_dir}")
    for name in result.removed:
        if name in result.restored:
            echo(f"restored your {name} hook in {result.hooks_dir} (gitcfg's removed)")
        else:
            echo(f"removed gitcfg's {name} hook from {result.hooks_dir}")


@app.command(
    "hook-impl",
    hidden=True,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def hook_impl(ctx: typer.Context) -> None:
    """What the installed git hooks run: `gitcfg hook-impl NAME --hook-dir DIR -- ARGS...`.

    (`python -m gitcfg hook-impl` runs gitcfg.hook_impl.main without importing the CLI.)
    """
    from gitcfg.hook_impl import main as hook_main

    raise typer.Exit(hook_main(ctx.args))


# --- show --------------------------------------------------------------------------------------


@app.command()
def show(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix.")],
    output: Annotated[
        Optional[str],
        typer.Option("--format", "-f", help="yaml or json (default: YAML, then any traceback)."),
    ] = None,
    config_only: Annotated[
        bool, typer.Option("--config", help="Only the config (a valid --configs file).")
    ] = False,
    summary_only: Annotated[bool, typer.Option("--summary", help="Only the summary.")] = False,
    metrics: Annotated[bool, typer.Option("--metrics", help="Only the logged metrics.")] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", help="With --metrics: print rows as they are logged, until the run ends."
        ),
    ] = False,
    as_recorded: Annotated[
        bool, typer.Option("--as-recorded", help="The run as recorded, before any amendment.")
    ] = False,
    at: Annotated[
        Optional[str],
        typer.Option(
            "--at",
            metavar="REV",
            help="The run as of a runs-branch revision (commit, gitcfg-runs~3, a date).",
        ),
    ] = None,
    list_files: Annotated[
        bool, typer.Option("--files", help="List the files the run saved (save(), run.dir).")
    ] = False,
    file_name: Annotated[
        Optional[str],
        typer.Option("--file", help="Print one saved file's bytes.", metavar="NAME"),
    ] = None,
) -> None:
    """Print one run: metadata, config and summary.

    Example: gitcfg show 01jf3k
    """
    check_format(output, ("yaml", "json"))
    from gitcfg.cache import resolve_run

    store = _store()
    at_commit = None
    if at is not None:  # the run as of a runs-branch revision (removed runs too)
        from gitcfg.amend import run_at

        if as_recorded or follow:
            raise typer.BadParameter(
                "--at shows a past version: not with --as-recorded or --follow", param_hint="--at"
            )
        record, at_commit = run_at(store, run, at)
        run_id = record.run_id
    else:
        run_id = resolve_run(store, run)  # from the query cache: no scan of the runs branch
        if follow:
            if as_recorded or config_only or summary_only:
                raise typer.BadParameter(
                    "--follow prints the metrics as they are logged: use it with --metrics only"
                )
            _follow_metrics(store, run_id)
            return
        if as_recorded:
            from gitcfg.amend import as_recorded as recorded_version

            record = recorded_version(store, run_id)
        else:
            from gitcfg.live import current_record

            record = current_record(store, store.read_run(run_id, strict=True))  # as of now
    if list_files or file_name is not None:
        from gitcfg.runfiles import resolve_file, saved_names

        if file_name is None:
            for name in saved_names(record.files):
                echo(name)
            return
        path = resolve_file(record.files, file_name)
        content = None if path is None else store.read_run_file(run_id, path, at=at_commit)
        if content is None:
            from gitcfg.errors import NoSuchRunFile

            raise NoSuchRunFile(run_id, file_name)
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    if metrics:
        from gitcfg.query import Api

        rows = Api(store=store).read_metrics([run_id], at_commit)[run_id]  # torn last line skipped
        if output == "json":
            echo(json.dumps(rows, indent=2))
        else:
            for row in rows:
                echo(json.dumps(row))
        return
    from gitcfg.cli.tables import show_document, show_text

    typer.echo(show_text(show_document(record, config_only, summary_only), output), nl=False)


def _follow_metrics(store: Store, run_id: str) -> None:
    """`show RUN --metrics --follow`: one JSON line per row as it is logged; Ctrl-C exits 130."""
    from gitcfg.journal import encode_row
    from gitcfg.query import Api
    from gitcfg.rows import inert_json

    try:
        for row in Api(store=store).follow_metrics(run_id):
            echo(inert_json(encode_row(row)))
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None  # quietly: stopping is what Ctrl-C is for


# --- amend, history, rm ------------------------------------------------------------------------


_RUNS_HELP = "Run ids, unique prefixes or names (or select them with --where)."
_WHERE_HELP = "Select the runs by a filter, as in `gitcfg log --where`."
_DRY_RUN_HELP = "List what would change; write nothing."


@app.command()
def amend(
    runs: Annotated[
        Optional[list[str]], typer.Argument(help=_RUNS_HELP, show_default=False)
    ] = None,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="Config KEY=VALUE (dotted keys; VALUE typed as in YAML).",
            metavar="KEY=VALUE",
        ),
    ] = None,
    unset: Annotated[
        Optional[list[str]], typer.Option("--unset", help="Delete a config key.")
    ] = None,
    summary: Annotated[
        Optional[list[str]],
        typer.Option("--summary", help="Summary KEY=VALUE.", metavar="KEY=VALUE"),
    ] = None,
    unset_summary: Annotated[
        Optional[list[str]], typer.Option("--unset-summary", help="Delete a summary key.")
    ] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="Add a tag.")] = None,
    untag: Annotated[Optional[list[str]], typer.Option("--untag", help="Remove a tag.")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Replace the run's notes.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Rename the run.")] = None,
    group: Annotated[
        Optional[str], typer.Option("--group", help='Set the group ("" clears).')
    ] = None,
    job_type: Annotated[
        Optional[str], typer.Option("--job-type", help='Set the job type ("" clears).')
    ] = None,
    project: Annotated[
        Optional[str], typer.Option("--project", help='Set the project ("" clears).')
    ] = None,
    message: Annotated[
        Optional[str], typer.Option("--message", "-m", help="Why: kept in the commit and run.yaml.")
    ] = None,
    where: Annotated[Optional[str], typer.Option("--where", "-w", help=_WHERE_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_DRY_RUN_HELP)] = False,
) -> None:
    """Change finished runs' config, summary, tags, notes, name or group in one new commit.

    The original stays in history (gitcfg history RUN, gitcfg show RUN --as-recorded).
    Example: gitcfg amend 06fq7yhg --set dataset=imagenet-v2 --tag leak -m "val split overlapped train"
    """
    from gitcfg.amend import Amendment, amend_runs, parse_assignment
    from gitcfg.query import choose_runs

    amendment = Amendment(
        set=dict(parse_assignment(text, "--set") for text in set_ or ()),
        unset=tuple(unset or ()),
        summary=dict(parse_assignment(text, "--summary") for text in summary or ()),
        summary_unset=tuple(unset_summary or ()),
        tags=tuple(tag or ()),
        untags=tuple(untag or ()),
        note=note,
        name=name,
        group=group,
        job_type=job_type,
        project=project,
        reason=message,
    )
    if amendment.is_empty():
        raise GitcfgError("nothing to amend: give --set, --unset, --summary, --tag, --note, ...")
    store = _store()
    result = amend_runs(store, choose_runs(store, runs or [], where), amendment, dry_run=dry_run)
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


@app.command()
def history(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix or name (removed runs too).")],
    output: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List every commit that changed a run, oldest first: when, who, what, why.

    Example: gitcfg history 06fq7yhg
    """
    from gitcfg.amend import run_history
    from gitcfg.rows import inert

    check_format(output, ("text", "json"))
    run_id, entries = run_history(_store(), run)
    if output == "json":
        echo(json.dumps([{"run_id": run_id, **_fields(e)} for e in entries], indent=2))
        return
    echo(f"run {run_id}, oldest first:")
    for entry in entries:
        date = inert(entry.date[:16].replace("T", " "))
        author = inert(entry.author.split(" <")[0])
        what = f"{inert(entry.action):<5}  {inert(entry.what)}"
        echo(f"{date}  {entry.runs_commit[:10]}  {author}  {what}")
        for i, line in enumerate(entry.why.splitlines()):
            echo(("    why: " if i == 0 else "         ") + inert(line))


def _fields(record: HistoryEntry) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(record)


@app.command("rm")
def rm_command(
    runs: Annotated[
        Optional[list[str]], typer.Argument(help=_RUNS_HELP, show_default=False)
    ] = None,
    message: Annotated[
        Optional[str], typer.Option("--message", "-m", help="Why: kept in the commit.")
    ] = None,
    where: Annotated[Optional[str], typer.Option("--where", "-w", help=_WHERE_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_DRY_RUN_HELP)] = False,
) -> None:
    """Remove runs from the runs branch in one commit; history keeps every version.

    `gitcfg restore RUN` brings one back. Example: gitcfg rm 06fq7yhg 06fq7z2k -m "smoke tests"
    """
    from gitcfg.amend import remove_runs
    from gitcfg.query import choose_runs

    store = _store()
    result = remove_runs(
        store, choose_runs(store, runs or [], where), reason=message, dry_run=dry_run
    )
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


@app.command()
def restore(
    run: Annotated[str, typer.Argument(help="A removed run's id or unique prefix.")],
    message: Annotated[
        Optional[str], typer.Option("--message", "-m", help="Why: kept in the commit.")
    ] = None,
) -> None:
    """Bring a removed run back, as it was before its removal, in one commit.

    Example: gitcfg restore 06fq7yhg -m "it was a real run after all"
    """
    from gitcfg.amend import restore_run

    run_id, runs_commit = restore_run(_store(), run, reason=message)
    echo(f"restored run {run_id} in {runs_commit[:10]}")


# --- checkout ------------------------------------------------------------------------------------


@app.command()
def checkout(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix or name.")],
    directory: Annotated[
        Optional[Path],
        typer.Argument(help="Where to create the worktree (default: <repo>-<id> beside the repo)."),
    ] = None,
) -> None:
    """Create a git worktree with a run's exact code (commit + uncommitted changes) and config.

    Your own worktree, index and branches are untouched. Example: gitcfg checkout 06fq7yhg
    """
    from gitcfg.reproduce import checkout_run

    result = checkout_run(_store(), run, directory)
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


@app.command()
def rerun(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix or name.")],
    extra_args: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Appended to the recorded command line (after --).", metavar="[-- ARGS]"
        ),
    ] = None,
    directory: Annotated[
        Optional[Path],
        typer.Option(
            "--dir", help="Where to create the worktree (default: <repo>-<id> beside it)."
        ),
    ] = None,
) -> None:
    """Re-run a run: check out its code, run its command there with this Python, record a new run.

    The new run's run.yaml has `rerun_of: <id>`; the exit code is the script's. Compare them
    with `gitcfg diff RUN RERUN`. Example: gitcfg rerun 06fq7yhg -- --epochs 1
    """
    import shlex

    from gitcfg.reproduce import prepare_rerun, run_rerun

    store = _store()
    plan = prepare_rerun(store, run, extra_args or (), directory)
    checkout = plan.checkout
    original = checkout.run_id[:10]
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
    result = run_rerun(store, plan)
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
    raise typer.Exit(result.exit_code)


def _quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
