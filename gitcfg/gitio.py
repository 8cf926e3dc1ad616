"""The one place that talks to git: discovery, code capture, object writes, CAS ref moves, batch reads.

Every call takes argv as a list and an explicit cwd. gitcfg's own writes run with the user's hooks
disabled, never touch the index, HEAD or the worktree, and move one ref with compare-and-swap.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import subprocess

from gitcfg.errors import (
    GitcfgError,
    GitError,
    NotARepo,
    RemoteUnreachable,
    RunsBranchMoved,
    StateNotWritable,
    UnsafeRepository,
)

ZERO_OID = "0" * 40
PIPE = -1  # subprocess.PIPE, without importing subprocess (see run_git)
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# git looks for hooks in core.hooksPath; a directory that cannot exist disables them all, including
# reference-transaction, which update-ref and fast-import would otherwise run for our ref moves.
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null/gitcfg-no-hooks")
# Variables git exports to hooks and aliases; inherited, they would point our calls at another repo.
_KEEP_GIT_ENV = (
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_ASKPASS",
    "GIT_TERMINAL_PROMPT",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CEILING_DIRECTORIES",
    "GIT_HTTP_PROXY_AUTHMETHOD",
    "GIT_SSL_NO_VERIFY",
    "GIT_SSL_CAINFO",
    "GIT_ALLOW_PROTOCOL",
    "GIT_PROTOCOL_FROM_USER",
    "GIT_TRACE",
    "GIT_TRACE2",
    "GIT_TRACE2_EVENT",
    "GIT_TRACE_PERFORMANCE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    # `git -c key=value ...` and GIT_CONFIG_COUNT settings reach our calls (hooks run under them),
    # as pre-commit keeps them: dropping them made git and gitcfg disagree on gitcfg.branch.
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)
_KEEP_GIT_ENV_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
# fast-import writes an import of fewer than 100 objects as loose objects, unreferenced until the ref
# moves: a concurrent `git gc --prune=now` deleted them and left the branch pointing at a missing
# tree. With unpackLimit=0 every import is a pack that fast-import marks `.keep` until it has moved
# the ref, which no gc or repack deletes. (Many small packs: see maintain_packs.)
_PACKED_IMPORT = ("-c", "fastimport.unpackLimit=0")
MAX_RETRIES = 50
IMPORT_ATTEMPTS = 8  # fast-import failures with the ref unmoved before the error is raised
STALE_KEEP_S = 600.0
PACK_LIMIT = 24  # packs under objects/pack before a geometric repack (gc.autoPackLimit is 50)
_NO_GIT = "git is not installed or not on PATH"


def _git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_") or k in _KEEP_GIT_ENV or k.startswith(_KEEP_GIT_ENV_PREFIXES)
    }
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


def run_git(
    cwd: Path,
    *args: str,
    input: bytes | None = None,
    ok_codes: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git args...` in `cwd`; raise GitError unless the exit code is in `ok_codes`."""
    import subprocess  # here: a warm query starts no process (probe_memoized), nor imports this

    argv = ["git", *args]
    try:
        proc = subprocess.run(
            argv, cwd=cwd, input=input, capture_output=True, env=_git_env(env), check=False
        )
    except FileNotFoundError:
        raise GitError(args, 127, _NO_GIT) from None
    if proc.returncode not in ok_codes:
        raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc


