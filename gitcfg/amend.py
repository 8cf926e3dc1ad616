"""Amendments and history: change a finished run in one commit; the runs branch keeps every version.

An amendment rewrites the run's files (config.yaml, summary.yaml, run.yaml) in one new commit on the
runs branch, `amend <id>: set lr=0.001` with the reason as its body and `Run-Id:`/`Amended-By:`
trailers. run.yaml gains an `amendments` list (when, who, why, what, with the values replaced) and
`config_sources` marks each changed top-level key `amended`. `gitcfg rm` deletes the run directory in
a commit. Nothing is rewritten: `git log --full-history` over the run's directory is its history, and
the newest `run <id>: ...` commit (written by the recording process) holds the run as recorded.
"""

from __future__ import annotations

import copy
import difflib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitcfg import gitio
from gitcfg.cache import resolve_run
from gitcfg.errors import BadAmendment, RunNotFound, RunsBranchMoved, RunStillRunning
from gitcfg.store import (
    RunRecord,
    Store,
    commit_message,
    is_run_id_prefix,
    parse_message,
    run_dir,
    run_files,
    utc_iso,
)
from gitcfg.yamlio import load_yaml

AMENDED = "amended"  # config_sources value of a top-level key an amendment changed
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
            raise BadAmendment(
                f"cannot read {text!r} as a YAML value ({reason}); quote it"
            ) from None
    return type_literal(text)


