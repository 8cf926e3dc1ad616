"""Issue 17 "Faults": a concurrent `git gc --prune=now` never corrupts the runs branch; each commit
is a pack (no loose objects), and the packs are kept few (issue 13's loose-object finding)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_python, wait_for_maintenance, write_script

WRITER = """
import sys, gitcfg
for i in range(int(sys.argv[2])):
    run = gitcfg.track({"lr": i, "writer": sys.argv[1]})
    run.log({"loss": 1.0 / (i + 1)})
    run.finish()
"""


def _run_count(repo: Path) -> int:
    files = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs").splitlines()
    return sum(1 for f in files if f.endswith("/run.yaml"))


def test_recording_writes_packs_not_loose_objects_and_keeps_them_few(repo: Path) -> None:
    script = write_script(repo / "w.py", WRITER)
    proc = run_python(repo, script, "solo", "40", timeout=300)
    assert proc.returncode == 0, proc.stderr
    wait_for_maintenance(repo)  # started in the background once 24 packs piled up
    counts = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
    assert counts["count"] == "0"  # no loose object: a concurrent gc cannot prune one
    assert int(counts["packs"]) < 24  # 80 commits, yet packs were rolled up geometrically
    assert _run_count(repo) == 40
    git(repo, "fsck", "--strict", "--no-dangling")


@pytest.mark.slow
def test_eight_writers_survive_gc_prune_now_in_a_loop(repo: Path) -> None:
    script = write_script(repo / "w.py", WRITER)
    stop = repo / ".git" / "stop-gc"
    gc_loop = subprocess.Popen(
        ["bash", "-c", f'while [ ! -e "{stop}" ]; do git gc --prune=now --aggressive -q; done'],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        writers = [
            subprocess.Popen(
                [sys.executable, str(script), str(n), "25"],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(8)
        ]
        outputs = [w.communicate(timeout=600) for w in writers]
    finally:
        stop.touch()
        gc_loop.wait(timeout=300)
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "could not record" not in err and "error" not in err, err
    git(repo, "fsck", "--strict")
    assert _run_count(repo) == 200
    statuses = git(repo, "grep", "-h", "^status:", "gitcfg-runs", "--", "runs").splitlines()
    assert len(statuses) == 200 and set(s.split(":", 1)[1].strip() for s in statuses) == {
        "finished"
    }
