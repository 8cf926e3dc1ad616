"""Reproducing a run: a new `git worktree` at its code commit, its patch applied, its config written.

`gitcfg rerun` then runs the recorded command there. Running the user's script is one of the two
subprocess uses outside gitio.py (the other: `gitcfg demo`'s sweep in demo.py); neither runs git,
and the CLI only renders around it. tests/test_module_homes.py lists both.

The user's own worktree, index, HEAD and branches are never touched: the new worktree is detached
(no branch is created), lives in its own directory, and is removed again if the patch does not
apply. The command line that re-runs the run is the recorded argv, run from the recorded working
directory's place in the new worktree: what the script was given, at the code it ran.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from gitcfg import gitio, runfile
from gitcfg.amend import AMENDED
from gitcfg.cache import resolve_run
from gitcfg.environment import REQUIREMENTS
from gitcfg.errors import (
    CheckoutFailed,
    CodeCommitMissing,
    GitError,
    NothingToRerun,
    RunWithoutCommit,
    UnsafeRunPath,
)
from gitcfg.store import RERUN_OF_VARIABLE, Store, changed_run_dirs, read_run_files
from gitcfg.yamlio import dump_yaml

_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
CONFIG_NAMES = ("config.yaml", "gitcfg-config.yaml")  # the first name not taken by the code
REQUIREMENTS_NAMES = ("requirements.txt", "gitcfg-requirements.txt")


@dataclass(frozen=True, slots=True)
class Checkout:
    run_id: str
    path: Path  # the new worktree
    code_commit: str
    patch_applied: bool  # the run's diff.patch (uncommitted changes) was applied
    # the run's config (as now recorded, amendments included), a --configs file; None for rerun
    config_path: Path | None
    # the run's installed distributions, beside the config; None when the run recorded none (it
    # predates requirements.txt) or for rerun
    requirements_path: Path | None
    recorded_requirements: bool  # the run has a requirements.txt on the runs branch
    cwd: Path  # where the run was started, inside the new worktree
    command: str | None  # the recorded argv as a shell line; None for an interactive session
    python: str | None  # the Python version the run used
    not_stored: tuple[str, ...]  # untracked files the run's patch left out (binary or large)
    # config keys and command-line options (`--hf_token`) recorded masked: fill them in before
    # re-running (the command shows such a value as '***')
    masked: tuple[str, ...]
    amended: bool  # an amendment changed the config: argv no longer produces config.yaml


def checkout_run(
    store: Store, run_id_prefix: str, path: Path | None = None, write_files: bool = True
) -> Checkout:
    """Create a detached worktree with the run's exact code (commit + patch) and config.

    With `write_files` (checkout), the run's config.yaml and requirements.txt are written into the
    directory the run started in; without (rerun), the worktree holds only the run's code, so the
    rerun records the same code.

    Raises RunWithoutCommit (recorded before the first commit), CodeCommitMissing (not in this
    clone: fetch), CheckoutFailed (the directory is taken, the patch does not apply, or the config
    cannot be written; then nothing is left behind).
    """
    run_id = resolve_run(store, run_id_prefix)
    record = store.read_run(run_id, strict=True)  # a damaged file fails: no wrong config
    code = runfile.code_of(record.meta)
    code_commit = record.code_commit
    if not code_commit:
        raise RunWithoutCommit(run_id)
    if not isinstance(code_commit, str) or not _COMMIT_ID.fullmatch(code_commit):
        raise CheckoutFailed(
            f"run {run_id}'s code.commit {str(code_commit)[:80]!r} is not a commit id"
        )
    if not gitio.commit_exists(store.repo, code_commit):
        raise CodeCommitMissing(run_id, code_commit, code.get("remote_url"))
    if code.get("patch_lost"):  # recovered after a crash without its patch (journal.py)
        raise CheckoutFailed(
            f"run {run_id} had uncommitted changes but its diff.patch was lost (it was recovered "
            "after a crash): its exact code is unknown; nothing was created"
        )
    target = (path or default_path(store, run_id)).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        again = (
            f"gitcfg checkout {run_id[:10]} DIR"
            if write_files
            else f"gitcfg rerun {run_id[:10]} --dir DIR"
        )
        raise CheckoutFailed(
            f"{target} already exists and is not empty; name another directory: {again}"
        )
    try:
        gitio.add_worktree(store.repo, target, code_commit)
    except GitError as e:
        raise CheckoutFailed(f"could not create a worktree at {target}: {e}") from None
    patch = requirements = None
    with gitio.BatchReader(store.repo) as reader:
        if "diff.patch" in record.files:
            patch = read_run_files(reader, store.runs_ref, [run_id], "diff.patch")[0]
        if REQUIREMENTS in record.files:
            requirements = read_run_files(reader, store.runs_ref, [run_id], REQUIREMENTS)[0]
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
    recorded_cwd, argv = rerun_argv(meta, target)
    cwd = recorded_cwd
    config_path = requirements_path = None
    try:
        # The run's cwd may climb out (`../..`) or pass a symlink its patch made: resolved first.
        cwd = inside_worktree(run_id, "cwd", target, recorded_cwd)
        cwd.mkdir(parents=True, exist_ok=True)  # the run's cwd may have been an untracked dir
        if write_files:
            config_text = _config_text(run_id, meta, record.config).encode()
            config_path = write_new_file(run_id, target, cwd, CONFIG_NAMES, config_text)
        if write_files and requirements is not None:
            requirements_text = _requirements_header(run_id, meta) + requirements
            requirements_path = write_new_file(
                run_id, target, cwd, REQUIREMENTS_NAMES, requirements_text
            )
    except UnsafeRunPath:
        gitio.remove_worktree(store.repo, target)
        raise
    except OSError as e:
        gitio.remove_worktree(store.repo, target)
        raise CheckoutFailed(
            f"could not write the run's config into {cwd} ({e.strerror or e}); nothing was created"
        ) from None
    return Checkout(
        run_id=run_id,
        path=target,
        code_commit=code_commit,
        patch_applied=bool(patch),
        config_path=config_path,
        requirements_path=requirements_path,
        recorded_requirements=requirements is not None,
        cwd=cwd,
        command=shlex.join(["python", *argv]) if argv else None,
        python=meta.get(runfile.PYTHON),
        not_stored=tuple(code.get("untracked_not_stored") or ()),
        masked=(*_masked_keys(record.config), *_masked_options(argv)),
        amended=_config_amended(meta),
    )


@dataclass(frozen=True, slots=True)
class Rerun:
    """A run's code checked out, and the command that re-runs it there (`gitcfg rerun`)."""

    checkout: Checkout
    argv: list[str]  # the current interpreter, the recorded arguments, then the extra ones
    env: dict[str, str]  # os.environ with GITCFG_RERUN_OF set to the original run's id
    runs_tip: str | None  # the runs branch before the rerun: its new runs are recorded after it