def render_value(value: Any) -> str:
    """The text that `parse_value` reads back as `value` (messages, `gitcfg history`)."""
    import yaml

    if isinstance(value, str) and value and value == value.strip() and "\n" not in value:
        try:
            if parse_value(value) == value:
                return value  # a bare word that stays a string
        except BadAmendment:
            pass
    text = yaml.dump(
        value,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        default_flow_style=True,
        default_style='"' if isinstance(value, str) else None,
        allow_unicode=True,
        width=1_000_000,
    )
    return text.removesuffix("\n").removesuffix("\n...")


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """`"model.depth=18"` -> `("model.depth", 18)`; BadAmendment without `=` or a key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise BadAmendment(f"{option} {text!r} needs KEY=VALUE, e.g. {option} lr=1e-3")
    return key.strip(), parse_value(value)


# --- applying an amendment (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amendment:
    """What to change in one run. Keys are dotted (`model.depth`) unless a mapping holds them whole."""

    set: Mapping[str, Any] = field(default_factory=dict)  # config key -> value
    unset: tuple[str, ...] = ()  # config keys to delete
    summary: Mapping[str, Any] = field(default_factory=dict)  # summary key -> value
    tags: tuple[str, ...] = ()  # tags to add
    untags: tuple[str, ...] = ()  # tags to remove
    note: str | None = None  # replaces run.yaml `notes` when not None ("" clears them)
    name: str | None = None  # renames the run when not None
    reason: str | None = None  # why: the commit body and the amendment record


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
    from gitcfg.configuration import Config, find_key, normalise_value, recorded_config

    meta = copy.deepcopy(dict(record.meta))
    config = copy.deepcopy(dict(record.config))
    summary = copy.deepcopy(dict(record.summary))
    sources = dict(meta.get("config_sources") or {})
    details: list[str] = []
    changes: list[str] = []

    def note_change(short: str, before: Any = ...) -> None:
        changes.append(short)
        details.append(short if before is ... else f"{short} (was {render_value(before)})")

    set_keys = []
    for key, raw in amendment.set.items():
        value = normalise_value(raw, key)
        assigned = _assign(config, key, value, "config")
        if assigned is not None:
            before, top = assigned
            sources[top] = AMENDED
            set_keys.append(key)
            note_change(f"set {key}={render_value(value)}", before)
    for key in amendment.unset:
        found = find_key(config, key)
        if found is None:
            raise BadAmendment(_missing_key(record.run_id, key, config))
        path, _ = found
        parent = config
        for name in path[:-1]:
            parent = parent[name]
        before = parent.pop(path[-1])
        if len(path) == 1:
            sources.pop(path[0], None)
        else:
            sources[path[0]] = AMENDED
        note_change(f"unset {key}", before)
    for key, raw in amendment.summary.items():
        value = normalise_value(raw, key)
        assigned = _assign(summary, key, value, "summary")
        if assigned is not None:
            note_change(f"summary {key}={render_value(value)}", assigned[0])
    tags = [str(t) for t in meta.get("tags") or []]
    for tag in amendment.untags:
        if tag not in tags:
            carried = ", ".join(tags) or "none"
            raise BadAmendment(
                f"run {record.run_id} has no tag {tag!r} to remove (its tags: {carried})"
            )
        tags.remove(tag)
        note_change(f"untag {tag}")
    for tag in amendment.tags:
        if tag not in tags:
            tags.append(tag)
            note_change(f"tag {tag}")
    if amendment.note is not None and (amendment.note or None) != meta.get("notes"):
        meta["notes"] = amendment.note or None
        note_change("note")
    if amendment.name is not None and amendment.name != meta.get("name"):
        note_change(f"name {amendment.name}", meta.get("name"))
        meta["name"] = amendment.name
    if not changes:
        raise BadAmendment(f"run {record.run_id} already holds these values; nothing to amend")

    recorded, masked_keys = recorded_config(Config(config))
    masked = tuple(key for key in set_keys if key in masked_keys)
    if masked:  # the messages must not carry the secret either
        changes = [_mask_change(text, masked) for text in changes]
        details = [_mask_change(text, masked) for text in details]
    meta["tags"] = tags
    meta["config_sources"] = sources
    entry: dict[str, Any] = {"at": amended_at, "by": amended_by}
    if amendment.reason:
        entry["reason"] = amendment.reason
    entry["changes"] = details
    meta["amendments"] = [*(meta.get("amendments") or []), entry]
    return AmendedRun(meta, recorded, summary, tuple(changes), tuple(details), masked)


def _assign(document: dict[str, Any], key: str, value: Any, what: str) -> tuple[Any, str] | None:
    """Set a dotted key; return (the value replaced or ..., the top-level key), None if unchanged.

    The key lands where the config's own writes put it (configuration.write_target), missing
    parent mappings made; a parent that is not a mapping is a BadAmendment.
    """
    from gitcfg.configuration import same_value, write_target

    parent, leaf, path = write_target(document, key, create_parents=True)
    head = leaf.partition(".")[0]
    if leaf not in parent and head in parent and head != leaf:  # a value, not a mapping, in the way
        where = ".".join((*path[:-1], head))
        raise BadAmendment(
            f"{what} key {where!r} holds {render_value(parent[head])}, not a mapping, so {key!r} "
            f"cannot be set; set {where!r} itself"
        )
    if leaf in parent and same_value(parent[leaf], value):
        return None
    before = parent.get(leaf, ...)
    parent[leaf] = value
    return before, path[0]


def _missing_key(run_id: str, key: str, config: Mapping[str, Any]) -> str:
    from gitcfg.configuration import dotted_keys

    near = difflib.get_close_matches(key, list(dotted_keys(config)), n=3)
    hint = (
        f"did you mean {' or '.join(map(repr, near))}?"
        if near
        else "`gitcfg show RUN --config` lists them"
    )
    return f"run {run_id} has no config key {key!r} to unset; {hint}"


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


# --- reading a run at any commit ------------------------------------------------------------------


# --- amend and rm ---------------------------------------------------------------------------------

Files = dict[str, bytes | None]  # branch path -> content, None deletes
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AmendResult:
    run_id: str
    runs_commit: str
    changes: tuple[str, ...]
    masked: tuple[str, ...]  # config keys stored masked because they look secret


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
        set=dict(set or {}), unset=tuple(unset), summary=dict(summary or {}), tags=tuple(tags),
        untags=tuple(untags), note=note, name=name, reason=reason,
    )  # fmt: skip

    def build(record: RunRecord, when: float, by: str) -> tuple[Files, str, AmendedRun]:
        amended = apply_amendment(record, amendment, amended_at=utc_iso(when), amended_by=by)
        files: Files = dict(run_files(amended.meta, config=amended.config, summary=amended.summary))
        subject = change_subject("amend", record.run_id, amended.changes)
        trailers = {"Run-Id": record.run_id, "Amended-By": by}
        return files, commit_message(subject, reason, trailers), amended

    run_id, runs_commit, amended = _commit_run_change(store, run_id, "amend", build, now)
    return AmendResult(run_id, runs_commit, amended.changes, amended.masked)


def remove_run(
    store: Store, run_id: str, *, reason: str | None = None, now: float | None = None
) -> str:
    """Delete a run's directory in one commit (`rm <id>: removed`); return the runs commit.

    The files stay in history: `gitcfg history` still lists the run, and `git show <commit>^:<path>`
    restores them. Raises RunStillRunning for a running run.
    """

    def build(record: RunRecord, when: float, by: str) -> tuple[Files, str, None]:
        base = run_dir(record.run_id)
        files: Files = {f"{base}/{name}": None for name in record.files}
        trailers = {"Run-Id": record.run_id, "Removed-By": by}
        return files, commit_message(f"rm {record.run_id}: removed", reason, trailers), None

    return _commit_run_change(store, run_id, "remove", build, now)[1]


def _commit_run_change(
    store: Store,
    run_id_prefix: str,
    action: str,
    build: Callable[[RunRecord, float, str], tuple[Files, str, T]],
    now: float | None,
) -> tuple[str, str, T]:
    """Read the finished run at the tip, build one commit from it, CAS it onto that tip; retry
    from a fresh read when another writer moved the branch. Returns (run id, runs commit, extra)."""
    run_id = resolve_run(store, run_id_prefix)
    identity = store.identity
    by = f"{identity.name} <{identity.email}>"
    for _ in range(gitio.MAX_RETRIES):
        tip = store.tip()
        record = _finished_run(store, run_id, tip, action)
        when = time.time() if now is None else now
        files, message, extra = build(record, when, by)
        try:
            runs_commit = gitio.commit_files(
                store.repo, store.runs_ref, files, message, identity, when=when, expected=tip
            )
        except RunsBranchMoved:
            continue
        return run_id, runs_commit, extra
    raise RunsBranchMoved(store.runs_ref)


def _finished_run(store: Store, run_id: str, tip: str | None, action: str) -> RunRecord:
    if tip is None:
        raise RunNotFound(run_id)
    record = store.read_run(run_id, at=tip, strict=True)  # damaged YAML fails, not wiped
    if record.status == "running":
        raise RunStillRunning(run_id, action, record.meta.get("pid"), record.meta.get("host"))
    return record


# --- history --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    runs_commit: str
    author: str  # "Name <email>"
    date: str  # ISO 8601, the author's offset
    action: str  # "run" (written by the recording process), "amend", "rm" or "merge"
    what: str  # `finished (exit 0)`, `set lr=0.001, tag leak`, the merge's line about this run
    why: str  # the reason given (-m), "" when none


def run_history(store: Store, run_id_prefix: str) -> tuple[str, list[HistoryEntry]]:
    """Every commit that changed a run, oldest first: (the full run id, entries).

    Resolves removed runs too (through their `rm` commit). Merges are listed when they had to
    reconcile changes to this run made on two machines; plain arrivals are not.
    """
    run_id = _resolve_in_history(store, run_id_prefix)
    entries = []
    for log_entry in reversed(_run_log(store, run_id)):
        parsed = parse_message(log_entry.message)
        if parsed.verb == "merge":
            line = next((ln for ln in parsed.why.splitlines() if run_id in ln), None)
            if line is None:
                continue
            what, why = line.strip(), ""
        else:  # gitcfg's own commits, and any made with plain git on the branch
            what, why = parsed.what, parsed.why
        author = f"{log_entry.author_name} <{log_entry.author_email}>"
        action = parsed.verb or "git"
        entries.append(
            HistoryEntry(log_entry.commit, author, log_entry.authored_at, action, what, why)
        )
    return run_id, entries


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
    return gitio.log_entries(store.repo, store.runs_ref, run_dir(run_id))


def _resolve_in_history(store: Store, run_id_prefix: str) -> str:
    try:
        return resolve_run(store, run_id_prefix)
    except RunNotFound:
        prefix = run_id_prefix.strip().lower()
        if not is_run_id_prefix(prefix) or not store.exists():
            raise
    removed = gitio.log_entries(store.repo, store.runs_ref, grep=f"^rm {prefix}")
    matches = sorted(
        {r for e in removed if (r := parse_message(e.message).run_id) and r.startswith(prefix)}
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        from gitcfg.errors import AmbiguousRun

        raise AmbiguousRun(run_id_prefix, matches)
    raise RunNotFound(run_id_prefix)
