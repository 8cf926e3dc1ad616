"""`gitcfg demo`: a scratch repo with a 12-run sweep, shown grouped (library: demo.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gitcfg.cli.app import _console, app
from gitcfg.errors import GitcfgError


@app.command()
def demo(
    path: Annotated[
        Optional[Path],
        typer.Argument(help="Where to create the demo repo (default: a new temporary directory)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Runs at once.")] = 4,
) -> None:
    """Create a scratch repo, run a 12-run sweep (lr x seed) of a small script, group it by lr.

    Example: gitcfg demo /tmp/gitcfg-demo
    """
    from gitcfg import demo as demo_lib

    console = _console()
    repo = demo_lib.create_demo_repo(path)
    console.print(f"demo repo: {repo}")
    from rich.progress import Progress

    grid = demo_lib.sweep_grid()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("sweep", total=len(grid))
        failures = demo_lib.run_sweep(repo, grid, jobs, lambda: progress.advance(task))
    if failures:
        raise GitcfgError(f"{len(failures)} demo runs failed; first error: {failures[0]}")
    from gitcfg import query
    from gitcfg.cli.demo_view import print_demo

    with query.Api(repo).runs() as runs:
        print_demo(console, repo, len(grid), runs)
