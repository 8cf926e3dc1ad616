"""Amendments and history: change a finished run in one commit; the runs branch keeps every version.

An amendment rewrites the run's files (config.yaml, summary.yaml, run.yaml) in one new commit on the
runs branch, `amend <id>: set lr=0.001` with the reason as its body and `Run-Id:`/`Amended-By:`
trailers. run.yaml gains an `amendments` list (when, who, why, what, with the values replaced) and
`config_sources` marks each changed top-level key `amended`. `gitcfg rm` deletes run directories in
a commit, `gitcfg restore` puts one back. Nothing is rewritten: `git log --full-history` over the run's
directory is its history, and the newest `run <id>: ...` commit (written by the recording process)
holds the run as recorded. One amendment or removal may cover several runs: one commit, subject
`amend 3 runs: tag leak`, one `Run-Id:` trailer per run.

The Python Api edits a run object and calls `update()`: `amendment_from_edits` turns the edits
into the same Amendment the CLI builds, so both go through `amend_runs`.
"""

from __future__ import annotations

import copy
import difflib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitcfg import gitio, runfile
from gitcfg.cache import resolve_run
from gitcfg.errors import (
    BadAmendment,
    GitcfgError,
    NothingToAmend,
    RunNotFound,
    RunNotRemoved,
    RunRemoved,
    RunsBranchMoved,
    RunStillRunning,
)
from gitcfg.store import (
    MIGRATE_SUBJECT,
    RunRecord,
    Store,
    commit_message,
    index_deriver,
    is_run_id_prefix,
    parse_message,
    run_dir,
    run_dir_candidates,
    run_files,
    utc_iso,
)
from gitcfg.yamlio import load_yaml

AMENDED = "amended"  # config_sources value of a top-level key an amendment changed
RUN_FIELDS = ("group", "job_type", "project")  # run.yaml text fields an amendment may set or clear
# A key: dotted text as typed (`model.depth`, found as `Config` finds it), or an exact key path
# (the Api's edits, which know where each key is).
Key = str | tuple[str, ...]
_SUBJECT_CHARS = 100  # past this, a subject names the first changes and counts the rest


# --- values on the command line -------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Type a command-line value as config.yaml would: `1e-3` float, `true` bool, `null` None.

    Bare words follow the `--where` rules (PyYAML's types, plus `1e-3` as a float); a quoted value
    (`'"3"'`) is a string; `[...]` and `{...}` are YAML flow collections.
    """
    from gitcfg.where import type_literal

    stripped = text.strip()
    if stripped[:1] in ("[", "{", "'", '"'):
        try:
            return load_yaml(stripped)
        except Exception as e:  # yaml.YAMLError; yaml itself is imported lazily by yamlio
            reason = str(e).splitlines()[0]
            shown = repr(text) if len(text) <= 100 else f"{text[:60]!r}… ({len(text):,} characters)"
            raise BadAmendment(
                f"cannot read {shown} as a YAML value ({reason}); quote it"
            ) from None
    return type_literal(text)


def render_value(value: Any) -> str:
    """The text that `parse_value` reads back as `value` (messages, `gitcfg history`)."""
    from gitcfg.yamlio import dump_inline

    if isinstance(value, str) and value and value == value.strip() and "\n" not in value:
        try:
            if parse_value(value) == value:
                return value  # a bare word that stays a string
        except BadAmendment:
            pass
    return dump_inline(value)


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """`"model.depth=18"` -> `("model.depth", 18)`; BadAmendment without `=` or a key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise BadAmendment(f"{option} {text!r} needs KEY=VALUE, e.g. {option} lr=1e-3")
    if _has_empty_part(key.strip()):
        raise BadAmendment(
            f"{option} {text!r}: the key {key.strip()!r} has an empty part between dots; "
            "write nested keys as a.b"
        )
    return key.strip(), parse_value(value)


def _has_empty_part(key: str) -> bool:
    return "" in key.split(".")


def key_text(key: Key) -> str:
    """A key as messages show it: `model.depth`."""
    return key if isinstance(key, str) else ".".join(key)


def amended_keys(meta: Mapping[str, Any]) -> list[str]:
    """The config keys (dotted) that amendments set or unset, in run.yaml's `amendments` log."""
    keys: dict[str, None] = {}
    for entry in runfile.amendments(meta):
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        for change in changes if isinstance(changes, list) else ():
            text = str(change)
            if text.startswith("set "):
                keys[text[4:].split("=", 1)[0]] = None
            elif text.startswith("unset ") and not text.startswith("unset summary."):
                keys[text[6:].split(" (was ", 1)[0]] = None
    return list(keys)


# --- applying an amendment (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amendment:
    """What to change in one run. Keys are dotted (`model.depth`) unless a mapping holds them whole."""

    set: Mapping[Key, Any] = field(default_factory=dict)  # config key -> value
    unset: tuple[Key, ...] = ()  # config keys to delete
    summary: Mapping[Key, Any] = field(default_factory=dict)  # summary key -> value
    tags: tuple[str, ...] = ()  # tags to add
    untags: tuple[str, ...] = ()  # tags to remove
    note: str | None = None  # replaces run.yaml `notes` when not None ("" clears them)
    name: str | None = None  # renames the run when not None
    reason: str | None = None  # why: the commit body and the amendment record
    summary_unset: tuple[Key, ...] = ()  # summary keys to delete
    group: str | None = None  # replaces run.yaml `group` when not None ("" clears it)
    job_type: str | None = None  # likewise `job_type`
    project: str | None = None  # likewise `project`

    def is_empty(self) -> bool:
        return not (
            self.set
            or self.unset
            or self.summary
            or self.summary_unset
            or self.tags
            or self.untags
            or any(getattr(self, f) is not None for f in ("note", "name", *RUN_FIELDS))
        )


@dataclass(frozen=True, slots=True)
class AmendedRun:
    """A run's three YAML documents after an amendment, and what changed."""

    meta: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any]
    changes: tuple[str, ...]  # short, for the commit subject: `set lr=0.001`, `tag leak`
    details: tuple[str, ...]  # with replaced values, for run.yaml: `set lr=0.001 (was 0.0003)`
    masked: tuple[str, ...]  # config keys this amendment set that are stored masked


