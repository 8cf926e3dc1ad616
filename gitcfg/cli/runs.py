"""The commands on runs: init, migrate, show, amend, history, rm, restore, checkout, rerun.

Each parses its options, makes one library call and renders the result (show_view.py for
show, runs_view.py for the others).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gitcfg.cli.app import EXIT_INTERRUPTED, _store, app, check_format
from gitcfg.cli.runs_view import (
    print_amended,
    print_checkout,
    print_history,
    print_init,
    print_migrated,
    print_removed,
    print_rerun_plan,
    print_rerun_result,
    print_restored,
    print_uninstall,
)
from gitcfg.cli.show_view import (
    print_file_names,
    print_followed,
    print_metrics,
    print_run,
    write_file,
)
from gitcfg.errors import GitcfgError

if TYPE_CHECKING:
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
    print_init(init_repo(store), store.runs_branch)


@app.command()
def migrate() -> None:
    """Move the runs branch to the current FORMAT now, in one commit (nothing else changes).

    A branch an older gitcfg wrote is migrated by the first write anyway (a run, amend, rm,
    pull); run this to choose the moment on a big branch. Example: gitcfg migrate
    """
    store = _store()
    exists = store.exists()
    print_migrated(store.migrate() if exists else None, store.runs_branch, exists)


def _uninstall_hooks() -> None:
    from gitcfg.install import uninstall_hooks

    print_uninstall(uninstall_hooks(_store()))


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
            print_file_names(saved_names(record.files))
            return
        path = resolve_file(record.files, file_name)
        content = None if path is None else store.read_run_file(run_id, path, at=at_commit)
        if content is None:
            from gitcfg.errors import NoSuchRunFile

            raise NoSuchRunFile(run_id, file_name)
        write_file(content)
        return
    if metrics:
        from gitcfg.query import Api

        rows = Api(store=store).read_metrics([run_id], at_commit)[run_id]  # torn last line skipped
        print_metrics(rows, output)
        return
    print_run(record, config_only, summary_only, output)


def _follow_metrics(store: Store, run_id: str) -> None:
    """`show RUN --metrics --follow`: one JSON line per row as it is logged; Ctrl-C exits 130."""
    from gitcfg.query import Api

    try:
        print_followed(Api(store=store).follow_metrics(run_id))
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
    print_amended(result, dry_run)


@app.command()
def history(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix or name (removed runs too).")],
    output: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List every commit that changed a run, oldest first: when, who, what, why.

    Example: gitcfg history 06fq7yhg
    """
    from gitcfg.amend import run_history

    check_format(output, ("text", "json"))
    run_id, entries = run_history(_store(), run)
    print_history(run_id, entries, output)


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
    print_removed(result, dry_run)


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

    print_restored(*restore_run(_store(), run, reason=message))


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

    print_checkout(checkout_run(_store(), run, directory))


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
    from gitcfg.reproduce import prepare_rerun, run_rerun

    store = _store()
    plan = prepare_rerun(store, run, extra_args or (), directory)
    print_rerun_plan(plan)
    result = run_rerun(store, plan)
    print_rerun_result(plan, result)
    raise typer.Exit(result.exit_code)