def _popen(
    cwd: Path,
    args: Sequence[str],
    *,
    stdin: int | IO[bytes] | None = None,
    stdout: int | IO[bytes] | None = PIPE,
    stderr: int | IO[bytes] | None = PIPE,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `git args...` in `cwd` with run_git's environment (`env` added); not waited for.

    stdin is inherited unless given; stdout and stderr are pipes unless given (None: inherited).
    The caller reads, waits and raises GitError on the exit code.
    """
    import subprocess

    try:
        return subprocess.Popen(
            ["git", *args], cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr, env=_git_env(env)
        )
    except FileNotFoundError:
        raise GitError(args, 127, _NO_GIT) from None


def run_program(
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    stdout_to_stderr: bool = False,
) -> int:
    """Run another program (a user's own git hook, `gitcfg push` from a hook) with this process's
    terminal and environment (git's hook variables kept), stdin `input` (None: nothing); its exit
    status (127: not runnable). A script without a #! line runs under /bin/sh, as git runs hooks."""
    import subprocess

    stdin = subprocess.DEVNULL if input is None else None
    stdout = 2 if stdout_to_stderr else None
    for attempt in (list(argv), ["/bin/sh", *argv]):
        try:
            proc = subprocess.run(
                attempt, input=input, stdin=stdin, stdout=stdout, env=env, check=False
            )
        except OSError as e:
            if e.errno != errno.ENOEXEC:
                break
        else:
            return proc.returncode
    return 127


def process_args(pid: int) -> list[str]:
    """The command line of process `pid`: /proc/PID/cmdline, else `ps` (words split on spaces)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [arg.decode(errors="replace") for arg in f.read().split(b"\0")[:-1]]
    except OSError:
        pass
    import subprocess

    try:
        out = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, check=False
        ).stdout
    except OSError:
        return []
    return out.decode(errors="replace").split()


def git_text(cwd: Path, *args: str) -> str:
    return run_git(cwd, *args).stdout.decode(errors="replace")


# Records here are NamedTuples, not dataclasses: `import dataclasses` costs ~4 ms on the track() path.

LIVE_DIR = "live"  # the live journals of runs recording here: state dir / LIVE_DIR / <run id>


def has_journals(state_dir: Path) -> bool:
    """Whether anything is in the live journals' directory (one scandir): when nothing is, a
    command has no run to recover or to show live, and need not import journal.py or live.py."""
    try:
        with os.scandir(state_dir / LIVE_DIR) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


# --- discovery ---------------------------------------------------------------------------------


class Repo(NamedTuple):
    """Where a repository lives. `worktree` is None for a bare repository."""

    worktree: Path | None
    git_dir: Path  # this worktree's private dir (== common_dir outside `git worktree`)
    common_dir: Path  # objects, refs and config shared by every worktree

    @property
    def cwd(self) -> Path:
        """Directory to run git in."""
        return self.worktree or self.git_dir

    @property
    def state_dir(self) -> Path:
        """gitcfg's own files (lock, cache, journals) under the common git dir."""
        return self.common_dir / "gitcfg"


_DISCOVER = (
    "rev-parse",
    "--path-format=absolute",
    "--git-dir",
    "--git-common-dir",
    "--is-bare-repository",
    "--show-toplevel",
)
_CONFIG = ("config", "-l", "-z")
# Plain `git status` rewrites .git/index to cache stat data; --no-optional-locks prevents it.
# Porcelain paths are relative to the top of the worktree, whatever the cwd.
_STATUS = (
    "--no-optional-locks",
    "status",
    "--porcelain=v1",
    "-z",
    "--untracked-files=all",
    "--ignore-submodules=dirty",
)


def discover(start: Path) -> Repo:
    """Find the repository containing `start`; raise NotARepo outside one."""
    out = run_git(start, *_DISCOVER, ok_codes=(0, 128))
    return _parse_discovery(start, out.returncode, out.stdout, out.stderr)


def _parse_discovery(start: Path, returncode: int, stdout: bytes, stderr: bytes = b"") -> Repo:
    lines = stdout.decode().splitlines()
    if len(lines) >= 3 and lines[2] == "true":  # bare: --show-toplevel fails, the rest printed
        return Repo(None, Path(lines[0]), Path(lines[1]))
    if returncode != 0 or len(lines) < 4:
        # git 2.35.2+ (CVE-2022-24765): "detected dubious ownership in repository at ..."
        if b"dubious ownership" in stderr or b"unsafe repository" in stderr:
            raise UnsafeRepository(start)
        raise NotARepo(start)
    return Repo(Path(lines[3]), Path(lines[0]), Path(lines[1]))


class Probe(NamedTuple):
    """What track() needs to know before writing: where the repo is, its config, its status."""

    repo: Repo
    config: dict[str, str]
    status: bytes | None  # `git status --porcelain=v1 -z`; None in a bare repo or if not asked


def probe(start: Path, with_status: bool = True) -> Probe:
    """Discover the repo and read its config (and status) with git processes run concurrently.

    Without `with_status` (the CLI's case) Probe.status is None.
    """
    calls = (_DISCOVER, _CONFIG, _STATUS) if with_status else (_DISCOVER, _CONFIG)
    procs = [_popen(start, args) for args in calls]
    results = [(p.communicate(), p.returncode) for p in procs]
    (found, found_err), found_code = results[0]
    repo = _parse_discovery(start, found_code, found, found_err)
    (config_out, _), _ = results[1]
    if not with_status:
        return Probe(repo, _parse_config(config_out), None)
    (status_out, status_err), status_code = results[2]
    if repo.worktree is not None and status_code != 0:
        raise GitError(_STATUS, status_code, status_err.decode(errors="replace"))
    return Probe(repo, _parse_config(config_out), status_out if repo.worktree else None)


# --- discovery without git: the probe memo ---------------------------------------------------
# A warm `gitcfg log` at 1,000 runs spent ~4 ms of its ~80 ms on the two git processes of
# probe() (issue 13, small sizes). What they print depends on the directory, the environment,
# the repository's layout, its owner and the config files, so probe_memoized keeps their output
# with the stat signatures of all of those, in the state dir, and answers from it while they
# are all unchanged (a `git config` write renames a new file into place: a new inode). Anything
# it does not read itself (a bare repository, GIT_CEILING_DIRECTORIES, a file system boundary,
# config includes) is left to git, every time.

PROBE_MEMO = "probe-memo.json"  # under the state dir
_PROBE_MEMO_VERSION = 1
_PROBE_MEMO_ENTRIES = 32  # directories remembered per repository
_CONFIG_ORIGINS = ("config", "-l", "-z", "--show-origin")
# What git's discovery and `config -l` read besides the files (HOME and XDG_CONFIG_HOME place
# the global config; every GIT_ variable run_git passes on is in the key too).
_PROBE_ENV = ("HOME", "XDG_CONFIG_HOME", "PREFIX")


def probe_memoized(start: Path) -> Probe:
    """probe(start, with_status=False), without a git process when the memo made by an earlier
    call from the same directory still holds (see above); the same answer either way."""
    found = _locate_git_dir(start)
    if found is None:
        return probe(start, with_status=False)
    here, top, git_dir, common_dir = found
    memo_path = os.path.join(common_dir, "gitcfg", PROBE_MEMO)
    key = _probe_key(here, git_dir, common_dir)
    entries = _read_probe_memo(memo_path)
    found_memo = _memo_answer(start, entries.get(here), key)
    if found_memo is not None:
        return found_memo
    files = _probe_signatures(top, git_dir, common_dir)  # before git reads them
    procs = [_popen(start, args) for args in (_DISCOVER, _CONFIG_ORIGINS)]
    results = [(p.communicate(), p.returncode) for p in procs]
    (found_out, found_err), found_code = results[0]
    repo = _parse_discovery(start, found_code, found_out, found_err)
    (config_out, _), config_code = results[1]
    config, origins = _parse_config_origins(config_out)
    signed = {path for path, _ in files}
    if (
        config_code == 0
        and origins is not None
        # a relative origin (`.git/config`) is relative to the top: git's cwd once set up
        and all(os.path.realpath(os.path.join(top, path)) in signed for path in origins)
        and os.path.realpath(repo.git_dir) == git_dir
    ):
        note_shared_repository(repo, config.get("core.sharedrepository"))  # the memo's mode
        entries.pop(here, None)  # the newest last: the oldest are dropped first
        entries[here] = {
            "key": key,
            "files": files,
            "discover": found_out.decode(),
            "config": config,
        }
        _write_probe_memo(memo_path, entries)
    return Probe(repo, config, None)


def _memo_answer(start: Path, entry: dict[str, Any] | None, key: list[object]) -> Probe | None:
    """The Probe a memo entry holds, if it was made under `key` and every file it signed is as
    it was; None otherwise (a damaged or foreign entry too: the file is only a convenience)."""
    if entry is None or entry.get("key") != key:
        return None
    try:
        if not all(_signature(path) == signature for path, signature in entry["files"]):
            return None
        config = entry["config"]
        if not all(type(k) is str and type(v) is str for k, v in config.items()):
            return None
        repo = _parse_discovery(start, 0, entry["discover"].encode())
    except (TypeError, ValueError, KeyError, AttributeError, OSError, GitcfgError):
        return None
    return Probe(repo, dict(config), None)


def _locate_git_dir(start: Path) -> tuple[str, str, str, str] | None:
    """(the real path of `start`, the directory holding its `.git`, the git dir, the common dir)
    as git's discovery finds them in the plain case: the nearest `.git` directory, or `.git` file
    naming one; None for anything else (git then decides)."""
    if "GIT_CEILING_DIRECTORIES" in os.environ or "GIT_DISCOVERY_ACROSS_FILESYSTEM" in os.environ:
        return None
    try:
        here = os.path.realpath(start)
        device = os.stat(here).st_dev
        directory = here
        while True:
            dot_git = os.path.join(directory, ".git")
            if os.path.isdir(dot_git):
                git_dir = dot_git
                break
            if os.path.isfile(dot_git):
                with open(dot_git, "rb") as f:
                    text = f.read(4096).decode()
                if not text.startswith("gitdir: "):
                    return None
                git_dir = os.path.join(directory, text[len("gitdir: ") :].strip())
                break
            if os.path.exists(os.path.join(directory, "HEAD")):  # a bare repository, a git dir
                return None
            parent = os.path.dirname(directory)
            if parent == directory or os.stat(parent).st_dev != device:
                return None
            directory = parent
        git_dir = os.path.realpath(git_dir)
        common_dir = git_dir
        if os.path.isfile(os.path.join(git_dir, "commondir")):
            with open(os.path.join(git_dir, "commondir"), "rb") as f:
                common_dir = os.path.realpath(os.path.join(git_dir, f.read(4096).decode().strip()))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return here, directory, git_dir, common_dir


def _probe_key(here: str, git_dir: str, common_dir: str) -> list[object]:
    """What, besides files, decides probe()'s answer: the directory, the user, the environment."""
    env = _git_env()
    return [
        _PROBE_MEMO_VERSION,
        here,
        git_dir,
        common_dir,
        os.getuid() if hasattr(os, "getuid") else None,
        sorted([k, v] for k, v in env.items() if k.startswith("GIT_") or k in _PROBE_ENV),
    ]


def _probe_signatures(top: str, git_dir: str, common_dir: str) -> list[tuple[str, object]]:
    """(real path, signature) of every file `git config -l` reads in the plain case, present or
    not, and of the directories whose owner git checks (safe.directory)."""
    env = os.environ
    home = env.get("HOME", "")
    if "GIT_CONFIG_GLOBAL" in env:
        user = [env["GIT_CONFIG_GLOBAL"]]
    else:
        xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        user = [os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")]
    paths = [
        top,
        git_dir,
        os.path.join(top, ".git"),  # a `.git` file: its content names the git dir
        os.path.join(git_dir, "commondir"),
        os.path.join(common_dir, "config"),
        os.path.join(git_dir, "config.worktree"),
        *user,
        env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig",
    ]
    return [(os.path.realpath(path), _signature(path)) for path in paths]


def _signature(path: str | os.PathLike[str]) -> object:
    """A file's identity and last change (None when absent); a directory's identity and owner."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if os.path.isdir(path):
        return [st.st_dev, st.st_ino, st.st_uid]
    return [st.st_dev, st.st_ino, st.st_uid, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _parse_config_origins(out: bytes) -> tuple[dict[str, str], list[str] | None]:
    """`git config -l -z --show-origin`: the entries (as _parse_config gives them) and the files
    they came from; None for the files when an entry comes from elsewhere or includes a file."""
    items = out.decode(errors="replace").split("\0")
    entries: dict[str, str] = {}
    origins: list[str] | None = []
    for origin, item in zip(items[0::2], items[1::2], strict=False):
        key, _, value = item.partition("\n")
        key = key.lower()
        entries[key] = value
        if key.startswith(("include.", "includeif.")):
            origins = None
        elif origins is not None and origin.startswith("file:"):
            if origin[5:] not in origins:
                origins.append(origin[5:])
        elif origin != "command line:":
            origins = None
    return entries, origins


def _read_probe_memo(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(1 << 20))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _write_probe_memo(path: str, entries: dict[str, dict[str, Any]]) -> None:
    """Keep the memo, if the state dir exists (a convenience: any failure is ignored)."""
    if not os.path.isdir(os.path.dirname(path)):
        return
    kept = dict(list(entries.items())[-_PROBE_MEMO_ENTRIES:])
    try:
        write_atomic(path, json.dumps(kept).encode())
    except (OSError, ValueError):
        pass


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old file or the new one,
    never half of it; the new file takes a shared repository's modes (share). The temporary file
    is named for the process, so concurrent writers never mix their bytes; it is removed if the
    write fails."""
    temp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    try:
        with open(temp, "wb") as f:
            f.write(data)
        share(temp)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def read_ref(repo: Repo, ref: str) -> str | None:
    """Return the commit `ref` points at, or None when it does not exist (reads ref files directly)."""
    base = repo.git_dir if ref == "HEAD" or ref.startswith("refs/worktree/") else repo.common_dir
    try:
        text = (base / ref).read_text().strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        text = ""
    except OSError:
        return _rev_parse(repo, ref)
    if text.startswith("ref: "):
        return read_ref(repo, text[5:])
    if len(text) in (40, 64):
        return text
    if text:  # unexpected content: let git decide
        return _rev_parse(repo, ref)
    return _packed_ref(repo, ref)


def _packed_ref(repo: Repo, ref: str) -> str | None:
    try:
        packed = (repo.common_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return _rev_parse(repo, ref) if (repo.common_dir / "reftable").exists() else None
    suffix = " " + ref
    for line in packed.splitlines():
        if line.endswith(suffix) and not line.startswith(("#", "^")):
            return line.split(" ", 1)[0]
    return None


def _rev_parse(repo: Repo, ref: str) -> str | None:
    out = run_git(repo.cwd, "rev-parse", "-q", "--verify", ref + "^{commit}", ok_codes=(0, 1, 128))
    return out.stdout.decode().strip() or None


def resolve_commit(repo: Repo, rev: str) -> str | None:
    """The commit any revision `git rev-parse` takes names (`gitcfg-runs~3`), None if none."""
    return _rev_parse(repo, rev)


def head_branch(repo: Repo) -> str | None:
    """Return the branch HEAD points at (short name), or None when detached."""
    try:
        text = (repo.git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if text.startswith("ref: refs/heads/"):
        return text[len("ref: refs/heads/") :]
    return None


def checked_out_branches(repo: Repo, bare: bool = False) -> dict[str, Path]:
    """Map each ref some worktree's HEAD names (`refs/heads/main`) to that worktree's directory.

    Reads the HEAD files of the main worktree (unless `bare`) and of every linked one under
    `<common dir>/worktrees/`, as `git worktree list` does, without starting git (~30 µs).
    """
    heads = [] if bare else [(repo.common_dir / "HEAD", repo.common_dir.parent)]
    try:
        with os.scandir(repo.common_dir / "worktrees") as entries:
            for entry in entries:
                admin = Path(entry.path)
                try:  # `gitdir` holds the path of the worktree's `.git` file
                    where = Path((admin / "gitdir").read_text().strip()).parent
                except OSError:
                    where = admin
                heads.append((admin / "HEAD", where))
    except OSError:
        pass
    found: dict[str, Path] = {}
    for head, where in heads:
        try:
            text = head.read_text().strip()
        except OSError:
            continue
        if text.startswith("ref: "):
            found.setdefault(text[5:], where)
    return found


def _parse_config(out_bytes: bytes) -> dict[str, str]:
    out = out_bytes.decode(errors="replace")
    entries: dict[str, str] = {}
    for item in out.split("\0"):
        if item:
            key, _, value = item.partition("\n")
            entries[key.lower()] = value
    return entries


def set_config(repo: Repo, key: str, value: str) -> None:
    run_git(repo.cwd, "config", "--local", key, value)


# --- code capture ------------------------------------------------------------------------------


class WorktreeChanges(NamedTuple):
    """What `git status` says differs from HEAD, and the patch that reproduces it."""

    is_dirty: bool
    patch: bytes  # tracked changes and untracked text files; b"" when clean
    skipped: tuple[str, ...]  # every changed file left out of the patch (the kinds below included)
    secret: tuple[str, ...] = ()  # left out: a credential's name or a secret shape inside
    over_limit: tuple[str, ...] = ()  # untracked files left out by CapturePolicy's byte limits


class CapturePolicy(NamedTuple):
    """What of the worktree goes into diff.patch: git config gitcfg.captureUntracked,
    gitcfg.untrackedFileLimit and gitcfg.untrackedTotalLimit (sizes as git reads them: 1m, 500k)."""

    untracked: bool = True
    max_file_bytes: int = 1_000_000
    max_total_bytes: int = 10_000_000


def capture_policy(git_config: Mapping[str, str]) -> CapturePolicy:
    """The CapturePolicy the repository's git config sets (keys lower-cased, as config -l gives)."""
    default = CapturePolicy()
    untracked = git_config.get("gitcfg.captureuntracked")
    return CapturePolicy(
        _git_bool("gitcfg.captureUntracked", untracked) if untracked is not None else True,
        _git_size("gitcfg.untrackedFileLimit", git_config, default.max_file_bytes),
        _git_size("gitcfg.untrackedTotalLimit", git_config, default.max_total_bytes),
    )


def _git_bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "on", "1", ""):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise GitcfgError(f"git config {key} is {value!r}: use true or false")


def _git_size(key: str, git_config: Mapping[str, str], default: int) -> int:
    value = git_config.get(key.lower())
    return default if value is None else parse_size(value, f"git config {key}")


def worktree_changes(
    repo: Repo,
    code_commit: str | None,
    status: bytes | None = None,
    policy: CapturePolicy = CapturePolicy(),  # noqa: B008 - a NamedTuple: immutable
) -> WorktreeChanges:
    """Capture the worktree's changes against `code_commit`; never writes to the repo.

    `status` is `git status --porcelain=v1 -z` output when the caller already has it (probe()).
    Files whose names look like credentials, or whose text holds a secret shape (secrets.py),
    are left out, tracked or untracked; untracked files also by `policy`. Ignored files are
    never listed by git status, so never captured.
    """
    if repo.worktree is None:
        return WorktreeChanges(False, b"", ())
    if status is None:
        status = run_git(repo.worktree, *_STATUS).stdout
    if not status:
        return WorktreeChanges(False, b"", ())
    entries = status.split(b"\0")
    untracked, tracked_changed = [], False
    skip_next = False
    for entry in entries:
        if skip_next:  # the source path of a rename
            skip_next = False
            continue
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code == b"??":
            untracked.append(path.decode(errors="surrogateescape"))
        else:
            tracked_changed = True
            skip_next = code[0:1] in (b"R", b"C")
    patch = b""
    secret: list[str] = []
    if tracked_changed:
        diff = run_git(
            repo.worktree,
            "--no-optional-locks",
            "diff",
            "--binary",
            "--no-color",
            "--no-ext-diff",
            "--full-index",
            code_commit or EMPTY_TREE,
            "--",
        ).stdout
        patch = _without_secret_files(diff, secret)
    skipped = list(secret)
    over_limit: list[str] = []
    if policy.untracked:
        added = _untracked_patch(repo.worktree, untracked, policy, skipped, secret, over_limit)
    else:
        added, skipped = b"", skipped + untracked
    return WorktreeChanges(True, patch + added, tuple(skipped), tuple(secret), tuple(over_limit))


def _without_secret_files(diff: bytes, secret: list[str]) -> bytes:
    """`git diff` output without the files whose names look like credentials or whose hunks
    (added, removed or context lines) hold a secret shape; their paths go to `secret`."""
    from gitcfg.secrets import credential_file, secret_shape

    chunks = re.split(rb"(?m)^(?=diff --git )", diff)
    kept = []
    for chunk in chunks:
        if not chunk:
            continue
        path = _diff_path(chunk)
        binary = b"\nGIT binary patch\n" in chunk
        if credential_file(path) or (not binary and secret_shape(chunk)):
            secret.append(path)
        else:
            kept.append(chunk)
    return b"".join(kept)


def _diff_path(chunk: bytes) -> str:
    """The path of one file's `git diff` chunk (its new name; the old one when deleted)."""
    header = chunk.split(b"\n", 1)[0].decode(errors="surrogateescape")
    for line in chunk.split(b"\n", 8)[1:8]:
        for prefix in (b"+++ b/", b"rename to ", b"--- a/"):
            if line.startswith(prefix):
                return line[len(prefix) :].decode(errors="surrogateescape")
    half = header[len("diff --git ") :]
    return half[len(half) // 2 + 3 :] if half.startswith("a/") else half  # `a/x b/x`: x


_C_ESCAPES = {
    7: b"\\a",
    8: b"\\b",
    9: b"\\t",
    10: b"\\n",
    11: b"\\v",
    12: b"\\f",
    13: b"\\r",
    34: b'\\"',
    92: b"\\\\",
}


def _quote_path(name: bytes) -> bytes:
    """`name` as git writes a path in a patch header: C-quoted ("a/x\\ty") when it holds a
    control character, a double quote or a backslash; a tab or newline left raw would make
    `git apply` reject the whole patch."""
    if not any(byte < 32 or byte in (34, 92, 127) for byte in name):
        return name
    out = bytearray(b'"')
    for byte in name:
        if byte in _C_ESCAPES:
            out += _C_ESCAPES[byte]
        elif byte < 32 or byte == 127:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b'"')


def _untracked_patch(
    worktree: Path,
    paths: Iterable[str],
    policy: CapturePolicy,
    skipped: list[str],
    secret: list[str],
    over_limit: list[str],
) -> bytes:
    """Format untracked text files as `new file` hunks that `git apply` accepts; the files left
    out are appended to `skipped` and, by kind, to `secret` and `over_limit`."""
    from gitcfg.secrets import credential_file, secret_shape

    parts, total = [], 0
    for path in paths:
        if credential_file(path):
            secret.append(path)
            skipped.append(path)
            continue
        file = worktree / path
        try:
            if file.is_symlink():
                skipped.append(path)
                continue
            size = file.stat().st_size
            if size > policy.max_file_bytes or total + size > policy.max_total_bytes:
                over_limit.append(path)
                skipped.append(path)
                continue
            data = file.read_bytes()
        except OSError:
            skipped.append(path)
            continue
        if b"\0" in data[:8000]:
            skipped.append(path)
            continue
        if secret_shape(data):
            secret.append(path)
            skipped.append(path)
            continue
        total += len(data)
        mode = "100755" if os.access(file, os.X_OK) else "100644"
        name = path.encode(errors="surrogateescape")
        a_name, b_name = _quote_path(b"a/" + name), _quote_path(b"b/" + name)
        lines = data.splitlines(keepends=True)
        head = b"diff --git %s %s\nnew file mode %s\n" % (a_name, b_name, mode.encode())
        if not lines:
            parts.append(head)
            continue
        body = [b"--- /dev/null\n+++ %s\n@@ -0,0 +1,%d @@\n" % (b_name, len(lines))]
        for line in lines:
            body.append(b"+" + line)
        if not data.endswith(b"\n"):
            body.append(b"\n\\ No newline at end of file\n")
        parts.append(head + b"".join(body))
    return b"".join(parts)


# --- worktrees ---------------------------------------------------------------------------------


def add_worktree(repo: Repo, path: Path, code_commit: str) -> None:
    """Create a detached `git worktree` at `path` checked out at `code_commit`.

    Touches no branch, and neither the index nor HEAD of any other worktree; the user's hooks
    (post-checkout) do not run, as for every gitcfg call.
    """
    run_git(repo.cwd, *_NO_HOOKS, "worktree", "add", "--detach", "--quiet", str(path), code_commit)


def remove_worktree(repo: Repo, path: Path) -> None:
    """Remove a worktree gitcfg created (`--force`: it may hold an applied patch)."""
    run_git(repo.cwd, *_NO_HOOKS, "worktree", "remove", "--force", str(path))


def apply_patch(worktree: Path, patch: bytes) -> None:
    """Apply a binary-safe patch to the files of `worktree` (not its index); GitError if it fails."""
    run_git(worktree, "apply", "--binary", "--whitespace=nowarn", "-", input=patch)


# --- writing the runs branch -------------------------------------------------------------------


class Identity(NamedTuple):
    name: str
    email: str


@contextmanager
def write_lock(repo: Repo) -> Iterator[None]:
    """Serialise gitcfg writers on this machine: read-tip, build and swap happen under it."""
    with flock(repo.state_dir / "write.lock"):
        yield


# --- core.sharedRepository: gitcfg's own files follow it, as git's do ---------------------------

_shared: dict[str, int] = {}  # a state dir (with a trailing separator) -> _shared_bits()


def note_shared_repository(repo: Repo, value: str | None) -> None:
    """Remember the repository's core.sharedRepository: files made under its state dir
    (`.git/gitcfg`: lock, journals, cache) then get the modes git gives its own (see share)."""
    bits = _shared_bits(value)
    key = os.path.join(repo.state_dir, "")
    if bits:
        _shared[key] = bits
        share(repo.state_dir)
    else:
        _shared.pop(key, None)


def _shared_bits(value: str | None) -> int:
    """git's reading of core.sharedRepository: 0 (umask), bits to add (group: 0660, all: 0664),
    or minus an exact file mode (octal, `0640`)."""
    text = (value or "").strip().lower()
    if text in ("group", "true", "1", "yes", "on"):
        return 0o660
    if text in ("all", "world", "everybody", "2"):
        return 0o664
    if text.isdigit() and len(text) > 1:
        mode = int(text, 8) if set(text) <= set("01234567") else 0
        return -(mode & 0o777) if mode & 0o600 == 0o600 else 0
    return 0


def share(*paths: Path | str) -> None:
    """Give each path under a shared repository's state dir the mode git gives a file or directory
    it makes there (group-writable for `group`; directories also setgid and searchable), whatever
    the umask, so another user of the group can take the lock and recover journals. A no-op (one
    dict test) in a repository that is not shared; failures are ignored (not our file)."""
    if not _shared:
        return
    import stat

    for path in paths:
        text = os.fspath(path)
        bits = next((b for k, b in _shared.items() if text.startswith(k) or text + os.sep == k), 0)
        if not bits:
            continue
        try:
            st = os.stat(text)
            mode = st.st_mode & 0o7777
            new = (mode & ~0o777) | -bits if bits < 0 else mode | bits
            if stat.S_ISDIR(st.st_mode):
                new |= (new & 0o444) >> 2 | stat.S_ISGID
            elif mode & stat.S_IXUSR:
                new |= (new & 0o444) >> 2
            if new != mode:
                os.chmod(text, new)
        except OSError:
            pass


@contextmanager
def flock(path: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `path`, made with its directory if missing; yield whether it is held.

    Non-blocking, yields False when another process holds it. Raises StateNotWritable when the
    directory or file cannot be made or opened (`.git/gitcfg` is a file, `.git` is read-only).
    """
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        share(path.parent, path)
    except OSError as e:
        # mkdir(exist_ok=True) raises FileExistsError when a file stands where the directory goes
        reason = "it is not a directory" if isinstance(e, FileExistsError) else e.strerror or str(e)
        raise StateNotWritable(_failed_path(e, path), reason) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)  # closing releases the flock


def _failed_path(error: OSError, default: Path) -> object:
    return error.filename if error.filename is not None else default


class BlobRef(NamedTuple):
    """A blob already in the object store, to place at a path without reading it (merges)."""

    mode: str  # "100644", "100755", "120000"
    oid: str


class _AnyTip:
    """The `expected` default of commit_files: build on whatever the tip is, retrying on races."""


ANY_TIP = _AnyTip()


def commit_files(
    repo: Repo,
    runs_ref: str,
    files: Mapping[str, bytes | BlobRef | None],
    message: str,
    identity: Identity,
    *,
    when: float | None = None,
    expected: str | None | _AnyTip = ANY_TIP,
    merge: Sequence[str] = (),
    derive: Derive | None = None,
) -> str:
    """Commit `files` (path -> content, None deletes) on top of `runs_ref` and move it; return the commit.

    One `git fast-import` per attempt, under the write lock. fast-import moves the ref only if its
    current value is an ancestor of the new commit, which makes the move a compare-and-swap. When
    `expected` is given, the ref must point there (None: must not exist) or RunsBranchMoved is
    raised; otherwise a lost race is retried on the new tip (run directories are disjoint).
    `merge` adds parents after the tip: a merge commit whose tree is the tip's plus `files`.
    `derive(files, reader)` returns more files to commit, computed from `files` and the tip the
    commit builds on (read through `reader`, the same fast-import process: no other git process);
    it runs under the write lock, once per attempt (summaryindex.py: the index of run summaries).
    """
    failures, failed_since = 0, 0.0
    for attempt in range(MAX_RETRIES):
        with write_lock(repo):
            if failures:
                _remove_import_keeps(repo, failed_since)
            else:
                failed_since = time.time() - 1  # mtimes may be a second coarse
            old_tip = read_ref(repo, runs_ref)
            if not isinstance(expected, _AnyTip) and old_tip != expected:
                raise RunsBranchMoved(runs_ref)
            argv = (*_NO_HOOKS, *_PACKED_IMPORT, *_FAST_IMPORT)
            if derive is None:
                stream = _fast_import_stream(
                    runs_ref, old_tip, files, message, identity, when, merge
                )
                proc = run_git(repo.cwd, *argv, input=stream, ok_codes=(0, 1, 128))
            else:
                proc = _derived_import(
                    repo, argv, old_tip, files, derive, runs_ref, message, identity, when, merge
                )
        if proc.returncode == 0:
            keep_healthy(repo)
            return proc.stdout.decode().strip()
        if read_ref(repo, runs_ref) == old_tip:  # decide by re-reading, not by parsing stderr
            # Nothing moved, so trying again is safe. A concurrent `git gc --prune=now` deletes
            # fast-import's tmp_pack_* file mid-import ("unable to write file"): the next try works.
            # A lasting cause (disk full, permissions) fails every try.
            failures += 1
            if failures >= IMPORT_ATTEMPTS:
                raise GitError(
                    ["fast-import"], proc.returncode, proc.stderr.decode(errors="replace")
                )
            time.sleep(0.01 * failures)
            continue
        if not isinstance(expected, _AnyTip):
            raise RunsBranchMoved(runs_ref)
        time.sleep(0.005 * (attempt + 1))
    raise RunsBranchMoved(runs_ref)


_FAST_IMPORT = ("fast-import", "--quiet", "--done", "--date-format=raw", "--cat-blob-fd=1")


class ImportReader:
    """Reads the tree a fast-import builds on, through that fast-import (`ls`, `cat-blob`)."""

    def __init__(
        self, proc: subprocess.Popen[bytes], tip: str | None, repo: Repo | None = None
    ) -> None:
        self._proc, self.tip, self._repo = proc, tip, repo
        self._trees: BatchReader | None = None

    def _ask(self, command: bytes) -> bytes:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command)
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line.endswith(b"\n"):
            raise _ImportDied()
        return line

    def entry(self, path: str) -> tuple[str, str] | None:
        """(kind, oid) of `path` in the tip's tree ("blob" or "tree"); None when absent."""
        if self.tip is None or not path or "\n" in path:
            return None
        return self._ls(b"ls %s %s\n" % (self.tip.encode(), path.encode()))

    def _ls(self, command: bytes) -> tuple[str, str] | None:
        """(kind, oid) of fast-import's answer to an `ls` command; None for `missing`."""
        line = self._ask(command)
        if line.startswith(b"missing "):
            return None
        _, kind, oid = line.split(b"\t", 1)[0].split(b" ")
        return kind.decode(), oid.decode()

    def blob(self, oid: str) -> bytes | None:
        """The content of the blob `oid`; None when it is not a blob."""
        header = self._ask(b"cat-blob %s\n" % oid.encode())
        parts = header.split()
        if len(parts) != 3 or parts[1] != b"blob":
            raise _ImportDied()  # fast-import stops at an unknown object: the attempt failed
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(int(parts[2]) + 1)
        if len(data) != int(parts[2]) + 1:
            raise _ImportDied()
        return data[:-1]

    def read(self, path: str) -> bytes | None:
        """The blob at `path` in the tip's tree; None when absent or not a blob."""
        found = self.entry(path)
        return self.blob(found[1]) if found is not None and found[0] == "blob" else None

    def written(self, path: str) -> tuple[str, str] | None:
        """(kind, oid) of `path` in the tree of the commit being written (the tip's tree with
        this commit's files); None when absent. fast-import writes a directory's tree to
        answer (the same tree the commit then holds)."""
        if not path or "\n" in path:
            return None
        return self._ls(b"ls %s\n" % _quoted(path))

    def file_names(self, tree: str) -> list[str]:
        """The paths of the files under the tree `tree` (an object already in the repository,
        not one this import writes), sorted; read through one `git cat-file --batch` kept for
        the import's other such reads."""
        if self._trees is None:
            if self._repo is None:
                raise _ImportDied()
            self._trees = BatchReader(self._repo)
        return tree_file_names(self._trees, tree)

    def close(self) -> None:
        if self._trees is not None:
            self._trees.close()
            self._trees = None


def _quoted(path: str) -> bytes:
    """`path` as a C-style quoted string of a fast-import command."""
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return b'"' + escaped.encode("utf-8", "surrogateescape") + b'"'


def blob_oid(content: bytes, oid_chars: int = 40) -> str:
    """The id git gives a blob (SHA-1, or SHA-256 in a repository of 64-char ids)."""
    import hashlib

    digest = hashlib.sha256 if oid_chars == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(content) + content).hexdigest()


class _ImportDied(Exception):
    """fast-import stopped answering (it failed): the attempt is retried or reported."""


Derive = Callable[[Mapping[str, bytes | BlobRef | None], ImportReader], Mapping[str, bytes | None]]


def _derived_import(
    repo: Repo,
    argv: Sequence[str],
    old_tip: str | None,
    files: Mapping[str, bytes | BlobRef | None],
    derive: Derive,
    runs_ref: str,
    message: str,
    identity: Identity,
    when: float | None,
    merge: Sequence[str],
) -> subprocess.CompletedProcess[bytes]:
    """One fast-import that first answers `derive`'s reads of `old_tip`, then commits `files` and
    what `derive` returned. A failure reads as run_git's would (exit code, stderr)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as errors:
        proc = _popen(repo.cwd, argv, stdin=subprocess.PIPE, stderr=errors)
        assert proc.stdin is not None and proc.stdout is not None
        reader = ImportReader(proc, old_tip, repo)
        try:
            # the commit's own files first: derive may ask for the trees they make (written)
            proc.stdin.write(
                _commit_head(runs_ref, old_tip, message, identity, when, merge)
                + _file_commands(files)
            )
            extra = derive(files, reader)
            proc.stdin.write(_file_commands(extra) + _COMMIT_END)
            proc.stdin.close()
            out = proc.stdout.read()
        except (_ImportDied, BrokenPipeError):
            out = b""
            proc.kill()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.close()
        code = proc.wait()
        if code == 0 and not out.strip():
            code = 1
        errors.seek(0)
        return subprocess.CompletedProcess(list(argv), code, out, errors.read())


# --- maintenance ----------------------------------------------------------------------------------
#
# Each runs-branch commit is a pack of its own (see _PACKED_IMPORT). Past git's gc.autoPackLimit (50
# packs) or gc.auto (~6,700 loose objects) the user's next `git commit` starts a full auto gc (72 s
# at 4,412 runs, issue 13), and every read slows down with the pack count. So after a commit that
# finds PACK_LIMIT packs (or ~LOOSE_LIMIT loose objects, or no commit-graph), gitcfg starts
# maintain() in a detached process: the recording process waits for neither git nor the child.
# maintain() rolls the small packs up geometrically and writes the commit-graph with changed-path
# Bloom filters that path-limited logs (`gitcfg history RUN`) read. It never prunes.

LOOSE_LIMIT = 2048  # estimated loose objects that start a maintenance (gc.auto is 6,700)
GRAPH_MIN_BYTES = 1 << 20  # packed bytes from which a missing commit-graph starts a maintenance
MAINTENANCE_LOCK = "maintenance.lock"  # under the state dir; held by the one running maintenance
_MAINTENANCE_STATE = "maintenance"  # the pack count the last maintenance left, then its outcome
_MAINTENANCE_PASSES = 4  # repack passes in one maintenance while packs keep piling up
_COMMIT_GRAPH_FILES = ("info/commit-graphs/commit-graph-chain", "info/commit-graph")


class MaintenanceReport(NamedTuple):
    """What one maintain() did: counts before and after, and the git steps it ran."""

    packs_before: int
    packs_after: int
    loose_before: int  # estimated as git does: objects/17 x 256
    loose_after: int
    steps: tuple[str, ...]  # "repack", "commit-graph"
    failed: str = ""  # the stderr of a step that failed ("" when none did)


def _pack_count(repo: Repo) -> int:
    """Packs under objects/pack that git's auto gc counts (not those marked `.keep`)."""
    try:
        with os.scandir(repo.common_dir / "objects" / "pack") as entries:
            names = {e.name for e in entries}
    except OSError:
        return 0
    return sum(1 for n in names if n.endswith(".pack") and n[:-5] + ".keep" not in names)


def _loose_estimate(repo: Repo) -> int:
    """Loose objects, estimated as `git gc --auto` does: the entries of objects/17, times 256."""
    try:
        with os.scandir(repo.common_dir / "objects" / "17") as entries:
            return 256 * sum(1 for e in entries if len(e.name) >= 38)
    except OSError:
        return 0


def _has_commit_graph(repo: Repo) -> bool:
    objects = repo.common_dir / "objects"
    return any((objects / name).exists() for name in _COMMIT_GRAPH_FILES)


def _packed_bytes(repo: Repo, at_least: int) -> int:
    """The bytes of the packs under objects/pack, counted until `at_least` is reached."""
    total = 0
    try:
        with os.scandir(repo.common_dir / "objects" / "pack") as entries:
            for entry in entries:
                if entry.name.endswith(".pack"):
                    total += entry.stat().st_size
                    if total >= at_least:
                        break
    except OSError:
        pass
    return total


def _packs_left(repo: Repo) -> int:
    """The pack count the last maintenance left (kept packs it could not roll up), else 0."""
    try:
        text = (repo.state_dir / _MAINTENANCE_STATE).read_text()
    except OSError:
        return 0
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return int(first) if first.isdigit() else 0


def maintenance_due(repo: Repo) -> bool:
    """Whether the repository needs maintain(): a few stats and a directory listing, no git.

    Due at PACK_LIMIT packs (more when the last maintenance could not bring them below: then at
    half a PACK_LIMIT over what it left), at ~LOOSE_LIMIT loose objects, or with no commit-graph
    once the packs hold GRAPH_MIN_BYTES (a branch made before gitcfg kept one, or cloned).
    """
    packs = _pack_count(repo)
    if packs >= PACK_LIMIT and packs >= _packs_left(repo) + PACK_LIMIT // 2:
        return True
    if _loose_estimate(repo) >= LOOSE_LIMIT:
        return True
    return not _has_commit_graph(repo) and _packed_bytes(repo, GRAPH_MIN_BYTES) >= GRAPH_MIN_BYTES


def start_maintenance(repo: Repo) -> bool:
    """Start maintain() in a detached process unless one is running; return whether it started.

    The child holds the maintenance lock from before it starts (the lock's descriptor is passed
    on), so no second one starts meanwhile and a caller that takes the lock waits for it. It runs
    in its own session (a Ctrl-C to the training process does not stop it) with no terminal and
    no pipe of ours, so a caller reading this process's output does not wait for it either.
    Any failure to start is ignored: the next commit tries again.
    """
    import fcntl
    import sys

    if not sys.executable:  # an embedded interpreter: nothing to start
        return False
    try:
        repo.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(repo.state_dir / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        share(repo.state_dir / MAINTENANCE_LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # one is running
            return False
        package_parent = str(Path(__file__).resolve().parents[1])
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from gitcfg import gitio; "
            "gitio.maintenance_main(sys.argv[2], int(sys.argv[3]))"
        )
        argv = [sys.executable, "-c", code, package_parent, str(repo.cwd), str(fd)]
        import subprocess

        try:
            # Not waited for: Popen's own clean-up reaps it once it has ended.
            subprocess.Popen(
                argv,
                cwd=repo.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(fd,),
                start_new_session=True,
                env=_git_env(),
            )
        except OSError:
            return False
        return True
    finally:
        os.close(fd)  # the child has its own descriptor of the lock, which holds it


def maintenance_main(cwd: str, lock_fd: int) -> None:
    """The detached child of start_maintenance: maintain the repository, holding the lock `lock_fd`."""
    try:
        os.nice(10)  # below the training process that started it
    except OSError:
        pass
    try:
        maintain(discover(Path(cwd)), locked=True)
    finally:
        os.close(lock_fd)


def maintain(repo: Repo, locked: bool = False) -> MaintenanceReport | None:
    """Roll up packs and loose objects, write the commit-graph; None when another maintenance runs.

    `git repack -d --geometric=2` merges the small packs (and the loose objects) into one so that
    pack sizes at least double: the count stays logarithmic and each object is rewritten about
    log2(N) times, while a big pack is left alone. Packs marked `.keep` (an import that has not
    moved its ref yet) are not touched and no object is dropped, so writers may run meanwhile;
    nothing is pruned (never `--prune=now`). Then `git commit-graph write --reachable
    --changed-paths --split` adds a layer for the new commits (layers merge as they grow): a
    path-limited `git log` reads Bloom filters instead of 200,000 trees at 100,000 runs.
    `locked`: the caller holds the maintenance lock already.
    """
    if not locked:
        with flock(repo.state_dir / MAINTENANCE_LOCK, blocking=False) as held:
            return maintain(repo, locked=True) if held else None
    packs_before, loose_before = _pack_count(repo), _loose_estimate(repo)
    steps: list[str] = []
    failed = ""
    for _ in range(_MAINTENANCE_PASSES):  # writers may pile up packs while we repack
        packs = _pack_count(repo)
        if packs < PACK_LIMIT // 2 and _loose_estimate(repo) < LOOSE_LIMIT and steps:
            break
        try:
            run_git(repo.cwd, *_NO_HOOKS, *_REPACK)
        except GitError as e:
            failed = e.detail
            break
        steps.append("repack")
        if _pack_count(repo) >= packs:  # nothing more to roll up (kept packs)
            break
    try:
        run_git(repo.cwd, *_NO_HOOKS, *_COMMIT_GRAPH)
        steps.append("commit-graph")
    except GitError as e:  # a shallow clone has no commit-graph; reads work without one
        failed = failed or e.detail
    report = MaintenanceReport(
        packs_before, _pack_count(repo), loose_before, _loose_estimate(repo), tuple(steps), failed
    )
    try:
        state = repo.state_dir / _MAINTENANCE_STATE
        state.write_text(f"{report.packs_after} {'failed' if failed else 'ok'}\n")
        share(state)
    except OSError:
        pass
    return report


_REPACK = ("repack", "-d", "-q", "--geometric=2", "--no-write-bitmap-index")
_COMMIT_GRAPH = (
    "commit-graph",
    "write",
    "--reachable",
    "--changed-paths",
    "--split",
    "--no-progress",
)


def keep_healthy(repo: Repo) -> None:
    """Start maintenance when it is due (see above): after each gitcfg commit, fetch, and before
    a path-limited log. Costs a few stats when not due; never raises."""
    try:
        if maintenance_due(repo):
            start_maintenance(repo)
    except OSError:
        pass


def _remove_import_keeps(repo: Repo, failed_since: float) -> None:
    """Remove the `.keep` marks of fast-imports that failed before moving their ref.

    fast-import marks its pack `.keep` ("fast-import") until its refs are updated; one that fails
    or is killed in between leaves the mark: the pack would never be repacked, and a retry of the
    same import (the same pack name) fails with "cannot create keep file". Called under the write
    lock, so no gitcfg import is running: the marks made since our first failed try are ours, and
    older ones past STALE_KEEP_S are dead imports' (the age spares a user's own fast-import).
    """
    pack_dir = repo.common_dir / "objects" / "pack"
    stale = time.time() - STALE_KEEP_S
    try:
        keeps = list(pack_dir.glob("pack-*.keep"))
    except OSError:
        return
    for keep in keeps:
        try:
            mtime = keep.stat().st_mtime
            ours = mtime >= failed_since or mtime < stale
            if ours and keep.read_bytes().startswith(b"fast-import"):
                keep.unlink()
        except OSError:
            continue


def _fast_import_stream(
    runs_ref: str,
    old_tip: str | None,
    files: Mapping[str, bytes | BlobRef | None],
    message: str,
    identity: Identity,
    when: float | None,
    merge: Sequence[str] = (),
) -> bytes:
    return (
        _commit_head(runs_ref, old_tip, message, identity, when, merge)
        + _file_commands(files)
        + _COMMIT_END
    )


def _commit_head(
    runs_ref: str,
    old_tip: str | None,
    message: str,
    identity: Identity,
    when: float | None,
    merge: Sequence[str],
) -> bytes:
    # A clock before 1970 would write a negative date, which `git fsck` (and a remote enforcing
    # it) refuses: the epoch is the earliest date a commit gets.
    stamp = max(int(when if when is not None else time.time()), 0)
    who = f"{identity.name} <{identity.email}> {stamp} +0000".encode()
    msg = message.encode()
    out = [
        b"commit %s\nmark :1\nauthor %s\ncommitter %s\ndata %d\n%s\n"
        % (runs_ref.encode(), who, who, len(msg), msg)
    ]
    if old_tip:
        out.append(b"from %s\n" % old_tip.encode())
    out += [b"merge %s\n" % parent.encode() for parent in merge]
    return b"".join(out)


def _file_commands(files: Mapping[str, bytes | BlobRef | None]) -> bytes:
    out = []
    for path, content in files.items():
        if content is None:
            out.append(b"D %s\n" % path.encode())
        elif isinstance(content, BlobRef):
            out.append(
                b"M %s %s %s\n" % (content.mode.encode(), content.oid.encode(), path.encode())
            )
        else:
            out.append(
                b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content)
            )
    return b"".join(out)


_COMMIT_END = b"\nget-mark :1\ndone\n"


def move_ref(repo: Repo, ref: str, new: str, expected: str | None, reason: str) -> None:
    """Point `ref` at `new` only if it still points at `expected` (None: must not exist yet).

    Raises RunsBranchMoved when another writer got there first; the caller rebuilds on the new tip.
    """
    try:
        run_git(repo.cwd, *_NO_HOOKS, "update-ref", "-m", reason, ref, new, expected or ZERO_OID)
    except GitError:
        if read_ref(repo, ref) != expected:
            raise RunsBranchMoved(ref) from None
        raise


# --- remotes -----------------------------------------------------------------------------------

# Fetch and push for gitcfg's own branch: no tags, no submodules, no maintenance, no FETCH_HEAD, and
# an empty --refmap so that git does not also update refs/remotes/<remote>/* (the user's refs).
_FETCH = (
    "fetch",
    "--quiet",
    "--no-tags",
    "--no-recurse-submodules",
    "--no-write-fetch-head",
    "--no-auto-maintenance",
    "--refmap=",
)


def remote_tracking_tips(repo: Repo, branch: str) -> dict[str, str]:
    """The remote-tracking branches of `branch` (`refs/remotes/<remote>/<branch>`, which a plain
    `git clone` or `git fetch` makes): remote name -> commit. No git process when there are none."""
    packed = repo.common_dir / "packed-refs"
    try:
        has_packed = b" refs/remotes/" in packed.read_bytes()
    except OSError:
        has_packed = False
    if not has_packed and not (repo.common_dir / "refs" / "remotes").is_dir():
        if not (repo.common_dir / "reftable").exists():
            return {}
    out = git_text(repo.cwd, "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes/")
    tips = {}
    suffix = "/" + branch
    for line in out.splitlines():
        oid, _, ref = line.partition(" ")
        remote = ref[len("refs/remotes/") :].removesuffix(suffix)
        if ref.endswith(suffix) and remote and remote != ref[len("refs/remotes/") :]:
            tips[remote] = oid
    return tips


def remote_ref(repo: Repo, remote: str, ref: str) -> str | None:
    """The commit `ref` points at on `remote` (one round trip), None when the remote lacks it.

    Raises GitError when the remote cannot be reached.
    """
    out = git_text(repo.cwd, *_NO_HOOKS, "ls-remote", "--refs", remote, ref)
    for line in out.splitlines():
        oid, _, name = line.partition("\t")
        if name == ref:
            return oid
    return None


def fetch_ref(repo: Repo, remote: str, ref: str, into: str, depth: int | None = None) -> None:
    """Fetch `ref` from `remote` into the local ref `into` (forced); touches no other ref.

    `depth`: only that many commits of its history (`--depth`, in a shallow clone).
    """
    deepen = (f"--depth={depth}",) if depth else ()
    run_git(repo.cwd, *_NO_HOOKS, *_FETCH, *deepen, remote, f"+{ref}:{into}")


def push_commit(repo: Repo, remote: str, commit: str, ref: str, force: bool = False) -> None:
    """Push `commit` to `ref` on `remote` without force (the remote's ref only fast-forwards).

    Raises GitError when refused; the caller decides what that means by re-reading the remote
    (another writer won a race, or the push itself failed), not by parsing git's stderr.
    `force`: for a ref of gitcfg's own that only carries a push in chunks.
    """
    refspec = f"{'+' if force else ''}{commit}:{ref}"
    run_git(repo.cwd, *_NO_HOOKS, "push", "--quiet", "--no-verify", remote, refspec)


def delete_remote_ref(repo: Repo, remote: str, ref: str) -> None:
    """Delete `ref` on `remote`; a failure is ignored (a leftover that the next push reuses)."""
    run_git(
        repo.cwd,
        *_NO_HOOKS,
        "push",
        "--quiet",
        "--no-verify",
        remote,
        f":{ref}",
        ok_codes=(0, 1, 128),
    )


def is_shallow(repo: Repo) -> bool:
    """Whether this is a shallow clone (`git clone --depth`): `.git/shallow` lists its cut-offs."""
    return (repo.common_dir / "shallow").exists()


def shallow_commits(repo: Repo) -> list[str]:
    """The commits whose parents a shallow clone lacks (`.git/shallow`), none when not shallow."""
    try:
        return (repo.common_dir / "shallow").read_text().split()
    except OSError:
        return []


def disk_usage(repo: Repo, *revs: str) -> int:
    """Bytes on disk of the objects reachable from `revs` (`^rev` excludes), as packed here."""
    return int(
        git_text(repo.cwd, "rev-list", "--objects", "--disk-usage", *revs, "--").strip() or 0
    )


def first_parent_commits(repo: Repo, tip: str, exclude: str | None) -> list[str]:
    """The commits on `tip`'s first-parent line not reachable from `exclude`, oldest first."""
    return rev_list(
        repo, "--first-parent", "--reverse", tip, *((f"^{exclude}",) if exclude else ())
    )


def parse_size(text: str, what: str) -> int:
    """A size as git config writes one (`1g`, `500m`, `64k`, bytes); GitcfgError naming `what`."""
    value = text.strip().lower()
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(value[-1:], 1)
    digits = value[:-1] if scale > 1 else value
    if not digits.isdigit() or len(digits) > 15:
        raise GitcfgError(f"{what} is {text!r}: use a size in bytes such as 1g, 500m or 64k")
    return int(digits) * scale


# --- reading -----------------------------------------------------------------------------------


class TreeEntry(NamedTuple):
    mode: str
    kind: str  # "blob" or "tree"
    oid: str
    path: str


def ls_tree(repo: Repo, treeish: str, *paths: str, recursive: bool = True) -> list[TreeEntry]:
    """List a tree (recursively by default), paths relative to its root."""
    args = ["ls-tree", "-z", "--full-tree"]
    if recursive:
        args.append("-r")
    out = run_git(repo.cwd, *args, treeish, "--", *paths).stdout.decode(errors="surrogateescape")
    entries = []
    for item in out.split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, kind, oid = meta.split(" ")
            entries.append(TreeEntry(mode, kind, oid, path))
    return entries


def iter_tree(repo: Repo, treeish: str, *paths: str, trees: bool = False) -> Iterator[TreeEntry]:
    """ls_tree's recursive listing, streamed: the whole listing is never held at once. With
    `trees`, each directory's own entry comes before its contents (`ls-tree -t`)."""
    for lines in iter_tree_lines(repo, treeish, *paths, trees=trees):
        for line in lines:
            meta, path = line.split("\t", 1)
            mode, kind, oid = meta.split(" ")
            yield TreeEntry(mode, kind, oid, path)


def iter_tree_lines(
    repo: Repo, treeish: str, *paths: str, trees: bool = False
) -> Iterator[list[str]]:
    """The same listing as raw lines (`<mode> <type> <oid>TAB<path>`), a block of them at a
    time: for a reader of millions of entries that parses only what it needs."""
    shown = ("-r", "-t") if trees else ("-r",)
    args = [*BOUNDED_PACK_MAPS, "ls-tree", "-z", "--full-tree", *shown, treeish, "--", *paths]
    proc = _popen(repo.cwd, args)
    assert proc.stdout is not None
    rest = b""
    try:
        while True:
            block = proc.stdout.read(1 << 18)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\0")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield data[:cut].decode(errors="surrogateescape").split("\0")
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read() if proc.stderr is not None else b""
        if proc.stderr is not None:
            proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise GitError(args, code, stderr.decode(errors="replace"))


def tree_entries(data: bytes, oid_bytes: int = 20) -> list[tuple[str, str, str]]:
    """(mode, name, oid) of each entry of a tree object as `cat-file --batch` gives it (raw:
    `<mode> <name>NUL<binary oid>`); `oid_bytes` 32 in a SHA-256 repository. A subtree's mode
    is `40000`. Raises ValueError on a damaged tree."""
    out: list[tuple[str, str, str]] = []
    pos, end = 0, len(data)
    find = data.find
    while pos < end:
        space = find(b" ", pos)
        nul = find(b"\0", space)
        stop = nul + 1 + oid_bytes
        if space < 0 or nul < 0 or stop > end:
            raise ValueError("damaged tree object")
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        out.append((data[pos:space].decode("ascii"), name, data[nul + 1 : stop].hex()))
        pos = stop
    return out


TREE_MODE = "40000"  # a subtree's mode in a raw tree object
_MAX_TREE_DEPTH = 64


def tree_file_names(reader: BatchReader, tree: str) -> list[str]:
    """The paths of the entries that are not trees under the tree object `tree` (files, links,
    submodules, as `ls-tree -r` lists them), sorted; [] when it is missing or damaged. Each
    level is one request to `reader`."""
    names: list[str] = []
    level = [("", tree)]
    for _ in range(_MAX_TREE_DEPTH):
        if not level:
            break
        below: list[tuple[str, str]] = []
        for (prefix, _), data in zip(
            level, reader.read_many([oid for _, oid in level]), strict=True
        ):
            try:
                entries = tree_entries(data or b"", len(tree) // 2)
            except ValueError:
                return []
            for mode, name, oid in entries:
                if mode == TREE_MODE:
                    below.append((prefix + name + "/", oid))
                else:  # a blob, a link, a submodule's commit: as `ls-tree -r` lists them
                    names.append(prefix + name)
        level = below
    return sorted(names)


class SizedEntry(NamedTuple):
    mode: str  # "100644", "100755", "120000" (a symbolic link: its blob is the link's text)
    size: int  # bytes of the blob
    path: str  # relative to the directory listed
    oid: str = ""


def ls_blobs(repo: Repo, treeish: str, *directories: str) -> dict[str, list[SizedEntry]]:
    """Every blob under each of `directories` of `treeish`, recursively, with its size
    (`ls-tree -r -l`, one process for all): directory -> entries ([] when it has none)."""
    prefixes = [directory.rstrip("/") + "/" for directory in directories]
    found: dict[str, list[SizedEntry]] = {directory: [] for directory in directories}
    if not prefixes:
        return found
    owner = dict(zip(prefixes, directories, strict=True))
    out = run_git(repo.cwd, "ls-tree", "-r", "-l", "-z", "--full-tree", treeish, "--", *prefixes)
    for item in out.stdout.decode(errors="surrogateescape").split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, kind, oid, size = meta.split()
            prefix = next((p for p in prefixes if path.startswith(p)), None)
            if kind == "blob" and prefix is not None:
                found[owner[prefix]].append(SizedEntry(mode, int(size), path[len(prefix) :], oid))
    return found


class BlobChange(NamedTuple):
    """One blob that differs between two trees; `mode`/`oid` are the new side's ("" when deleted)."""

    status: str  # A added, M modified, D deleted, T type changed
    path: str
    mode: str
    oid: str
    old_mode: str = ""  # the old side's ("" when added)
    old_oid: str = ""


def changed_blobs(repo: Repo, old: str, new: str, *paths: str) -> list[BlobChange]:
    """The blobs that differ from `old` to `new` (commits or trees), recursively, renames as D + A."""
    args = ["diff-tree", "-r", "--no-renames", "--no-commit-id", "-z", old, new, "--", *paths]
    fields = run_git(repo.cwd, *args).stdout.decode(errors="surrogateescape").split("\0")
    changes = []
    # -z output: ":<mode> <mode> <oid> <oid> <status>" NUL "<path>" NUL, repeated, then a final "".
    for meta, path in zip(fields[::2], fields[1::2], strict=False):
        if meta.startswith(":"):
            old_mode, new_mode, old_oid, new_oid, status = meta[1:].split(" ")
            deleted, added = status.startswith("D"), status.startswith("A")
            changes.append(
                BlobChange(
                    status[:1],
                    path,
                    "" if deleted else new_mode,
                    "" if deleted else new_oid,
                    "" if added else old_mode,
                    "" if added else old_oid,
                )
            )
    return changes


class LogEntry(NamedTuple):
    commit: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: str  # ISO 8601 with the author's offset
    committed_ts: int  # committer date, seconds since the epoch
    message: str  # subject, blank line, body (trailers included)


_LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%ct%x1f%B%x1e"
_LOG_PATHS_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%ct%x1f%B%x1d"


def _log_entry(record: str) -> LogEntry:
    commit, parents, name, email, authored_at, committed, message = record.split("\x1f", 6)
    return LogEntry(
        commit,
        tuple(parents.split()),
        name,
        email,
        authored_at,
        int(committed),
        message.rstrip("\n"),
    )


def log_paths(repo: Repo, rev: str, *paths: str) -> list[tuple[LogEntry, tuple[str, ...]]]:
    """log_entries over `paths`, each commit with the files it changed among them (none for a
    merge: git lists a merge's files only on request)."""
    args = ["log", f"--format={_LOG_PATHS_FORMAT}", "--full-history", "--name-only"]
    out = run_git(repo.cwd, *args, rev, "--", *paths).stdout.decode(errors="replace")
    found = []
    for record in out.split("\x1e"):
        if record:
            head, _, names = record.partition("\x1d")
            found.append((_log_entry(head), tuple(n for n in names.split("\n") if n)))
    return found


def log_entries(
    repo: Repo, rev: str, *paths: str, grep: str | None = None, limit: int | None = None
) -> list[LogEntry]:
    """Commits reachable from `rev` that touch `paths`, newest first, following every merge parent.

    `--full-history`: a change that lost a merge (kept on one side only) is still listed.
    """
    args = ["log", f"--format={_LOG_FORMAT}", "--full-history"]
    if grep is not None:
        args += ["--extended-regexp", f"--grep={grep}"]
    if limit is not None:
        args.append(f"-n{limit}")
    out = run_git(repo.cwd, *args, rev, "--", *paths).stdout.decode(errors="replace")
    return [_log_entry(r) for r in (r.lstrip("\n") for r in out.split("\x1e")) if r]


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, None when their histories are unrelated."""
    out = run_git(repo.cwd, "merge-base", a, b, ok_codes=(0, 1))
    return out.stdout.decode().strip() or None


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    out = run_git(repo.cwd, "merge-base", "--is-ancestor", ancestor, descendant, ok_codes=(0, 1))
    return out.returncode == 0


# --- partial clones ------------------------------------------------------------------------------
#
# In a partial clone (`git clone --filter=blob:limit=8k`) the blobs over the limit stay on the
# promisor remote, and `git cat-file` fetches each missing one when it is read: one `git fetch` per
# object (~100 blobs/s for `gitcfg plot`; a cold query over blob:none timed out at 300 s, issue 13).
# BatchReader.read_many first finds which of the objects it is asked for are missing, without
# fetching them (`rev-list --missing=print`, which turns lazy fetching off), and fetches those in
# one `git fetch` of their ids, as git's own batched prefetch does.

_promisors: dict[Path, str | None] = {}


def promisor_remote(repo: Repo) -> str | None:
    """The remote a partial clone fetches missing objects from (remote.<name>.promisor, or
    extensions.partialClone), else None. A read of .git/config; a git process only when it names one; remembered per process."""
    if repo.common_dir not in _promisors:
        try:
            text = (repo.common_dir / "config").read_bytes().lower()
        except OSError:
            text = b""
        names: list[str] = []
        if b"partialclone" in text or b"promisor" in text:
            # git 2.39's `clone --filter` sets remote.<name>.promisor; older ones the extension.
            pattern = r"^(extensions\.partialclone|remote\..*\.promisor)$"
            found = run_git(repo.cwd, "config", "--get-regexp", pattern, ok_codes=(0, 1))
            for line in found.stdout.decode(errors="replace").splitlines():
                key, _, value = line.partition(" ")
                if key == "extensions.partialclone" and value:
                    names.insert(0, value)
                elif key.startswith("remote.") and value.lower() in ("true", "yes", "on", "1"):
                    names.append(key[len("remote.") : -len(".promisor")])
        _promisors[repo.common_dir] = names[0] if names else None
    return _promisors[repo.common_dir]


def missing_objects(repo: Repo, names: Sequence[str]) -> list[str]:
    """The ids of the objects `names` (ids, or `rev:path`) name that are not in this repository,
    found without fetching any; names that name nothing are left out."""
    wanted = [n for n in dict.fromkeys(names) if n and n != ZERO_OID and not n.startswith("-")]
    if not wanted:
        return []
    listing = run_git(
        repo.cwd,
        "rev-list",
        "--objects",
        "--no-walk",
        "--ignore-missing",
        "--missing=print",
        "--stdin",
        input="".join(n + "\n" for n in wanted).encode(),
    ).stdout.decode(errors="surrogateescape")
    present_ids, present_paths = set(), set()
    for line in listing.splitlines():
        if not line.startswith("?"):  # `?<id>`: a missing object inside a tree named
            oid, _, path = line.partition(" ")
            present_ids.add(oid)
            present_paths.add(path)
    missing: list[str] = []
    by_rev: dict[str, list[str]] = {}
    for name in wanted:
        rev, colon, path = name.partition(":")
        if not colon:
            if name not in present_ids:
                missing.append(name)
        elif path not in present_paths:  # resolved through trees, which a blob filter keeps
            by_rev.setdefault(rev, []).append(path)
    for rev, paths in by_rev.items():
        for start in range(0, len(paths), 1000):
            found = ls_tree(repo, rev, *paths[start : start + 1000], recursive=False)
            missing += [e.oid for e in found if e.kind == "blob"]
    return list(dict.fromkeys(missing))


def fetch_objects(repo: Repo, remote: str, oids: Sequence[str]) -> None:
    """Fetch the objects `oids` from the promisor `remote` in one `git fetch` (no ref moves)."""
    run_git(
        repo.cwd,
        *_NO_HOOKS,
        "-c",
        "fetch.negotiationAlgorithm=noop",
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--recurse-submodules=no",
        "--no-auto-maintenance",
        "--filter=blob:none",
        "--stdin",
        remote,
        input="".join(o + "\n" for o in oids).encode(),
    )


def prefetch(repo: Repo, names: Sequence[str]) -> int:
    """In a partial clone, fetch those of `names` that are missing in one batch; how many.

    Raises RemoteUnreachable when they cannot be fetched (one line, instead of a slow failure
    per object). Outside a partial clone a no-op (one dictionary look-up).
    """
    remote = promisor_remote(repo)
    if remote is None:
        return 0
    missing = missing_objects(repo, names)
    if missing:
        try:
            fetch_objects(repo, remote, missing)
        except GitError as e:
            raise RemoteUnreachable(
                remote, f"{len(missing)} objects this partial clone lacks: {e.detail}"
            ) from None
    return len(missing)


# Bulk reads (a cold cache build lists and reads the whole branch) map pack files in windows:
# by default git maps up to 8 GiB of them, and every page touched counts in the reader's RSS
# (683 MB to list 100,000 runs from a 508 MB pack; a 1M-run pack is several GB). Bounded here.
# A limit below the pack's size makes git unmap and map windows as it goes: 256m listed 100k
# runs from a 431 MB pack in 2.3 s (1.3 s of it mmap), 512m in 0.75 s; listing 1M runs from a
# 3.2 GB pack, 6.9 s at 677 MB RSS with 512m (6.7 s, 534 MB with 256m).
BOUNDED_PACK_MAPS = ("-c", "core.packedGitWindowSize=64m", "-c", "core.packedGitLimit=512m")


class BatchReader:
    """One `git cat-file --batch` process serving many object reads; use as a context manager.

    In a partial clone each read_many first fetches the missing objects in one batch (prefetch).
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        argv = [*BOUNDED_PACK_MAPS, "cat-file", "--batch"]
        self._proc = _popen(repo.cwd, argv, stdin=PIPE, stderr=None)
        assert self._proc.stdout is not None
        _widen_pipe(self._proc.stdout)

    def __enter__(self) -> BatchReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def read_many(self, names: Sequence[str]) -> list[bytes | None]:
        """Return the contents of each object name (oid or `rev:path`), None where missing."""
        return list(self.iter_many(names))

    def read(self, name: str) -> bytes | None:
        return self.read_many([name])[0]

    def iter_many(self, names: Sequence[str]) -> Iterator[bytes | None]:
        """read_many's contents one at a time, as git writes them: git works on the next objects
        (up to a pipe's worth) while the caller handles one. Read them all before another read."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if not names:
            return
        prefetch(self._repo, names)
        # Write requests from a thread so a large batch cannot deadlock on full pipes.
        import threading

        stdin = self._proc.stdin

        def request() -> None:
            try:
                for start in range(0, len(names), 4096):
                    stdin.write(b"".join(n.encode() + b"\n" for n in names[start : start + 4096]))
                stdin.flush()
            except (OSError, ValueError):  # git was stopped (the caller left early)
                pass

        writer = threading.Thread(target=request)
        writer.start()
        out = self._proc.stdout
        finished = False
        try:
            for _ in names:
                header = out.readline()
                if header.endswith(b" missing\n") or header.endswith(b" ambiguous\n"):
                    yield None
                    continue
                size = int(header.rsplit(b" ", 1)[1])
                data = out.read(size)
                out.read(1)
                yield data
            finished = True
        finally:
            if not finished:  # answers are pending: stop git (this reader is done)
                self._proc.kill()
            writer.join()


def _widen_pipe(pipe: IO[bytes]) -> None:
    """Let git write up to 1 MB ahead into `pipe` (Linux; the default is 64 KB)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass


def rev_list(repo: Repo, *args: str) -> list[str]:
    """`git rev-list args...` as a list of commits; raises GitError on a bad range."""
    return git_text(repo.cwd, "rev-list", *args).split()


def commit_exists(repo: Repo, commit: str) -> bool:
    out = run_git(repo.cwd, "cat-file", "-e", commit + "^{commit}", ok_codes=(0, 1, 128))
    return out.returncode == 0


# --- comparing trees ---------------------------------------------------------------------------


def code_tree(repo: Repo, code_commit: str | None, patch: bytes | None) -> str:
    """Return the tree of `code_commit` with `patch` applied (a run's exact code); write no ref.

    Built in a temporary index (GIT_INDEX_FILE in a temporary directory), so the user's index,
    worktree and HEAD are never touched; the trees and blobs written are unreachable objects that
    `git gc` prunes. Raises GitError when the commit is missing or the patch does not apply.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gitcfg-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run_git(repo.cwd, "read-tree", (code_commit or EMPTY_TREE) + "^{tree}", env=env)
        if patch:
            run_git(
                repo.cwd,
                "apply",
                "--cached",
                "--binary",
                "--whitespace=nowarn",
                "-",
                input=patch,
                env=env,
            )
        return run_git(repo.cwd, "write-tree", env=env).stdout.decode().strip()


def diff_trees(repo: Repo, old_tree: str, new_tree: str, color: bool = False) -> bytes:
    """Return the patch from `old_tree` to `new_tree` (plumbing: no external diff or textconv)."""
    color_flag = "--color=always" if color else "--no-color"
    return run_git(repo.cwd, "diff-tree", "-p", "-r", "-M", color_flag, old_tree, new_tree).stdout
