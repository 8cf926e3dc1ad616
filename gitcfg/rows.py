"""A run as one flat row: the shape that `--where`, `--group-by`, the cache and the reports share.

    {"id": ..., "name": ..., "status": ..., ...RUN_FIELDS,
     "config.lr": 0.001, "config.model.depth": 18, "summary.val_acc": 0.91}

Run fields are unprefixed (they win over a config key of the same name, see where.resolve_key);
nested config and summary mappings become dotted keys; an empty mapping stays a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Re-exported (their home is runfile): the run fields of a row, in row order, and the script's name.
from gitcfg.runfile import ROW_FIELDS as RUN_FIELDS  # noqa: F401
from gitcfg.runfile import row_fields
from gitcfg.runfile import script_in_repo as script_in_repo

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


def inert(text: str, keep: str = "") -> str:
    """`text` as one inert line: every control character (C0, DEL, C1, line and paragraph
    separators, bidi and other format characters, lone surrogates) written as a visible escape,
    `\\x1b`, `\\n`, `\\u202e`, so a string from run data can neither move the cursor, set
    the clipboard (OSC 52), retitle the terminal nor break a line. Every renderer uses this;
    `keep` names characters left as they are (`"\\n\\t"` for a block of lines, as csv quotes)."""
    if text.isprintable() or (keep and _strip(text, keep).isprintable()):
        return text
    return "".join(_inert_char(char, keep) for char in text)


def inert_lines(text: str) -> str:
    """`text` with its line breaks and tabs kept, every other control character escaped (a
    traceback, a block of lines)."""
    return inert(text, "\n\t")


def inert_json(text: str) -> str:
    """JSON text (from json.dumps(..., ensure_ascii=False)) with the control characters json
    leaves raw (DEL, C1, U+2028, bidi controls, lone surrogates) as `\\u` escapes: the same
    document, inert on a terminal."""
    if text.replace("\n", " ").isprintable():
        return text
    return "".join(_json_char(char) for char in text)


def _json_char(char: str) -> str:
    import unicodedata

    if char == "\n" or unicodedata.category(char) not in _CONTROLS:
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _strip(text: str, chars: str) -> str:
    for char in chars:
        text = text.replace(char, " ")
    return text


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))  # unicodedata categories escaped


def _inert_char(char: str, keep: str) -> str:
    import unicodedata

    if char in keep or unicodedata.category(char) not in _CONTROLS:
        return char  # printable, or a space such as U+00A0 that moves nothing
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