@dataclass(frozen=True, slots=True)
class RerunResult:
    exit_code: int  # the script's; 128 + N when signal N killed it
    new_run_ids: list[str]  # the runs it recorded with `rerun_of` (usually one)


def prepare_rerun(
    store: Store, run_id_prefix: str, extra_args: Sequence[str] = (), path: Path | None = None
) -> Rerun:
    """Check out the run's code (as checkout_run, without config.yaml and requirements.txt, so
    the rerun records the same code) and build its command with the current interpreter.

    Raises NothingToRerun for a run started from an interactive session (before anything is
    created), and checkout_run's errors.
    """
    run_id = resolve_run(store, run_id_prefix)
    meta = store.read_run(run_id).meta
    if not rerun_argv(meta, Path("."))[1]:
        raise NothingToRerun(run_id, meta.get(runfile.SCRIPT))
    checkout = checkout_run(store, run_id, path, write_files=False)
    _, argv = rerun_argv(meta, checkout.path)
    env = dict(os.environ)
    env[RERUN_OF_VARIABLE] = run_id
    return Rerun(checkout, [sys.executable, *argv, *extra_args], env, store.tip())


def run_rerun(store: Store, rerun: Rerun) -> RerunResult:
    """Run the command in the run's directory, its output going where ours goes; then find the
    runs it recorded (those committed since, whose run.yaml has `rerun_of` this run)."""
    process = subprocess.Popen(rerun.argv, cwd=rerun.checkout.cwd, env=rerun.env)
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:  # the script got the SIGINT too: let it record its end
            continue
    tip = store.tip()
    new_run_ids = []
    if tip is not None and tip != rerun.runs_tip:
        for run_id in sorted(changed_run_dirs(store.repo, rerun.runs_tip, tip)):
            if store.read_run(run_id).meta.get(runfile.RERUN_OF) == rerun.checkout.run_id:
                new_run_ids.append(run_id)
    return RerunResult(128 - code if code < 0 else code, new_run_ids)