def apply_amendment(
    record: RunRecord, amendment: Amendment, *, amended_at: str, amended_by: str
) -> AmendedRun:
    """Return the run's documents with `amendment` applied.

    Raises BadAmendment for a key to unset that is not there, a dotted key whose parent holds a
    value that is not a mapping, a tag to remove that the run does not carry, or when nothing
    would change. Config values go through the config's normalisation and secret masking.
    """
    from gitcfg.configuration import Config, recorded_config

    meta = copy.deepcopy(dict(record.meta))
    config = copy.deepcopy(dict(record.config))
    summary = copy.deepcopy(dict(record.summary))
    sources = dict(meta.get(runfile.CONFIG_SOURCES) or {})
    noted = _Changes()
    set_keys = _amend_config(config, sources, amendment, record.run_id, noted)
    _amend_summary(summary, amendment, record.run_id, noted)
    tags = _amend_tags(meta, amendment, record.run_id, noted)
    _amend_labels(meta, amendment, noted)
    changes, details = noted.changes, noted.details
    if not changes:
        raise NothingToAmend(f"run {record.run_id} already holds these values; nothing to amend")

    recorded, masked_keys = recorded_config(Config(config))
    masked = tuple(key for key in set_keys if key in masked_keys)
    if masked:  # the messages must not carry the secret either
        changes = [_mask_change(text, masked) for text in changes]
        details = [_mask_change(text, masked) for text in details]
    meta[runfile.TAGS] = tags
    meta[runfile.CONFIG_SOURCES] = sources
    entry: dict[str, Any] = {"at": amended_at, "by": amended_by}
    if amendment.reason:
        entry["reason"] = amendment.reason
    entry["changes"] = details
    runfile.add_amendment(meta, entry)
    return AmendedRun(meta, recorded, summary, tuple(changes), tuple(details), masked)


class _Changes:
    """What an amendment changed, as the commit message (`changes`) and the run.yaml log
    (`details`, with the values before) say it."""

    def __init__(self) -> None:
        self.changes: list[str] = []
        self.details: list[str] = []

    def note(self, short: str, before: Any = ...) -> None:
        self.changes.append(short)
        self.details.append(short if before is ... else f"{short} (was {render_value(before)})")


def _amend_config(
    config: dict[str, Any],
    sources: dict[str, Any],
    amendment: Amendment,
    run_id: str,
    noted: _Changes,
) -> list[str]:
    """--set and --unset on config.yaml, marking the top-level keys they touch as amended;
    returns the keys set (for masking)."""
    from gitcfg.configuration import normalise_value

    set_keys = []
    for key, raw in amendment.set.items():
        value = normalise_value(raw, key_text(key))
        assigned = _assign(config, key, value, "config")
        if assigned is not None:
            before, top = assigned
            sources[top] = AMENDED
            set_keys.append(key_text(key))
            noted.note(f"set {key_text(key)}={render_value(value)}", before)
    for key in amendment.unset:
        before, path = _remove(config, key, run_id, "config")
        if len(path) == 1:
            sources.pop(path[0], None)
        else:
            sources[path[0]] = AMENDED
        noted.note(f"unset {key_text(key)}", before)
    return set_keys


