"""How `gitcfg demo` renders: the sweep grouped by lr, then the commands to try next."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitcfg.cli import tables

if TYPE_CHECKING:
    from rich.console import Console

    from gitcfg.query import Runs


def print_demo(console: Console, repo: Path, recorded: int, runs: Runs) -> None:
    """The sweep's `runs`, grouped by lr as `gitcfg log --group-by lr` shows them."""
    console.print(f"recorded {recorded} runs on branch gitcfg-runs\n")
    console.print(f"$ gitcfg log --group-by lr   (in {repo})")
    tables.emit(tables.log_report(runs, group_by=["lr"]), "table", console)
    console.print("val_acc is the last epoch's, best_val_acc the best: lr=0.1 peaks, then overfits")
    console.print("\nTry next:")
    console.print(f"  cd {repo}")
    console.print("  gitcfg log                         # every run, the keys that differ")
    console.print("  gitcfg log --where 'lr < 0.1' --sort -best_val_acc")
    console.print("  gitcfg plot val_acc --group-by lr  # the curves, in the terminal")
    console.print("  gitcfg show <id-prefix>            # one run: metadata, config, summary")
    console.print("  gitcfg ui                          # all of it in a browser, live")
    console.print("  git log --oneline gitcfg-runs      # it is all plain git")
