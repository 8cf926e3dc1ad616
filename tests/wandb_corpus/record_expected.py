"""Write each corpus script's ported.py and expected.json (what wandb records for the script).

Needs wandb (not run by CI, not a gitcfg dependency): in a separate virtual environment,

    python -m venv /tmp/wbvenv
    /tmp/wbvenv/bin/pip install wandb==0.30.0 numpy pillow "torch==2.13.0+cpu" gymnasium tensorboard
    /tmp/wbvenv/bin/python tests/wandb_corpus/record_expected.py [NAME ...]

(pillow: wandb.Image of an array; torch: wandb.watch needs a torch module; gymnasium and
tensorboard: wandb.init(monitor_gym=True, sync_tensorboard=True) import them.) For each directory
here holding an orig_wandb.py (or the NAMEs given), it

1. writes ported.py: orig_wandb.py with the mechanical change only (`port()`: the module name
   `wandb` becomes `gitcfg`, and `wandb.init(` becomes `gitcfg.track(`; other things named wandb,
   strings and comments untouched);
2. runs orig_wandb.py with this interpreter in a fresh temporary directory with
   `WANDB_MODE=offline` and the arguments of its `# argv:` header line;
3. reads the run's transaction log (`wandb/offline-run-*/run-*.wandb`: LevelDB log blocks, each
   record a `wandb_internal_pb2.Record`, parsed with wandb's own protobuf classes) and writes
   expected.json: run fields, config, summary, history rows, saved files, metric definitions.
   An offline run of wandb 0.30 leaves no files/config.yaml or files/wandb-summary.json (only
   requirements.txt), and 0.30 has no Python reader of the log: the log is the record.

`port()` and `script_argv()` need no wandb: tests/test_wandb_corpus.py uses them too.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent
# Each script's first line: the page it is modeled on (no code of it is copied).
SOURCE_HEADER = "# Modeled on the wandb usage of "
WANDB_VERSION = "0.30.0"
# Keys wandb adds to every run by itself: not the script's record (see test_wandb_corpus.py).
INTERNAL_CONFIG_KEYS = {"_wandb"}
INTERNAL_SUMMARY_KEYS = {"_wandb", "_runtime", "_timestamp", "_step"}
INTERNAL_ROW_KEYS = {"_runtime", "_timestamp"}
# Random per run (a fresh artifact id each time): left out so expected.json is reproducible.
RANDOM_MEDIA_KEYS = {"artifact_path", "_latest_artifact_path"}
RANDOM_RUN_ID = re.compile(r"[a-z0-9]{8}")  # what wandb generates when the script sets no id
# Files wandb writes into every run by itself, and media files (compared through the rows).
INTERNAL_FILES = {
    "requirements.txt",
    "wandb-metadata.json",
    "config.yaml",
    "wandb-summary.json",
    "output.log",
    "diff.patch",
}


def port(source: str) -> str:
    """The mechanical port: the module name `wandb` becomes `gitcfg`, and `wandb.init` becomes
    `gitcfg.track`. Other things called wandb stay: an attribute (`args.wandb`), a field or
    annotation (`wandb: WandBConfig`), a keyword argument (`f(wandb=...)`), strings, comments."""
    tokens = [
        tok
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type not in (tokenize.NL, tokenize.COMMENT)
    ]
    edits: list[tuple[int, int, int, str]] = []  # (row, col, length, replacement)
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type == tokenize.STRING and _F_PREFIX.match(tok.string):
            edits += _fstring_edits(tok)
        if tok.type != tokenize.NAME or tok.string != "wandb":
            continue
        before = tokens[i - 1].string if i else ""
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if before == "." or (after == ":" and depth == 0) or (after == "=" and depth > 0):
            continue
        edits.append((*tok.start, len("wandb"), "gitcfg"))
        if after == "." and i + 2 < len(tokens) and tokens[i + 2].string == "init":
            edits.append((*tokens[i + 2].start, len("init"), "track"))
    lines = source.splitlines(keepends=True)
    for row, col, length, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[col + length :]
    return "".join(lines)


_F_PREFIX = re.compile(r"[rRbBuU]?[fF]")
_MODULE_NAME = re.compile(r"(?<![\w.])wandb\b(?=\s*\.)")


def _fstring_edits(tok: tokenize.TokenInfo) -> list[tuple[int, int, int, str]]:
    """`wandb.X` inside the replacement fields of an f-string (one STRING token before 3.12)."""
    edits = []
    text = tok.string
    row, line_start = tok.start[0], -tok.start[1]  # column = index - line_start
    depth, index = 0, 0
    while index < len(text):
        char = text[index]
        if char == "\n":
            row, line_start = row + 1, index + 1
        elif depth == 0 and text.startswith(("{{", "}}"), index):
            index += 2  # a literal brace
            continue
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth and _MODULE_NAME.match(text, index):
            edits.append((row, index - line_start, len("wandb"), "gitcfg"))
        index += 1
    return edits


def script_argv(script: Path) -> list[str]:
    """The arguments of the script's `# argv: ...` header line (none without one)."""
    for line in script.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# argv:"):
            return shlex.split(line[len("# argv:") :])
    return []


def corpus_names() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/orig_wandb.py"))


# --- reading wandb's transaction log ---------------------------------------------------------

_BLOCK = 32768
_HEADER = struct.Struct("<IHB")  # crc32, length, chunk type (1 full, 2 first, 3 middle, 4 last)