def _amend_summary(
    summary: dict[str, Any], amendment: Amendment, run_id: str, noted: _Changes
) -> None:
    """--summary and --summary-unset on summary.yaml."""
    from gitcfg.configuration import normalise_value

    for key, raw in amendment.summary.items():
        value = normalise_value(raw, key_text(key))
        assigned = _assign(summary, key, value, "summary")
        if assigned is not None:
            noted.note(f"summary {key_text(key)}={render_value(value)}", assigned[0])
    for key in amendment.summary_unset:
        before, _ = _remove(summary, key, run_id, "summary")
        noted.note(f"unset summary.{key_text(key)}", before)


def _amend_tags(
    meta: Mapping[str, Any], amendment: Amendment, run_id: str, noted: _Changes
) -> list[str]:
    """The run's tags with --untag and --tag applied."""
    tags = [str(t) for t in meta.get(runfile.TAGS) or []]
    for tag in amendment.untags:
        if tag not in tags:
            carried = ", ".join(tags) or "none"
            raise BadAmendment(f"run {run_id} has no tag {tag!r} to remove (its tags: {carried})")
        tags.remove(tag)
        noted.note(f"untag {tag}")
    for tag in amendment.tags:
        if tag not in tags:
            tags.append(tag)
            noted.note(f"tag {tag}")
    return tags


def _amend_labels(meta: dict[str, Any], amendment: Amendment, noted: _Changes) -> None:
    """--note, --name and the other run fields (group, job_type, ...) in run.yaml."""
    if amendment.note is not None and (amendment.note or None) != meta.get(runfile.NOTES):
        meta[runfile.NOTES] = amendment.note or None
        noted.note("note")
    if amendment.name is not None and amendment.name != meta.get(runfile.NAME):
        noted.note(f"name {amendment.name}", meta.get(runfile.NAME))
        meta[runfile.NAME] = amendment.name
    for run_field in RUN_FIELDS:
        wanted = getattr(amendment, run_field)
        if wanted is not None and (wanted or None) != meta.get(run_field):
            what = f"{run_field} {wanted}" if wanted else f"{run_field} cleared"
            noted.note(what, meta.get(run_field))
            meta[run_field] = wanted or None


def _assign(document: dict[str, Any], key: Key, value: Any, what: str) -> tuple[Any, str] | None:
    """Set a key; return (the value replaced or ..., the top-level key), None if unchanged.

    A dotted key lands where the config's own writes put it (configuration.write_target), a key
    path exactly there; missing parent mappings are made, and a parent that is not a mapping is a
    BadAmendment.
    """
    from gitcfg.configuration import write_target
    from gitcfg.values import same_value

    if isinstance(key, tuple):
        parent = document
        for depth, name in enumerate(key[:-1]):
            child = parent.setdefault(name, {})
            if not isinstance(child, dict):
                _not_a_mapping(what, ".".join(key[: depth + 1]), child, key_text(key))
            parent = child
        leaf, path = key[-1], key
    else:
        if _has_empty_part(key):
            raise BadAmendment(f"{what} key {key!r} has an empty part between dots; write a.b")
        parent, leaf, path = write_target(document, key, create_parents=True)
        head = leaf.partition(".")[0]
        if leaf not in parent and head in parent and head != leaf:  # a value, not a mapping
            _not_a_mapping(what, ".".join((*path[:-1], head)), parent[head], key)
    if leaf in parent and same_value(parent[leaf], value):
        return None
    before = parent.get(leaf, ...)
    parent[leaf] = value
    return before, path[0]


def _not_a_mapping(what: str, where: str, value: Any, key: str) -> None:
    raise BadAmendment(
        f"{what} key {where!r} holds {render_value(value)}, not a mapping, so {key!r} "
        f"cannot be set; set {where!r} itself"
    )


