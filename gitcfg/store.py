"""The runs branch format: ids, run directories, commit messages, reading and writing runs.

Layout on the orphan branch (default `gitcfg-runs`), FORMAT 2:

    README.md, FORMAT                      first commit
    runs/<a>/<b>/<c>/<id>/config.yaml      resolved config (<a><b>: the id's milliseconds,
                          run.yaml         <c>: its last character; see fanout())
                          summary.yaml     summary metrics
                          metrics.jsonl    one JSON object per log() row
                          diff.patch       only when the worktree was dirty
                          requirements.txt installed distributions (environment.py)
                          files/...        files the run saved (save(), run.dir; runfiles.py)
                          media/<key>/...  Image and Table values logged (media.py)

FORMAT 1 put a run at `runs/<id[-2:]>/<id>/`; it stays readable everywhere, and the first write
with this gitcfg (or `gitcfg migrate`) moves every run to FORMAT 2 in one commit (migrate()).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gitcfg import gitio, runfile
from gitcfg.errors import (
    DamagedRunFile,
    GitcfgError,
    GitError,
    RunNotFound,
    RunsBranchMoved,
    RunsBranchRefused,
)
from gitcfg.yamlio import dump_yaml, load_yaml_fast

if TYPE_CHECKING:
    from datetime import datetime

FORMAT_VERSION = 2
FANOUT_FORMAT = 2  # the first with the fan-out layout (FORMAT 1: runs/<id[-2:]>/<id>)
DEFAULT_BRANCH = "gitcfg-runs"
RUNS_DIR = "runs"
RUN_YAML_FILES = ("run.yaml", "config.yaml", "summary.yaml")  # a run's YAML mappings, in this order
FALLBACK_NAME = "gitcfg"
RERUN_OF_VARIABLE = "GITCFG_RERUN_OF"  # set by `gitcfg rerun` for track(): run.yaml `rerun_of`

_CROCKFORD = runfile.ID_ALPHABET


# --- ids ---------------------------------------------------------------------------------------


ID_EPOCH = 1_577_836_800  # 2020-01-01T00:00:00Z
ID_TIME_CHARS, ID_MS_CHARS, ID_RANDOM_CHARS = 7, 2, 11
# A generated id; one chosen with track(id=) may differ.
ID_CHARS = ID_TIME_CHARS + ID_MS_CHARS + ID_RANDOM_CHARS
# A new id's seconds are offset by 32**6, so its first character is never `0`; an id of the first
# format (7 chars of seconds, 13 random) starts with `0` until 2054 and none is made any more.
_ID_SECONDS_OFFSET = 32**6
_RANDOM_BITS = 5 * ID_RANDOM_CHARS
_last_id_value = 0
_id_lock = threading.Lock()


def new_run_id(now: float | None = None) -> str:
    """Return a 20-char id: 7 base32 chars of seconds since 2020, 2 of milliseconds, 11 random.

    Ids sort by start millisecond and need no coordination between machines. Within a process they
    are monotonic, as ULIDs are: an id made in the same millisecond as the previous one is that id's
    random part plus one, so it sorts after it. Whole seconds first keep the shared prefix of a
    sweep's runs short, so 8-9 typed characters name a run.
    """
    global _last_id_value
    seconds, fraction = divmod(max((time.time() if now is None else now) - ID_EPOCH, 0.0), 1.0)
    stamp = (int(seconds) + _ID_SECONDS_OFFSET) * 1024 + min(int(fraction * 1000), 999)
    with _id_lock:
        value = (stamp << _RANDOM_BITS) | _random_bits(_RANDOM_BITS)
        if _last_id_value >> _RANDOM_BITS == stamp:  # same millisecond: after the previous id
            value = _last_id_value + 1
        _last_id_value = value
    chars = []
    for _ in range(ID_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _random_bits(bits: int) -> int:
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)


def hostname() -> str:
    """This machine's name (os.uname: importing socket for it costs more)."""
    return os.uname().nodename or "localhost"


def run_id_time(run_id: str) -> datetime:
    """Start time encoded in a run id: to the ms, or to the second for an id of the first format.

    2020-01-01 for an id the user chose. A generated id's first 7 characters below 32**6 (first
    character `0`) are the first format's whole seconds; from 32**6 on, seconds offset by 32**6,
    followed by 2 characters of milliseconds.
    """
    from datetime import datetime, timezone

    value = 0
    for char in run_id[: ID_TIME_CHARS + ID_MS_CHARS]:
        digit = _CROCKFORD.find(char)
        if digit < 0:  # not a generated id: no time in it
            return datetime.fromtimestamp(ID_EPOCH, tz=timezone.utc)
        value = value * 32 + digit
    seconds, ms = divmod(value, 1024)
    if len(run_id) != ID_CHARS or seconds < _ID_SECONDS_OFFSET:  # first format: seconds only
        return datetime.fromtimestamp(ID_EPOCH + seconds, tz=timezone.utc)
    since_epoch = seconds - _ID_SECONDS_OFFSET + min(ms, 999) / 1000
    return datetime.fromtimestamp(ID_EPOCH + since_epoch, tz=timezone.utc)