def log_records(path: Path) -> list[bytes]:
    """The records of a .wandb file: a 7-byte file header (":W&B", magic 0xBEE1, version), then
    LevelDB log blocks of 32 KiB, a record split into chunks where it crosses a block."""
    data = path.read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:7])
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path}: not a wandb transaction log")
    records, pending, pos = [], b"", 7
    while pos + _HEADER.size <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER.size:  # the rest of a block too short for a header is padding
            pos += left
            continue
        _crc, length, kind = _HEADER.unpack_from(data, pos)
        if kind == 0:
            pos += left
            continue
        chunk = data[pos + _HEADER.size : pos + _HEADER.size + length]
        pos += _HEADER.size + length
        if kind == 1:
            records.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            records.append(pending + chunk)
            pending = b""
    return records


def _item_path(item: Any) -> list[str]:
    return list(item.nested_key) or [item.key]


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[path[-1]] = value


def _del_path(target: dict[str, Any], path: list[str]) -> None:
    for part in path[:-1]:
        target = target.get(part)
        if not isinstance(target, dict):
            return
    target.pop(path[-1], None)


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; a media value (a dict with `_type`) stays one value."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value and "_type" not in value:
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, dict) and "_type" in value:
            out[f"{prefix}{key}"] = {k: v for k, v in value.items() if k not in RANDOM_MEDIA_KEYS}
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_run(path: Path) -> dict[str, Any]:
    """What wandb recorded in one transaction log."""
    from google.protobuf.json_format import MessageToDict
    from wandb.proto import wandb_internal_pb2 as pb

    run_fields: dict[str, Any] = {}
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    files: list[str] = []
    metrics: list[dict[str, Any]] = []
    for raw in log_records(path):
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":  # the first at init; another whenever a run field changes
            run = record.run
            run_fields = {
                "id": run.run_id,
                "name": run.display_name or None,
                "group": run.run_group or None,
                "tags": list(run.tags),
                "notes": run.notes or None,
                "project": run.project or None,
                "entity": run.entity or None,
                "job_type": run.job_type or None,
            }
            for item in run.config.update:
                _set_path(config, _item_path(item), json.loads(item.value_json))
        elif kind == "config":
            for item in record.config.update:
                _set_path(config, _item_path(item), json.loads(item.value_json))
            for item in record.config.remove:
                _del_path(config, _item_path(item))
        elif kind == "summary":
            for item in record.summary.update:
                _set_path(summary, _item_path(item), json.loads(item.value_json))
            for item in record.summary.remove:
                _del_path(summary, _item_path(item))
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _set_path(row, _item_path(item), json.loads(item.value_json))
            history.append({k: v for k, v in flatten(row).items() if k not in INTERNAL_ROW_KEYS})
        elif kind == "files":
            files.extend(f.path for f in record.files.files)
        elif kind == "metric" and not record.metric.expanded_from_glob:
            # the script's define_metric calls (wandb-core adds one per key a glob matches, in no
            # fixed order: left out)
            metrics.append(MessageToDict(record.metric, preserving_proto_field_name=True))
    for row in history:
        _attach_tables(row, path.parent / "files")
    for key in INTERNAL_CONFIG_KEYS:
        config.pop(key, None)
    summary = {k: v for k, v in summary.items() if k not in INTERNAL_SUMMARY_KEYS}
    if not run_fields.get("id") or RANDOM_RUN_ID.fullmatch(run_fields["id"]):
        run_fields["id"] = None  # generated by wandb: nothing to compare
    return {
        "run": run_fields,
        "config": config,
        "summary": flatten(summary),
        "history": history,
        "files": sorted(
            {f for f in files if f not in INTERNAL_FILES and not f.startswith(("media/", "code/"))}
        ),
        "metrics": metrics,
    }


def _attach_tables(row: dict[str, Any], files: Path) -> None:
    """A logged table's columns and rows (the JSON file wandb wrote) go into its row value as
    `columns` and `data`, so the test can compare the table's content too."""
    for value in row.values():
        if isinstance(value, dict) and value.get("_type") == "table-file":
            table = json.loads((files / value["path"]).read_text())
            value.update(columns=table["columns"], data=table["data"])


def record(name: str) -> dict[str, Any]:
    """Port and run one corpus script with wandb; write and return its expected.json."""
    import wandb

    if wandb.__version__ != WANDB_VERSION:
        raise SystemExit(f"needs wandb {WANDB_VERSION}, this is {wandb.__version__}")
    directory = CORPUS / name
    orig = directory / "orig_wandb.py"
    (directory / "ported.py").write_text(port(orig.read_text()))
    argv = script_argv(orig)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        env = dict(
            os.environ,
            WANDB_MODE="offline",
            WANDB_SILENT="true",
            WANDB_DIR=str(workdir),
            WANDB_CONFIG_DIR=str(Path(tmp) / "config"),
            WANDB_CACHE_DIR=str(Path(tmp) / "cache"),
            HOME=tmp,
            PYTHONHASHSEED="0",
        )
        proc = subprocess.run(
            [sys.executable, str(orig), *argv],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        logs = sorted(workdir.rglob("offline-run-*/run-*.wandb"))
        if proc.returncode != 0 or len(logs) != 1:
            raise SystemExit(
                f"{name}: exit {proc.returncode}, {len(logs)} runs\n{proc.stdout}\n{proc.stderr}"
            )
        expected = {
            "source": _source_url(orig),
            "recorded_with": f"wandb {WANDB_VERSION}, WANDB_MODE=offline",
            "argv": argv,
            "exit_code": proc.returncode,
            **read_run(logs[0]),
        }
    (directory / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    return expected


def _source_url(script: Path) -> str:
    first = script.read_text().splitlines()[0]
    return first.removeprefix(SOURCE_HEADER).split()[0]


def main(names: list[str]) -> None:
    for name in names or corpus_names():
        expected = record(name)
        print(f"{name}: {len(expected['history'])} rows, {len(expected['config'])} config keys")


if __name__ == "__main__":
    main(sys.argv[1:])