def _remove(
    document: dict[str, Any], key: Key, run_id: str, what: str
) -> tuple[Any, tuple[str, ...]]:
    """Delete a key; return (its value, its path). BadAmendment when it is not there."""
    from gitcfg.configuration import find_key

    if isinstance(key, tuple):
        node: Any = document
        for name in key:
            node = node.get(name, ...) if isinstance(node, dict) else ...
        found = None if node is ... else (key, node)
    else:
        found = find_key(document, key)
    if found is None:
        raise BadAmendment(_missing_key(run_id, key_text(key), document, what))
    path = tuple(found[0])
    parent = document
    for name in path[:-1]:
        parent = parent[name]
    return parent.pop(path[-1]), path


def _missing_key(run_id: str, key: str, document: Mapping[str, Any], what: str = "config") -> str:
    from gitcfg.configuration import dotted_keys

    near = difflib.get_close_matches(key, list(dotted_keys(document)), n=3)
    hint = (
        f"did you mean {' or '.join(map(repr, near))}?"
        if near
        else f"`gitcfg show RUN --{what}` lists them"
    )
    return f"run {run_id} has no {what} key {key!r} to unset; {hint}"


def _mask_change(text: str, masked: Iterable[str]) -> str:
    from gitcfg.configuration import MASKED

    for key in masked:
        if text.startswith(f"set {key}="):
            return f"set {key}={MASKED}"
    return text


# --- commit messages (pure) -----------------------------------------------------------------------


def change_subject(verb: str, run_id: str, changes: Iterable[str]) -> str:
    """`amend <id>: set lr=0.001, model.depth=18; tag leak`; past ~100 characters, the first
    changes and how many more."""
    items = list(changes)
    shown = _group_changes(items)
    for count in range(len(items) - 1, 0, -1):
        if len(shown) <= _SUBJECT_CHARS:
            break
        shown = _group_changes(items[:count]) + f" and {len(items) - count} more"
    return f"{verb} {run_id}: {shown}"


def _group_changes(items: Iterable[str]) -> str:
    """`["set a=1", "set b=2", "tag x"]` -> `set a=1, b=2; tag x`."""
    groups: list[tuple[str, list[str]]] = []
    for item in items:
        word, _, rest = item.partition(" ")
        if groups and groups[-1][0] == word and rest:
            groups[-1][1].append(rest)
        else:
            groups.append((word, [rest] if rest else []))
    return "; ".join(f"{word} {', '.join(rest)}" if rest else word for word, rest in groups)


# --- edits made through the Api (pure) ---------------------------------------------------------


def document_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> tuple[dict[Key, Any], list[Key]]:
    """What turns `before` into `after`: ({key: value} to set, [keys] to unset), leaf by leaf.

    Keys that were there are exact paths; a new top-level key stays text, so `run.config["a.b"] = 1`
    is the dotted key `gitcfg amend --set a.b=1` would set.
    """
    from gitcfg.values import same_value

    sets: dict[Key, Any] = {}
    unsets: list[Key] = []
    for key, value in after.items():
        path = (*prefix, key)
        if key not in before:
            sets[key if not prefix else path] = value
        elif isinstance(before[key], dict) and isinstance(value, dict):
            nested_sets, nested_unsets = document_changes(before[key], value, path)
            sets.update(nested_sets)
            unsets += nested_unsets
        elif not same_value(before[key], value):
            sets[path] = value
    unsets += [(*prefix, key) for key in before if key not in after]
    return sets, unsets


def amendment_from_edits(
    before: Mapping[str, Any], after: Mapping[str, Any], reason: str | None = None
) -> Amendment:
    """The Amendment that turns one view of a run into another.

    Both are {"config": ..., "summary": ..., "tags": [...], "name": ..., "notes": ..., "group": ...,
    "job_type": ..., "project": ...}; tags compare as a set, a field None or "" clears it.
    """
    config_set, config_unset = document_changes(before["config"], after["config"])
    summary_set, summary_unset = document_changes(before["summary"], after["summary"])
    old_tags, new_tags = list(before["tags"]), [str(tag) for tag in after["tags"]]

    def changed(name: str) -> str | None:
        value = after.get(name)
        return None if (value or None) == (before.get(name) or None) else str(value or "")

    return Amendment(
        set=config_set,
        unset=tuple(config_unset),
        summary=summary_set,
        summary_unset=tuple(summary_unset),
        tags=tuple(dict.fromkeys(t for t in new_tags if t not in old_tags)),
        untags=tuple(t for t in old_tags if t not in new_tags),
        note=changed("notes"),
        name=changed("name"),
        group=changed("group"),
        job_type=changed("job_type"),
        project=changed("project"),
        reason=reason,
    )


# --- amend, rm and restore ----------------------------------------------------------------------