def is_run_id_prefix(text: str) -> bool:
    return bool(text) and all(c in _CROCKFORD for c in text.lower())


MAX_RUN_ID_CHARS = 64  # wandb's limit too
_RUN_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def check_run_id(run_id: object) -> str:
    """Return `run_id` (track(id=...)) if it can name a run directory, else raise GitcfgError.

    Letters, digits, `_`, `.` and `-`, at most MAX_RUN_ID_CHARS, not starting with `.` or `-`,
    no `..`: it becomes a path on the runs branch, a journal directory and a word in commit messages.
    """
    if not isinstance(run_id, str):
        raise GitcfgError(f"track(id=...) takes a string, not {type(run_id).__name__}")
    problem = None
    bad = sorted(set(run_id) - _RUN_ID_CHARS)
    if not run_id:
        problem = "it is empty"
    elif len(run_id) > MAX_RUN_ID_CHARS:
        problem = f"it is {len(run_id)} characters long (at most {MAX_RUN_ID_CHARS})"
    elif "/" in run_id or "\\" in run_id:
        problem = "it contains a path separator"
    elif ".." in run_id:
        problem = "it contains `..`"
    elif bad:
        problem = "it contains " + " ".join(repr(c) for c in bad[:5])
    elif run_id[0] in ".-" or run_id.endswith(".lock"):
        problem = "it starts with `.` or `-`" if run_id[0] in ".-" else "it ends with `.lock`"
    if problem:
        raise GitcfgError(
            f"track(id={run_id!r}): {problem}; use letters, digits, `_`, `.` and `-` "
            f"(at most {MAX_RUN_ID_CHARS})"
        )
    return run_id


def is_valid_run_id(run_id: str) -> bool:
    """Whether `run_id` (read from a runs commit or a directory name) may name a run directory."""
    try:
        check_run_id(run_id)
    except GitcfgError:
        return False
    return True


FANOUT_DEPTH = 3  # directories between runs/ and a run's directory
_FANOUT_CHARS = frozenset(_CROCKFORD)
_FANOUT_PAD = "_"  # stands for a character an id lacks or one outside [0-9a-z]
FANOUT_NAMES = _FANOUT_CHARS | {_FANOUT_PAD}  # the names of a fan-out directory


def fanout(run_id: str) -> tuple[str, str, str]:
    """The three one-character directories above a run's directory: `runs/<a>/<b>/<c>/<id>`.

    <a> and <b> are the id's 8th and 9th characters, its milliseconds: spread evenly over 32
    values each, whenever runs start, yet part of the 8-9 characters that name a run, so a
    reader given such a prefix lists one directory of about N/1024 runs instead of all of
    them. <c> is the id's last character (random; +1 for the next id of the same millisecond),
    which spreads the runs a sweep starts within one millisecond. Each tree then has at most 32
    entries down to 32,768 leaves (about 30 runs each at 1M runs), so a commit rewrites a few KB
    of trees whatever the number of runs (FORMAT 1's runs/ and shard trees: ~70 KB at 1M).
    A first-format id's 8th-9th characters are random; a chosen id's characters are lowered,
    and one outside [0-9a-z] (or missing, in a short id) becomes `_`.
    """
    chars = [_fan_char(run_id, i) for i in (ID_TIME_CHARS, ID_TIME_CHARS + 1)]
    return chars[0], chars[1], _fan_char(run_id, len(run_id) - 1)


def _fan_char(run_id: str, index: int) -> str:
    char = run_id[index].lower() if 0 <= index < len(run_id) else _FANOUT_PAD
    return char if char in _FANOUT_CHARS else _FANOUT_PAD


def shard(run_id: str) -> str:
    """FORMAT 1's shard directory: the id's last two (random) characters."""
    return run_id[-2:]


def run_dir(run_id: str, format_version: int = FORMAT_VERSION) -> str:
    """The run's directory on a branch of `format_version` (default: the one gitcfg writes)."""
    if format_version < FANOUT_FORMAT:
        return f"{RUNS_DIR}/{shard(run_id)}/{run_id}"
    return "/".join((RUNS_DIR, *fanout(run_id), run_id))


