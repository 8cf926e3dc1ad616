"""`gitcfg init`: the runs branch, the repo's gitcfg config, and the git hooks from hooks/."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gitcfg import gitio
from gitcfg.errors import GitcfgError
from gitcfg.store import Store

HOOK_NAMES = ("pre-push", "post-merge", "post-rewrite")
HOOK_MARKER = b"gitcfg-hook:"
CHAINED_SUFFIX = ".pre-gitcfg"


@dataclass(frozen=True, slots=True)
class InitResult:
    created_branch: bool
    set_config: bool
    hooks_installed: tuple[str, ...]  # hook files written this time
    hooks_chained: tuple[str, ...]  # existing hooks kept and called first by ours
    hooks_dir: Path

    @property
    def changed(self) -> bool:
        return self.created_branch or self.set_config or bool(self.hooks_installed)


def hook_source(name: str) -> bytes:
    """The hook script shipped with gitcfg (hooks/ in the source tree, gitcfg/hooks when installed)."""
    try:
        from importlib.resources import files

        return (files("gitcfg.hooks") / name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return (Path(__file__).resolve().parent.parent / "hooks" / name).read_bytes()


def hooks_dir(store: Store) -> Path:
    """Where git looks for hooks: core.hooksPath (relative to the worktree) or <common dir>/hooks."""
    configured = store.git_config.get("core.hookspath")
    if configured:
        path = Path(os.path.expanduser(configured))
        return path if path.is_absolute() else store.repo.cwd / path
    return store.repo.common_dir / "hooks"


def init_repo(store: Store) -> InitResult:
    """Create the runs branch, record gitcfg.branch, install hooks; idempotent."""
    store.check_writable()  # never adopt a branch holding the code, or one checked out
    created = False if store.exists() else store.create_branch()
    set_config = store.git_config.get("gitcfg.branch") != store.runs_branch
    if set_config:
        gitio.set_config(store.repo, "gitcfg.branch", store.runs_branch)
    directory = hooks_dir(store)
    installed, chained = [], []
    for name in HOOK_NAMES:
        was_chained = _install_hook(directory, name, hook_source(name))
        if was_chained is None:
            continue
        installed.append(name)
        if was_chained:
            chained.append(name)
    return InitResult(created, set_config, tuple(installed), tuple(chained), directory)


def _install_hook(directory: Path, name: str, script: bytes) -> bool | None:
    """Write hook `name`; keep an existing foreign hook as `<name>.pre-gitcfg`, which ours calls.

    Returns None when our hook is already there, else whether a foreign hook was chained.
    """
    target = directory / name
    chained = False
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if target.exists():
            current = target.read_bytes()
            if HOOK_MARKER in current:
                if current == script:
                    return None
            else:
                backup = directory / (name + CHAINED_SUFFIX)
                if backup.exists():
                    raise GitcfgError(
                        f"both {target} and {backup} exist; merge them by hand, then rerun `gitcfg init`"
                    )
                target.rename(backup)
                chained = True
        tmp = directory / f".{name}.gitcfg-tmp"
        tmp.write_bytes(script)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(target)
    except OSError as e:
        raise GitcfgError(f"could not install the {name} hook in {directory}: {e.strerror}") from e
    return chained or (directory / (name + CHAINED_SUFFIX)).exists()
