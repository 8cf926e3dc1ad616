"""How `gitcfg show` renders: the run document (YAML for people, then any traceback; yaml or json),
its logged metrics (JSON lines), its saved files (names, or one file's bytes)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from gitcfg import runfile
from gitcfg.cli.app import echo

if TYPE_CHECKING:
    from gitcfg.store import RunRecord


def print_run(record: RunRecord, config_only: bool, summary_only: bool, output: str | None) -> None:
    """`gitcfg show RUN`: the run, or only its config or summary."""
    typer.echo(show_text(show_document(record, config_only, summary_only), output), nl=False)


def print_metrics(rows: Sequence[Mapping[str, Any]], output: str | None) -> None:
    """`show --metrics`: one JSON object per line, or one JSON list (`--format json`)."""
    if output == "json":
        echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            echo(json.dumps(row))


def print_followed(rows: Iterable[Mapping[str, Any]]) -> None:
    """`show --metrics --follow`: each row as one JSON line as it comes (as metrics.jsonl has it)."""
    from gitcfg.journal import encode_row
    from gitcfg.rows import inert_json

    for row in rows:
        echo(inert_json(encode_row(row)))


def print_file_names(names: Iterable[str]) -> None:
    """`show --files`: the saved files' names, one a line."""
    for name in names:
        echo(name)


def write_file(content: bytes) -> None:
    """`show --file NAME`: the file's bytes as saved (as git prints a blob)."""
    sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()


def show_document(record: RunRecord, config_only: bool, summary_only: bool) -> dict[str, Any]:
    """What `gitcfg show` prints: the run (run, config, summary), or only its config or summary."""
    if not (config_only or summary_only):
        return {"run": record.meta, "config": record.config, "summary": record.summary}
    parts: dict[str, Any] = {}
    if config_only:
        parts["config"] = record.config
    if summary_only:
        parts["summary"] = record.summary
    return next(iter(parts.values())) if len(parts) == 1 else parts


def show_text(document: dict[str, Any], output: str | None) -> str:
    """The document as `--format json`, `yaml`, or for people (None): YAML, then a failed run's
    traceback as Python prints one, not as a YAML string of escapes (yaml/json keep it in
    run.error.traceback). Control characters escaped, but in the YAML (it quotes them itself)."""
    from gitcfg.rows import inert_lines
    from gitcfg.yamlio import dump_yaml

    if output == "json":
        return inert_lines(json.dumps(document, indent=2, default=str)) + "\n"
    if output is not None or "run" not in document:
        return str(dump_yaml(document))
    meta, traceback = document["run"], None
    error = meta.get(runfile.ERROR) if isinstance(meta, dict) else None
    if isinstance(error, dict) and isinstance(error.get("traceback"), str):
        traceback = error["traceback"]
        error = {key: value for key, value in error.items() if key != "traceback"}
        document = {**document, "run": {**meta, "error": error}}
    text = str(dump_yaml(document))
    if traceback:  # control characters escaped: a traceback may quote any string
        text += inert_lines("\n" + inert_lines(traceback).rstrip("\n")) + "\n"
    return text
