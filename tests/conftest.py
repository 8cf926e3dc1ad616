"""Fixtures: hermetic git, real repositories built with git (not gitcfg), and run helpers."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


# No per-example deadline: on a busy shared 2-core machine a slow example is load, not a bug
# (a sync property test failed on its 200 ms deadline while eight processes competed for the CPU).
settings.register_profile("gitcfg", deadline=None)
settings.load_profile("gitcfg")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow") or os.environ.get("CI") or os.environ.get("GITCFG_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI always does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def hermetic_seal(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user or system git config, a fixed identity, no inherited GIT_DIR/GIT_INDEX_FILE."""
    seal_environment(monkeypatch, tmp_path_factory.mktemp("home"))


@contextlib.contextmanager
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """hermetic_seal for a fixture wider than one test (scope="module"), which runs before it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        seal_environment(monkeypatch, tmp_path_factory.mktemp("home"))
        yield


def seal_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Through `monkeypatch`: `home` as HOME with a fixed identity, no GIT_*/GITCFG_*/rank vars."""
    for key in list(os.environ):
        if key.startswith(("GIT_", "GITCFG_")) or key in (
            "RANK",
            "LOCAL_RANK",
            "SLURM_PROCID",
            "NODE_RANK",
            "GROUP_RANK",
            "LOCAL_WORLD_SIZE",
            "OMPI_COMM_WORLD_RANK",
            "PMI_RANK",
        ):
            monkeypatch.delenv(key)
    # Tests assert scripts' stderr line by line; the line a run prints at its end is tested on
    # its own (tests/test_init_kwargs.py), with this unset.
    monkeypatch.setenv("GITCFG_SILENT", "1")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    # Child Python processes import this checkout's gitcfg even if it is not installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd` and return stdout (stripped). A `git fsck` first waits for the detached
    maintenance gitcfg may have started: its repack deletes packs fsck has listed ("packfile ...
    index not opened"), as git's own detached auto gc would."""
    if args and args[0] == "fsck":
        wait_for_maintenance(cwd)
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def init_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    return path


def commit_initial(path: Path) -> Path:
    """The `repo` fixture's first commit: README.md and train.py."""
    (path / "README.md").write_text("# project\n")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    return path


def copy_repo(template: Path, destination: Path) -> Path:
    """A test's own copy of a repository a wider-scoped fixture built once (cheap: no process)."""
    shutil.copytree(template, destination, symlinks=True)
    return destination


@pytest.fixture
def unborn_repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


@pytest.fixture
def repo(unborn_repo: Path) -> Path:
    return commit_initial(unborn_repo)


@pytest.fixture
def dirty_repo(repo: Path) -> Path:
    (repo / "train.py").write_text("print('train v2')\n")  # unstaged change
    (repo / "README.md").write_text("# project\nstaged line\n")
    git(repo, "add", "README.md")  # staged change
    (repo / "notes.txt").write_text("untracked notes\n")
    return repo


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote holding a `main` branch with one commit."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "train.py").write_text("print('train')\n")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", str(bare), "main")
    return bare