def run_dir_candidates(run_id: str) -> tuple[str, str]:
    """Where the run's directory is in either format: (FORMAT 2's, FORMAT 1's). A commit holds
    one of them; history from before a migration holds the second."""
    return run_dir(run_id), run_dir(run_id, 1)


def parse_run_path(path: str) -> tuple[str, str, str] | None:
    """`runs/a/b/c/<id>/run.yaml` -> (run id, `runs/a/b/c/<id>`, `run.yaml`); FORMAT 1's
    `runs/ab/<id>/run.yaml` likewise; None outside a run's directory (or for the directory
    itself)."""
    parts = path.split("/", FANOUT_DEPTH + 2)
    if len(parts) < 4 or parts[0] != RUNS_DIR:
        return None
    if len(parts) > FANOUT_DEPTH + 1 and tuple(parts[1:4]) == fanout(parts[4]):
        if len(parts) == FANOUT_DEPTH + 3:
            return parts[4], "/".join(parts[:5]), parts[5]
        return None
    if shard(parts[2]) != parts[1]:  # FORMAT 1: runs/<id[-2:]>/<id>/...
        return None
    return parts[2], "/".join(parts[:3]), "/".join(parts[3:])


def current_path(path: str) -> str:
    """`path` where the current format puts it (a run's file moves; any other path stays)."""
    parsed = parse_run_path(path)
    return path if parsed is None else f"{run_dir(parsed[0])}/{parsed[2]}"


def changed_run_dirs(repo: gitio.Repo, old: str | None, new: str) -> dict[str, str]:
    """Map each run id whose directory differs between two runs commits (None: none) to that dir
    (its place in `new` when it is there: across a migration a run is in both formats)."""
    changed: dict[str, str] = {}
    for change in gitio.changed_blobs(repo, old or gitio.EMPTY_TREE, new, RUNS_DIR + "/"):
        parsed = parse_run_path(change.path)
        if parsed is not None and (change.oid or parsed[0] not in changed):
            changed[parsed[0]] = parsed[1]
    return changed


_ADJECTIVES = (
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "eager",
    "fair",
    "fancy",
    "gentle",
    "golden",
    "happy",
    "hidden",
    "jolly",
    "keen",
    "lively",
    "lucky",
    "mellow",
    "misty",
    "noble",
    "proud",
    "quiet",
    "rapid",
    "silent",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "wild",
    "witty",
)
_NOUNS = (
    "aurora",
    "breeze",
    "brook",
    "canyon",
    "cedar",
    "cloud",
    "comet",
    "delta",
    "dune",
    "ember",
    "field",
    "forest",
    "frost",
    "glade",
    "harbor",
    "island",
    "lake",
    "leaf",
    "meadow",
    "moon",
    "ocean",
    "orbit",
    "pine",
    "planet",
    "rain",
    "river",
    "shadow",
    "sky",
    "star",
    "sun",
    "valley",
    "wave",
)


def default_run_name(run_id: str) -> str:
    """A memorable name derived from the id's random bits (`bold-river-7f`)."""
    tail = run_id[-4:]
    index = int.from_bytes(tail.encode(), "big")
    return f"{_ADJECTIVES[index % 32]}-{_NOUNS[(index // 32) % 32]}-{tail[-2:]}"


# --- time --------------------------------------------------------------------------------------


def utc_iso(ts: float) -> str:
    """`2026-11-26T00:35:12.345Z`: UTC, ms precision, sorts as text."""
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


# --- commit messages ---------------------------------------------------------------------------


def commit_message(
    subject: str,
    body: str | None = None,
    trailers: Mapping[str, str | Sequence[str] | None] = {},
) -> str:
    """`subject`, the body as its own paragraph, then `Key: value` trailers (empty ones left out;
    a list value repeats its key, one line per item, as git trailers do).

    Every runs-branch commit message is built here (`run <id>: finished (exit 0)`, `amend <id>:
    ...`, `rm <id>: removed`, `restore <id>: restored`, `merge runs from ...`); history, `--grep`
    and parse_message read them, so their bytes must not change.
    """
    parts = [subject]
    if body and body.strip():
        parts.append(body.strip())
    trailer_lines = "\n".join(
        f"{k}: {item}"
        for k, v in trailers.items()
        if v
        for item in ([v] if isinstance(v, str) else v)
    )
    if trailer_lines:
        parts.append(trailer_lines)
    return "\n\n".join(parts) + "\n"


def run_event_message(run_id: str, event: str, code_commit: str | None) -> str:
    """`run <id>: <event>` (started, finished (exit 0), crashed, ...) with greppable trailers."""
    return commit_message(
        f"run {run_id}: {event}", trailers={"Run-Id": run_id, "Code-Commit": code_commit}
    )


