"""The console script's entry point, and its fast path: `gitcfg log ... --format json`.

A command's start-up is most of a warm query at small sizes (issue 13: importing typer, click and
rich is ~80 ms of a 130 ms `gitcfg log` at 1,000 runs). So `main` first tries `fast_log`, which
answers `gitcfg log` with json output and the options a script passes (a revision range,
--where, --group-by, --agg, --over, --sort, --limit, --columns, --all-keys, --status) without
importing typer or rich: the same library calls as the typer command (cli/query.py), the same
json (tables.emit), the same errors and exit codes (cli/app.py). Anything else, or anything it
does not recognise exactly (--help, an unknown or repeated option, a malformed value), goes to
the typer app, which answers as it always has.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from gitcfg.cli.base import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    MAX_LIMIT,
    check_bound,
    closed_pipe_exit,
    open_store,
    progress_bar,
)

_LISTS = {
    "--where": "where",
    "-w": "where",
    "--group-by": "group_by",
    "-g": "group_by",
    "--agg": "agg",
    "--sort": "sort",
    "-s": "sort",
    "--columns": "columns",
    "-c": "columns",
    "--status": "status",
}
_SINGLE = {
    "--over": "over",
    "--limit": "limit",
    "-n": "limit",
    "--format": "format",
    "-f": "format",
}


def main() -> None:
    """Console-script entry point (`gitcfg`, `python -m gitcfg`)."""
    code = fast_log(sys.argv[1:])
    if code is not None:
        import gc

        # The process ends here: what it made is left out of the collector's last pass at exit
        # (~5 ms of a warm query's ~20 ms over a bare Python start; issue 13, small sizes).
        gc.freeze()
        sys.exit(code)
    from gitcfg.cli import _typer_app

    try:
        _typer_app()()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # output closed outside a command (e.g. while printing --help)
        sys.exit(closed_pipe_exit())


def parse_fast_log(argv: Sequence[str]) -> dict[str, Any] | None:
    """The options of `gitcfg log ... --format json` as log_command takes them; None for any
    other command line (the typer app then parses it)."""
    if not argv or argv[0] != "log":
        return None
    found: dict[str, Any] = {}
    args = list(argv[1:])
    rev_range = None
    while args:
        arg = args.pop(0)
        name, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _LISTS or name in _SINGLE:
            if inline:
                value = inline
            elif args:  # as click: the next word is the value, even one starting with -
                value = args.pop(0)
            else:
                return None
            if name in _LISTS:
                found.setdefault(_LISTS[name], []).append(value)
            elif _SINGLE[name] in found:
                return None  # repeated: click's rule (the last wins) is left to click
            else:
                found[_SINGLE[name]] = value
        elif arg == "--all-keys" and "all_keys" not in found:
            found["all_keys"] = True
        elif not arg.startswith("-") and rev_range is None:
            rev_range = arg
        else:
            return None
    if found.get("format") != "json":
        return None
    if "limit" in found:
        text = found["limit"]
        if not text.lstrip("-").isdigit() or len(text) > 30:
            return None
        found["limit"] = int(text)
    found["rev_range"] = rev_range
    del found["format"]
    return found


def fast_log(argv: Sequence[str]) -> int | None:
    """Answer `gitcfg log ... --format json` without typer or rich: its exit code, or None when
    the command line is not one it answers."""
    options = parse_fast_log(argv)
    if options is None:
        return None
    from gitcfg.errors import GitcfgError

    try:
        _log_json(options)
    except GitcfgError as e:
        from gitcfg.rows import inert

        _err(f"gitcfg: error: {inert(str(e))}")
        caret = getattr(e, "caret_text", None)
        for line in caret().splitlines() if callable(caret) else ():
            _err(f"  {line}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("gitcfg: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return closed_pipe_exit()
    except Exception as e:  # as cli/app.py's _Group.invoke
        if type(e).__module__ == "sqlite3":
            _err(f"gitcfg: error: the query cache failed ({e}); run it again")
            return EXIT_ERROR
        import traceback

        _err("gitcfg: internal error (please report it):")
        _err("".join(traceback.format_exception(e, limit=-6)).rstrip())
        return EXIT_INTERNAL
    sys.stdout.flush()
    return 0


def _err(text: str) -> None:
    from gitcfg.rows import inert_lines

    sys.stderr.write(inert_lines(text) + "\n")


def _warn(warnings: Sequence[str]) -> None:
    from gitcfg.rows import inert

    for warning in warnings:
        _err(f"gitcfg: warning: {inert(warning)}")


class _Out:
    """What tables.emit needs of a console for json (its `file`)."""

    file = sys.stdout


def _log_json(options: dict[str, Any]) -> None:
    """cli/query.py's log_command for --format json (the same calls, in the same order);
    `options` as parse_fast_log gives them, tables.query_log's keywords."""
    import gc

    # The imports below make only objects that live as long as the process: no garbage cycles
    # for the collector to look for while they run (~1 ms of a warm query's ~20 ms over Python).
    gc.disable()
    try:
        from pathlib import Path

        from gitcfg.cli import tables as report
        from gitcfg.query import Api
    finally:
        gc.enable()

    check_bound(options.get("limit"), "--limit", MAX_LIMIT, "rows (-1: all)")
    store = open_store(Path.cwd(), _err)
    api = Api(store=store, progress=progress_bar())
    limit = options.get("limit")
    table = report.query_log(api, _warn, **options, say_total=limit == 0)
    if isinstance(table, str):
        sys.stdout.write("[]\n")
        _err(f"gitcfg: {table}")
        return
    report.add_heartbeats(table.rows, api.store.repo.state_dir)
    if table.warnings:  # rich renders them (as the typer command does)
        from rich.console import Console

        report.emit(table, "json", _Out(), Console(stderr=True, highlight=False, soft_wrap=False))
    else:
        report.emit(table, "json", _Out())
