"""A run as one flat row: the shape that `--where`, `--group-by`, the cache and the reports share.

    {"id": ..., "name": ..., "status": ..., ...RUN_FIELDS,
     "config.lr": 0.001, "config.model.depth": 18, "summary.val_acc": 0.91}

Run fields are unprefixed (they win over a config key of the same name, see resolve_key);
nested config and summary mappings become dotted keys; an empty mapping stays a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from gitcfg.errors import UnknownKey

# Re-exported (their home is inert.py, at the bottom of the import graph).
from gitcfg.inert import inert as inert
from gitcfg.inert import inert_json as inert_json
from gitcfg.inert import inert_lines as inert_lines

# Re-exported (their home is runfile): the run fields of a row, in row order, and the script's name.
from gitcfg.runfile import ROW_FIELDS, row_fields
from gitcfg.runfile import script_in_repo as script_in_repo

RUN_FIELDS = ROW_FIELDS

# The run fields that tell runs of one repository apart (wandb's project, entity, job_type, group,
# and the script that ran): `gitcfg log` shows each as a column when it varies across the runs.
LABEL_FIELDS = ("group", "project", "entity", "job_type", "script")


Row = Mapping[str, object]
PREFIXES = ("config.", "summary.")  # tried in this order after the key as written


def resolve_key(row_keys: Iterable[str] | Mapping[str, object], key: str) -> str | None:
    """Return the row key `key` names: `key` itself, else `config.<key>`, else `summary.<key>`."""
    known = row_keys if isinstance(row_keys, (Mapping, AbstractSet)) else set(row_keys)
    for candidate in (key, *(prefix + key for prefix in PREFIXES)):
        if candidate in known:
            return candidate
    return None


def short_key(key: str, row_keys: Iterable[str]) -> str:
    """Return the shortest name that resolves to the row key `key` (`config.lr` -> `lr`)."""
    known = row_keys if isinstance(row_keys, AbstractSet) else set(row_keys)
    for prefix in PREFIXES:
        if key.startswith(prefix) and resolve_key(known, key[len(prefix) :]) == key:
            return key[len(prefix) :]
    return key


def close_keys(key: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Return up to `limit` names close to `key`, in the shortest form that resolves to each."""
    known_set = set(known)
    names: dict[str, str] = {}  # a name to compare -> the form to suggest
    for row_key in sorted(known_set):
        short = short_key(row_key, known_set)
        names.setdefault(row_key, short)
        names.setdefault(short, short)
    import difflib  # here: only a key that resolves to nothing needs it

    matches = difflib.get_close_matches(key, list(names), n=limit * 2, cutoff=0.6)
    suggestions: list[str] = []
    for match in matches:
        if names[match] not in suggestions and names[match] != key:
            suggestions.append(names[match])
    return suggestions[:limit]


def require_key(known: Iterable[str], key: str, option: str) -> str:
    """Return the row key `key` resolves to; raise UnknownKey with close names when none does."""
    known_set = set(known)
    resolved = resolve_key(known_set, key)
    if resolved is None:
        raise UnknownKey(key, close_keys(key, known_set), option)
    return resolved


_LEAVES = frozenset((int, float, str, bool, type(None), list))


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"depth": 18}} -> {"model.depth": 18}; empty mappings stay as values."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if type(value) in _LEAVES:  # most values: skip the slower isinstance(value, Mapping)
            out[name] = value
        elif isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def run_row(
    run_id: str, meta: Mapping[str, Any], config: Mapping[str, Any], summary: Mapping[str, Any]
) -> dict[str, Any]:
    """One run as a flat row: run fields (runfile.row_fields), `config.<dotted key>`,
    `summary.<dotted metric>`."""
    row = row_fields(run_id, meta)
    row.update(flatten(config, "config."))
    row.update(flatten(summary, "summary."))
    return row


def runs_phrase(count: int) -> str:
    """`1 run`, `3 runs`."""
    return f"{count} run" if count == 1 else f"{count} runs"
