"""`gitcfg demo`: a scratch repository, a small training script, and a sweep of real runs of it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitcfg import gitio
from gitcfg.errors import GitcfgError

TRAIN_SCRIPT = '''"""A toy training loop: the loss falls at a rate set by lr, with seed-dependent noise.

A large lr learns fast, then overfits: val_acc peaks after a few epochs and falls while train_loss
keeps falling, so the summary records both the last val_acc and the best one.
"""
import argparse
import math
import random

import gitcfg

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

with gitcfg.track(args) as run:
    run.config.update({"model": {"depth": 4, "width": 128}})
    rng = random.Random(f"{args.seed}-{args.lr}")  # noise differs per run
    quality = math.exp(-((math.log10(args.lr) + 2) ** 2))  # best near lr = 1e-2
    best_val_acc = 0.0
    for step in range(args.epochs):
        progress = 1 - math.exp(-(step + 1) * 10 * args.lr)
        overfit = 0.08 * args.lr * max(step - 4, 0)  # after 5 epochs, val_acc drifts down
        train_loss = 2.3 * (1 - 0.8 * quality * progress) - overfit + rng.gauss(0, 0.02)
        val_acc = 0.1 + 0.85 * quality * progress - overfit + rng.gauss(0, 0.01)
        best_val_acc = max(best_val_acc, val_acc)
        run.log({"train_loss": train_loss, "val_acc": val_acc})
    # The summary holds each metric's last value (as in wandb); the best epoch is its own key.
    run.summary["best_val_acc"] = best_val_acc
'''

LEARNING_RATES = (0.001, 0.01, 0.1)
SEEDS = (0, 1, 2, 3)
# Fixed identity for the demo's own code commit: the demo must work with no git identity set.
_DEMO_IDENTITY = ("-c", "user.name=gitcfg demo", "-c", "user.email=demo@gitcfg.invalid")


def sweep_grid() -> list[dict[str, float | int]]:
    return [{"lr": lr, "seed": seed} for lr in LEARNING_RATES for seed in SEEDS]


def create_demo_repo(path: Path | None) -> Path:
    """A new git repository holding train.py in one commit; `path` must be new or empty."""
    repo = Path(tempfile.mkdtemp(prefix="gitcfg-demo-")) if path is None else path.resolve()
    if repo.exists() and not repo.is_dir():
        raise GitcfgError(f"{repo} is a file, not a directory; give `gitcfg demo` a new directory")
    if repo.exists() and any(repo.iterdir()):
        raise GitcfgError(f"{repo} is not empty; give `gitcfg demo` a new directory")
    try:
        repo.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GitcfgError(f"cannot create the demo directory {repo}: {e.strerror}") from None
    gitio.run_git(repo, "init", "-q")
    (repo / "train.py").write_text(TRAIN_SCRIPT)
    (repo / ".gitignore").write_text("__pycache__/\n")
    gitio.run_git(repo, "add", "train.py", ".gitignore")
    gitio.run_git(
        repo, *_DEMO_IDENTITY, "commit", "-q", "--no-verify", "-m", "Add a toy training script"
    )
    return repo


def run_sweep(
    repo: Path,
    grid: Sequence[dict[str, float | int]],
    jobs: int = 4,
    on_done: Callable[[], None] | None = None,
) -> list[str]:
    """Run train.py once per grid point, `jobs` at a time, each a real Python process.

    Returns the error output of the runs that failed (empty when all succeeded).
    """
    env = dict(os.environ)
    # The child must import this very gitcfg, installed or not.
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))

    def one(point: dict[str, float | int]) -> str | None:
        argv = [sys.executable, "train.py", *(f"--{k}={v}" for k, v in point.items())]
        proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
        if on_done:
            on_done()
        return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")

    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        results = list(pool.map(one, grid))
    return [r for r in results if r]