def write_script(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def commit_script(repo: Path, relative: str, body: str) -> Path:
    """Write `body` (dedented) to `repo/relative` and commit it; return the script's path."""
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    write_script(path, body)
    git(repo, "add", relative)
    git(repo, "commit", "-q", "-m", f"add {relative}")
    return path


def run_python(
    cwd: Path,
    script: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a Python script as a real process in `cwd`."""
    full_env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def snapshot(repo: Path) -> dict[str, object]:
    """Everything recording must leave untouched: index bytes, HEAD, branch refs, status, stash, hooks."""
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir"))
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    index = git_dir / "index"
    hooks = common / "hooks"
    return {
        "index": index.read_bytes() if index.exists() else None,
        "HEAD": (git_dir / "HEAD").read_text(),
        "head_commit": git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False),
        "refs": sorted(
            line
            for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines()
            if "gitcfg-runs" not in line
        ),
        "status": git(
            repo,
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "--branch",
            "--untracked-files=all",
        ),
        "stash": git(repo, "stash", "list"),
        "hooks": sorted((p.name, p.read_bytes()) for p in hooks.iterdir())
        if hooks.exists()
        else [],
        "worktree": sorted(
            (str(p.relative_to(repo)), p.read_bytes())
            for p in repo.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(repo).parts
        ),
    }


def runs_branch_files(repo: Path, ref: str = "gitcfg-runs") -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", ref).splitlines()


def read_branch_file(repo: Path, path: str, ref: str = "gitcfg-runs") -> str:
    return git(repo, "show", f"{ref}:{path}")


def one_error_line(result) -> str:
    """The single `gitcfg: error: ...` line of a CLI result that failed with exit 1."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("gitcfg: error: ")
    return lines[0]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Invoke the gitcfg CLI in a directory through typer's CliRunner: `cli(repo, "log")`."""
    from typer.testing import CliRunner

    from gitcfg.cli import app

    runner = CliRunner()

    def invoke(cwd: Path, *args: str):
        monkeypatch.chdir(cwd)
        return runner.invoke(app, list(args))

    return invoke


@contextlib.contextmanager
def held_script(cwd: Path, script: Path) -> Iterator[str]:
    """Run `script`, which prints one line and then waits for a line on stdin; yield the line
    it printed while it waits, then let it end and assert it exited 0."""
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        yield proc.stdout.readline().strip()
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def gitcfg_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks call `gitcfg`: make it this checkout's, whatever else is installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "gitcfg"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gitcfg "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def start_run(repo: Path, config: dict | None = None):  # -> gitcfg.tracking.Run
    """A recording Run in this process, started as track() starts one, without its exit hooks."""
    from gitcfg.configuration import Config
    from gitcfg.store import Store
    from gitcfg.tracking import Run

    resolved = Config(config or {"lr": 0.1})
    run = Run(resolved, store=Store.open(repo))
    run._start(["train.py"], None)
    resolved._mark_started()
    resolved._set_recorder(run._on_config_change)
    return run


def wait_for(condition: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail after `timeout` s.

    Tests wait for the event, never a fixed time: quick on an idle machine, patient on a loaded
    one. A condition that raises OSError or ValueError (a file not there yet, half-written JSON)
    is not met yet.
    """
    deadline = time.monotonic() + timeout
    last: OSError | ValueError | None
    while True:
        try:
            value = condition()
        except (OSError, ValueError) as error:
            value, last = None, error
        else:
            last = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waited {timeout:g} s for {what}" + (f" ({last!r})" if last else "")
            )
        time.sleep(0.01)


def wait_for_maintenance(repo: Path, timeout: float = 120.0) -> None:
    """Wait until no maintenance holds the lock (the spawner takes it before the child starts)."""
    locks = [d / "gitcfg" / "maintenance.lock" for d in (repo / ".git", repo)]  # or a bare one
    lock = next((lock for lock in locks if lock.exists()), None)
    if lock is None:
        return
    deadline = time.monotonic() + timeout
    fd = os.open(lock, os.O_RDWR)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("maintenance still running") from None
                time.sleep(0.05)
    finally:
        os.close(fd)


def run_training(repo: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Commit `body` as repo/train.py and run it (OMP_NUM_THREADS=1: 20x faster per step on a
    shared 2-core machine, tests/integrations); fail showing its stderr unless it exits 0."""
    script = commit_script(repo, "train.py", body)
    proc = run_python(repo, script, env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc


# A tiny regression problem for a training script's first lines (tests/integrations).
REGRESSION_DATA = """\
import json
import numpy as np
import gitcfg

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4))
y = X[:, 0] + 0.1 * rng.normal(size=120)
"""


def run_dir_of(path: str) -> str:
    """The run directory (`runs/a/b/c/<id>`, or FORMAT 1's `runs/ab/<id>`) a branch path is in."""
    from gitcfg.store import parse_run_path

    parsed = parse_run_path(path)
    assert parsed is not None, path
    return parsed[1]


def run_id_of(path: str) -> str:
    """The id of the run whose directory holds the runs-branch path `path`."""
    return run_dir_of(path).rsplit("/", 1)[1]