Files = dict[str, bytes | gitio.BlobRef | None]  # branch path -> content, None deletes
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AmendResult:
    run_id: str
    runs_commit: str
    changes: tuple[str, ...]
    masked: tuple[str, ...]  # config keys stored masked because they look secret


@dataclass(frozen=True, slots=True)
class RunChange:
    """What one amendment (or a dry run of it) changes in one run."""

    run_id: str
    changes: tuple[str, ...]  # short: `set lr=0.001`
    details: tuple[str, ...]  # with the values replaced: `set lr=0.001 (was 0.0003)`
    masked: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """One commit's worth of amendments or removals."""

    runs_commit: str | None  # None for a dry run
    changed: tuple[RunChange, ...]  # in the order the runs were given
    unchanged: tuple[str, ...] = ()  # runs that already held every value (left out of the commit)

    @property
    def masked(self) -> tuple[str, ...]:
        """The config keys stored masked in any of the runs, each once, in the order first seen."""
        return tuple(dict.fromkeys(key for change in self.changed for key in change.masked))


def _as_keys(values: Mapping[str, Any] | None) -> dict[Key, Any]:
    """A copy of `values` keyed as an Amendment is (a dotted string is a Key; dict() would keep
    the narrower key type, and a Mapping's key type is invariant)."""
    return {key: value for key, value in (values or {}).items()}


def amend_run(
    store: Store,
    run_id: str,
    *,
    set: Mapping[str, Any] | None = None,  # noqa: A002 (the option's name, as in `--set`)
    unset: Iterable[str] = (),
    summary: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    untags: Iterable[str] = (),
    note: str | None = None,
    name: str | None = None,
    reason: str | None = None,
    now: float | None = None,
) -> AmendResult:
    """Change a finished run in one new commit on the runs branch; return what was committed.

    `run_id` may be a unique prefix or a name. Values are used as given (the CLI types them with
    `parse_value`). Raises RunStillRunning for a running run, BadAmendment for a change that cannot
    apply, RunNotFound/AmbiguousRun. Another writer moving the branch meanwhile is retried on the
    new tip (re-reading the run, so a concurrent amendment of the same run is never lost).
    """
    amendment = Amendment(
        set=_as_keys(set),
        unset=tuple(unset),
        summary=_as_keys(summary),
        tags=tuple(tags),
        untags=tuple(untags),
        note=note,
        name=name,
        reason=reason,
    )
    result = amend_runs(store, [run_id], amendment, now=now)
    assert result.runs_commit is not None
    change = result.changed[0]
    return AmendResult(change.run_id, result.runs_commit, change.changes, change.masked)


def amend_runs(
    store: Store,
    run_ids: Sequence[str],
    amendment: Amendment,
    *,
    dry_run: bool = False,
    now: float | None = None,
) -> ChangeResult:
    """Apply one amendment to each run (ids, prefixes or names) in one commit; with `dry_run`,
    only say what would change.

    Every run is checked before anything is written: RunStillRunning, RunRemoved, BadAmendment for
    any of them commits nothing. Of several runs, those already holding every value are left out
    (`unchanged`); NothingToAmend when that is all of them.
    """
    full_ids = resolve_present_runs(store, run_ids)

    def build(tip: str | None, when: float, by: str) -> tuple[Files, str, ChangeResult]:
        files: Files = {}
        changed: list[RunChange] = []
        unchanged: list[str] = []
        for run_id in full_ids:
            record = _finished_run(store, run_id, tip, "amend")
            try:
                amended = apply_amendment(
                    record, amendment, amended_at=utc_iso(when), amended_by=by
                )
            except NothingToAmend:
                if len(full_ids) == 1:
                    raise
                unchanged.append(run_id)
                continue
            files.update(run_files(amended.meta, config=amended.config, summary=amended.summary))
            changed.append(RunChange(run_id, amended.changes, amended.details, amended.masked))
        if not changed:
            raise NothingToAmend(
                f"the {len(full_ids)} runs already hold these values; nothing to amend"
            )
        changes = dict.fromkeys(c for change in changed for c in change.changes)
        subject = change_subject("amend", _subject_runs(changed), changes)
        trailers = {"Run-Id": [c.run_id for c in changed], "Amended-By": by}
        message = commit_message(subject, amendment.reason, trailers)
        return files, message, ChangeResult(None, tuple(changed), tuple(unchanged))

    runs_commit, result = _commit_change(store, build, now, dry_run)
    return ChangeResult(runs_commit, result.changed, result.unchanged)


