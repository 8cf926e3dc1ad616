"""The JSON documents of `gitcfg ui` and `gitcfg report`: one function per endpoint.

Each takes the Api (its cache, as the CLI reads it) and the request's parameters, and returns a
plain dict that `json.dumps` writes: strings raw (the page escapes them), NaN and inf as None.
A query the user typed that cannot be answered (a filter that does not parse, an unknown key or
metric) is the document's `error`, not an exception. The shapes are docs/ui.md's "Data" section.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gitcfg import query, where
from gitcfg.errors import GitcfgError, WhereSyntaxError
from gitcfg.plot import band, downsample

if TYPE_CHECKING:
    from gitcfg.query import Api, Runs, StoredRun

DEFAULT_POINTS = 400  # points per curve unless the request says otherwise
MAX_POINTS = 10_000
MAX_CURVE_RUNS = 1_000  # curves of at most this many runs per request
META_COLUMNS = ("id", "name", "status", "age", "code", "tags", "group", "project")
_ALWAYS_SHOWN = {"id", "name", "status", "age", "code"}  # `gitcfg log` shows these always
_IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


class Selection(NamedTuple):
    """The runs a server or report is about: `gitcfg ui REV-RANGE --where ...`."""

    range: str | None = None
    where: tuple[str, ...] = ()


def finite(value: Any) -> Any:
    """`value` with every NaN and ±inf replaced by None (JSON has no such numbers)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def error_of(error: GitcfgError) -> dict[str, Any]:
    """The `error` of a document: the message, and for a filter that does not parse, its text
    and the 0-based position of the fault (the page draws the caret)."""
    if isinstance(error, WhereSyntaxError):
        return {"message": str(error), "expression": error.text, "column": error.position}
    key = getattr(error, "key", None)
    return {
        "message": str(error),
        "expression": key if isinstance(key, str) else None,
        "column": None,
    }


def _filter(
    selection: Selection, where_text: str | None = None, run_ids: Sequence[str] | None = None
) -> where.Expr | None:
    """The selection's filters, the request's, and `id in [...]`, ANDed."""
    exprs = [where.parse_where(text) for text in (*selection.where, where_text) if text]
    if run_ids is not None:
        exprs.append(where.Compare("id", "in", tuple(run_ids)))
    if not exprs:
        return None
    return exprs[0] if len(exprs) == 1 else where.And(tuple(exprs))


def select(
    api: Api,
    selection: Selection,
    where_text: str | None = None,
    range_text: str | None = None,
    run_ids: Sequence[str] | None = None,
) -> Runs:
    """The runs of the selection, narrowed by the request's filter (ANDed) and code range (in
    place of the selection's when given), and to `run_ids` when given."""
    rev = range_text or selection.range
    return api.runs(where=_filter(selection, where_text, run_ids), rev=rev or None)


def _selection_of(
    selection: Selection, where_text: str | None, range_text: str | None
) -> dict[str, Any]:
    clauses = [text for text in (*selection.where, where_text) if text]
    joined = " and ".join(f"({c})" for c in clauses) if len(clauses) > 1 else None
    return {
        "range": range_text or selection.range,
        "where": joined or (clauses[0] if clauses else None),
    }


# --- /api/runs ---------------------------------------------------------------------------------


