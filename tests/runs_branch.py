"""Runs branches built with `git fast-import` and PyYAML, not with gitcfg, for query tests.

A run is a dict: {"id", "meta" (run.yaml), "config", "summary", "metrics" (list of rows), "patch"}.
`make_run(i, ...)` returns a realistic finished one; `write_runs` commits runs (adding or replacing
their directories) on top of the branch; `remove_runs` deletes directories.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REF = "refs/heads/gitcfg-runs"
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
EPOCH = 1_577_836_800  # gitcfg's id epoch: 2020-01-01
_rng = random.Random(7)


def run_id(seconds: int, rng: random.Random = _rng) -> str:
    """A valid 20-character run id: 7 base32 chars of seconds since 2020, 13 random chars."""
    head = ""
    for _ in range(7):
        head = ALPHABET[seconds % 32] + head
        seconds //= 32
    return head + "".join(rng.choice(ALPHABET) for _ in range(13))


def run_dir(rid: str) -> str:
    """The run's directory in gitcfg's current layout (tests/test_layout_migration.py builds
    FORMAT 1 branches)."""
    from gitcfg.store import run_dir as current_run_dir

    return current_run_dir(rid)


def iso(seconds: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(EPOCH + seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def make_run(
    i: int,
    config: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    *,
    status: str = "finished",
    commit: str | None = None,
    seconds: int | None = None,
    metrics: list[dict[str, Any]] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    """Run number `i` (later i = newer): lr/seed/batch/model.depth config, val_acc/train_loss summary."""
    seconds = 200_000_000 + i if seconds is None else seconds
    rid = run_id(seconds)
    lr = [0.001, 0.003, 0.01, 0.03][i % 4]
    config = (
        dict(config)
        if config is not None
        else {
            "lr": lr,
            "seed": i % 3,
            "batch": 32,
            "model": {"depth": 18, "name": "resnet"},
        }
    )
    summary = (
        dict(summary)
        if summary is not None
        else {
            "val_acc": round(0.5 + lr * 10 + (i % 3) * 0.01, 4),
            "train_loss": round(1 - lr * 10, 4),
        }
    )
    run_meta = {
        "id": rid,
        "name": f"run-{i}",
        "status": status,
        "started_at": iso(seconds),
        "ended_at": iso(seconds + 60),
        "duration_s": 60.0,
        "host": "box",
        "user": "ada",
        "tags": [],
        "exit_code": 0 if status == "finished" else 1,
        "code": {"commit": commit, "branch": "main", "dirty": False},
    }
    run_meta.update(meta)
    return {
        "id": rid,
        "meta": run_meta,
        "config": config,
        "summary": summary,
        "metrics": metrics if metrics is not None else [],
        "patch": None,
    }


def _dump(value: Any) -> bytes:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).encode()


def run_files(run: Mapping[str, Any]) -> dict[str, bytes]:
    base = run_dir(run["id"])
    files = {
        f"{base}/run.yaml": _dump(run["meta"]),
        f"{base}/config.yaml": _dump(run["config"]),
        f"{base}/summary.yaml": _dump(run["summary"]),
        f"{base}/metrics.jsonl": b"".join(
            json.dumps(row).encode() + b"\n" for row in run["metrics"]
        ),
    }
    if run.get("patch"):
        files[f"{base}/diff.patch"] = run["patch"]
    return files


def commit(repo: Path, files: Mapping[str, bytes | None], message: str = "test runs") -> str:
    """One fast-import commit on the runs branch (created if missing): path -> bytes, None deletes."""
    tip = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", REF], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    msg = message.encode()
    parts = [
        b"commit %s\ncommitter t <t@t> 1700000000 +0000\ndata %d\n%s\n"
        % (REF.encode(), len(msg), msg)
    ]
    if tip:
        parts.append(b"from %s\n" % tip.encode())
    else:
        from gitcfg.store import FORMAT_VERSION

        files = {"README.md": b"runs\n", "FORMAT": b"%d\n" % FORMAT_VERSION, **files}
    for path, data in files.items():
        if data is None:
            parts.append(b"D %s\n" % path.encode())
        else:
            parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
    parts.append(b"done\n")
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=repo,
        input=b"".join(parts),
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        ["git", "rev-parse", REF], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def write_runs(repo: Path, runs: Iterable[Mapping[str, Any]], message: str = "test runs") -> str:
    files: dict[str, bytes | None] = {}
    for run in runs:
        files.update(run_files(run))
    return commit(repo, files, message)


def remove_runs(repo: Path, run_ids: Iterable[str]) -> str:
    return commit(repo, {run_dir(rid): None for rid in run_ids}, "remove runs")
