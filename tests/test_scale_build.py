"""tests/bench/scale_build.py builds runs branches gitcfg reads as it reads its own (issue 13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, git

sys.path.insert(0, str(ROOT / "tests" / "bench"))
import scale_build  # noqa: E402

N = 50


def gitcfg_cli(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", *args], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("one_commit,old_layout", [(False, False), (True, False), (False, True)])
def test_built_branch_reads_as_the_specs_say(
    tmp_path: Path, one_commit: bool, old_layout: bool
) -> None:
    built = scale_build.build(
        tmp_path / "repo", N, one_commit=one_commit, old_layout=old_layout, seed=3
    )
    specs = {spec.run_id: spec for spec in scale_build.runs(N, seed=3)}
    assert len(specs) == N
    commits = int(git(built.repo, "rev-list", "--count", scale_build.REF))
    assert built.commits == commits == (2 if one_commit else 1 + 2 * N)
    format_version = git(built.repo, "show", f"{scale_build.REF}:FORMAT")
    from gitcfg import store

    assert format_version == str(1 if old_layout else store.FORMAT_VERSION)

    import gitcfg

    runs = gitcfg.Api(str(built.repo)).runs()
    requirements = scale_build._Files("0" * 40, built.repo).requirements
    assert {run.id for run in runs} == set(specs)
    for run in runs:
        spec = specs[run.id]
        assert dict(run.config) == spec.config
        assert dict(run.summary) == spec.summary
        assert run.status == spec.status
        assert run.host == spec.host
        assert run.requirements() == requirements
        rows = run.metrics()
        assert len(rows) == scale_build.STEPS
        assert {m: rows[-1][m] for m in scale_build.METRICS} == spec.summary

    listed = json.loads(gitcfg_cli(built.repo, "log", "--format", "json", "--limit", "1000"))
    assert {row["id"] for row in listed} == set(specs)
    failed = next(spec for spec in specs.values() if spec.status == "failed")
    shown = gitcfg_cli(built.repo, "show", failed.run_id)
    assert failed.run_id in shown and "CUDA out of memory" in shown
    history = gitcfg_cli(built.repo, "history", failed.run_id)
    assert ("started" in history) != one_commit


def test_same_seed_same_runs_in_either_layout(tmp_path: Path) -> None:
    new = scale_build.build(tmp_path / "new", 20, seed=5)
    old = scale_build.build(tmp_path / "old", 20, seed=5, old_layout=True)
    blobs = {}
    for built in (new, old):
        listing = git(built.repo, "ls-tree", "-r", scale_build.REF, "runs/")
        blobs[built.layout] = sorted(
            (line.split("\t")[1].rsplit("/", 2)[-2:], line.split()[2])
            for line in listing.splitlines()
        )
    # Same run ids, same files, same bytes; only the directories above the run differ.
    assert [(tuple(p), oid) for p, oid in blobs["current"]] == [
        (tuple(p), oid) for p, oid in blobs["old"]
    ]
    assert git(old.repo, "ls-tree", "--name-only", f"{scale_build.REF}~1", "runs/") != ""


def test_cli_builds_and_refuses_an_existing_branch(tmp_path: Path) -> None:
    script = ROOT / "tests" / "bench" / "scale_build.py"
    repo = tmp_path / "cli"
    out = subprocess.run(
        [sys.executable, str(script), str(repo), "7", "--one-commit"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "7 runs, 2 commits" in out.stdout
    again = subprocess.run(
        [sys.executable, str(script), str(repo), "7"], capture_output=True, text=True
    )
    assert again.returncode != 0 and "already has gitcfg-runs" in again.stderr


def test_cached_build_is_reused_and_scratch_copies_are_writable(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = scale_build.cached_build(cache, 5, one_commit=True)
    tip = git(first, "rev-parse", scale_build.REF)
    assert scale_build.cached_build(cache, 5, one_commit=True) == first
    assert [p.name for p in cache.iterdir()] == [first.name]
    copy = scale_build.scratch_copy(first, tmp_path / "scratch")
    assert git(copy, "rev-parse", scale_build.REF) == tip
    script = copy / "record.py"
    script.write_text("import gitcfg\ngitcfg.track({'lr': 0.5}).finish()\n")
    subprocess.run([sys.executable, str(script)], cwd=copy, check=True)
    assert git(copy, "rev-list", "--count", scale_build.REF) == "4"
    assert git(first, "rev-parse", scale_build.REF) == tip  # the cached one is untouched
    import gitcfg

    assert len(gitcfg.Api(str(copy)).runs()) == 6
