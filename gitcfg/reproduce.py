"""Reproducing a run: a new `git worktree` at its code commit, its patch applied, its config written.

The user's own worktree, index, HEAD and branches are never touched: the new worktree is detached
(no branch is created), lives in its own directory, and is removed again if the patch does not
apply. The command line that re-runs the run is the recorded argv, run from the recorded working
directory's place in the new worktree: what the script was given, at the code it ran.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from gitcfg import gitio
from gitcfg.amend import AMENDED
from gitcfg.cache import resolve_run
from gitcfg.errors import CheckoutFailed, CodeCommitMissing, GitError, RunWithoutCommit
from gitcfg.store import Store, run_dir
from gitcfg.yamlio import dump_yaml

CONFIG_NAMES = ("config.yaml", "gitcfg-config.yaml")  # the first name not taken by the code


@dataclass(frozen=True, slots=True)
class Checkout:
    run_id: str
    path: Path  # the new worktree
    code_commit: str
    patch_applied: bool  # the run's diff.patch (uncommitted changes) was applied
    config_path: Path  # the run's config (as now recorded, amendments included), a --configs file
    cwd: Path  # where the run was started, inside the new worktree
    command: str | None  # the recorded argv as a shell line; None for an interactive session
    python: str | None  # the Python version the run used
    not_stored: tuple[str, ...]  # untracked files the run's patch left out (binary or large)
    # config keys and command-line options (`--hf_token`) recorded masked: fill them in before
    # re-running (the command shows such a value as '***')
    masked: tuple[str, ...]
    amended: bool  # an amendment changed the config: argv no longer produces config.yaml


def checkout_run(store: Store, run_id_prefix: str, path: Path | None = None) -> Checkout:
    """Create a detached worktree with the run's exact code (commit + patch) and config.

    Raises RunWithoutCommit (recorded before the first commit), CodeCommitMissing (not in this
    clone: fetch), CheckoutFailed (the directory is taken, the patch does not apply, or the config
    cannot be written; then nothing is left behind).
    """
    run_id = resolve_run(store, run_id_prefix)
    record = store.read_run(run_id)
    code = record.meta.get("code") or {}
    code_commit = record.code_commit
    if not code_commit:
        raise RunWithoutCommit(run_id)
    if not gitio.commit_exists(store.repo, code_commit):
        raise CodeCommitMissing(run_id, code_commit, code.get("remote_url"))
    target = (path or default_path(store, run_id)).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CheckoutFailed(
            f"{target} already exists and is not empty; name another directory: "
            f"gitcfg checkout {run_id[:10]} DIR"
        )
    try:
        gitio.add_worktree(store.repo, target, code_commit)
    except GitError as e:
        raise CheckoutFailed(f"could not create a worktree at {target}: {e}") from None
    patch = None
    if "diff.patch" in record.files:
        with gitio.BatchReader(store.repo) as reader:
            patch = reader.read(f"{store.runs_ref}:{run_dir(run_id)}/diff.patch")
    if patch:
        try:
            gitio.apply_patch(target, patch)
        except GitError as e:
            gitio.remove_worktree(store.repo, target)
            raise CheckoutFailed(
                f"run {run_id}'s diff.patch does not apply on {code_commit[:12]} ({e.detail}); "
                "nothing was created"
            ) from None
    meta = record.meta
    cwd, argv = rerun_argv(meta, target)
    try:
        config_path = _free_path(cwd, CONFIG_NAMES)
        config_path.write_text(_config_text(run_id, meta, record.config))
    except OSError as e:
        gitio.remove_worktree(store.repo, target)
        raise CheckoutFailed(
            f"could not write the run's config into {cwd} ({e.strerror or e}); nothing was created"
        ) from None
    return Checkout(
        run_id=run_id, path=target, code_commit=code_commit, patch_applied=bool(patch),
        config_path=config_path, cwd=cwd,
        command=shlex.join(["python", *argv]) if argv else None,
        python=meta.get("python"), not_stored=tuple(code.get("untracked_not_stored") or ()),
        masked=(*_masked_keys(record.config), *_masked_options(argv)),
        amended=_config_amended(meta),
    )  # fmt: skip


def default_path(store: Store, run_id: str) -> Path:
    """`<repo>-<first 8 id chars>` beside the main worktree (also when called from a linked one)."""
    common = store.repo.common_dir
    top = common.parent if common.name == ".git" else (store.repo.worktree or common.parent)
    return top.parent / f"{top.name}-{run_id[:8]}"


def rerun_argv(meta: Mapping[str, Any], worktree: Path) -> tuple[Path, list[str]]:
    """(directory to run in, argv after `python`) for re-running a run inside `worktree`.

    The recorded cwd and any absolute argument under the recorded worktree are moved into the
    new one; relative arguments stay as typed. Interactive sessions give an empty argv.
    """
    code = meta.get("code") or {}
    recorded_top = code.get("worktree")
    cwd = worktree
    recorded_cwd = meta.get("cwd")
    if recorded_top and recorded_cwd:
        inside = _relative_to(PurePath(recorded_cwd), PurePath(recorded_top))
        if inside is not None:
            cwd = worktree / inside
    argv = [str(a) for a in meta.get("argv") or []]
    if not argv or argv[0] in ("", "-c", "-m"):
        return cwd, []
    if recorded_top:
        moved = []
        for arg in argv:
            inside = (
                _relative_to(PurePath(arg), PurePath(recorded_top)) if arg.startswith("/") else None
            )
            moved.append(str(worktree / inside) if inside is not None else arg)
        argv = moved
    return cwd, argv


def _relative_to(path: PurePath, top: PurePath) -> PurePath | None:
    try:
        return path.relative_to(top)
    except ValueError:
        return None


def _free_path(directory: Path, names: Sequence[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)  # the run's cwd may have been an untracked dir
    for name in names:
        if not (directory / name).exists():
            return directory / name
    stem = Path(names[-1]).stem
    index = 2
    while (directory / f"{stem}-{index}.yaml").exists():
        index += 1
    return directory / f"{stem}-{index}.yaml"


def _config_text(run_id: str, meta: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    name = meta.get("name")
    header = f"# config of gitcfg run {run_id}" + (f" ({name})" if name else "")
    if _config_amended(meta):
        header += f"\n# amended since it ran: `gitcfg history {run_id[:10]}`"
    return f"{header}\n{dump_yaml(dict(config))}"


def _config_amended(meta: Mapping[str, Any]) -> bool:
    return AMENDED in (meta.get("config_sources") or {}).values()


def _masked_options(argv: Sequence[str]) -> list[str]:
    """The options whose values run.yaml's argv holds masked: `--hf_token ***`, `--hf-token=***`."""
    from gitcfg.configuration import MASKED

    options = []
    for index, arg in enumerate(argv):
        if arg == MASKED and index > 0:
            options.append(argv[index - 1])
        elif arg.endswith(f"={MASKED}"):
            options.append(arg.removesuffix(f"={MASKED}"))
    return options


def _masked_keys(config: Mapping[str, Any]) -> list[str]:
    from gitcfg.configuration import MASKED
    from gitcfg.rows import flatten

    return [key for key, value in flatten(config).items() if value == MASKED]