def remove_run(
    store: Store, run_id: str, *, reason: str | None = None, now: float | None = None
) -> str:
    """Delete a run's directory in one commit (`rm <id>: removed`); return the runs commit."""
    runs_commit = remove_runs(store, [run_id], reason=reason, now=now).runs_commit
    assert runs_commit is not None
    return runs_commit


def remove_runs(
    store: Store,
    run_ids: Sequence[str],
    *,
    reason: str | None = None,
    dry_run: bool = False,
    now: float | None = None,
) -> ChangeResult:
    """Delete runs' directories in one commit (`rm <id>: removed`, `rm 3 runs: removed`).

    The files stay in history: `gitcfg history` still lists each run and `gitcfg restore` brings
    it back. Raises RunStillRunning for a running run and RunRemoved for one already removed,
    before anything is written.
    """
    full_ids = resolve_present_runs(store, run_ids)

    def build(tip: str | None, when: float, by: str) -> tuple[Files, str, ChangeResult]:
        changed = []
        for run_id in full_ids:
            record = _finished_run(store, run_id, tip, "remove")
            name = f" ({record.name})" if record.name else ""
            changed.append(RunChange(run_id, ("removed",), (f"remove {run_id}{name}",), ()))
        files: Files = {run_dir(run_id): None for run_id in full_ids}  # the whole directory
        trailers = {"Run-Id": list(full_ids), "Removed-By": by}
        subject = f"rm {_subject_runs(changed)}: removed"
        return files, commit_message(subject, reason, trailers), ChangeResult(None, tuple(changed))

    runs_commit, result = _commit_change(store, build, now, dry_run)
    return ChangeResult(runs_commit, result.changed)


def restore_run(
    store: Store, run_id_prefix: str, *, reason: str | None = None, now: float | None = None
) -> tuple[str, str]:
    """Put a removed run back as it was before its removal, in one commit (`restore <id>:
    restored`); return (run id, runs commit). RunNotRemoved when the run is on the branch."""
    run_id = _resolve_in_history(store, run_id_prefix)
    base = run_dir(run_id)
    places = run_dir_candidates(run_id)  # removed before a migration: FORMAT 1's place

    def build(tip: str | None, when: float, by: str) -> tuple[Files, str, None]:
        if tip is None:
            raise RunNotFound(run_id_prefix)
        if gitio.ls_tree(store.repo, tip, *places, recursive=False):
            raise RunNotRemoved(run_id)
        # The newest commit touching the directory removed it; a parent of it still holds it.
        removal = gitio.log_entries(store.repo, tip, *places, limit=1)
        parents = removal[0].parents if removal else ()
        found = [e for p in parents for e in gitio.ls_tree(store.repo, p, *places, recursive=False)]
        if not found:
            raise RunNotFound(run_id_prefix)
        files: Files = {base: gitio.BlobRef(found[0].mode, found[0].oid)}  # the directory's tree
        trailers = {"Run-Id": run_id, "Restored-By": by}
        return files, commit_message(f"restore {run_id}: restored", reason, trailers), None

    runs_commit, _ = _commit_change(store, build, now)
    assert runs_commit is not None
    return run_id, runs_commit


def resolve_present_runs(store: Store, run_id_prefixes: Sequence[str]) -> list[str]:
    """Full ids of runs on the branch, each once, in the order given; RunRemoved for a run that
    only history knows, RunNotFound/AmbiguousRun otherwise."""
    if not run_id_prefixes:
        raise BadAmendment("name at least one run (or select them with --where)")
    full_ids: list[str] = []
    for prefix in run_id_prefixes:
        try:
            run_id = resolve_run(store, prefix)
        except RunNotFound:
            try:
                removed = _resolve_in_history(store, prefix)
            except RunNotFound:
                raise RunNotFound(prefix) from None
            raise RunRemoved(removed) from None
        if run_id not in full_ids:
            full_ids.append(run_id)
    return full_ids


def _subject_runs(changed: Sequence[RunChange]) -> str:
    return changed[0].run_id if len(changed) == 1 else f"{len(changed)} runs"


