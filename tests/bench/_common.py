"""What the benchmarks share: a git helper and a one-commit repository to record into."""

from __future__ import annotations

import subprocess
from collections.abc import MutableMapping
from pathlib import Path


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, check=True
    ).stdout.decode()


def make_repo(base: Path, name: str = "repo") -> Path:
    """`base/name`: a git repository with one commit of train.py, made without gitcfg."""
    repo = base / name
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text("print(1)\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "code")
    return repo


def set_bench_identity(env: MutableMapping[str, str]) -> None:
    """A git identity for the runs branch's commits unless one is set (a fresh machine has none)."""
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
