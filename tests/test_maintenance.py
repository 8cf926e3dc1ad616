"""Issue 13 "Maintenance": gitcfg keeps the repository healthy itself, off the training process's
critical path: packs rolled up geometrically, loose objects bounded, a commit-graph with changed-path
Bloom filters for `gitcfg history`, nothing pruned, `git fsck --strict` clean."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import git, run_python, wait_for_maintenance, write_script

from gitcfg import gitio

WRITER = """
import sys, gitcfg
for i in range(int(sys.argv[1])):
    run = gitcfg.track({"lr": i, **{f"k{j}": j for j in range(20)}})
    for step in range(3):
        run.log({"loss": 1.0 / (i + 1 + step), "acc": step})
    run.finish()
"""


def _lock_is_held(repo: Path) -> bool:
    fd = os.open(repo / ".git" / "gitcfg" / gitio.MAINTENANCE_LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _counts(repo: Path) -> dict[str, int]:
    lines = git(repo, "count-objects", "-v").splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def _graph_has_bloom_filters(repo: Path) -> bool:
    graphs = list((repo / ".git" / "objects" / "info" / "commit-graphs").glob("*.graph"))
    return bool(graphs) and all(b"BIDX" in g.read_bytes()[:200] for g in graphs)


def _run_ids(repo: Path) -> list[str]:
    files = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs").splitlines()
    return [f.split("/")[-2] for f in files if f.endswith("/run.yaml")]


def _record(repo: Path, runs: int) -> None:
    script = write_script(repo / "w.py", WRITER)
    git(repo, "add", "w.py")
    git(repo, "commit", "-q", "-m", "writer")
    proc = run_python(repo, script, str(runs), timeout=900)
    assert proc.returncode == 0, proc.stderr


def test_recording_rolls_packs_up_and_keeps_a_commit_graph_in_the_background(repo: Path) -> None:
    _record(repo, 20)  # 41 commits, one pack each
    wait_for_maintenance(repo)
    counts = _counts(repo)
    assert counts["count"] == 0  # nothing loose
    assert counts["packs"] < gitio.PACK_LIMIT
    assert _graph_has_bloom_filters(repo)
    git(repo, "commit-graph", "verify")
    git(repo, "fsck", "--strict", "--no-dangling")
    assert len(_run_ids(repo)) == 20


def test_history_reads_the_bloom_filters(repo: Path) -> None:
    _record(repo, 20)
    wait_for_maintenance(repo)
    run_id = sorted(_run_ids(repo))[3]
    trace = repo.parent / "trace.json"
    env = {**os.environ, "GIT_TRACE2_EVENT": str(trace)}
    import subprocess
    import sys

    for argv in (["history", run_id], ["show", run_id, "--as-recorded"]):
        trace.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "gitcfg", *argv],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        stats = [
            json.loads(event["value"]) if isinstance(event["value"], str) else event["value"]
            for event in map(json.loads, trace.read_text().splitlines())
            if event.get("event") == "data_json" and event.get("key") == "statistics"
        ]
        # commits in the graph that do not touch the run are ruled out by their filter, not their trees
        assert stats and stats[0]["definitely_not"] > 0, stats


def test_the_recording_process_never_waits_for_maintenance(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `git` in front of the real one holds every `repack` until the test releases it.
    release = tmp_path / "release"
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    real_git = shutil.which("git")
    wrapper = wrapper_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" repack "*) while [ ! -e "$RELEASE" ]; do sleep 0.05; done;; esac\n'
        f'exec {real_git} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RELEASE", str(release))
    _record(repo, 16)  # returns: its output pipes closed, though the repack is held
    try:
        assert _lock_is_held(repo)  # the maintenance it started is still running, detached
        assert _counts(repo)["packs"] >= gitio.PACK_LIMIT
        assert len(_run_ids(repo)) == 16
    finally:
        release.touch()
    wait_for_maintenance(repo)
    assert _counts(repo)["packs"] < gitio.PACK_LIMIT
    git(repo, "fsck", "--strict", "--no-dangling")


def test_maintenance_packs_but_never_prunes_and_skips_when_one_runs(repo: Path) -> None:
    blob = repo / "blob.txt"
    blob.write_text("not referenced by anything\n")
    unreachable = git(repo, "hash-object", "-w", str(blob))
    for i in range(30):  # loose objects: 30 commits of the user's own
        (repo / f"f{i}.txt").write_text(f"{i}\n")
        git(repo, "add", f"f{i}.txt")
        git(repo, "commit", "-q", "-m", f"c{i}")
    assert _counts(repo)["count"] > 90
    found = gitio.discover(repo)
    with gitio.flock(found.state_dir / gitio.MAINTENANCE_LOCK):
        assert gitio.maintain(found) is None  # another maintenance holds the lock: skipped
    report = gitio.maintain(found)
    assert report is not None and report.steps == ("repack", "commit-graph"), report
    assert _counts(repo)["count"] == 0  # the loose objects are packed ...
    git(repo, "cat-file", "-e", unreachable)  # ... the unreachable one too: nothing is pruned
    git(repo, "commit-graph", "verify")
    git(repo, "fsck", "--strict")


def test_a_big_branch_without_commit_graph_gets_one_from_history(repo: Path) -> None:
    _record(repo, 3)
    wait_for_maintenance(repo)
    # A branch made before gitcfg kept a commit-graph: over GRAPH_MIN_BYTES, no graph file.
    shutil.rmtree(repo / ".git" / "objects" / "info" / "commit-graphs", ignore_errors=True)
    (repo / ".git" / "objects" / "pack" / "pack-filler.pack").write_bytes(
        b"\0" * gitio.GRAPH_MIN_BYTES
    )
    try:
        assert gitio.maintenance_due(gitio.discover(repo))
    finally:
        (repo / ".git" / "objects" / "pack" / "pack-filler.pack").unlink()
    assert not gitio.maintenance_due(gitio.discover(repo))


@pytest.mark.slow
def test_600_runs_one_by_one_leave_the_repository_healthy(repo: Path) -> None:
    _record(repo, 600)
    wait_for_maintenance(repo)
    counts = _counts(repo)
    assert counts["count"] <= 7_000 and counts["packs"] < gitio.PACK_LIMIT, counts
    assert _graph_has_bloom_filters(repo)
    packs_before = sorted((repo / ".git" / "objects" / "pack").glob("*.pack"))
    gc = git(repo, "gc", "--auto")  # nothing to do: no auto gc because of gitcfg
    (repo / "next.txt").write_text("the user's next commit\n")
    git(repo, "add", "next.txt")
    commit_out = git(repo, "commit", "-m", "next")
    # No clock (the bench times it): git said no auto packing and left every pack as it was.
    assert "Auto packing" not in gc + commit_out
    assert sorted((repo / ".git" / "objects" / "pack").glob("*.pack")) == packs_before
    git(repo, "fsck", "--strict", "--no-dangling")
    assert len(_run_ids(repo)) == 600