def default_path(store: Store, run_id: str) -> Path:
    """`<repo>-<first 8 id chars>` beside the main worktree (also when called from a linked one)."""
    common = store.repo.common_dir
    top = common.parent if common.name == ".git" else (store.repo.worktree or common.parent)
    return top.parent / f"{top.name}-{run_id[:8]}"


def rerun_argv(meta: Mapping[str, Any], worktree: Path) -> tuple[Path, list[str]]:
    """(directory to run in, argv after `python`) for re-running a run inside `worktree`.

    The recorded cwd and any absolute argument under the recorded worktree are moved into the
    new one; relative arguments stay as typed. A run started with `python -m pkg.train` (run.yaml
    `module`) re-runs as `-m pkg.train ARGS`. Interactive sessions give an empty argv.
    """
    recorded_top = runfile.code_of(meta).get(runfile.CODE_WORKTREE)
    cwd = worktree
    recorded_cwd = meta.get(runfile.CWD)
    if recorded_top and recorded_cwd:
        inside = _relative_to(PurePath(recorded_cwd), PurePath(recorded_top))
        if inside is not None:
            cwd = worktree / inside
    argv = [str(a) for a in meta.get(runfile.ARGV) or []]
    if not argv or argv[0] in ("", "-c", "-m"):
        return cwd, []
    if recorded_top:
        moved = []
        for arg in argv:
            inside = (
                _relative_to(PurePath(arg), PurePath(recorded_top)) if arg.startswith("/") else None
            )
            # `/top/../x` is not under the worktree: left as recorded, not moved out of the new one
            moved.append(str(worktree / inside) if inside and ".." not in inside.parts else arg)
        argv = moved
    module = meta.get(runfile.MODULE)
    if isinstance(module, str) and module:
        argv = ["-m", module, *argv[1:]]
    return cwd, argv


def _relative_to(path: PurePath, top: PurePath) -> PurePath | None:
    try:
        return path.relative_to(top)
    except ValueError:
        return None


def inside_worktree(run_id: str, what: str, worktree: Path, path: Path) -> Path:
    """`path` with every symlink under `worktree` resolved, if it stays inside; else UnsafeRunPath.

    Every path gitcfg derives from run data (a pulled run is someone else's) goes through this
    before anything is written there: `..`, absolute paths and symlinks (the run's patch can
    create them) that lead out are refused, naming the run and the path.
    """
    from gitcfg.runfiles import resolved_inside

    inside = resolved_inside(worktree, path)
    if inside is None:
        raise UnsafeRunPath(run_id, what, path, worktree)
    return inside


def write_new_file(
    run_id: str, worktree: Path, directory: Path, names: Sequence[str], data: bytes
) -> Path:
    """Create the first of `names` not taken in `directory` (then `<last>-2`, ...) holding `data`.

    `directory` is checked with inside_worktree; the file is created with O_EXCL and O_NOFOLLOW
    relative to the directory's descriptor, so a symlink in its place (dangling ones too) is
    never written through: it counts as taken.
    """
    real = inside_worktree(run_id, "directory", worktree, directory)
    last = Path(names[-1])
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    dir_fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        index = 1
        while True:
            for name in names if index == 1 else [f"{last.stem}-{index}{last.suffix}"]:
                try:
                    fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                return real / name
            index += 1
    finally:
        os.close(dir_fd)


def _requirements_header(run_id: str, meta: Mapping[str, Any]) -> bytes:
    python = meta.get(runfile.PYTHON)
    where = " on ".join(
        filter(None, [f"Python {python}" if python else None, meta.get(runfile.PLATFORM)])
    )
    return (
        f"# installed packages of gitcfg run {run_id}" + (f" ({where})" if where else "") + "\n"
        "# install them with: pip install -r <this file>\n"
    ).encode()


def _config_text(run_id: str, meta: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    name = meta.get(runfile.NAME)
    header = f"# config of gitcfg run {run_id}" + (f" ({name})" if name else "")
    if _config_amended(meta):
        header += f"\n# amended since it ran: `gitcfg history {run_id[:10]}`"
    return f"{header}\n{dump_yaml(dict(config))}"


def _config_amended(meta: Mapping[str, Any]) -> bool:
    return AMENDED in (meta.get(runfile.CONFIG_SOURCES) or {}).values()


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
