"""Resuming a run: `track(id=..., resume=...)` continues a run that has ended.

A run that is finished, failed, killed or crashed can be continued by a later process: its status
goes back to `running` (a `run <id>: resumed` commit), its logged rows are copied into the new
journal so the step count, metrics.jsonl and summary go on from where they were, and its final
commit ends it as any run ends. Pure decisions here; the Run does the writing (tracking.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from gitcfg import gitio, runfile
from gitcfg.errors import GitcfgError, RunNotFound
from gitcfg.store import RunRecord, Store, hostname, is_valid_run_id, parse_message

RESUME_MODES = ("allow", "must", "never", "auto")
RESUMABLE = ("finished", "failed", "killed", "crashed")
INTERRUPTED = ("crashed", "killed")
_SCAN_COMMITS = 500  # how far back resume="auto" without an id looks for an interrupted run


class Resume(NamedTuple):
    """A stored run to continue, with what it had logged."""

    record: RunRecord
    rows: list[dict[str, Any]]  # metrics.jsonl, in order
    has_patch: bool  # its directory holds a diff.patch


def resume_mode(resume: object) -> str | None:
    """wandb's `resume=` as one of RESUME_MODES, or None (False/None: a new run)."""
    if resume is None or resume is False:
        return None
    if resume is True:
        return "auto"
    if isinstance(resume, str) and resume.strip().lower() in RESUME_MODES:
        return resume.strip().lower()
    raise GitcfgError(
        f"track(resume={resume!r}): use True, False, None or one of {', '.join(RESUME_MODES)}"
    )


def run_to_resume(
    store: Store, run_id: str | None, mode: str | None, script: str
) -> RunRecord | None:
    """The stored run that `track(id=run_id, resume=mode)` continues, None for a new run.

    Raises GitcfgError (nothing written yet) when `id` names an existing run and resume does not
    allow continuing it, when "must" finds nothing to continue, and when the run still runs.
    """
    if run_id is None:
        if mode == "must":
            raise GitcfgError("track(resume='must') needs id= naming the run to continue")
        if mode == "auto":
            return latest_interrupted_run(store, script)
        return None
    record = _read_run(store, run_id)
    if record is None:
        if mode == "must":
            raise GitcfgError(f"track(id={run_id!r}, resume='must'): there is no run {run_id}")
        return None
    if mode is None:
        raise GitcfgError(
            f"run {run_id} already exists ({record.status}); pass resume='allow' to continue it, "
            "or choose another id"
        )
    if mode == "never":
        raise GitcfgError(f"track(id={run_id!r}, resume='never'): run {run_id} already exists")
    if record.status not in RESUMABLE:
        owner = f" on {record.meta.get('host')} (pid {record.meta.get('pid')})"
        raise GitcfgError(
            f"run {run_id} is still {record.status}{owner}; it can be resumed once it has ended"
        )
    return record


def latest_interrupted_run(store: Store, script: str) -> RunRecord | None:
    """The newest crashed or killed run of `script` on this host in this repository, if any."""
    if not store.exists():
        return None
    entries = gitio.log_entries(
        store.repo, store.runs_ref, grep="^run [^ ]+: (crashed|killed)", limit=_SCAN_COMMITS
    )
    host, seen = hostname(), set()
    for entry in entries:
        run_id = parse_message(entry.message).run_id
        # a pulled commit's message is data: its id names a journal directory once resumed
        if run_id is None or run_id in seen or not is_valid_run_id(run_id):
            continue
        seen.add(run_id)
        record = _read_run(store, run_id)
        if (
            record is not None
            and record.status in INTERRUPTED
            and record.meta.get(runfile.SCRIPT) == script
            and record.meta.get(runfile.HOST) == host
        ):
            return record
    return None


def load_resume(store: Store, record: RunRecord) -> Resume:
    """The rows the run logged (its metrics.jsonl) to go on from."""
    tip = store.tip()
    oid = None
    if tip is not None:
        base, entries = store.run_entries(record.run_id, tip)
        for entry in entries:
            if entry.path == f"{base}/metrics.jsonl":
                oid = entry.oid
    rows: list[dict[str, Any]] = []
    if oid is not None:
        with gitio.BatchReader(store.repo) as reader:
            (blob,) = reader.read_many([oid])
        rows = parse_rows(blob or b"")
    return Resume(record, rows, "diff.patch" in record.files)


def parse_rows(metrics_jsonl: bytes) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl; a damaged line (a crashed run's torn last line, an int past
    Python's digit limit, nesting deeper than json's recursion allows), or one that is not an
    object, is skipped."""
    rows = []
    for line in metrics_jsonl.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def next_step(rows: Sequence[dict[str, Any]]) -> int:
    """The step after the last logged row (0 with none)."""
    steps = [row["_step"] for row in rows if isinstance(row.get("_step"), int)]
    return max(steps) + 1 if steps else 0


def runtime_s(record: RunRecord, rows: Sequence[dict[str, Any]]) -> float:
    """How long the run has run so far: its recorded duration, or its last row's `_time` when
    later (a crashed run's duration ends at its last heartbeat, which may precede its last rows)."""
    times = [row["_time"] for row in rows if isinstance(row.get("_time"), (int, float))]
    duration = record.meta.get(runfile.DURATION_S)
    known = [float(duration)] if isinstance(duration, (int, float)) and duration >= 0 else []
    return max([*known, *map(float, times), 0.0])


def _read_run(store: Store, run_id: str) -> RunRecord | None:
    try:
        return store.read_run(run_id)
    except RunNotFound:
        return None
