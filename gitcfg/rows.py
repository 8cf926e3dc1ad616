"""A run as one flat row: the shape that `--where`, `--group-by`, the cache and the reports share.

    {"id": ..., "name": ..., "status": ..., ...RUN_FIELDS,
     "config.lr": 0.001, "config.model.depth": 18, "summary.val_acc": 0.91}

Run fields are unprefixed (they win over a config key of the same name, see where.resolve_key);
nested config and summary mappings become dotted keys; an empty mapping stays a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
