"""A run as one flat row: the shape that `--where`, `--group-by`, the cache and the reports share.

    {"id": ..., "name": ..., "status": ..., ...RUN_FIELDS,
     "config.lr": 0.001, "config.model.depth": 18, "summary.val_acc": 0.91}

Run fields are unprefixed (they win over a config key of the same name, see where.resolve_key);
nested config and summary mappings become dotted keys; an empty mapping stays a value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

# The run fields of a row, in row order (run_row builds them from run.yaml).
RUN_FIELDS = ("id", "name", "status", "group", "project", "entity", "job_type", "script", "tags",
              "host", "user", "started", "ended", "duration_s", "code_commit", "code_branch",
              "dirty", "exit_code")  # fmt: skip
# The run fields that tell runs of one repository apart (wandb's project, entity, job_type, group,
# and the script that ran): `gitcfg log` shows each as a column when it varies across the runs.
LABEL_FIELDS = ("group", "project", "entity", "job_type", "script")


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"depth": 18}} -> {"model.depth": 18}; empty mappings stay as values."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def run_row(
    run_id: str, meta: Mapping[str, Any], config: Mapping[str, Any], summary: Mapping[str, Any]
) -> dict[str, Any]:
    """One run as a flat row: run fields, `config.<dotted key>`, `summary.<dotted metric>`."""
    code = meta.get("code")
    code = code if isinstance(code, Mapping) else {}
    tags = meta.get("tags")
    row: dict[str, Any] = {
        "id": run_id,
        "name": meta.get("name"),
        "status": str(meta.get("status", "unknown")),
        "group": meta.get("group"),
        "project": meta.get("project"),
        "entity": meta.get("entity"),
        "job_type": meta.get("job_type"),
        "script": script_in_repo(meta.get("script"), code.get("worktree")),
        "tags": list(tags) if isinstance(tags, (list, tuple)) else [],
        "host": meta.get("host"),
        "user": meta.get("user"),
        "started": meta.get("started_at"),
        "ended": meta.get("ended_at"),
        "duration_s": meta.get("duration_s"),
        "code_commit": code.get("commit"),
        "code_branch": code.get("branch"),
        "dirty": code.get("dirty"),
        "exit_code": meta.get("exit_code"),
        "rerun_of": meta.get("rerun_of"),  # the run `gitcfg rerun` re-ran
    }
    row.update(flatten(config, "config."))
    row.update(flatten(summary, "summary."))
    return row


def script_in_repo(script: Any, worktree: Any) -> Any:
    """run.yaml's script (an absolute path) relative to the worktree it ran in (`train.py`,
    `src/eval.py`), so `--where 'script == "train.py"'` works; other values as they are."""
    if isinstance(script, str) and isinstance(worktree, str) and worktree:
        prefix = worktree.rstrip("/\\") + "/"
        if script.startswith(prefix):
            return script[len(prefix) :]
    return script


def format_value(value: Any, digits: int | None = 4) -> str:
    """A value as a table cell or label: `0.001`, `true`, `–` for none, lists as JSON.

    Floats keep `digits` significant digits (metrics), or with digits=None their shortest exact
    form (`0.000123456`): config values and group labels, which must tell values apart.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return repr(value) if digits is None else f"{value:.{digits}g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
