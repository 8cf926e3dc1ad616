"""`gitcfg report`: the ui page as one self-contained HTML file, its data embedded.

The data is what the server's endpoints answer (data.py), gathered once: the runs table, the
groupings, the curves of the chosen metrics and the run pages, with what a large selection leaves
out stated in the header (docs/ui.md). The file is written to a temporary file beside the target,
then renamed over it: a failed write leaves nothing half-written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitcfg.errors import GitcfgError
from gitcfg.ui import data
from gitcfg.ui.page import embed_data, inline_assets, read_page

if TYPE_CHECKING:
    from gitcfg.query import Api

RUN_PAGES = 200  # runs whose page (and curves) a report embeds: the newest
CURVE_POINTS = 200  # points per embedded curve at most
DEFAULT_METRICS = 4  # curves embedded without --metric: the first metrics logged
DEFAULT_GROUPINGS = 8  # groupings embedded without --group-by: one per varying config key


def report_data(
    api: Api,
    selection: data.Selection,
    group_by: Sequence[str] = (),
    metrics: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report's data tag: {"mode": "report", "header", "runs", "groups", "curves", "run",
    "compare"}. GitcfgError for a filter that does not parse, no run selected, a --group-by key
    no run has, a --metric no selected run logged."""
    with data.select(api, selection) as runs:
        run_ids = runs.ids
        warnings = list(runs.warnings)
        if not run_ids:
            what = " or ".join(filter(None, [selection.range, *selection.where]))
            raise GitcfgError(
                f"no runs selected (by {what}); nothing to report" if what else "no runs yet"
            )
        varying, _ = runs.differing("config.")
    runs_document = data.runs_document(api, selection)
    groups: dict[str, Any] = {}
    keys = data.split_list(group_by)
    for grouping in [keys] if keys else [[key] for key in varying[:DEFAULT_GROUPINGS]]:
        document = data.group_document(api, selection, grouping)
        if document["error"] is not None:
            raise GitcfgError(document["error"]["message"])
        groups[",".join(document["by"])] = document
    shown_ids = run_ids[:RUN_PAGES]
    with data.select(api, selection, run_ids=shown_ids) as runs:
        records = list(runs)
    logged = api.read_metrics([record.id for record in records])
    chosen = data.split_list(metrics)
    if not chosen:
        from gitcfg.query import metric_names

        chosen = metric_names(row for rows in logged.values() for row in rows)[:DEFAULT_METRICS]
    curves: dict[str, Any] = {}
    group_key = keys[0] if keys else None
    for metric in chosen:
        document = data.curves_of(api, records, metric, None, CURVE_POINTS, group_key, logged)
        if document["error"] is not None:
            known = metric_list(logged)
            raise GitcfgError(
                f"unknown metric {metric!r}: none of the {len(records)} runs shown logged it "
                f"(metrics: {known or 'none'})"
            )
        curves[metric] = document
    downsampled = any(document["downsampled"] for document in curves.values())
    left_out = len(run_ids) - len(records)
    note = (
        f"Curves and run pages of the newest {len(records)} of {len(run_ids)} runs "
        f"(a report embeds at most {RUN_PAGES}); the table and groups hold every run."
        if left_out
        else f"Every run has its page and curves (a report embeds at most {RUN_PAGES})."
    )
    if downsampled:
        note += f" Curves are down-sampled to at most {CURVE_POINTS} points each."
    header = {
        "range": selection.range,
        "where": runs_document["selection"]["where"],
        "generated": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "tip": api.store.tip(),
        "runs": len(run_ids),
        "downsampled": downsampled or left_out > 0,
        "note": note,
        "warnings": warnings,
    }
    return {
        "mode": "report",
        "header": header,
        "runs": runs_document,
        "groups": groups,
        "curves": curves,
        "run": data.run_documents(api, records, logged),
        "compare": None,
    }


def metric_list(logged: dict[str, list[dict[str, Any]]]) -> str:
    """`val_acc, loss, ...`: the metrics these runs logged (the first 10)."""
    from gitcfg.query import metric_names

    names = metric_names(row for rows in logged.values() for row in rows)
    return ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")


def render_report(document: dict[str, Any]) -> str:
    """The page with its scripts and styles inlined and `document` as its data tag."""
    return inline_assets(embed_data(read_page(), document))


def write_report(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (a temporary file beside it, then a rename).
    GitcfgError naming the path when it cannot be written; nothing is left behind then."""
    target = Path(path)
    if target.is_dir():
        raise GitcfgError(f"cannot write the report to {str(target)!r}: it is a directory")
    directory = target.parent
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise GitcfgError(
            f"cannot write the report to {str(target)!r}: {e.strerror or e}"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as e:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise GitcfgError(
            f"cannot write the report to {str(target)!r}: {e.strerror or e}"
        ) from None
