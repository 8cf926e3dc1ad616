"""How `gitcfg diff` renders: the two runs' differing keys side by side (rich), or a json document."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from gitcfg import query
from gitcfg.cli.app import echo
from gitcfg.rows import inert, inert_json
from gitcfg.values import format_value

if TYPE_CHECKING:
    from rich.console import Console

    from gitcfg.query import EnvDiff, RunDiff


def diff_document(
    changes: RunDiff, environment: EnvDiff | None, patch: bytes | None
) -> dict[str, Any]:
    """`gitcfg diff --format json`: each section a list of {key, a, b} (a side absent: no key)."""
    document: dict[str, Any] = {"a": changes.a.id, "b": changes.b.id}
    for section in ("config", "summary", "run"):
        document[section] = [_json_change(*change) for change in getattr(changes, section)]
    if patch is not None:
        document["code"] = patch.decode(errors="replace")
    if environment is not None:
        packages = [
            {"change": query.package_change(left, right), **_json_change(name, left, right)}
            for name, left, right in environment.packages
        ]
        document["env"] = {
            "run": [_json_change(*change) for change in environment.run],
            "packages": packages,
            "unrecorded": list(environment.unrecorded),
        }
    return document


def _json_change(key: str, left: object, right: object) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key}
    if left is not query.MISSING:
        out["a"] = left
    if right is not query.MISSING:
        out["b"] = right
    return out


def print_diff(
    console: Console,
    output: str,
    changes: RunDiff,
    environment: EnvDiff | None,
    patch: bytes | None,
) -> None:
    """`gitcfg diff`: as json (diff_document), or the differing keys of both runs side by side,
    then the environment's and the code's difference (the patch written to stdout as git wrote
    it)."""
    if output == "json":
        document = diff_document(changes, environment, patch)
        echo(inert_json(json.dumps(document, indent=2, ensure_ascii=False, default=str)))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("", overflow="fold")
    for record in (changes.a, changes.b):
        header = f"{record.id[:10]} {record.name or ''}".strip()
        table.add_column(escape(inert(header)), overflow="fold")
    sections = [("config", changes.config), ("summary", changes.summary), ("run", changes.run)]
    if environment is not None:
        sections.append(("environment", environment.run + environment.packages))
    for title, changed in sections:
        if not changed:
            continue
        table.add_row(f"[bold]{title}[/bold]", "", "")
        for key, left, right in changed:
            table.add_row(f"  {escape(inert(key))}", _side(left), _side(right))
    if not any(changed for _, changed in sections):
        console.print("same config, summary and run fields")
    else:
        console.print(table, highlight=False)
    if not changes.config:
        console.print("[dim]config: identical[/dim]", highlight=False)
    if environment is not None:
        console.print(_env_summary(environment), highlight=False)
    if patch is not None:
        console.file.flush()
        if patch:
            sys.stdout.write("\n")
            sys.stdout.flush()
            sys.stdout.buffer.write(patch)
            sys.stdout.flush()
        else:
            console.print("code: identical (same commit and patch)")


def _side(value: object) -> str:
    """A value as `diff` shows it: exact (these are the values that differ), markup escaped."""
    from rich.markup import escape

    if value is query.MISSING:
        return "[dim](missing)[/dim]"
    return escape(inert(format_value(value, None)))


def _env_summary(environment: EnvDiff) -> str:
    """`packages: 1 added, 2 changed`, `environment: identical`, or which run has no list."""
    if environment.unrecorded:
        ids = " and ".join(run_id[:10] for run_id in environment.unrecorded)
        return f"packages: not recorded for {ids} (recorded before gitcfg listed packages)"
    counts = query.package_counts(environment)
    if not any(counts.values()) and not environment.run:
        return "[dim]environment: identical (same packages, Python and platform)[/dim]"
    parts = [f"{n} {what}" for what, n in counts.items() if n]
    return "packages: " + (", ".join(parts) if parts else "identical")
