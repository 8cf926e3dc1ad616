"""The running run as of now: its live journal on this machine, overlaid on the runs branch.

While a run runs, the runs branch holds its start commit: run.yaml with status `running`, the config
it started with, an empty summary and no metrics.jsonl. Everything since is in its journal on the
machine it runs on (journal.py). Reads overlay the journal at read time, for a run whose status on
the branch is `running` and whose journal is here: its summary as of the last row logged, its
config and run.yaml as the process last wrote them, and its rows (after those on the branch).

The query cache (cache.py) is keyed by the runs branch's tip and never holds live values: an
overlay lives in one cache snapshot (temporary views, cache.Snapshot.overlay) and goes with it.
With no run live here, the overlay costs one directory listing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple

from gitcfg import journal, runfile
from gitcfg.store import RunRecord, Store, load_mapping


class LiveView(NamedTuple):
    """A running run as its journal shows it now."""

    run_id: str
    meta: dict[str, Any] | None  # run.yaml as journaled; None once it holds the final status
    config: dict[str, Any] | None  # the recorded config as journaled; None if unreadable
    summary: dict[str, Any]
    rows: list[dict[str, Any]]  # every row journaled (since the run started or resumed), or none
    owner: dict[str, Any]  # the writing process (journal.process_identity)


def live_views(
    store: Store, run_ids: Collection[str] | None = None, with_rows: bool = True
) -> dict[str, LiveView]:
    """The journals on this machine of runs on `store`'s runs branch (those of `run_ids` only).

    Without `with_rows`, each view's `rows` is empty: a summary needs only the rows logged since
    it was last journaled, a run of a million rows is not decoded for it."""
    views: dict[str, LiveView] = {}
    for live in journal.live_runs(store.repo.state_dir):
        if run_ids is not None and live.run_id not in run_ids:
            continue
        if str(live.meta.get("runs_ref") or store.runs_ref) != store.runs_ref:
            continue  # recorded to another branch (gitcfg.branch changed since)
        state = journal.read_journal(live.path, with_rows)
        if state is None:  # finished and removed since the listing
            continue
        meta = state.run_meta if state.run_meta.get(runfile.STATUS) == runfile.RUNNING else None
        config = load_mapping(state.config_yaml) if state.config_yaml is not None else None
        views[live.run_id] = LiveView(
            live.run_id, meta, config, state.summary, state.rows, state.owner
        )
    return views


def current_record(store: Store, record: RunRecord) -> RunRecord:
    """`record` (read from the branch) as of now: a running run journaled here gets its journal's
    summary, config and run.yaml; any other run is returned as it is."""
    if record.status != "running":
        return record
    view = live_views(store, (record.run_id,), with_rows=False).get(record.run_id)
    if view is None:
        return record
    return record._replace(
        meta=view.meta if view.meta is not None else record.meta,
        config=view.config if view.config is not None else record.config,
        summary=view.summary,
    )


def live_signature(store: Store) -> tuple[object, ...]:
    """A value that changes whenever a running run journaled here changes visibly (a row, its
    summary, config or record), or one starts or ends: (run id, journal.journal_signature) of
    each journal of `store`'s runs branch. Costs a directory listing and a few stat calls."""
    return tuple(
        sorted(
            (live.run_id, journal.journal_signature(live.path))
            for live in journal.live_runs(store.repo.state_dir)
            if str(live.meta.get("runs_ref") or store.runs_ref) == store.runs_ref
        )
    )


def recover_dead(store: Store) -> None:
    """Commit, as `crashed`, the journals here whose process is gone (as every gitcfg command
    does when it starts), so that a long-lived reader sees their status change."""
    live = journal.live_runs(store.repo.state_dir)
    if any(journal.process_gone(run.meta.get("owner") or {}) for run in live):
        journal.recover_quietly(store)
