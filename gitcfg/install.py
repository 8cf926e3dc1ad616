"""`gitcfg init`: the runs branch, the repo's gitcfg config, and the git hooks (hooks/hook-tmpl).

Each hook is the template with this Python and hook name filled in; what it does is hook_impl.py.
A hook that was there before is kept as `<name>.pre-gitcfg` (renamed: its bytes and mode intact),
run first by ours, and put back by `gitcfg init --uninstall-hooks`.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gitcfg import gitio
from gitcfg.errors import GitcfgError
from gitcfg.hook_impl import CHAINED_SUFFIX, HOOK_NAMES
from gitcfg.store import Store

HOOK_MARKER = b"gitcfg-hook:"
TEMPLATE = "hook-tmpl"


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


@dataclass(frozen=True, slots=True)
class UninstallResult:
    removed: tuple[str, ...]  # gitcfg's hooks deleted
    restored: tuple[str, ...]  # the user's hooks put back from <name>.pre-gitcfg
    hooks_dir: Path


def _template() -> bytes:
    """hooks/hook-tmpl as shipped (hooks/ in the source tree, gitcfg/hooks when installed)."""
    try:
        from importlib.resources import files

        return (files("gitcfg.hooks") / TEMPLATE).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return (Path(__file__).resolve().parent.parent / "hooks" / TEMPLATE).read_bytes()


def hook_source(name: str, python: str | None = None) -> bytes:
    """Hook `name` as `gitcfg init` writes it: the template running `python` (default: this one)."""
    package = str(Path(__file__).resolve().parent)
    filled = {"@PYTHON@": shlex.quote(python or sys.executable), "@PACKAGE@": shlex.quote(package)}
    script = _template().replace(b"@HOOK@", name.encode())
    for key, value in filled.items():
        script = script.replace(key.encode(), value.encode())
    return script


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
        if _is_ours(target):
            if target.read_bytes() == script:
                return None
        elif target.exists() or target.is_symlink():  # a symlink is kept as the link it is
            backup = directory / (name + CHAINED_SUFFIX)
            if backup.exists() or backup.is_symlink():
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


def uninstall_hooks(store: Store) -> UninstallResult:
    """Remove gitcfg's hooks and put back the ones they chained, byte for byte (renamed back)."""
    directory = hooks_dir(store)
    removed, restored = [], []
    for name in HOOK_NAMES:
        target, backup = directory / name, directory / (name + CHAINED_SUFFIX)
        try:
            if not _is_ours(target):
                continue
            if backup.exists() or backup.is_symlink():
                backup.replace(target)  # a rename: the user's bytes, mode and inode as they were
                restored.append(name)
            else:
                target.unlink()
            removed.append(name)
        except OSError as e:
            raise GitcfgError(
                f"could not remove the {name} hook in {directory}: {e.strerror}"
            ) from e
    return UninstallResult(tuple(removed), tuple(restored), directory)


def _is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return HOOK_MARKER in f.read(4096)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