def runs_document(
    api: Api,
    selection: Selection,
    where_text: str | None = None,
    range_text: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The runs table: the columns (which `gitcfg log` would show) and every selected run."""
    document: dict[str, Any] = {
        "tip": api.store.tip(),
        "selection": _selection_of(selection, where_text, range_text),
        "columns": [],
        "runs": [],
        "warnings": [],
        "error": None,
    }
    try:
        with select(api, selection, where_text, range_text) as runs:
            document["warnings"] = list(runs.warnings)
            shown, _ = runs.log_keys()
            config_keys, summary_keys = runs.keys("config."), runs.keys("summary.")
            shown_set = set(shown) | _ALWAYS_SHOWN
            columns = [
                {
                    "key": key,
                    "kind": "meta",
                    "varies": key in shown_set or (key == "tags" and _tags_vary(runs)),
                }
                for key in META_COLUMNS
            ]
            columns += [{"key": k, "kind": "config", "varies": k in shown_set} for k in config_keys]
            columns += [{"key": k, "kind": "summary", "varies": True} for k in summary_keys]
            document["columns"] = columns
            present = set(runs.keys())
            keys = [*(k for k in _ROW_FIELDS if k in present), *config_keys, *summary_keys]
            rows = runs.rows(keys, limit=limit)
            document["runs"] = _run_entries(rows, config_keys, summary_keys)
    except GitcfgError as e:
        document["error"] = error_of(e)
    return document


_ROW_FIELDS: tuple[str, ...] = ("id", "name", "status", "started", "duration_s", "code_commit")
_ROW_FIELDS += ("dirty", "tags", "group", "project")


def refresh_running(
    api: Api,
    selection: Selection,
    document: dict[str, Any],
    where_text: str | None = None,
    range_text: str | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """`document` (a runs_document at the runs branch's current tip) with the runs running now
    read again from their journals, and the ids of the entries that were read again.

    Between two tips only running runs change (a run's start and end are commits), so the other
    entries are kept as they are (the same objects): at 10,000 runs this costs a few
    milliseconds, not the whole table's second. New metrics or config keys of a running run add
    columns."""
    try:
        with select(api, selection, where_text, range_text) as runs:
            run_ids = runs.ids  # the order, and which runs match now (live values included)
    except GitcfgError as e:
        return {**document, "runs": [], "error": error_of(e)}, set()
    entries = {entry["id"]: entry for entry in document["runs"]}
    running = {entry["id"] for entry in document["runs"] if entry["status"] == "running"}
    changed = [run_id for run_id in run_ids if run_id in running or run_id not in entries]
    if changed:
        with select(api, selection, where_text, range_text, changed) as runs:
            known = [column["key"] for column in document["columns"]]
            config_keys = runs.keys("config.")
            summary_keys = runs.keys("summary.")
            present = set(runs.keys())
            keys = [*(k for k in _ROW_FIELDS if k in present), *config_keys, *summary_keys]
            for entry in _run_entries(runs.rows(keys), config_keys, summary_keys):
                entries[entry["id"]] = entry
        columns = list(document["columns"])
        for key in config_keys + summary_keys:
            if key not in known:
                kind = "config" if key.startswith("config.") else "summary"
                columns.append({"key": key, "kind": kind, "varies": True})
        document = {**document, "columns": columns}
    listed = [entries[run_id] for run_id in run_ids if run_id in entries]
    return {**document, "runs": listed}, set(changed)


def _tags_vary(runs: Runs) -> bool:
    return bool(runs.varying_fields(["tags"]))


def _run_entries(
    rows: Sequence[Mapping[str, Any]], config_keys: Sequence[str], summary_keys: Sequence[str]
) -> list[dict[str, Any]]:
    """The `runs` of the document: each row's fields, and its config and summary by dotted key."""
    config_names = [(key, key[7:]) for key in config_keys]
    summary_names = [(key, key[8:]) for key in summary_keys]
    out = []
    for row in rows:
        # NaN and inf are left in: encode() replaces them when it meets one (rarely).
        config = {name: row[key] for key, name in config_names if key in row}
        summary = {name: row[key] for key, name in summary_names if key in row}
        get = row.get
        out.append(
            {
                "id": row["id"],
                "name": get("name"),
                "status": get("status"),
                "started": get("started"),
                "duration": get("duration_s"),
                "code": get("code_commit"),
                "dirty": bool(get("dirty")),
                "tags": list(get("tags") or []),
                "group": get("group"),
                "project": get("project"),
                "config": config,
                "summary": summary,
            }
        )
    return out


# --- /api/group --------------------------------------------------------------------------------


def group_document(
    api: Api,
    selection: Selection,
    by: Sequence[str],
    aggs: Sequence[str] = ("mean", "std"),
    over: str | None = None,
    where_text: str | None = None,
    range_text: str | None = None,
) -> dict[str, Any]:
    """One entry per group of the selected runs: values, run count, each metric's aggregates."""
    document: dict[str, Any] = {
        "by": list(by),
        "aggs": list(aggs),
        "over": over,
        "groups": [],
        "constants": {},
        "warning": None,
        "error": None,
    }
    try:
        with select(api, selection, where_text, range_text) as runs:
            grouping = runs.group_by(*by, aggs=aggs or ("mean", "std"), over=over)
    except GitcfgError as e:
        document["error"] = error_of(e)
        return document
    document["by"], document["aggs"] = list(grouping.keys), list(grouping.aggs)
    document["over"] = grouping.over
    document["constants"] = finite(grouping.constants)
    document["groups"] = [
        {
            "values": finite(dict(zip(grouping.keys, group.values, strict=True))),
            "count": group.count,
            "metrics": {m: finite(group.aggregates.get(m, {})) for m in grouping.metrics},
        }
        for group in grouping.groups
    ]
    document["warning"] = "\n".join(grouping.warnings()) or None
    return document


# --- /api/curves -------------------------------------------------------------------------------


def curves_document(
    api: Api,
    selection: Selection,
    metric: str,
    run_ids: Sequence[str] | None = None,
    x: str | None = None,
    points: int = DEFAULT_POINTS,
    group: str | None = None,
    where_text: str | None = None,
    range_text: str | None = None,
) -> dict[str, Any]:
    """The metric's curve for each run (at most `points` points each), and with `group` the
    mean ± std band of each group's runs."""
    try:
        records = _curve_records(api, selection, run_ids, where_text, range_text)
    except GitcfgError as e:
        return {**curves_of(api, [], metric, x, points), "error": error_of(e)}
    return curves_of(api, records, metric, x, points, group)


def curves_of(
    api: Api,
    records: Sequence[StoredRun],
    metric: str,
    x: str | None = None,
    points: int = DEFAULT_POINTS,
    group: str | None = None,
    logged: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """curves_document for these runs (`logged`: their metric rows, when already read)."""
    metric = metric.removeprefix("summary.")
    points = min(max(points, 2), MAX_POINTS)
    document: dict[str, Any] = {
        "metric": metric,
        "x": x,
        "series": [],
        "bands": [],
        "downsampled": False,
        "error": None,
    }
    try:
        if not records:
            raise GitcfgError("no runs selected")
        x = x or query.metric_axis(records, metric)
        document["x"] = x
        found, missing = query.metric_points(api, records, metric, x, logged)
        if not found:
            raise GitcfgError(
                f"none of the {len(records)} runs selected logged {metric!r}"
                + ("" if len(records) > 1 else f" (run {records[0].id})")
            )
        cut = False
        for record in records:
            if record.id in found:
                kept, dropped = downsample(found[record.id], points)
                cut = cut or dropped
                document["series"].append(
                    {
                        "run": record.id,
                        "name": record.name,
                        "x": [p[0] for p in kept],
                        "y": [p[1] for p in kept],
                    }
                )
        if group:
            kept_records = [record for record in records if record.id in found]
            for label, members in query.group_members(kept_records, group):
                document["bands"].append(_band_entry(label, [found[r.id] for r in members], points))
                cut = cut or len(document["bands"][-1]["x"]) < _band_length(members, found)
        document["downsampled"] = cut
        document["missing"] = missing
    except GitcfgError as e:
        document["error"] = error_of(e)
        if "logged" in str(e):
            document["error"]["expression"] = metric
    return document


def _band_length(members: Sequence[StoredRun], found: Mapping[str, Any]) -> int:
    return len({p[0] for r in members for p in found[r.id]})


def _band_entry(label: str, members: Sequence[Any], most: int) -> dict[str, Any]:
    """A group's band, every `step`-th x kept when it has more than `most`."""
    result = band(label, members)
    step = max(1, math.ceil(len(result.x) / most))
    xs, means, stds = result.x[::step], result.mean[::step], result.std[::step]
    return {
        "label": label,
        "x": list(xs),
        "mean": list(means),
        "lo": [m - s for m, s in zip(means, stds, strict=True)],
        "hi": [m + s for m, s in zip(means, stds, strict=True)],
    }


def _curve_records(
    api: Api,
    selection: Selection,
    run_ids: Sequence[str] | None,
    where_text: str | None,
    range_text: str | None,
) -> list[StoredRun]:
    """The runs to draw: those named (within the selection), else the newest selected ones."""
    if run_ids is None:
        with select(api, selection, where_text, range_text) as runs:
            run_ids = runs.ids[:MAX_CURVE_RUNS]
    order = {run_id: i for i, run_id in enumerate(dict.fromkeys(run_ids[:MAX_CURVE_RUNS]))}
    if not order:
        return []
    with select(api, selection, where_text, range_text, list(order)) as runs:
        return sorted(runs, key=lambda record: order[record.id])


# --- /api/run/<id> -----------------------------------------------------------------------------


class RunReads(NamedTuple):
    """What a run page needs from git besides the cache, read for many runs at once."""

    rows: Sequence[Mapping[str, Any]]  # metrics.jsonl (and the journal of a running run)
    sizes: Sequence[tuple[str, int]]  # (path, size) of each file of the run directory
    history: Sequence[Any]  # amend.HistoryEntry, oldest first
    patch: bytes | None  # diff.patch


def run_document(api: Api, record: StoredRun, reads: RunReads | None = None) -> dict[str, Any]:
    """One run's page: metadata, config (amended keys), summary, metrics, files, patch, history.
    `reads`: what git holds for it, when already read (a report reads it for many runs)."""
    from gitcfg.amend import amended_keys, run_history
    from gitcfg.rows import flatten

    if reads is None:
        try:
            history = run_history(api.store, record.id)[1]
        except GitcfgError:
            history = []
        reads = RunReads(record.metrics(), record.file_sizes(), history, record.patch())
    sizes, patch = reads.sizes, reads.patch
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "meta": record.meta,
        "config": flatten(record.config),
        "amended": amended_keys(record.meta),
        "summary": flatten(record.summary),
        "metrics": query.metric_names(reads.rows),
        "files": [{"path": path, "size": size} for path, size in sizes],
        "media": [_media_entry(path) for path, _ in sizes if path.startswith("media/")],
        "patch": None if patch is None else patch.decode(errors="replace"),
        "history": [
            {
                "commit": entry.runs_commit,
                "date": entry.date,
                "author": entry.author,
                "message": f"{entry.action}: {entry.what}"
                + (f"\n\n{entry.why}" if entry.why else ""),
            }
            for entry in reads.history
        ],
        "error": None,
    }


def _media_entry(path: str) -> dict[str, Any]:
    """`media/<key>/<step>[_<i>].<ext>` as {"key", "step", "path", "type"}."""
    directory, _, name = path.rpartition("/")
    stem, dot, ext = name.partition(".")
    head = stem.split("_", 1)[0]
    kind = (
        "image"
        if f".{ext.lower()}" in _IMAGE_TYPES
        else "table"
        if ext.endswith("json")
        else "file"
    )
    return {
        "key": directory.removeprefix("media/"),
        "step": int(head) if head.isdigit() else None,
        "path": path,
        "type": kind if dot else "file",
    }


def run_documents(
    api: Api,
    records: Sequence[StoredRun],
    logged: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """run_document for each of `records`, their metric rows (`logged`, when already read),
    files and histories each read for all of them at once (one git process each)."""
    from gitcfg.amend import runs_history

    run_ids = [record.id for record in records]
    if logged is None:
        logged = api.read_metrics(run_ids)
    sizes = query.file_sizes(api, run_ids)
    patches = query.read_patches(api, records)
    try:
        histories = runs_history(api.store, run_ids)
    except GitcfgError:
        histories = {}
    return {
        record.id: run_document(
            api,
            record,
            RunReads(
                logged.get(record.id, []),
                sizes.get(record.id, []),
                histories.get(record.id, []),
                patches[record.id],
            ),
        )
        for record in records
    }


def image_type(path: str) -> str | None:
    """The Content-Type of an image that may be shown inline (png, jpeg, gif, webp); else None."""
    ext = path.rpartition(".")[2].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
    }.get(ext)


# --- /api/compare ------------------------------------------------------------------------------


def compare_document(api: Api, run_ids: Sequence[str]) -> dict[str, Any]:
    """Two or more runs side by side: the keys whose values differ, and the code diff between
    the first two runs' code (None when a commit is not in this clone)."""
    document: dict[str, Any] = {"runs": [], "keys": [], "code_diff": None, "error": None}
    try:
        if len(run_ids) < 2:
            raise GitcfgError("compare needs two or more runs: runs=a,b")
        records = [api.run(run_id) for run_id in run_ids]
    except GitcfgError as e:
        document["error"] = error_of(e)
        return document
    document["runs"] = [{"id": r.id, "name": r.name} for r in records]
    document["keys"] = [
        {"key": key, "values": [None if v is query.MISSING else finite(v) for v in values]}
        for key, values in query.compare_runs(records)
    ]
    try:
        document["code_diff"] = query.code_diff(api, records[0], records[1]).decode(
            errors="replace"
        )
    except GitcfgError:
        document["code_diff"] = None
    return document


_JSON: dict[str, Any] = {
    "ensure_ascii": False,
    "allow_nan": False,
    "default": str,
    "separators": (",", ":"),
}


def encode(document: Any) -> bytes:
    """`document` as JSON (UTF-8), NaN and inf as null."""
    try:
        text = json.dumps(document, **_JSON)
    except ValueError:  # a NaN or inf somewhere: replace them all (the rare case)
        text = json.dumps(finite(document), **_JSON)
    return text.encode()


def encode_runs(
    document: Mapping[str, Any], kept: Mapping[str, bytes], changed: set[str]
) -> tuple[bytes, dict[str, bytes]]:
    """A runs_document as JSON, each run encoded once: the entries of `kept` (id -> its JSON)
    are reused unless their id is in `changed`. Returns the JSON and the entries' JSON."""
    encoded = {}
    for entry in document["runs"]:
        run_id = entry["id"]
        reused = kept.get(run_id) if run_id not in changed else None
        encoded[run_id] = reused if reused is not None else encode(entry)
    head = encode({key: value for key, value in document.items() if key != "runs"})
    body = b",".join(encoded[entry["id"]] for entry in document["runs"])
    return head[:-1] + b',"runs":[' + body + b"]}", encoded


def split_list(values: Iterable[str | None]) -> list[str]:
    """`a,b` and `c` -> [a, b, c] (query parameters and repeated options)."""
    return [part.strip() for value in values if value for part in value.split(",") if part.strip()]
