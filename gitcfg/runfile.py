"""run.yaml, the run record: its schema, its constructor, its transitions and its read-side view.

run.yaml is the product's contract (the runs branch's FORMAT): every module that writes or reads it
names its fields through this one. `RunYaml` describes the file; `SCHEMA` is the same description
checked at run time. The lifecycle:

    start_record()     Run's first record (status `running`)            tracking.Run._start
    resumed()          a resumed run keeps its first start, labels, ...  tracking.Run._resumed_meta
    finish()           the script ended: status, exit code, end, length  tracking.Run._finish
    crash()            the process died: recovered from its journal      journal.recover
    add_amendment()    `gitcfg amend` / Api edits, logged in the record  amend.apply_amendment
    merged_amendments() both sides' amendment logs, by time              sync.merge_run_yaml

`check_record()` is called before a record is written locally (a record not matching the schema is
a bug, and nothing is written); `record_problem()` says why a journal's record does not match, and
recovery then skips that journal with one warning. Records pulled from others are read as they are.

The read side: `row_fields()` is the one view of a record's run fields, under the names the query
language, the cache and the tables use (`started`, `code_commit`, ...; the file's own names are
`started_at`, `code.commit`). `StoredRun` (query.py), the cache rows (rows.py) and the reports draw
from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TypedDict

# A generated run id's characters (Crockford's base32, lower case): store.new_run_id writes them,
# summaryindex.index_key recognises them.
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

# --- field names -------------------------------------------------------------------------------

ID, NAME, GROUP, TAGS, NOTES = "id", "name", "group", "tags", "notes"
PROJECT, ENTITY, JOB_TYPE = "project", "entity", "job_type"
STATUS, EXIT_CODE = "status", "exit_code"
STARTED_AT, ENDED_AT, DURATION_S, RESUMED_AT = "started_at", "ended_at", "duration_s", "resumed_at"
HOST, USER, PID, PYTHON, PLATFORM = "host", "user", "pid", "python", "platform"
ARGV, SCRIPT, MODULE, CWD = "argv", "script", "module", "cwd"
GITCFG_VERSION, FORMAT = "gitcfg_version", "format"
CODE = "code"
CONFIG_SOURCES, CONFIG_CHANGED = "config_sources", "config_changed"
RERUN_OF, INIT_ARGS, HYDRA_OVERRIDES = "rerun_of", "init_args", "hydra_overrides"
METRIC_DEFINITIONS, METRIC_SUMMARY, WATCH = "metric_definitions", "metric_summary", "watch"
ALERTS, PREEMPTING, ERROR, SIGNAL = "alerts", "preempting", "error", "signal"
AMENDMENTS = "amendments"

# code.* (the user's code the run started from)
CODE_COMMIT, CODE_BRANCH, CODE_DIRTY = "commit", "branch", "dirty"
CODE_REMOTE_URL, CODE_WORKTREE = "remote_url", "worktree"
CODE_UNTRACKED_NOT_STORED, CODE_PATCH_LOST = "untracked_not_stored", "patch_lost"

LABELS = (NAME, GROUP, TAGS, NOTES, PROJECT, ENTITY, JOB_TYPE)

# --- statuses ----------------------------------------------------------------------------------

RUNNING, FINISHED, FAILED, KILLED, CRASHED = "running", "finished", "failed", "killed", "crashed"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED, CRASHED)


class Code(TypedDict, total=False):
    commit: str | None  # None on an unborn HEAD
    branch: str | None
    dirty: bool
    remote_url: str | None  # credentials stripped
    worktree: str | None
    untracked_not_stored: list[str]  # untracked files left out of diff.patch
    patch_lost: bool  # a dirty run whose diff.patch was lost (recovered from an old journal)


class RunYaml(TypedDict, total=False):
    """run.yaml. Always present: id, status, started_at, format; the rest as the run had them."""

    id: str
    name: str | None
    group: str | None
    tags: list[str]
    notes: str | None
    project: str | None
    entity: str | None
    job_type: str | None
    status: str  # one of STATUSES
    exit_code: int | None
    started_at: str  # ISO 8601 UTC, ms; a resumed run keeps its first start
    ended_at: str | None
    duration_s: float | None
    resumed_at: list[str]
    host: str
    user: str | None
    pid: int
    python: str
    platform: str
    argv: list[str]
    script: str  # the script's path, or the session kind (`<stdin>`, `ipython`, ...)
    module: str  # `python -m pkg.train`
    cwd: str
    gitcfg_version: str
    format: int  # store.FORMAT_VERSION
    code: Code
    config_sources: dict[str, Any]
    config_changed: list[str]
    rerun_of: str
    init_args: dict[str, Any]
    hydra_overrides: list[str]
    metric_definitions: dict[str, Any]
    metric_summary: dict[str, Any]
    watch: list[Any]
    alerts: list[dict[str, Any]]
    preempting: bool
    error: dict[str, Any]
    signal: str
    amendments: list[dict[str, Any]]


_NONE = type(None)
_NUMBER = (int, float)
# The run-time schema: field -> accepted types (RunYaml's, as isinstance checks).
SCHEMA: dict[str, tuple[type, ...]] = {
    ID: (str,),
    NAME: (str, _NONE),
    GROUP: (str, _NONE),
    TAGS: (list,),
    NOTES: (str, _NONE),
    PROJECT: (str, _NONE),
    ENTITY: (str, _NONE),
    JOB_TYPE: (str, _NONE),
    STATUS: (str,),
    EXIT_CODE: (int, _NONE),
    STARTED_AT: (str,),
    ENDED_AT: (str, _NONE),
    DURATION_S: (*_NUMBER, _NONE),
    RESUMED_AT: (list,),
    HOST: (str,),
    USER: (str, _NONE),
    PID: (int,),
    PYTHON: (str,),
    PLATFORM: (str,),
    ARGV: (list,),
    SCRIPT: (str,),
    MODULE: (str,),
    CWD: (str,),
    GITCFG_VERSION: (str,),
    FORMAT: (int,),
    CODE: (dict,),
    CONFIG_SOURCES: (dict,),
    CONFIG_CHANGED: (list,),
    RERUN_OF: (str,),
    INIT_ARGS: (dict,),
    HYDRA_OVERRIDES: (list,),
    METRIC_DEFINITIONS: (dict,),
    METRIC_SUMMARY: (dict,),
    WATCH: (list,),
    ALERTS: (list,),
    PREEMPTING: (bool,),
    ERROR: (dict,),
    SIGNAL: (str,),
    AMENDMENTS: (list,),
}
REQUIRED = (ID, STATUS, STARTED_AT, FORMAT)
CODE_SCHEMA: dict[str, tuple[type, ...]] = {
    CODE_COMMIT: (str, _NONE),
    CODE_BRANCH: (str, _NONE),
    CODE_DIRTY: (bool,),
    CODE_REMOTE_URL: (str, _NONE),
    CODE_WORKTREE: (str, _NONE),
    CODE_UNTRACKED_NOT_STORED: (list,),
    CODE_PATCH_LOST: (bool,),
}


# --- the constructor and the transitions -------------------------------------------------------


def start_record(
    run_id: str,
    labels: Mapping[str, Any],
    started_at: str,
    process: Mapping[str, Any],
    code: Code,
    config_sources: Mapping[str, Any],
    format_version: int,
) -> dict[str, Any]:
    """A new run's record, status `running`, fields in the file's order.

    `labels`: name, group, tags, ... (LABELS); `process`: host, user, pid, python, platform,
    argv, script, cwd, gitcfg_version as this process has them.
    """
    record: dict[str, Any] = {ID: run_id}
    record.update((key, list(labels[key]) if key == TAGS else labels[key]) for key in LABELS)
    record.update({STATUS: RUNNING, EXIT_CODE: None, STARTED_AT: started_at, ENDED_AT: None})
    record[DURATION_S] = None
    record.update(
        (key, process[key])
        for key in (HOST, USER, PID, PYTHON, PLATFORM, ARGV, SCRIPT, CWD, GITCFG_VERSION)
    )
    record.update({FORMAT: format_version, CODE: dict(code)})
    record.update({CONFIG_SOURCES: dict(config_sources), CONFIG_CHANGED: []})
    return record


def resumed(record: dict[str, Any], old: Mapping[str, Any], resumed_at: str) -> None:
    """A resumed run's record: its first start, its metric rules, when it was resumed, not ended.

    Labels are the caller's (the ones not given to track() stay as `old` had them).
    """
    record[STARTED_AT] = old.get(STARTED_AT) or record[STARTED_AT]
    for key in (METRIC_SUMMARY, METRIC_DEFINITIONS, WATCH):
        if old.get(key):
            record[key] = old[key]
    before = old.get(RESUMED_AT)
    record[RESUMED_AT] = [*(before if isinstance(before, list) else []), resumed_at]
    record[ENDED_AT] = None


def finish(
    record: MutableMapping[str, Any],
    status: str,
    exit_code: int | None,
    ended_at: str,
    duration_s: float | None,
    **fields: Any,
) -> None:
    """The run ended (or died): its status, exit code, end and length, and any last `fields`."""
    record.update(
        {STATUS: status, EXIT_CODE: exit_code, ENDED_AT: ended_at, DURATION_S: duration_s},
        **fields,
    )


def crash(record: MutableMapping[str, Any], ended_at: str, duration_s: float | None) -> None:
    """Recovery of a run whose process died: `killed` if it had noted a signal, else `crashed`."""
    finish(record, KILLED if record.get(SIGNAL) else CRASHED, None, ended_at, duration_s)


def add_amendment(record: dict[str, Any], entry: Mapping[str, Any]) -> None:
    """Log one amendment (what changed, when, by whom) in the record."""
    record[AMENDMENTS] = [*(record.get(AMENDMENTS) or []), dict(entry)]


def amendments(record: Mapping[str, Any]) -> list[Any]:
    return list(record.get(AMENDMENTS) or [])


def merged_amendments(
    ours: Mapping[str, Any], theirs: Mapping[str, Any], same: Callable[[Any, Any], bool]
) -> list[Any]:
    """Both sides' amendment logs (sync's merge): each entry once (`same`), ordered by time."""
    import json

    entries: list[Any] = []
    for entry in [*amendments(ours), *amendments(theirs)]:
        if not any(same(entry, kept) for kept in entries):
            entries.append(entry)
    entries.sort(
        key=lambda e: (
            str(e.get("at", "")) if isinstance(e, dict) else "",
            json.dumps(e, sort_keys=True, default=str),  # a stable order, not a sameness test
        )
    )
    return entries


def code_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record's `code` mapping ({} when absent or not a mapping)."""
    code = record.get(CODE)
    return code if isinstance(code, Mapping) else {}