RUN_VERBS = ("run", "amend", "rm", "restore")  # `<verb> <id>: ...` subjects gitcfg writes


class ParsedMessage(NamedTuple):
    verb: str  # "run", "amend", "rm", "restore", "merge", or "" for a message gitcfg did not write
    run_id: str | None  # None for a merge, and for a commit that changed several runs
    what: str  # the subject after `<verb> <id>: ` (or `<verb> <n> runs: `)
    why: str  # the body without trailers
    trailers: dict[str, str]  # a repeated key keeps its last value
    run_ids: tuple[str, ...] = ()  # every `Run-Id:` trailer (several when one commit changed many)


def parse_message(message: str) -> ParsedMessage:
    """Split a runs-branch commit message into verb, run id, what (subject) and why (body)."""
    subject, _, body = message.strip("\n").partition("\n")
    verb, run_id, what = "", None, subject
    head, sep, rest = subject.partition(": ")
    words = head.split(" ")
    if sep and len(words) == 2 and words[0] in RUN_VERBS:
        verb, run_id, what = words[0], words[1], rest
    elif (
        sep
        and len(words) == 3
        and words[0] in RUN_VERBS
        and words[1].isdigit()
        and words[2] == "runs"
    ):
        verb, what = words[0], rest  # `amend 3 runs: tag leak`: the ids are in the trailers
    elif subject.startswith("merge "):
        verb = "merge"
    paragraphs = [p.strip("\n") for p in body.strip("\n").split("\n\n") if p.strip()]
    trailers: dict[str, str] = {}
    run_ids: list[str] = []
    if paragraphs and all(_is_trailer(line) for line in paragraphs[-1].splitlines()):
        for line in paragraphs.pop().splitlines():
            key, _, value = line.partition(": ")
            trailers[key] = value
            if key == "Run-Id":
                run_ids.append(value)
    return ParsedMessage(verb, run_id, what, "\n\n".join(paragraphs), trailers, tuple(run_ids))


def _is_trailer(line: str) -> bool:
    key, sep, _ = line.partition(": ")
    return bool(sep) and bool(key) and all(c.isalnum() or c == "-" for c in key)


BRANCH_README = """# gitcfg runs

This branch is written by gitcfg (https://github.com/gitcfg/gitcfg). It shares no history with the
code: each commit records one run starting, ending or being amended.

    runs/<a>/<b>/<c>/<run-id>/
      config.yaml     the resolved config, as the script ended with it
      run.yaml        metadata: status, times, host, argv, code commit, config provenance
      summary.yaml    summary metrics (last logged value of each metric, or set explicitly)
      metrics.jsonl   one JSON object per log() row, with _step and _time
      diff.patch      uncommitted changes at start (apply with `git apply` on code.commit)
      requirements.txt  the installed Python distributions (`pip install -r requirements.txt`)
      files/          files the run saved; media/ the images and tables it logged

<a> and <b> are the run id's 8th and 9th characters, <c> its last one. Run ids start with
the start time (7 base32 characters of seconds since 2020, 2 of milliseconds), then 11 random
characters.
Read it with `gitcfg log`, `gitcfg show RUN`, or plain git:
`git log gitcfg-runs --grep 'Code-Commit: <sha>'`.
"""


# --- records -----------------------------------------------------------------------------------


class RunRecord(NamedTuple):
    """One run as stored: run.yaml's mapping plus config and summary."""

    run_id: str
    meta: dict[str, Any]  # run.yaml
    config: dict[str, Any]
    summary: dict[str, Any]
    files: tuple[str, ...] = ()  # file names present in the run directory

    @property
    def name(self) -> str | None:
        return self.meta.get(runfile.NAME)

    @property
    def status(self) -> str:
        return str(self.meta.get(runfile.STATUS, "unknown"))

    @property
    def code_commit(self) -> str | None:
        return runfile.code_of(self.meta).get(runfile.CODE_COMMIT)

    @property
    def started_at(self) -> datetime | None:
        return parse_iso(self.meta.get(runfile.STARTED_AT)) or run_id_time(self.run_id)


def run_files(
    meta: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    metrics_jsonl: bytes | None = None,
    patch: bytes | None = None,
    requirements: bytes | None = None,
) -> dict[str, bytes]:
    """The files of one run directory, keyed by branch path; None arguments are left unchanged."""
    base = run_dir(str(meta[runfile.ID]))
    files = {f"{base}/run.yaml": dump_yaml(dict(meta)).encode()}
    if config is not None:
        files[f"{base}/config.yaml"] = dump_yaml(dict(config)).encode()
    if summary is not None:
        files[f"{base}/summary.yaml"] = dump_yaml(dict(summary)).encode()
    if metrics_jsonl is not None:
        files[f"{base}/metrics.jsonl"] = metrics_jsonl
    if patch:
        files[f"{base}/diff.patch"] = patch
    if requirements is not None:
        files[f"{base}/requirements.txt"] = requirements  # same list, same blob: stored once
    return files


