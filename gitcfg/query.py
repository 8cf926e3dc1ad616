"""Reading runs: selection by code range and filter, flattening into rows, the Python Api."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from gitcfg import gitio
from gitcfg.errors import BadQuery, GitError
from gitcfg.store import RunRecord, Store

RUN_FIELDS = ("id", "name", "status", "group", "tags", "host", "user", "started", "ended",
              "duration_s", "code_commit", "code_branch", "dirty", "exit_code")  # fmt: skip


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"depth": 18}} -> {"model.depth": 18}; empty dicts stay as values."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def record_row(record: RunRecord) -> dict[str, Any]:
    """One run as a flat row: run fields, `config.<dotted key>`, `summary.<metric>`."""
    meta = record.meta
    code = meta.get("code") or {}
    row: dict[str, Any] = {
        "id": record.run_id,
        "name": meta.get("name"),
        "status": record.status,
        "group": meta.get("group"),
        "tags": list(meta.get("tags") or []),
        "host": meta.get("host"),
        "user": meta.get("user"),
        "started": meta.get("started_at"),
        "ended": meta.get("ended_at"),
        "duration_s": meta.get("duration_s"),
        "code_commit": code.get("commit"),
        "code_branch": code.get("branch"),
        "dirty": code.get("dirty"),
        "exit_code": meta.get("exit_code"),
    }
    row.update(flatten(record.config, "config."))
    row.update(flatten(record.summary, "summary."))
    return row


def code_commits_in_range(store: Store, rev_range: str) -> set[str]:
    """The commits `git rev-list REV-RANGE` lists (git's range syntax); BadQuery when invalid."""
    args = rev_range.split()
    if any(a.startswith("-") for a in args):
        raise BadQuery(f"bad revision range {rev_range!r}: options are not allowed here")
    try:
        return set(gitio.rev_list(store.repo, *args, "--"))
    except GitError as e:
        raise BadQuery(f"bad revision range {rev_range!r}: {e.stderr.strip().splitlines()[0] if e.stderr.strip() else 'unknown revision'}") from None


def select_runs(
    store: Store,
    rev_range: str | None = None,
    status: Sequence[str] | None = None,
) -> list[RunRecord]:
    """Runs newest first, restricted to code commits in `rev_range` and to `status` values."""
    records = store.read_runs()
    if rev_range:
        commits = code_commits_in_range(store, rev_range)
        records = [r for r in records if r.code_commit in commits]
    if status:
        wanted = set(status)
        records = [r for r in records if r.status in wanted]
    return records


def age_seconds(started: str | None, now: datetime | None = None) -> float | None:
    from gitcfg.store import parse_iso

    moment = parse_iso(started)
    if moment is None:
        return None
    return ((now or datetime.now(timezone.utc)) - moment).total_seconds()


def short_ids(run_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
    """The shortest prefix (at least `minimum`) that tells each id apart from the others."""
    ordered = sorted(set(run_ids))
    out: dict[str, str] = {}
    for i, run_id in enumerate(ordered):
        length = minimum
        for neighbour in (ordered[i - 1] if i else None, ordered[i + 1] if i + 1 < len(ordered) else None):
            if neighbour:
                common = 0
                while common < len(run_id) and run_id[common] == neighbour[common]:
                    common += 1
                length = max(length, common + 1)
        out[run_id] = run_id[:length]
    return out


class Api:
    """Read runs from Python: `gitcfg.Api().runs()`."""

    def __init__(self, path: str = ".") -> None:
        self.store = Store.open(path)

    def runs(self, rev: str | None = None, status: Sequence[str] | None = None) -> list[RunRecord]:
        return select_runs(self.store, rev, status)

    def run(self, run_id_prefix: str) -> RunRecord:
        return self.store.read_run(self.store.resolve(run_id_prefix))