def code_commit(record: Mapping[str, Any]) -> str | None:
    commit = code_of(record).get(CODE_COMMIT)
    return commit if isinstance(commit, str) else None


# --- the format check --------------------------------------------------------------------------


def record_problem(record: Any) -> str | None:
    """Why `record` does not match run.yaml's schema (the first reason found), or None."""
    if not isinstance(record, Mapping):
        return f"it is a {type(record).__name__}, not a mapping"
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return "it has no " + ", ".join(missing)
    for schema, where, mapping in (
        (SCHEMA, "", record),
        (CODE_SCHEMA, "code.", code_of(record)),
    ):
        for key, types in schema.items():
            if key in mapping and not _is(mapping[key], types):
                kind = type(mapping[key]).__name__
                return f"its {where}{key} is {kind}, not {' or '.join(_names(types))}"
    if record[STATUS] not in STATUSES:
        return f"its status {str(record[STATUS])[:40]!r} is not one of {', '.join(STATUSES)}"
    return None


def check_record(record: Any) -> None:
    """Raise RunRecordInvalid when `record` does not match the schema (before it is written)."""
    problem = record_problem(record)
    if problem is not None:
        from gitcfg.errors import RunRecordInvalid

        run_id = record.get(ID) if isinstance(record, Mapping) else None
        raise RunRecordInvalid(
            f"run.yaml of run {run_id}: {problem} (a gitcfg bug: please report it)"
        )


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # True is an int to isinstance, not to run.yaml
    return isinstance(value, types)