# --- the store ---------------------------------------------------------------------------------


class Store:
    """A repository's runs branch: where it is, who writes to it, and reads/writes of run dirs."""

    def __init__(self, repo: gitio.Repo, git_config: Mapping[str, str]) -> None:
        self.repo = repo
        self.git_config = dict(git_config)
        gitio.note_shared_repository(repo, self.git_config.get("core.sharedrepository"))
        self.runs_branch = self.git_config.get("gitcfg.branch") or DEFAULT_BRANCH
        problem = branch_name_problem(self.runs_branch)
        if problem:
            raise RunsBranchRefused(
                f"git config gitcfg.branch is {self.runs_branch!r}, not a valid branch name "
                f"({problem}); set another: git config gitcfg.branch {DEFAULT_BRANCH}"
            )
        self.runs_ref = f"refs/heads/{self.runs_branch}"
        self.adopted: str | None = None  # `origin/gitcfg-runs`: adopt_remote_branch made it

    @classmethod
    def open(cls, path: Path | str = ".") -> Store:
        """Open the store of the repository containing `path` (NotARepo outside one)."""
        found = gitio.probe_memoized(Path(path))  # rev-parse and config -l, or their memo
        store = cls(found.repo, found.config)
        store.adopt_remote_branch()
        return store

    @property
    def identity(self) -> gitio.Identity:
        """The user's git identity, or a fallback: a training script never fails over user.email."""
        env = os.environ
        name = env.get("GIT_AUTHOR_NAME") or self.git_config.get("user.name")
        email = env.get("GIT_AUTHOR_EMAIL") or self.git_config.get("user.email")
        host = hostname()
        return gitio.Identity(
            name or env.get("USER") or FALLBACK_NAME,
            email or f"{env.get('USER') or FALLBACK_NAME}@{host}",
        )

    def tip(self) -> str | None:
        return gitio.read_ref(self.repo, self.runs_ref)

    def exists(self) -> bool:
        return self.tip() is not None

    def adopt_remote_branch(self) -> str | None:
        """Make the missing runs branch from the remote's (after a plain `git clone`); return
        what it was made from (`origin/gitcfg-runs`, also kept in `adopted`), else None.

        A clone fetches every branch into `refs/remotes/<remote>/`, the runs too, but makes no
        local runs branch: without this, `gitcfg log` would say "no runs yet" and a run recorded
        there would start a second, unrelated runs branch. Taken from the current branch's
        upstream remote, else `origin`, else the only remote that has one; only when its tip is a
        runs branch this gitcfg reads (check_runs_tree). A file read when the branch exists.
        """
        if self.tip() is not None:
            return None
        tips = gitio.remote_tracking_tips(self.repo, self.runs_branch)
        if not tips:
            return None
        head = gitio.head_branch(self.repo)
        upstream = self.git_config.get(f"branch.{head}.remote".lower()) if head else None
        remote = next((r for r in (upstream, "origin") if r in tips), None)
        if remote is None and len(tips) == 1:
            remote = next(iter(tips))
        if remote is None:
            return None
        source = f"{remote}/{self.runs_branch}"
        try:
            check_runs_tree(self.repo, tips[remote], source)
            reason = f"gitcfg: runs branch from {source}"
            gitio.move_ref(self.repo, self.runs_ref, tips[remote], None, reason)
        except (RunsBranchRefused, RunsBranchMoved):  # not runs; or made meanwhile by another
            return None
        except GitError:  # a read-only repository: read without a branch, as before
            return None
        self.adopted = source
        return source

    def create_branch(self) -> bool:
        """Create the orphan runs branch with README.md and FORMAT; False if it already exists."""
        self.check_writable()
        files = {"README.md": BRANCH_README.encode(), "FORMAT": f"{FORMAT_VERSION}\n".encode()}
        try:
            runs_commit = gitio.commit_files(
                self.repo,
                self.runs_ref,
                files,
                "gitcfg: start the runs branch\n",
                self.identity,
                expected=None,
            )
        except RunsBranchMoved:
            return False
        _CHECKED_TIPS.add((self.repo.common_dir, runs_commit))
        return True

    def check_writable(self) -> None:
        """Raise RunsBranchRefused unless gitcfg may commit onto the runs branch.

        Refused: a branch checked out in any worktree (committing would move it under the user's
        feet), a branch that is not a runs branch (the code's history: `gitcfg.branch=main`, a
        `gitcfg-runs` made with `git branch`), and one whose FORMAT is newer than this gitcfg.
        Every write calls this before writing anything; a branch of an older FORMAT is
        migrated first (migrate(): one commit), so writers always write the current layout.
        The worktree test reads HEAD files
        (no git process); the tip's tree is listed once per tip a process sees (one `git ls-tree`;
        the commits this process writes count as seen).
        """
        self._check_not_checked_out()
        tip = self.tip()
        if tip is not None and (self.repo.common_dir, tip) not in _CHECKED_TIPS:
            version = check_runs_tree(self.repo, tip, f"branch {self.runs_branch}")
            if version < FORMAT_VERSION:  # written by an older gitcfg: move its runs first
                self.migrate()
                return
            _CHECKED_TIPS.add((self.repo.common_dir, tip))

    def _check_not_checked_out(self) -> None:
        bare = self.git_config.get("core.bare") == "true"
        where = gitio.checked_out_branches(self.repo, bare).get(self.runs_ref)
        if where is not None:
            raise RunsBranchRefused(
                f"the runs branch {self.runs_branch} is checked out in {where}; gitcfg never "
                "commits onto a checked-out branch: switch that worktree to another branch first"
            )

    def write(self, files: Mapping[str, bytes | None], message: str) -> str:
        """Commit `files` on the runs branch (creating it if needed); return the runs commit."""
        self.check_writable()
        if not self.exists():
            self.create_branch()
        runs_commit = gitio.commit_files(
            self.repo, self.runs_ref, files, message, self.identity, derive=index_deriver()
        )
        _CHECKED_TIPS.add((self.repo.common_dir, runs_commit))  # built on a checked tip
        return runs_commit

    def migrate(self) -> Migration | None:
        """Move every run of a branch of an older FORMAT to the current layout, in one commit
        (`gitcfg: migrate the runs branch to FORMAT 2`); None when there is nothing to do.

        A normal commit on top of the tip: each run directory's tree moves as it is (no blob is
        rewritten), so nothing is lost and `history` follows a run across it. Compare-and-swap
        onto the tip it listed: a writer that got in first makes it list again.
        """
        self._check_not_checked_out()
        for _ in range(gitio.MAX_RETRIES):
            tip = self.tip()
            if tip is None:
                return None
            version = check_runs_tree(self.repo, tip, f"branch {self.runs_branch}")
            if version >= FORMAT_VERSION:
                _CHECKED_TIPS.add((self.repo.common_dir, tip))
                return None
            files: dict[str, bytes | gitio.BlobRef | None] = {}
            moved: list[tuple[str, gitio.TreeEntry]] = []
            for entry in _format1_run_dirs(self.repo, tip):
                run_id = entry.path.rsplit("/", 1)[1]
                files[entry.path] = None  # deletions first: a 1-char id's old dir `runs/a/a`
                moved.append((run_id, entry))
            for run_id, entry in moved:
                files[run_dir(run_id)] = gitio.BlobRef(entry.mode, entry.oid)
            files["FORMAT"] = f"{FORMAT_VERSION}\n".encode()
            files["README.md"] = BRANCH_README.encode()
            message = commit_message(
                f"{MIGRATE_SUBJECT} {FORMAT_VERSION}",
                f"Moved {len(moved)} run directories from FORMAT {version}'s runs/<id[-2:]>/<id>/ "
                f"to runs/<a>/<b>/<c>/<id>/ (docs/branch-format.md); no file changed.",
            )
            try:
                runs_commit = gitio.commit_files(
                    self.repo, self.runs_ref, files, message, self.identity, expected=tip
                )
            except RunsBranchMoved:
                continue
            _CHECKED_TIPS.add((self.repo.common_dir, runs_commit))
            return Migration(runs_commit, version, len(moved))
        raise RunsBranchMoved(self.runs_ref)

    # reading

    def run_entries(self, run_id: str, at: str) -> tuple[str, list[gitio.TreeEntry]]:
        """(the run's directory at runs commit `at`, its files there): one `git ls-tree` that
        looks in both formats' places; the current format's place when the run is in neither."""
        here, older = run_dir_candidates(run_id)
        entries = gitio.ls_tree(self.repo, at, here + "/", older + "/")
        base = here if not entries or entries[0].path.startswith(here + "/") else older
        return base, [e for e in entries if e.path.startswith(base + "/")]

    def read_run(self, run_id: str, at: str | None = None, strict: bool = False) -> RunRecord:
        """The run as it stands at the runs commit `at` (default: the tip); RunNotFound if absent.

        Lists only the run's own directory, not the branch. A damaged or non-mapping YAML file
        reads as empty, unless `strict` (amend: writing it back would wipe it), which raises
        DamagedRunFile instead.
        """
        runs_commit = at or self.tip()
        if runs_commit is None:
            raise RunNotFound(run_id)
        base, entries = self.run_entries(run_id, runs_commit)
        # Names relative to the run directory: `files/run.yaml` (a saved file) is not run.yaml.
        names = {e.path[len(base) + 1 :]: e.oid for e in entries}
        if "run.yaml" not in names:
            raise RunNotFound(run_id)
        with gitio.BatchReader(self.repo) as reader:
            blobs = reader.read_many([names.get(n, gitio.ZERO_OID) for n in RUN_YAML_FILES])
        if strict:
            for name, blob in zip(RUN_YAML_FILES, blobs, strict=True):
                missing = missing_run_file(name, names.get(name), blob)
                if missing:  # amend would write a config holding only the amended key
                    raise DamagedRunFile(run_id, name, missing)
            meta, config, summary = (
                _strict_mapping(run_id, name, blob)
                for name, blob in zip(RUN_YAML_FILES, blobs, strict=True)
            )
        else:
            meta, config, summary = (load_mapping(blob) for blob in blobs)
        return RunRecord(run_id, meta or {"id": run_id}, config, summary, tuple(names))

    def read_run_file(self, run_id: str, name: str, at: str | None = None) -> bytes | None:
        """One file of the run's directory (`files/model.txt`) at `at` (default: the tip)."""
        runs_commit = at or self.tip()
        if runs_commit is None:
            return None
        with gitio.BatchReader(self.repo) as reader:
            return read_run_files(reader, runs_commit, [run_id], name)[0]


