"""Reading runs: the Python Api and the queries behind `gitcfg log`, `show`, `diff` and `plot`.

    api = gitcfg.Api()                                  # the repository containing "."
    runs = api.runs(where="lr < 0.01 and status == finished", rev="main~10..")
    runs[0].config, runs[0].summary, runs[0].metrics()
    runs.group_by("lr", over="seed")                   # mean ± std of each summary metric
    runs.to_dataframe()                                 # pandas, one row per run

Every read goes through the SQLite cache (cache.py), brought up to the runs branch's tip first.
A `Runs` is one consistent snapshot: the runs it selected and their values do not change under it.
Queries fetch only the columns they need and compute with the pure functions of where.py and
aggregate.py, so the Python API and the CLI give the same answers by construction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, overload

from gitcfg import aggregate, gitio, runfile
from gitcfg.cache import Filter, GroupSummary, Progress, RunCache, Snapshot, StoredRow
from gitcfg.errors import (
    BadAmendment,
    BadQuery,
    CodeCommitMissing,
    DamagedRunFile,
    GitcfgError,
    GitError,
    MissingExtra,
    NoSuchRunFile,
    UnknownKey,
    unknown_key_hint,
)
from gitcfg.rows import (
    LABEL_FIELDS,
    PREFIXES,
    close_keys,
    flatten,
    require_key,
    resolve_key,
    run_row,
    runs_phrase,
    script_in_repo,
    short_key,
)
from gitcfg.store import Store, branch_format, parse_iso, read_run_files, run_dir, run_id_time
from gitcfg.summaries import GOALS, SUMMARY_KINDS
from gitcfg.values import format_value, is_number, order_key, value_token, values_equal

if TYPE_CHECKING:
    from datetime import datetime

    from gitcfg import where
    from gitcfg.runfiles import RunFile

__all__ = ["Api", "GroupSummary", "Grouping", "Runs", "StoredRun", "flatten"]

CONFIG, SUMMARY = "config.", "summary."
# What run.yaml's status can hold: running, then how the run ended (`crashed`: its process died
# without finishing it, found later). `finish(status=...)` may record others; those present in
# the runs are accepted too.
RUN_STATUSES = ("running", "finished", "failed", "killed", "crashed")


# --- selection by code range ---------------------------------------------------------------------


def code_commits_in_range(store: Store, rev_range: str) -> frozenset[str]:
    """The commits `git rev-list REV-RANGE` lists (git's range syntax); BadQuery when invalid."""
    args = rev_range.split()
    if not args or any(arg.startswith("-") for arg in args):
        raise BadQuery(
            f"bad revision range {rev_range!r}: give revisions like main~10..main, not options"
        )
    try:
        return frozenset(gitio.rev_list(store.repo, *args, "--"))
    except GitError as e:
        raise BadQuery(f"bad revision range {rev_range!r}: {e.detail}") from None


# --- small helpers -------------------------------------------------------------------------------


def age_seconds(started: object, now: datetime | None = None) -> float | None:
    """Seconds since the ISO 8601 time `started`, or None when it is not one."""
    moment = parse_iso(started if isinstance(started, str) else None)
    if moment is None:
        return None
    if now is None:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
    return (now - moment).total_seconds()


def short_name(key: str) -> str:
    """`config.lr` -> `lr`, `summary.val_acc` -> `val_acc`; other keys as they are."""
    return key.split(".", 1)[1] if key.startswith((CONFIG, SUMMARY)) else key


def _constants_text(constants: Mapping[str, Any]) -> str:
    """`batch=32, model.depth=18`: the config keys equal in every run."""
    return ", ".join(f"{short_name(k)}={format_value(v, None)}" for k, v in constants.items())


def format_age(seconds: float | None) -> str:
    """`3m ago`, `2d ago` (`?` for an unknown start)."""
    if seconds is None:
        return "?"
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def short_ids(run_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
    """The shortest prefix (at least `minimum`) that tells each id apart from the others."""
    ordered = sorted(set(run_ids))
    out: dict[str, str] = {}
    for i, run_id in enumerate(ordered):
        neighbours = (
            ordered[i - 1] if i else None,
            ordered[i + 1] if i + 1 < len(ordered) else None,
        )
        out[run_id] = run_id[: _unique_length(run_id, neighbours, minimum)]
    return out


def _unique_length(run_id: str, neighbours: Iterable[str | None], minimum: int) -> int:
    length = minimum
    for neighbour in neighbours:
        if neighbour:
            common = 0
            while common < min(len(run_id), len(neighbour)) and run_id[common] == neighbour[common]:
                common += 1
            length = max(length, common + 1)
    return min(length, len(run_id))


def differences(
    left: Mapping[str, Any], right: Mapping[str, Any]
) -> list[tuple[str, object, object]]:
    """Return (key, left value, right value) for each key whose values differ; a missing side is
    `MISSING`. Keys keep left's order, then right's new ones."""
    return [(key, a, b) for key, (a, b) in differing_values([left, right])]


def differing_values(mappings: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[object]]]:
    """(key, [value in each mapping]) for each key whose values are not all the same (a missing
    value is `MISSING`; 1 and 1.0 differ, as `gitcfg diff` shows them). Keys in first-seen order."""
    out = []
    for key in dict.fromkeys(key for mapping in mappings for key in mapping):
        values = [mapping.get(key, MISSING) for mapping in mappings]
        first = values[0]
        if any(
            value is MISSING or first is MISSING or type(value) is not type(first)
            for value in values
        ) or not all(values_equal(first, value) for value in values[1:]):
            out.append((key, values))
    return out


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# --- runs ----------------------------------------------------------------------------------------


class RunDict(dict[str, Any]):
    """A run's config or summary as the Api hands it out: a plain dict, whose dotted keys also
    reach nested values (`run.config["model.depth"]`) as they do in `gitcfg amend --set`.

    A dotted key writes through to a nested mapping its leading part names; otherwise it is kept
    as given, and `update()` treats it as `--set` would (making the missing mappings).
    """

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> RunDict:
        """Wrap `mapping`; yaml.safe_dump then writes it as a plain mapping (when yaml is loaded:
        gitcfg does not import it for this)."""
        from gitcfg.yamlio import represent_as_plain

        represent_as_plain(cls, dict)
        return cls(mapping)

    def __getitem__(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        from gitcfg.configuration import find_key

        found = find_key(dict(self), key)
        if found is None:
            raise KeyError(key)
        return found[1]

    def __contains__(self, key: object) -> bool:
        from gitcfg.configuration import find_key

        return dict.__contains__(self, key) or find_key(dict(self), key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or "." not in key or dict.__contains__(self, key):
            dict.__setitem__(self, key, value)
            return
        from gitcfg.configuration import write_target

        view = dict(self)  # the nested mappings are shared: a write lands in them
        parent, leaf, path = write_target(view, key)
        parent[leaf] = value
        dict.__setitem__(self, path[0], view[path[0]])

    def __delitem__(self, key: str) -> None:
        if dict.__contains__(self, key):
            dict.__delitem__(self, key)
            return
        from gitcfg.configuration import find_key

        found = find_key(dict(self), key)
        if found is None:
            raise KeyError(key)
        parent: Any = self
        for name in found[0][:-1]:
            parent = parent[name]
        del parent[found[0][-1]]


_EDITABLE_FIELDS = ("name", "notes", "group", "job_type", "project")


class StoredRun:
    """One recorded run as stored on the runs branch: `.id .name .status .config .summary ...`.

    `.config` and `.summary` are nested dicts, `.tags` a list; they and `.name`, `.notes`,
    `.group`, `.job_type`, `.project` may be changed, and `update(reason)` then records the changes
    as one amendment (`gitcfg amend`); until then they change nothing on the branch. `.meta` is
    run.yaml; `.row` the flat row queries see; `.metrics()` reads metrics.jsonl.
    """

    __slots__ = ("_stored", "_api", "_tip", "_meta", "_config", "_summary", "_tags", "_fields")

    def __init__(self, stored: StoredRow, api: Api, tip: str) -> None:
        self._stored, self._api, self._tip = stored, api, tip
        self._meta: dict[str, Any] | None = None
        self._config: RunDict | None = None
        self._summary: RunDict | None = None
        self._tags: list[str] | None = None
        self._fields: dict[str, str | None] = {}  # run.yaml fields assigned since the last update

    @property
    def id(self) -> str:
        return self._stored.run_id

    @property
    def name(self) -> str | None:
        return self._fields["name"] if "name" in self._fields else self._stored.name

    @name.setter
    def name(self, value: str | None) -> None:
        self._fields["name"] = value

    @property
    def status(self) -> str:
        return self._stored.status

    @property
    def code_commit(self) -> str | None:
        """The commit of the user's code the run started from; None on an unborn HEAD."""
        return self._stored.code_commit

    @property
    def meta(self) -> dict[str, Any]:
        """run.yaml: id, name, status, times, host, argv, code, ..."""
        if self._meta is None:
            self._meta = json.loads(self._stored.meta)
        return self._meta

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = RunDict.of(json.loads(self._stored.config))
        return self._config

    @property
    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            self._summary = RunDict.of(json.loads(self._stored.summary))
        return self._summary

    @property
    def files(self) -> tuple[str, ...]:
        """The file names in the run's directory on the runs branch."""
        return tuple(json.loads(self._stored.files))

    @property
    def started(self) -> datetime | None:
        """Start time (aware, UTC)."""
        return parse_iso(self.meta.get(runfile.STARTED_AT)) or run_id_time(self.id)

    @property
    def ended(self) -> datetime | None:
        return parse_iso(self.meta.get(runfile.ENDED_AT))

    @property
    def duration_s(self) -> float | None:
        return self.meta.get(runfile.DURATION_S)

    @property
    def exit_code(self) -> int | None:
        return self.meta.get(runfile.EXIT_CODE)

    @property
    def tags(self) -> list[str]:
        if self._tags is None:
            self._tags = [str(tag) for tag in self.meta.get(runfile.TAGS) or []]
        return self._tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._tags = [str(tag) for tag in value]

    @property
    def group(self) -> str | None:
        return self._field("group")

    @group.setter
    def group(self, value: str | None) -> None:
        self._fields["group"] = value

    @property
    def entity(self) -> str | None:
        entity = self.meta.get(runfile.ENTITY)
        return None if entity is None else str(entity)

    @property
    def script(self) -> str | None:
        """The script that ran, relative to its worktree (`train.py`), as `gitcfg log` shows it."""
        script = script_in_repo(self.meta.get(runfile.SCRIPT), self.code.get(runfile.CODE_WORKTREE))
        return None if script is None else str(script)

    @property
    def notes(self) -> str | None:
        return self._field("notes")

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._fields["notes"] = value

    @property
    def job_type(self) -> str | None:
        return self._field("job_type")

    @job_type.setter
    def job_type(self, value: str | None) -> None:
        self._fields["job_type"] = value

    @property
    def project(self) -> str | None:
        return self._field("project")

    @project.setter
    def project(self, value: str | None) -> None:
        self._fields["project"] = value

    def _field(self, name: str) -> str | None:
        if name in self._fields:
            return self._fields[name]
        value = self.meta.get(name)  # a string by run.yaml's schema (runfile), as entity
        return None if value is None else str(value)

    @property
    def host(self) -> str | None:
        return self.meta.get(runfile.HOST)

    @property
    def user(self) -> str | None:
        return self.meta.get(runfile.USER)

    @property
    def code(self) -> dict[str, Any]:
        """run.yaml's code section: commit, branch, dirty, remote url, describe."""
        return dict(runfile.code_of(self.meta))

    @property
    def is_dirty(self) -> bool:
        return bool(self.code.get(runfile.CODE_DIRTY))

    @property
    def row(self) -> dict[str, Any]:
        """The run as the flat row `--where` and `--group-by` see (`config.lr`, `summary.acc`)."""
        return run_row(self.id, self.meta, self.config, self.summary)

    def metrics(self) -> list[dict[str, Any]]:
        """Every row the run logged (metrics.jsonl), with `_step` and `_time`."""
        return self._api.read_metrics([self.id], self._tip)[self.id]

    def file_sizes(self) -> list[tuple[str, int]]:
        """(path in the run directory, size in bytes) of each of its files, as the runs branch
        holds them; symbolic links (only a hand-made or pulled run can hold one) are left out."""
        tip = self._tip or self._api.store.tip()
        if not tip:
            return []
        return file_sizes(self._api, [self.id], tip)[self.id]

    def patch(self) -> bytes | None:
        """The run's diff.patch (uncommitted changes at start), None when the worktree was clean."""
        if "diff.patch" not in self.files:
            return None
        return self._api.read_run_file(self.id, "diff.patch", self._tip)

    def requirements(self) -> bytes | None:
        """The run's requirements.txt (installed distributions); None for a run recorded before
        gitcfg recorded them."""
        from gitcfg.environment import REQUIREMENTS  # here: a warm query needs neither

        if REQUIREMENTS not in self.files:
            return None
        return self._api.read_run_file(self.id, REQUIREMENTS, self._tip)

    def file(self, name: str) -> RunFile:
        """The bytes of a file the run saved (`files/<name>` in its directory; a path such as
        `media/img/3.png` or `config.yaml` names the run directory's own). RunNotFound-style
        GitcfgError when it has none by that name."""
        from gitcfg.runfiles import RunFile, resolve_file

        path = resolve_file(self.files, name)
        if path is not None:
            content = self._api.read_run_file(self.id, path, self._tip)
            if content is not None:
                return RunFile(content, path)
        raise NoSuchRunFile(self.id, name)

    def config_yaml(self) -> bytes:
        """config.yaml exactly as recorded: a valid `--configs` file to re-run the run."""
        return self._api.read_run_file(self.id, "config.yaml", self._tip) or b"{}\n"

    # --- amending through the Api (wandb's `run.update()`) ---

    def update(self, reason: str | None = None) -> Any:
        """Record the changes made to this object as one amendment commit, exactly as `gitcfg
        amend` would; then the object shows the run as amended. Returns the ChangeResult, or None
        when nothing changed (no commit). RunStillRunning for a running run, BadAmendment (the
        edits stay pending) for a change that cannot apply."""
        from gitcfg.amend import amend_runs, amendment_from_edits
        from gitcfg.errors import NothingToAmend

        stored_meta = json.loads(self._stored.meta)
        before = {
            "config": json.loads(self._stored.config),
            "summary": json.loads(self._stored.summary),
            "tags": [str(tag) for tag in stored_meta.get(runfile.TAGS) or []],
            **{name: stored_meta.get(name) for name in _EDITABLE_FIELDS},
        }
        after = {
            "config": self.config,
            "summary": self.summary,
            "tags": self.tags,
            **{name: getattr(self, name) for name in _EDITABLE_FIELDS},
        }
        amendment = amendment_from_edits(before, after, reason)
        if amendment.is_empty():
            return None
        try:
            result = amend_runs(self._api.store, [self.id], amendment)
        except NothingToAmend:  # another writer made the same change meanwhile
            result = None
        self._reload()
        return result

    def save(self, reason: str | None = None) -> Any:
        """`update()` (wandb's alias)."""
        return self.update(reason)

    def delete(self, reason: str | None = None, delete_artifacts: bool = False) -> str:
        """Remove the run from the runs branch in one commit (`gitcfg rm`); return that commit.

        History keeps it: `gitcfg restore` brings it back. `delete_artifacts` is wandb's and
        changes nothing here (a run's files go with its directory)."""
        from gitcfg.amend import remove_runs

        result = remove_runs(self._api.store, [self.id], reason=reason)
        assert result.runs_commit is not None
        return result.runs_commit

    def _reload(self) -> None:
        """Read the run again at the runs branch's tip, dropping edits not yet recorded."""
        with self._api._snapshot() as snapshot:
            stored = snapshot.record(self.id)
            if stored is None:  # removed meanwhile: keep showing the last version read
                return
            self._stored, self._tip = stored, snapshot.tip
        self._meta = self._config = self._summary = self._tags = None
        self._fields = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredRun) and (self.id, self._tip) == (other.id, other._tip)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"StoredRun(id={self.id!r}, name={self.name!r}, status={self.status!r})"

    def to_html(self) -> str:
        """An HTML key/value table: the run's id, name, status, start, duration, code commit,
        tags, config and summary (flat dotted keys), escaped (notebook.py)."""
        from gitcfg.notebook import html_table

        items: list[tuple[str, object]] = [
            ("id", self.id),
            ("name", self.name),
            ("status", self.status),
            ("started", self.started.isoformat() if self.started else None),
            ("duration_s", self.duration_s),
            ("code commit", self.code_commit),
            ("dirty", self.is_dirty),
        ]
        items += [("tags", ", ".join(self.tags))] if self.tags else []
        items += [(CONFIG + k, v) for k, v in flatten(self.config).items()]
        items += [(SUMMARY + k, v) for k, v in flatten(self.summary).items()]
        rows = [[key, format_value(value, None)] for key, value in items]
        return html_table(["key", "value"], [False, False], rows, max_rows=len(rows))

    def _repr_html_(self) -> str:
        return self.to_html()


class Grouping(NamedTuple):
    """`--group-by` answered: one GroupSummary per value combination, plus what frames it."""

    keys: tuple[str, ...]  # the row keys grouped by (`config.lr`)
    metrics: tuple[str, ...]  # the summary metrics aggregated (`summary.val_acc`)
    aggs: tuple[str, ...]
    groups: tuple[GroupSummary, ...]  # sorted by their values, missing last
    constants: dict[str, Any] = {}  # config keys equal in every run (never mutated)
    over: str | None = None  # the row key expected to vary inside a group (`config.seed`)
    # The other config keys that vary inside some group, each with its values there, sorted.
    confounders: dict[str, list[object]] = {}

    def warnings(self, metrics: Sequence[str] | None = None) -> list[str]:
        """What `gitcfg log --group-by` warns about: each config key that varies inside groups
        besides `over` (the comparison is confounded), and each metric (of `metrics`, default
        all) with non-finite values left out."""
        warnings = []
        if self.over is not None:
            over = short_name(self.over)
            groups = ", ".join(short_name(key) for key in self.keys) or "the other keys"
            for key, values in self.confounders.items():
                shown = ", ".join(format_value(v, None) for v in values[:4]) + (
                    ", ..." if len(values) > 4 else ""
                )
                warnings.append(
                    f"{short_name(key)} also varies inside groups of {groups} ({shown}), not only "
                    f"{over}: the comparison is confounded; add --group-by {short_name(key)} or "
                    "filter with --where"
                )
        for metric in self.metrics if metrics is None else metrics:
            skipped = sum(group.skipped.get(metric, 0) for group in self.groups)
            if skipped:
                warnings.append(
                    f"{short_name(metric)}: {skipped} non-finite values (nan/inf) left out"
                )
        return warnings

    def to_html(self, max_rows: int = 60) -> str:
        """An HTML table: one row per group, its run count, `mean ± std` (and each other
        aggregate) per metric; the constants and warnings in its caption (notebook.py)."""
        from gitcfg.aggregate import format_mean_std
        from gitcfg.notebook import html_table

        mean_std = "mean" in self.aggs and "std" in self.aggs
        others = [agg for agg in self.aggs if not (mean_std and agg in ("mean", "std"))]
        headers = [short_name(key) for key in self.keys] + ["runs"]
        for metric in self.metrics:
            headers += [f"{short_name(metric)} mean ± std"] if mean_std else []
            headers += [f"{short_name(metric)} {agg}" for agg in others]
        numeric = [False] * len(self.keys) + [True] * (len(headers) - len(self.keys))
        rows = []
        for group in self.groups:
            cells = [format_value(value, None) for value in group.values] + [str(group.count)]
            for metric in self.metrics:
                values = group.aggregates.get(metric, {})
                if mean_std:
                    cells.append(format_mean_std(values.get("mean"), values.get("std")))
                cells += [format_value(values.get(agg)) for agg in others]
            rows.append(cells)
        constants = f"constant: {_constants_text(self.constants)}" if self.constants else ""
        caption = "; ".join(part for part in (constants, *self.warnings()) if part)
        return html_table(headers, numeric, rows, caption, "groups", max_rows)

    def _repr_html_(self) -> str:
        return self.to_html()


# A string: where.py (the --where parser) is imported only when a filter is given.
WhereArg: TypeAlias = "str | Sequence[str] | where.Expr | None"


def _grouping_data(grouping: Grouping) -> tuple[Any, ...]:
    """A Grouping as plain data, to keep in the cache (Snapshot.memoized)."""
    groups = tuple((g.values, g.count, g.aggregates, g.skipped) for g in grouping.groups)
    return (
        grouping.keys,
        grouping.metrics,
        grouping.aggs,
        groups,
        grouping.constants,
        grouping.over,
        grouping.confounders,
    )


def _grouping_from(data: tuple[Any, ...]) -> Grouping:
    keys, metrics, aggs, groups, constants, over, confounders = data
    return Grouping(
        keys=keys,
        metrics=metrics,
        aggs=aggs,
        groups=tuple(GroupSummary(*group) for group in groups),
        constants=constants,
        over=over,
        confounders=confounders,
    )


class Runs(Sequence[StoredRun]):
    """The runs one query selected, newest first: a list of StoredRun with query methods.

    Holds one cache snapshot (a read transaction) until `close()` or garbage collection.
    """

    def __init__(
        self, api: Api, snapshot: Snapshot, flt: Filter, where_expr: where.Expr | None
    ) -> None:
        self._api, self._snapshot = api, snapshot
        self.where = where_expr  # as resolved against the runs' keys
        self._condition, self._params = snapshot.where_sql(flt)
        self._records: list[StoredRun] | None = None
        self._ids: list[str] | None = None
        # What a user should hear about the query: a --where key no selected run has (a typo
        # would otherwise match nothing, silently), with the nearest keys. The CLI prints them.
        self.warnings: tuple[str, ...] = ()
        if where_expr is not None:
            from gitcfg import where

            resolvable = self._resolvable(where.expr_keys(where_expr))
            resolved = where.resolve_expr(where_expr, resolvable)
            self.where = resolved
            self.warnings = self._unknown_key_warnings(where_expr, resolvable)
            columns = self._lookup_columns(where.expr_keys(resolved))
            condition, params = self._condition, self._params

            def select() -> list[str]:
                run_ids, rows = snapshot.rows(columns, condition, params)
                test = where.predicate(resolved)
                return [run_id for run_id, row in zip(run_ids, rows, strict=True) if test(row)]

            selection, selected, self._ids = snapshot.kept_selection(
                (repr(resolved), condition, params), select
            )
            self._condition = f"{condition} AND {selection}"
            self._params = [*params, *selected]
        self.warnings += unreadable_warnings(snapshot.unreadable())

    # --- the list ---

    @property
    def ids(self) -> list[str]:
        """The selected run ids, newest first."""
        if self._ids is None:
            self._ids = self._snapshot.run_ids(self._condition, self._params)
        return list(self._ids)

    def _load(self) -> list[StoredRun]:
        if self._records is None:
            tip = self._snapshot.tip
            stored = self._snapshot.records(self._condition, self._params)
            self._records = [StoredRun(row, self._api, tip) for row in stored]
            self._ids = [row.run_id for row in stored]
        return self._records

    def __len__(self) -> int:
        if self._records is not None:
            return len(self._records)
        if self._ids is None:  # counted in SQL (and kept for the tip): no list of every id
            return self._snapshot.count(self._condition, self._params)
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> StoredRun: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredRun]: ...
    def __getitem__(self, index: int | slice) -> StoredRun | list[StoredRun]:
        return self._load()[index]

    def __iter__(self) -> Iterator[StoredRun]:
        return iter(self._load())

    def __repr__(self) -> str:
        return f"<Runs: {len(self)} runs>"

    def to_html(self, max_rows: int = 60) -> str:
        """An HTML table of the runs with `gitcfg log`'s columns (the constant config keys in
        its caption), every cell escaped, no JavaScript; more than `max_rows` runs show the
        first and last 5 (notebook.py)."""
        from gitcfg.notebook import EDGE_ROWS, html_table

        keys, constants = self.log_keys()
        derived = {"age": "started", "commit": "code_commit"}
        rows = self.rows([derived.get(key, key) for key in keys])
        if len(rows) > max_rows:  # only the rows shown are formatted
            rows = rows[:EDGE_ROWS] + [{}] * (len(rows) - 2 * EDGE_ROWS) + rows[-EDGE_ROWS:]
        short = self.short_ids(row["id"] for row in rows if row)
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)

        def cells(row: Mapping[str, Any]) -> list[str]:
            if not row:
                return []
            out = []
            for key in keys:
                value = row.get(derived.get(key, key))
                if key == "id":
                    out.append(short[str(value)])
                elif key == "age":
                    out.append(format_age(age_seconds(value, now)))
                elif key == "commit":
                    out.append(str(value)[:8] if value else "–")
                else:
                    out.append(format_value(value, 4 if key.startswith(SUMMARY) else None))
            return out

        numeric = [
            key.startswith((CONFIG, SUMMARY))
            and all(is_number(row[key]) for row in rows if row.get(key) is not None)
            for key in keys
        ]
        caption = f"constant: {_constants_text(constants)}" if constants else ""
        headers = [short_name(key) for key in keys]
        return html_table(headers, numeric, [cells(r) for r in rows], caption, "runs", max_rows)

    def _repr_html_(self) -> str:
        return self.to_html()

    def close(self) -> None:
        """Release the cache snapshot (the records already read stay usable)."""
        self._snapshot.close()

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._snapshot.close()
        except Exception:  # interpreter shutdown: the connection may be gone already
            pass

    # --- keys ---

    def keys(self, prefix: str = "") -> list[str]:
        """The row keys some selected run has (`id`, ..., `config.lr`, `summary.val_acc`)."""
        known = [key for key in self._snapshot.columns if key.startswith(prefix)]
        return self._snapshot.present_keys(known, self._condition, self._params)

    def _resolvable(self, names: Iterable[str]) -> set[str]:
        """The row keys that `names` could resolve to and that some selected run has."""
        candidates = [
            candidate
            for name in names
            for candidate in (name, *(prefix + name for prefix in PREFIXES))
            if candidate in self._snapshot.columns
        ]
        return set(self._snapshot.present_keys(candidates, self._condition, self._params))

    def _unknown_key_warnings(self, expr: where.Expr, resolvable: set[str]) -> tuple[str, ...]:
        """`no run has key 'lrr' (did you mean 'lr'?)` for each key of `expr` that no run has."""
        from gitcfg import where

        keys = where.expr_keys(expr)
        unknown = sorted(key for key in keys if resolve_key(resolvable, key) is None)
        known = self.keys() if unknown else []
        if not known:  # no runs selected: nothing to compare with
            return ()
        return tuple(
            f"no run has key {key!r} ({unknown_key_hint(close_keys(key, known))})"
            for key in unknown
        )

    def _lookup_columns(self, keys: Iterable[str]) -> list[str]:
        """The columns a row needs for where.predicate to see exactly what the full row shows."""
        return [
            candidate
            for key in keys
            for candidate in (key, *(prefix + key for prefix in PREFIXES))
            if candidate in self._snapshot.columns
        ]

    def resolve(self, name: str, option: str, suggest: str = "") -> str:
        """Return the row key `name` names among these runs; UnknownKey (with close names among
        the keys starting with `suggest`) if none."""
        found = resolve_key(self._resolvable([name]), name)
        if found is None:
            known = self.keys()
            close = close_keys(name, known)
            if suggest:  # shortest forms, as close_keys gives them, of keys with that prefix
                forms = {short_key(key, known) for key in known if key.startswith(suggest)}
                close = [form for form in close if form in forms or form.startswith(suggest)]
            raise UnknownKey(name, close, option)
        return found

    # --- values ---

    def rows(
        self, keys: Sequence[str] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The selected runs as flat rows holding `keys` (default all), newest first.

        A key a run lacks is absent from its row; `limit` keeps the newest rows only.
        """
        wanted = self.keys() if keys is None else list(keys)
        _, rows = self._snapshot.rows(wanted, self._condition, self._params, limit)
        return rows

    def differing(self, prefix: str = CONFIG) -> tuple[list[str], dict[str, Any]]:
        """Split the `prefix` keys into (those whose values differ, {constant key: value})."""
        return self._snapshot.constant_keys(self.keys(prefix), self._condition, self._params)

    def varying_fields(self, keys: Sequence[str]) -> list[str]:
        """Those of the row keys `keys` (run fields: `project`, `job_type`) whose values differ
        across the selected runs."""
        varying, _ = self._snapshot.constant_keys(keys, self._condition, self._params)
        return varying

    def log_keys(self, all_keys: bool = False) -> tuple[list[str], dict[str, Any]]:
        """The columns `gitcfg log` shows for these runs, in its order, and the config keys equal
        in every run (stated once instead; {} with `all_keys`): `id`, `name`, `status`, `age`,
        `commit`, the run labels that differ (rows.LABEL_FIELDS), the config keys that differ
        (every one with `all_keys`), every summary metric."""
        varying, constant = self.differing(CONFIG)
        config_keys = self.keys(CONFIG) if all_keys else varying
        labels = self.varying_fields(LABEL_FIELDS)
        shown = ["id", "name", "status", "age", "commit", *labels, *config_keys]
        return [*shown, *self.keys(SUMMARY)], {} if all_keys else constant

    def short_ids(self, run_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
        """The shortest prefix of each id that names one run among all runs on the branch."""
        return {
            run_id: run_id[: _unique_length(run_id, self._snapshot.neighbours(run_id), minimum)]
            for run_id in run_ids
        }

    def group_by(
        self,
        *keys: str,
        aggs: Iterable[str] = ("mean", "std"),
        over: str | None = None,
    ) -> Grouping:
        """One group per distinct combination of `keys` values, each summary metric aggregated.

        `over` names the key expected to vary inside a group (`seed`): `confounders` then lists the
        other config keys that vary inside some group. With `over` and no keys, the groups are
        the combinations of every other config key that differs across the runs.
        """
        chosen = aggregate.check_aggs(aggs)
        if not chosen:
            raise BadQuery("--agg needs at least one of " + ", ".join(aggregate.AGGREGATES))
        group_keys = [self.resolve(key, "--group-by") for key in keys]
        # The key expected to vary is a setting: suggest config keys only (not `ended` for seed).
        over_key = self.resolve(over, "--over", CONFIG) if over is not None else None
        data = self._snapshot.memoized(
            "group_by",
            (group_keys, chosen, over_key, self._condition, self._params),
            lambda: _grouping_data(self._group_by(group_keys, chosen, over_key)),
        )
        return _grouping_from(data)

    def _group_by(
        self, group_keys: list[str], chosen: tuple[str, ...], over_key: str | None
    ) -> Grouping:
        varying, constants = self.differing(CONFIG)
        if over_key is not None and not group_keys:
            group_keys = [key for key in varying if key != over_key]
        snapshot, condition, params = self._snapshot, self._condition, self._params
        # A summary key grouped by is a group's value, not one of its aggregated metrics.
        metrics = [key for key in self.keys(SUMMARY) if key not in group_keys]
        in_sql = snapshot.group_summaries(group_keys, metrics, chosen, condition, params)
        if in_sql is None:  # values SQL cannot group exactly: the same in Python
            rows = self.rows([*group_keys, *metrics])
            numeric = [key for key in aggregate.numeric_metrics(rows) if key not in group_keys]
            summaries = [
                GroupSummary(group.values, group.count, group.aggregates, group.skipped)
                for group in aggregate.group_rows(rows, group_keys, chosen, numeric)
            ]
        else:
            numeric, summaries = in_sql
            summaries.sort(key=lambda group: tuple(order_key(v) for v in group.values))
        confounded: dict[str, list[object]] = {}
        if over_key is not None:
            others = [key for key in varying if key not in group_keys and key != over_key]
            found = snapshot.varying_within(group_keys, others, condition, params)
            if found is None:
                found = aggregate.confounders(
                    self.rows([*group_keys, *varying]), group_keys, over_key
                )
            confounded = {key: sorted(values, key=order_key) for key, values in found.items()}
        return Grouping(
            keys=tuple(group_keys),
            metrics=tuple(numeric),
            aggs=chosen,
            groups=tuple(summaries),
            constants=constants,
            over=over_key,
            confounders=confounded,
        )

    def to_dataframe(self) -> Any:
        """The selected runs as a pandas DataFrame: one row per run, flat dotted columns
        (`id`, `status`, ..., `config.lr`, `summary.val_acc`). Needs pandas (`gitcfg[pandas]`)."""
        try:
            import pandas  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise MissingExtra("to_dataframe()", "pandas") from None
        keys = self.keys()
        return pandas.DataFrame.from_records(self.rows(keys), columns=keys)


# --- the api -------------------------------------------------------------------------------------


class Api:
    """Read runs from Python: `gitcfg.Api().runs(where="lr < 0.01")`.

    `path` is any directory inside the repository. `cache=False` keeps the cache in memory (for
    this object only); `progress(done, total)` is called while a cold cache is built.
    """

    def __init__(
        self,
        path: str | Any = ".",
        *,
        store: Store | None = None,
        cache: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self.store = store or Store.open(path)
        self._use_file, self._progress = cache, progress
        self._cache: RunCache | None = None

    @property
    def cache(self) -> RunCache:
        """The query cache (`.last_refresh` says what the last query's refresh did)."""
        if self._cache is None:
            return self.refresh()
        return self._cache

    def refresh(self) -> RunCache:
        """Bring the cache up to the runs branch's current tip; every query does this first."""
        if self._cache is None:
            self._cache = RunCache.open(
                self.store.repo, self.store.runs_ref, self._progress, self._use_file
            )
        else:
            self._cache.refresh(self._progress)
        return self._cache

    def _snapshot(self) -> Snapshot:
        """A cache snapshot at the branch tip, with the runs running here as of now (live.py)."""
        snapshot = self.refresh().snapshot()
        if not gitio.has_journals(self.store.repo.state_dir):  # no run journaled here
            return snapshot
        from gitcfg.live import live_views

        try:
            views = live_views(self.store, with_rows=False)  # no run live: one listing
            snapshot.overlay({k: (v.meta, v.config, v.summary) for k, v in views.items()})
        except BaseException:
            snapshot.close()
            raise
        return snapshot

    def runs(
        self,
        where: WhereArg = None,
        rev: str | None = None,
        status: str | Sequence[str] | None = None,
    ) -> Runs:
        """The runs matching all of: the filter (`--where` language; a list is ANDed), the code
        range (`git rev-list` syntax), the status(es). Newest first."""
        expr = _where_expr(where)
        statuses = _statuses(status)
        commits = code_commits_in_range(self.store, rev) if rev else None
        snapshot = self._snapshot()
        try:
            if statuses is not None:
                _check_statuses(statuses, snapshot)
            return Runs(self, snapshot, Filter(statuses, commits), expr)
        except BaseException:
            snapshot.close()
            raise

    def run(self, run_id_prefix: str) -> StoredRun:
        """The run whose id starts with `run_id_prefix` (or whose name it is). wandb's path form
        `entity/project/run_id` resolves by its last part.

        Raises DamagedRunFile when one of its YAML files cannot be read (damaged, an alias bomb,
        a duplicate key): showing it without the file would show wrong values.
        """
        with self._snapshot() as snapshot:
            run_id = snapshot.resolve(run_id_prefix.rsplit("/", 1)[-1])
            for file_name, why in snapshot.unreadable().get(run_id, [])[:1]:
                raise DamagedRunFile(run_id, file_name, why)
            stored = snapshot.record(run_id)
            assert stored is not None
            return StoredRun(stored, self, snapshot.tip)

    def to_dataframe(
        self,
        where: WhereArg = None,
        rev: str | None = None,
        status: str | Sequence[str] | None = None,
    ) -> Any:
        """`runs(...).to_dataframe()`: a pandas DataFrame, one row per run."""
        with self.runs(where, rev, status) as runs:
            return runs.to_dataframe()

    # --- files of runs, read from git ---

    def read_metrics(
        self, run_ids: Sequence[str], tip: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Each run's metrics.jsonl rows, read with one `cat-file --batch`; a run running at `tip`
        whose journal is on this machine gets the rows journaled so far after them (live.py)."""
        from gitcfg.live import live_views

        # The journal before the branch: a journal still there means the run's final commit (which
        # writes its rows to metrics.jsonl, then removes the journal) was not in the tip read after.
        live = live_views(self.store, run_ids)
        tip = tip or self.store.tip() or ""
        if not tip:
            return {run_id: [] for run_id in run_ids}
        with gitio.BatchReader(self.store.repo) as reader:
            out = _branch_metrics(reader, tip, run_ids)
            running = _running_at(reader, tip, list(live))
        for run_id in running:
            out[run_id] += live[run_id].rows
        return out

    def follow_metrics(
        self, run_id: str, interval_s: float = 0.2, wait: Callable[[float], Any] = time.sleep
    ) -> Iterator[dict[str, Any]]:
        """Yield the run's metric rows as they are logged, until the run ends.

        While the run runs here, the rows come from its journal (polled every `interval_s`); once
        its final commit lands, the rows not yet yielded come from the runs branch, and the
        iterator ends. A run that is not running yields its rows and ends. A run running on
        another machine is followed on the branch (its rows come with its final commit, which a
        `gitcfg pull` brings). A journal whose process died is recorded (`crashed`) on the way.
        """
        from gitcfg import journal
        from gitcfg.live import live_views

        sent, seen_tip, running, branch_rows = 0, None, False, []
        while True:
            view = live_views(self.store, (run_id,)).get(run_id)  # the journal first (see above)
            tip = self.store.tip() or ""
            if tip != seen_tip:
                seen_tip = tip
                with gitio.BatchReader(self.store.repo) as reader:
                    running = bool(tip) and bool(_running_at(reader, tip, [run_id]))
                    branch_rows = _branch_metrics(reader, tip, [run_id])[run_id] if tip else []
            if not running:
                yield from branch_rows[sent:]
                return
            if view is not None:
                rows = branch_rows + view.rows
                yield from rows[sent:]
                sent = max(sent, len(rows))
                if journal.process_gone(view.owner):
                    journal.recover(self.store)  # commits it as crashed: the tip moves
            elif self.store.tip() != tip:  # its final commit landed just now
                continue
            wait(interval_s)

    def read_run_file(self, run_id: str, name: str, tip: str | None = None) -> bytes | None:
        tip = tip or self.store.tip() or ""
        if not tip:
            return None
        with gitio.BatchReader(self.store.repo) as reader:
            return read_run_files(reader, tip, [run_id], name)[0]


def _branch_metrics(
    reader: gitio.BatchReader, tip: str, run_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each run's rows in metrics.jsonl at the runs commit `tip` (none when it has no file)."""
    blobs = read_run_files(reader, tip, run_ids, "metrics.jsonl")
    from gitcfg.resuming import parse_rows

    return {run_id: parse_rows(blob or b"") for run_id, blob in zip(run_ids, blobs, strict=True)}


def _running_at(reader: gitio.BatchReader, tip: str, run_ids: Sequence[str]) -> set[str]:
    """Those of `run_ids` whose run.yaml at the runs commit `tip` says `running`."""
    if not run_ids:
        return set()
    from gitcfg.store import load_mapping

    blobs = read_run_files(reader, tip, run_ids, "run.yaml")
    return {
        run_id
        for run_id, blob in zip(run_ids, blobs, strict=True)
        if load_mapping(blob).get(runfile.STATUS) == runfile.RUNNING
    }


def unreadable_warnings(unreadable: Mapping[str, Sequence[tuple[str, str]]]) -> tuple[str, ...]:
    """One warning per run with a YAML file that cannot be read: it is listed without it."""
    return tuple(
        f"run {run_id}'s {', '.join(f'{name} ({why})' for name, why in files)} cannot be read; "
        "it is listed without it"
        for run_id, files in sorted(unreadable.items())
    )


def _where_expr(value: WhereArg) -> where.Expr | None:
    if value is None:
        return None
    from gitcfg import where

    if isinstance(value, str):
        return where.parse_where(value)
    if isinstance(value, (where.Compare, where.Not, where.And, where.Or)):
        return value
    return where.where_all(value)


def _statuses(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    found = tuple(dict.fromkeys(s.strip() for item in items for s in item.split(",") if s.strip()))
    return found or None


def _check_statuses(statuses: Sequence[str], snapshot: Snapshot) -> None:
    """BadQuery for a status that is neither known nor held by any run: a typo matches nothing."""
    unknown = [status for status in statuses if status not in RUN_STATUSES]
    if not unknown:
        return
    known = [*RUN_STATUSES, *(s for s in snapshot.statuses() if s not in RUN_STATUSES)]
    for status in unknown:
        if status not in known:
            import difflib

            close = difflib.get_close_matches(status, known, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else "choose from " + ", ".join(known)
            raise BadQuery(f"unknown status {status!r}; {hint}")


# --- metrics over steps (gitcfg plot) ------------------------------------------------------------


def metric_lines(
    api: Api,
    records: Sequence[StoredRun],
    metric: str,
    x: str | None = "_step",
    group_by: str | None = None,
) -> tuple[list[Any], list[str]]:
    """The lines `gitcfg plot` draws: one plot.Series per run (or per group: the mean at each x),
    and the ids of the runs that never logged `metric` (left out). `x=None`: each run's
    `step_metric` for the metric (define_metric), else `_step`."""
    from gitcfg.plot import Series, mean_series

    metric = metric.removeprefix(SUMMARY)
    points, missing = metric_points(api, records, metric, x)
    kept = [record for record in records if record.id in points]
    if group_by is None:
        short = short_ids(record.id for record in kept)
        return [
            Series(f"{short[r.id]} {r.name}" if r.name else short[r.id], points[r.id]) for r in kept
        ], missing
    return [
        mean_series(label, [points[record.id] for record in members])
        for label, members in group_members(kept, group_by)
    ], missing


def group_members(records: Sequence[StoredRun], group_by: str) -> list[tuple[str, list[StoredRun]]]:
    """The runs split by their value of the key `group_by` names, in value order: (label such
    as `lr=0.01 (3 runs)`, runs). UnknownKey when no run has the key."""
    flat = {record.id: record.row for record in records}
    known: set[str] = set().union(*flat.values()) if flat else set()
    key = require_key(known, group_by, "--group-by")
    members: dict[object, list[StoredRun]] = {}
    first_value: dict[object, object] = {}
    for record in records:
        value = flat[record.id].get(key)
        token = value_token(value)
        members.setdefault(token, []).append(record)
        first_value.setdefault(token, value)
    label_key = short_key(key, known)
    ordered = sorted(members, key=lambda token: order_key(first_value[token]))
    return [
        (
            f"{label_key}={format_value(first_value[token], None)} "
            f"({runs_phrase(len(members[token]))})",
            members[token],
        )
        for token in ordered
    ]


def file_sizes(
    api: Api, run_ids: Sequence[str], tip: str | None = None
) -> dict[str, list[tuple[str, int]]]:
    """StoredRun.file_sizes of each run, at the runs commit `tip` (default the branch's tip),
    with one `git ls-tree`."""
    tip = tip or api.store.tip()
    if not tip:
        return {run_id: [] for run_id in run_ids}
    with gitio.BatchReader(api.store.repo) as reader:
        version = branch_format(reader, tip)
    directories = {run_id: run_dir(run_id, version) for run_id in run_ids}
    found = gitio.ls_blobs(api.store.repo, tip, *directories.values())
    return {
        run_id: [(e.path, e.size) for e in found[directory] if e.mode != "120000"]
        for run_id, directory in directories.items()
    }


def read_patches(api: Api, records: Sequence[StoredRun]) -> dict[str, bytes | None]:
    """StoredRun.patch of each run, read with one `git cat-file --batch`."""
    wanted = [record for record in records if "diff.patch" in record.files]
    found: dict[str, bytes | None] = {record.id: None for record in records}
    if wanted:
        with gitio.BatchReader(api.store.repo) as reader:
            for record in wanted:
                found[record.id] = read_run_files(reader, record._tip, [record.id], "diff.patch")[0]
    return found


def metric_points(
    api: Api,
    records: Sequence[StoredRun],
    metric: str,
    x: str | None = "_step",
    logged: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> tuple[dict[str, tuple[tuple[float, float], ...]], list[str]]:
    """Each run's (x, metric) points, finite and sorted by x (runs that logged `metric`), and
    the ids of the runs that never logged it. `x=None`: each run's step_metric, else `_step`.
    `logged`: the runs' metric rows when already read (Api.read_metrics)."""
    from gitcfg.plot import clean_points

    if logged is None:
        logged = api.read_metrics(
            [record.id for record in records], records[0]._tip if records else None
        )
    points: dict[str, tuple[tuple[float, float], ...]] = {}
    missing = []
    for record in records:
        rows = logged.get(record.id, [])
        if not any(metric in row for row in rows):
            missing.append(record.id)
            continue
        run_x = x or metric_x(record.meta, metric)
        points[record.id] = clean_points(_xy(rows, metric, run_x))
    return points, missing


def metric_names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The metrics logged in `rows` (metrics.jsonl), in first-logged order, without `_step`,
    `_time` and the other keys gitcfg adds (those starting with `_`)."""
    names: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in names and not key.startswith("_"):
                names[key] = None
    return list(names)


def compare_runs(records: Sequence[StoredRun]) -> list[tuple[str, list[object]]]:
    """What differs among two or more runs, as `gitcfg diff` shows it: (key, [value per run])
    for the config keys (`config.<dotted>`), summary keys (`summary.<key>`), then the run fields
    whose values are not all the same; a value a run lacks is MISSING."""
    out = []
    for prefix, section in ((CONFIG, "config"), (SUMMARY, "summary")):
        flat = [flatten(getattr(record, section)) for record in records]
        out += [(prefix + key, values) for key, values in differing_values(flat)]
    rows = [record.row for record in records]
    fields = [{key: row.get(key) for key in _DIFF_RUN_FIELDS} for row in rows]
    return out + differing_values(fields)


def metric_definition(meta: Mapping[str, Any], metric: str) -> Mapping[str, Any]:
    """The define_metric definition that applies to `metric` in a run (run.yaml
    metric_definitions): its own, else the first glob that matches it; {} when none."""
    definitions = meta.get(runfile.METRIC_DEFINITIONS)
    if not isinstance(definitions, Mapping):
        return {}
    found = definitions.get(metric)
    if not isinstance(found, Mapping):
        from fnmatch import fnmatchcase

        found = next(
            (
                d
                for p, d in definitions.items()
                if isinstance(d, Mapping) and fnmatchcase(metric, p)
            ),
            None,
        )
    return found if isinstance(found, Mapping) else {}


def metric_x(meta: Mapping[str, Any], metric: str) -> str:
    """The x axis of `metric` in a run: the step_metric its define_metric chose, else `_step`."""
    return str(metric_definition(meta, metric).get("step_metric") or "_step")


def metric_axis(records: Sequence[StoredRun], metric: str) -> str:
    """The x axis of a chart of `metric` over `records`: the step_metric they share, else `_step`."""
    axes = {metric_x(record.meta, metric) for record in records}
    return axes.pop() if len(axes) == 1 else "_step"


def summary_goal(records: Iterable[StoredRun], key: str) -> str | None:
    """`minimize`/`maximize` for a summary key (`summary.val_loss`, `summary.val_loss.min`): the
    goal the first run that defined one gave its metric; None for other keys or without one."""
    if not key.startswith(SUMMARY):
        return None
    metric = key.removeprefix(SUMMARY)
    head, _, kind = metric.rpartition(".")
    names = [metric, head] if head and kind in SUMMARY_KINDS else [metric]
    for record in records:
        for name in names:
            goal = metric_definition(record.meta, name).get("goal")
            if goal in GOALS:
                return str(goal)
    return None


def _xy(rows: Sequence[Mapping[str, Any]], metric: str, x: str) -> Iterator[tuple[Any, Any]]:
    """(x, metric) of each row that logged `metric`; a row without `x` takes the last x logged
    before it (wandb's step_sync), else its index among the metric's rows."""
    last_x: Any = None
    index = 0
    for row in rows:
        if x in row:
            last_x = row[x]
        if metric in row:
            yield (last_x if last_x is not None else index), row[metric]
            index += 1


# --- comparing two runs (gitcfg diff) ------------------------------------------------------------

_DIFF_RUN_FIELDS = (
    "name",
    "status",
    "code_commit",
    "code_branch",
    "dirty",
    "host",
    "user",
    "group",
    "project",
    "entity",
    "job_type",
    "script",
    "tags",
    "exit_code",
    "rerun_of",
)


class RunDiff(NamedTuple):
    """What differs between two runs: (key, a value, b value) per section; MISSING when absent."""

    a: StoredRun
    b: StoredRun
    config: list[tuple[str, object, object]]
    summary: list[tuple[str, object, object]]
    run: list[tuple[str, object, object]]  # the run fields that differ (status, code commit, ...)


def diff_runs(a: StoredRun, b: StoredRun) -> RunDiff:
    """Compare two runs' config (dotted keys), summary and main run fields."""
    row_a, row_b = a.row, b.row
    return RunDiff(
        a,
        b,
        config=differences(flatten(a.config), flatten(b.config)),
        summary=differences(flatten(a.summary), flatten(b.summary)),
        run=differences(
            {k: row_a.get(k) for k in _DIFF_RUN_FIELDS}, {k: row_b.get(k) for k in _DIFF_RUN_FIELDS}
        ),
    )


_ENV_RUN_FIELDS = ("python", "platform")


class EnvDiff(NamedTuple):
    """How two runs' environments differ (`gitcfg diff --env`); MISSING for an absent side."""

    run: list[tuple[str, object, object]]  # python and platform, when they differ
    packages: list[tuple[str, object, object]]  # (name, version in a, in b), sorted by name
    unrecorded: tuple[str, ...]  # ids of the runs that have no requirements.txt (recorded earlier)


def env_diff(a: StoredRun, b: StoredRun) -> EnvDiff:
    """Compare two runs' Python version, platform and installed distributions."""
    from gitcfg.environment import parse_requirements

    lists = [record.requirements() for record in (a, b)]
    packages = differences(*(parse_requirements(text) for text in lists))
    return EnvDiff(
        run=differences(
            {k: a.meta.get(k) for k in _ENV_RUN_FIELDS}, {k: b.meta.get(k) for k in _ENV_RUN_FIELDS}
        ),
        packages=sorted(packages, key=lambda change: change[0]) if None not in lists else [],
        unrecorded=tuple(r.id for r, text in zip((a, b), lists, strict=True) if text is None),
    )


def package_change(left: object, right: object) -> str:
    """How run b's version of a package differs from run a's: `added`, `removed` or `changed`."""
    return "added" if left is MISSING else "removed" if right is MISSING else "changed"


def package_counts(environment: EnvDiff) -> dict[str, int]:
    """How many packages b added, removed and changed against a: {"added": 1, ...}, all three."""
    counts = {"added": 0, "removed": 0, "changed": 0}
    for _, left, right in environment.packages:
        counts[package_change(left, right)] += 1
    return counts


def code_diff(api: Api, a: StoredRun, b: StoredRun, color: bool = False) -> bytes:
    """The patch from run a's code to run b's: each run's commit with its diff.patch applied.

    Each tree is built in a temporary index (gitio.code_tree): the user's index and worktree are
    never touched. CodeCommitMissing when a commit is not in this clone.
    """
    trees = []
    for record in (a, b):
        commit = record.code_commit
        if commit and not gitio.commit_exists(api.store.repo, commit):
            raise CodeCommitMissing(record.id, commit, record.code.get("remote_url"))
        try:
            trees.append(gitio.code_tree(api.store.repo, commit, record.patch()))
        except GitError as e:
            raise GitcfgError(
                f"run {record.id}'s diff.patch does not apply to its code commit "
                f"{(commit or 'none')[:12]} ({e.detail})"
            ) from None
    if trees[0] == trees[1]:
        return b""
    return gitio.diff_trees(api.store.repo, trees[0], trees[1], color=color)


def choose_runs(
    store: Store, run_id_prefixes: Sequence[str], where: str | None = None
) -> list[str]:
    """The runs a command names: the ids given, or those `--where EXPR` selects (newest first).

    A GitcfgError for both at once, a filter that selects no run, or one naming a key no run has.
    """
    if where is None:
        return list(run_id_prefixes)
    if run_id_prefixes:
        raise BadAmendment("name runs or select them with --where, not both")
    with Api(store=store).runs(where=where) as runs:
        run_ids, warnings = runs.ids, runs.warnings
    if warnings:  # `log --where` warns; a write must not act on a filter with a typo in it
        raise BadQuery(f"{warnings[0]} in --where {where!r}; nothing changed")
    if not run_ids:
        raise GitcfgError(f"no run matches --where {where!r}; nothing to do")
    return run_ids