def _commit_change(
    store: Store,
    build: Callable[[str | None, float, str], tuple[Files, str, T]],
    now: float | None,
    dry_run: bool = False,
) -> tuple[str | None, T]:
    """Build one commit from the runs at the tip and CAS it onto that tip; retry from a fresh read
    when another writer moved the branch. Returns (runs commit, or None for a dry run; extra)."""
    if not dry_run:
        store.check_writable()
    identity = store.identity
    by = f"{identity.name} <{identity.email}>"
    for _ in range(gitio.MAX_RETRIES):
        tip = store.tip()
        when = time.time() if now is None else now
        files, message, extra = build(tip, when, by)
        if dry_run:
            return None, extra
        try:
            runs_commit = gitio.commit_files(
                store.repo,
                store.runs_ref,
                files,
                message,
                identity,
                when=when,
                expected=tip,
                derive=index_deriver(),
            )
        except RunsBranchMoved:
            continue
        return runs_commit, extra
    raise RunsBranchMoved(store.runs_ref)


def _finished_run(store: Store, run_id: str, tip: str | None, action: str) -> RunRecord:
    if tip is None:
        raise RunNotFound(run_id)
    record = store.read_run(run_id, at=tip, strict=True)  # damaged YAML fails, not wiped
    if record.status == "running":
        raise RunStillRunning(
            run_id, action, record.meta.get(runfile.PID), record.meta.get(runfile.HOST)
        )
    return record


# --- a run at any revision of the runs branch ------------------------------------------------------

_DATE_WORDS = ("ago", "yesterday", "today", "now", "noon", "midnight")


def resolve_runs_revision(store: Store, rev: str) -> str:
    """The runs-branch commit `rev` names: a commit, `gitcfg-runs~3`, anything `git rev-parse`
    takes, or a date (`2026-12-01`, `2 days ago`: the branch's last commit before it).

    A GitcfgError when it names nothing, or a commit that is not on the runs branch.
    """
    import re

    text = rev.strip()
    commit = gitio.resolve_commit(store.repo, text) if text and not text.startswith("-") else None
    if commit is None and (re.match(r"\d{4}-\d\d-\d\d", text) or text.endswith(_DATE_WORDS)):
        if store.exists():
            found = gitio.rev_list(store.repo, "-1", f"--before={text}", store.runs_ref)
            commit = found[0] if found else None
            if commit is None:
                raise GitcfgError(f"the runs branch has no commit before {rev!r}")
    if commit is None:
        raise GitcfgError(
            f"--at {rev!r} names no commit; give a runs-branch commit, "
            f"{store.runs_branch}~3 or a date such as 2026-12-01"
        )
    tip = store.tip()
    if tip is None or not gitio.is_ancestor(store.repo, commit, tip):
        raise GitcfgError(
            f"--at {rev!r} ({commit[:10]}) is not a commit of the runs branch {store.runs_branch}; "
            f"`git log {store.runs_branch}` lists them"
        )
    return commit


def run_at(store: Store, run_id_prefix: str, rev: str) -> tuple[RunRecord, str]:
    """The run as it stood at runs-branch revision `rev` (removed runs too), and that commit."""
    commit = resolve_runs_revision(store, rev)
    run_id = _resolve_in_history(store, run_id_prefix)
    try:
        return store.read_run(run_id, at=commit), commit
    except RunNotFound:
        raise GitcfgError(
            f"run {run_id} is not on the runs branch at {rev!r} ({commit[:10]}); "
            f"`gitcfg history {run_id[:10]}` lists its versions"
        ) from None


# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    runs_commit: str
    author: str  # "Name <email>"
    date: str  # ISO 8601, the author's offset
    action: str  # "run" (written by the recording process), "amend", "rm", "restore" or "merge"
    what: str  # `finished (exit 0)`, `set lr=0.001, tag leak`, the merge's line about this run
    why: str  # the reason given (-m), "" when none


def run_history(store: Store, run_id_prefix: str) -> tuple[str, list[HistoryEntry]]:
    """Every commit that changed a run, oldest first: (the full run id, entries).

    Resolves removed runs too (through their `rm` commit). Merges are listed when they had to
    reconcile changes to this run made on two machines; plain arrivals are not.
    """
    run_id = _resolve_in_history(store, run_id_prefix)
    return run_id, runs_history(store, [run_id])[run_id]