def index_deriver() -> gitio.Derive:
    """The commit hook that keeps the summary index (index/, summaryindex.py) up to date with
    the runs a commit changes; every gitcfg commit that changes runs passes it."""
    from gitcfg import summaryindex
    from gitcfg.rows import run_row

    return summaryindex.deriver(parse_run_path, read_row_mapping, RUN_YAML_FILES, run_row)


def rebuild_index(store: Store) -> int:
    """Write the summary index (index/) anew from every run on the branch; the runs indexed."""
    from gitcfg import summaryindex
    from gitcfg.rows import run_row

    store.check_writable()
    return summaryindex.rebuild(
        store.repo,
        store.runs_ref,
        store.identity,
        RUNS_DIR,
        parse_run_path,
        read_row_mapping,
        RUN_YAML_FILES,
        run_row,
    )


def missing_run_file(name: str, oid: str | None, blob: bytes | None) -> str | None:
    """Why run.yaml or config.yaml (every run has both) cannot be read at all, or None: absent
    from the run's directory, or its blob absent from the object database."""
    if name == "summary.yaml" or blob is not None:
        return None
    if oid is None or oid == gitio.ZERO_OID:
        return "it is missing from the run's directory"
    return f"its blob {oid[:12]} is missing from the object database"


def _strict_mapping(run_id: str, name: str, blob: bytes | None) -> dict[str, Any]:
    if not blob:
        return {}
    from gitcfg.yamlio import load_yaml

    try:
        value = load_yaml(blob)
    except Exception as e:  # yaml's errors: the file is damaged
        raise DamagedRunFile(run_id, name, str(e).splitlines()[0]) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DamagedRunFile(run_id, name, f"it holds a {type(value).__name__}, not a mapping")
    return value


