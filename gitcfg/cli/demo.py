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
    console.print(f"recorded {len(grid)} runs on branch gitcfg-runs\n")
    console.print(f"$ gitcfg log --group-by lr   (in {repo})")
    from gitcfg import query
    from gitcfg.cli import tables

    with query.Api(repo).runs() as runs:
        tables.emit(tables.log_report(runs, group_by=["lr"]), "table", console)
    console.print("val_acc is the last epoch's, best_val_acc the best: lr=0.1 peaks, then overfits")
    console.print("\nTry next:")
    console.print(f"  cd {repo}")
    console.print("  gitcfg log                         # every run, the keys that differ")
    console.print("  gitcfg log --where 'lr < 0.1' --sort -best_val_acc")
    console.print("  gitcfg plot val_acc --group-by lr  # the curves, in the terminal")
    console.print("  gitcfg show <id-prefix>            # one run: metadata, config, summary")
    console.print("  git log --oneline gitcfg-runs      # it is all plain git")