def _names(types: tuple[type, ...]) -> list[str]:
    return ["null" if t is _NONE else t.__name__ for t in types]


# --- the read-side view ------------------------------------------------------------------------

# The run fields of a row, in row order, under the query language's names (rows.RUN_FIELDS).
ROW_FIELDS = (
    "id",
    "name",
    "status",
    "group",
    "project",
    "entity",
    "job_type",
    "script",
    "tags",
    "host",
    "user",
    "started",
    "ended",
    "duration_s",
    "code_commit",
    "code_branch",
    "dirty",
    "exit_code",
    "rerun_of",
)


def row_fields(run_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's run fields as the query language, the cache, the tables and Api name them."""
    code = code_of(record)
    tags = record.get(TAGS)
    return {
        "id": run_id,
        "name": record.get(NAME),
        "status": str(record.get(STATUS, "unknown")),
        "group": record.get(GROUP),
        "project": record.get(PROJECT),
        "entity": record.get(ENTITY),
        "job_type": record.get(JOB_TYPE),
        "script": script_in_repo(record.get(SCRIPT), code.get(CODE_WORKTREE)),
        "tags": list(tags) if isinstance(tags, (list, tuple)) else [],
        "host": record.get(HOST),
        "user": record.get(USER),
        "started": record.get(STARTED_AT),
        "ended": record.get(ENDED_AT),
        "duration_s": record.get(DURATION_S),
        "code_commit": code.get(CODE_COMMIT),
        "code_branch": code.get(CODE_BRANCH),
        "dirty": code.get(CODE_DIRTY),
        "exit_code": record.get(EXIT_CODE),
        "rerun_of": record.get(RERUN_OF),  # the run `gitcfg rerun` re-ran
    }


def script_in_repo(script: Any, worktree: Any) -> Any:
    """run.yaml's script (an absolute path) relative to the worktree it ran in (`train.py`,
    `src/eval.py`), so `--where 'script == "train.py"'` works; other values as they are."""
    if isinstance(script, str) and isinstance(worktree, str) and worktree:
        prefix = worktree.rstrip("/\\") + "/"
        if script.startswith(prefix):
            return script[len(prefix) :]
    return script