def load_mapping(blob: bytes | None) -> dict[str, Any]:
    """Parse a run file's YAML mapping; empty for a missing, damaged or non-mapping file."""
    return read_mapping(blob)[0]


def read_mapping(blob: bytes | None, text_keys: bool = False) -> tuple[dict[str, Any], str | None]:
    """(a run file's YAML mapping, None), or ({}, why it cannot be read) for a damaged or
    hostile file (an alias bomb, a duplicate key) or one that holds no mapping. `text_keys`:
    every key as the text a flat row names it by (yamlio.load_yaml_fast)."""
    if not blob:
        return {}, None
    try:
        value = load_yaml_fast(blob, text_keys)
    except Exception as e:  # a damaged file shows as empty rather than hiding every other run
        return {}, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, f"it holds a {type(value).__name__}, not a mapping"
    return value, None


def read_row_mapping(blob: bytes | None) -> tuple[dict[str, Any], str | None]:
    """read_mapping with text keys: what the query cache and the summary index read, so that a
    run's JSON texts and its flat row name a hand-written `on:` key alike (`True`)."""
    return read_mapping(blob, text_keys=True)


MIGRATE_SUBJECT = "gitcfg: migrate the runs branch to FORMAT"


class Migration(NamedTuple):
    runs_commit: str
    from_version: int
    runs: int  # run directories moved