def runs_history(store: Store, run_ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
    """run_history of each of `run_ids` (full ids), with one `git log` for all of them."""
    if not store.exists():
        raise RunNotFound(run_ids[0] if run_ids else "")
    # The current place; FORMAT 1's too when history from before a migration may hold the run.
    directories = {run_dir(run_id): run_id for run_id in run_ids}
    logged = gitio.log_paths(store.repo, store.runs_ref, *directories)
    if _older_places_needed(entry for entry, _ in logged):
        directories = {p: run_id for run_id in run_ids for p in run_dir_candidates(run_id)}
        logged = gitio.log_paths(store.repo, store.runs_ref, *directories)
    found: dict[str, list[HistoryEntry]] = {run_id: [] for run_id in run_ids}
    for log_entry, paths in reversed(logged):
        if log_entry.message.startswith(MIGRATE_SUBJECT):  # moved the runs, changed nothing
            continue
        parsed = parse_message(log_entry.message)
        author = f"{log_entry.author_name} <{log_entry.author_email}>"
        action = parsed.verb or "git"

        changed: list[tuple[str, str, str]] = []  # (run id, what, why)
        if parsed.verb == "merge":  # listed for the runs its message names
            for run_id in run_ids:
                line = next((ln for ln in parsed.why.splitlines() if run_id in ln), None)
                if line is not None:
                    changed.append((run_id, line.strip(), ""))
        elif len(run_ids) == 1:  # git listed it for this run's directory (a plain merge too)
            changed.append((run_ids[0], parsed.what, parsed.why))
        else:  # gitcfg's own commits, and any made with plain git on the branch
            changed += [(r, parsed.what, parsed.why) for r in _owners(paths, directories)]
        for run_id, what, why in changed:
            found[run_id].append(
                HistoryEntry(log_entry.commit, author, log_entry.authored_at, action, what, why)
            )
    return found


def _owners(paths: Iterable[str], directories: Mapping[str, str]) -> list[str]:
    """The runs (directory -> run id) whose directories hold any of `paths`, in first-seen order."""
    owners: dict[str, None] = {}
    for path in paths:
        head = path
        while "/" in head:
            head = head.rpartition("/")[0]
            if head in directories:
                owners[directories[head]] = None
                break
    return list(owners)


def as_recorded(store: Store, run_id: str) -> RunRecord:
    """The run as its recording process last wrote it, before any amendment.

    That is the newest `run <id>: ...` commit (start, end, or crash recovery); amendments come only
    after the run ended. RunNotFound when no such commit is reachable.
    """
    for log_entry in _run_log(store, run_id):
        parsed = parse_message(log_entry.message)
        if parsed.verb == "run" and parsed.run_id == run_id:
            return store.read_run(run_id, at=log_entry.commit)
    raise RunNotFound(run_id)


def _run_log(store: Store, run_id: str) -> list[gitio.LogEntry]:
    if not store.exists():
        raise RunNotFound(run_id)
    # A path-limited log: with the commit-graph's changed-path Bloom filters (gitio.maintain) it
    # skips the commits that do not touch the run without reading their trees (3.1 s -> 0.4 s at
    # 100,000 runs). A branch that has none yet (older, or fetched) gets one in the background.
    gitio.keep_healthy(store.repo)
    entries = gitio.log_entries(store.repo, store.runs_ref, run_dir(run_id))
    if _older_places_needed(entries):
        entries = gitio.log_entries(store.repo, store.runs_ref, *run_dir_candidates(run_id))
    return entries


def _older_places_needed(entries: Iterable[gitio.LogEntry]) -> bool:
    """Whether a run's history may also be in FORMAT 1's place: its log in the current place
    (newest first) is empty, holds a migration or a merge (which may have brought a FORMAT 1
    side's commits), or does not begin with the recording process's own commit (a run removed
    before a migration, then restored). One pathspec otherwise: git 2.39 reads the
    commit-graph's Bloom filters for one only."""
    oldest = None
    for entry in entries:
        if entry.message.startswith(MIGRATE_SUBJECT) or len(entry.parents) > 1:
            return True
        oldest = entry
    return oldest is None or parse_message(oldest.message).verb != "run"


def _resolve_in_history(store: Store, run_id_prefix: str) -> str:
    try:
        return resolve_run(store, run_id_prefix)
    except RunNotFound:
        prefix = run_id_prefix.strip()
        if is_run_id_prefix(prefix.lower()):
            prefix = prefix.lower()
        elif not all(c.isalnum() or c in "_.-" for c in prefix):  # not an id track(id=) takes
            raise
        if not prefix or not store.exists():
            raise
    # Every commit gitcfg writes about a run carries `Run-Id: <id>` (one per run it changed).
    pattern = "^Run-Id: " + prefix.replace(".", "[.]")  # a chosen id may hold a `.`
    mentioned = gitio.log_entries(store.repo, store.runs_ref, grep=pattern)
    matches = sorted(
        {r for e in mentioned for r in parse_message(e.message).run_ids if r.startswith(prefix)}
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        from gitcfg.errors import AmbiguousRun

        raise AmbiguousRun(run_id_prefix, matches)
    raise RunNotFound(run_id_prefix)