def _format1_run_dirs(repo: gitio.Repo, runs_commit: str) -> list[gitio.TreeEntry]:
    """FORMAT 1's run directories (`runs/<shard>/<id>`): two `git ls-tree`, not a listing of
    every file."""
    shards = [
        e.path + "/"
        for e in gitio.ls_tree(repo, runs_commit, RUNS_DIR + "/", recursive=False)
        if e.kind == "tree"
    ]
    if not shards:
        return []
    found = gitio.ls_tree(repo, runs_commit, *shards, recursive=False)
    return [e for e in found if e.kind == "tree" and is_valid_run_id(e.path.rsplit("/", 1)[1])]


def branch_format(reader: gitio.BatchReader, runs_commit: str) -> int:
    """The FORMAT of a runs commit (1 when it has none or an unreadable one)."""
    text = (reader.read(f"{runs_commit}:FORMAT") or b"").decode(errors="replace").strip()
    return int(text) if text.isdigit() and len(text) < 6 else 1


def read_run_files(
    reader: gitio.BatchReader, runs_commit: str, run_ids: Sequence[str], name: str
) -> list[bytes | None]:
    """The file `name` of each run's directory at `runs_commit` (None where absent), in the
    place the commit's FORMAT puts it: one batch of reads."""
    version = branch_format(reader, runs_commit)
    return reader.read_many([f"{runs_commit}:{run_dir(r, version)}/{name}" for r in run_ids])


_CHECKED_TIPS: set[tuple[Path, str]] = set()  # (common dir, runs commit) found writable
# all a runs branch holds at its top (index/: summaryindex.py, a derived copy of runs/)
RUNS_BRANCH_TOP = frozenset(("README.md", "FORMAT", RUNS_DIR, "index"))


def check_runs_tree(repo: gitio.Repo, runs_commit: str, what: str, remedy: str = "") -> int:
    """Raise RunsBranchRefused unless `runs_commit`'s tree is a runs branch's this gitcfg can write.

    A runs branch holds README.md, FORMAT (a number) and runs/ at its top, and nothing else;
    a branch with the code's history holds the code (or no FORMAT). One `git ls-tree`; the
    current FORMAT is recognised by its blob id, so its content is read only when it differs.
    `remedy` ends the message (default: name another branch in git config). Returns the FORMAT.
    """
    entries = {e.path: e for e in gitio.ls_tree(repo, runs_commit, recursive=False)}
    format_entry = entries.get("FORMAT")
    text = None
    if format_entry is not None and format_entry.kind == "blob":
        text = str(FORMAT_VERSION)
        if format_entry.oid != gitio.blob_oid(f"{text}\n".encode(), len(format_entry.oid)):
            with gitio.BatchReader(repo) as reader:
                text = (reader.read(format_entry.oid) or b"").decode(errors="replace").strip()
        if text.isdigit() and int(text) > FORMAT_VERSION:
            raise format_version_error(text)
    foreign = sorted(set(entries) - RUNS_BRANCH_TOP)
    if foreign or text is None or not text.isdigit():
        holds = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
        raise RunsBranchRefused(
            f"{what} is not a gitcfg runs branch (it holds "
            + (holds or ("no FORMAT file" if text is None else f"FORMAT {text[:20]!r}"))
            + "); gitcfg never commits onto a branch that may share history with your code: "
            + (
                remedy
                or f"name another with `git config gitcfg.branch NAME` (default {DEFAULT_BRANCH})"
            )
        )
    return int(text)


_BRANCH_FORBIDDEN = frozenset(" ~^:?*[\\\x7f")


def branch_name_problem(name: str) -> str | None:
    """Why `name` is not a valid branch name by `git check-ref-format --branch`, None if it is."""
    if name.startswith("-") or name == "HEAD":
        return "it starts with `-`" if name.startswith("-") else "it is HEAD"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it has an empty path component"
    if ".." in name or "@{" in name:
        return "it contains `..`" if ".." in name else "it contains `@{`"
    bad = sorted({c for c in name if c in _BRANCH_FORBIDDEN or ord(c) < 32})
    if bad:
        return "it contains " + " ".join(repr(c) for c in bad[:5])
    if name.endswith("."):
        return "it ends with `.`"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a component starts with `.`" if part.startswith(".") else "it ends with `.lock`"
    return None


def format_version_error(found: str) -> GitcfgError:
    return RunsBranchRefused(
        f"the runs branch uses format {found}, newer than this gitcfg understands "
        f"({FORMAT_VERSION}); reading works, but upgrade gitcfg to write to it"
    )
