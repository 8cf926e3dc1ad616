"""Issue 13 "Sharing": runs seen after a plain `git clone`, `gitcfg push` in chunks of history,
`gitcfg pull` in a shallow clone fetching only the tip, missing blobs of a partial clone fetched
in one batch. Real clones of a local bare remote, the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_python, write_script

WRITER = """
import sys, gitcfg
for i in range(int(sys.argv[1])):
    run = gitcfg.track({"lr": i / 10, "big": "x" * int(sys.argv[2])})
    for step in range(int(sys.argv[3])):
        run.log({"loss": 1.0 / (i + step + 1), "acc": step / 1000})
    run.finish()
"""


def gitcfg_cli(cwd: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def record(repo: Path, runs: int, config_bytes: int = 10, steps: int = 3) -> None:
    script = write_script(repo.parent / f"writer-{repo.name}.py", WRITER)
    proc = run_python(repo, script, str(runs), str(config_bytes), str(steps), timeout=300)
    assert proc.returncode == 0, proc.stderr


def log_ids(repo: Path, env: dict[str, str] | None = None) -> list[str]:
    proc = gitcfg_cli(repo, "log", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    return [row["id"] for row in json.loads(proc.stdout)]


@pytest.fixture
def shared(remote: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A clone that recorded 4 runs and pushed them to `remote` (which allows filters)."""
    git(remote, "config", "uploadpack.allowFilter", "true")
    git(remote, "config", "core.logAllRefUpdates", "always")
    origin = tmp_path / "first"
    git(tmp_path, "clone", "-q", str(remote), str(origin))
    record(origin, 4)
    proc = gitcfg_cli(origin, "push")
    assert proc.returncode == 0, proc.stderr
    return origin, remote


def test_a_plain_clone_sees_the_remote_runs_and_records_on_top(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    origin, remote = shared
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert git(clone, "branch", "--list", "gitcfg-runs") == ""  # a clone makes no local branch
    proc = gitcfg_cli(clone, "log", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 4
    assert proc.stderr.splitlines() == [
        "gitcfg: created branch gitcfg-runs from origin/gitcfg-runs "
        "(the runs your clone fetched; `gitcfg pull` brings newer ones)"
    ]
    assert git(clone, "rev-parse", "gitcfg-runs") == git(origin, "rev-parse", "gitcfg-runs")
    again = gitcfg_cli(clone, "log", "--format", "json")
    assert again.returncode == 0 and again.stderr == "" and len(json.loads(again.stdout)) == 4
    record(clone, 1)  # on top of the remote's runs, not a second unrelated branch
    git(
        clone, "merge-base", "--is-ancestor", git(origin, "rev-parse", "gitcfg-runs"), "gitcfg-runs"
    )
    assert len(log_ids(clone)) == 5


def test_a_single_branch_clone_has_no_runs_until_it_pulls(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    _, remote = shared
    clone = tmp_path / "code-only"
    git(tmp_path, "clone", "-q", "--single-branch", str(remote), str(clone))
    assert git(clone, "for-each-ref", "refs/remotes/origin/gitcfg-runs") == ""
    assert log_ids(clone) == []
    assert gitcfg_cli(clone, "pull").returncode == 0
    assert len(log_ids(clone)) == 4


def _remote_moves(remote: Path) -> list[str]:
    return git(remote, "reflog", "show", "--format=%H", "refs/heads/gitcfg-runs").splitlines()


def test_push_over_the_chunk_size_goes_in_chunks_older_commits_first(
    remote: Path, tmp_path: Path
) -> None:
    git(remote, "config", "core.logAllRefUpdates", "always")
    repo = tmp_path / "big"
    git(tmp_path, "clone", "-q", str(remote), str(repo))
    record(repo, 8, steps=40)
    git(repo, "config", "gitcfg.pushChunkSize", "6k")
    proc = gitcfg_cli(repo, "push")
    assert proc.returncode == 0, proc.stderr
    moves = _remote_moves(remote)
    assert len(moves) >= 3, moves  # one push per chunk
    assert f"in {len(moves)} chunks: 8 runs new or changed" in proc.stdout
    local = git(repo, "rev-parse", "gitcfg-runs")
    assert moves[0] == local
    line = git(repo, "rev-list", "--first-parent", "gitcfg-runs").splitlines()
    assert all(move in line for move in moves)  # each a commit of the history, oldest first
    assert [line.index(m) for m in moves] == sorted(line.index(m) for m in moves)
    git(remote, "fsck", "--strict")
    # under the limit: one push; the option overrides git config
    record(repo, 1)
    proc = gitcfg_cli(repo, "push", "--chunk-size", "1g")
    assert proc.returncode == 0 and "chunks" not in proc.stdout, proc.stdout
    assert len(_remote_moves(remote)) == len(moves) + 1


def test_chunks_before_a_merge_go_through_a_ref_of_gitcfg_removed_after(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    origin, remote = shared
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "branch", "-D", "gitcfg-runs", check=False)
    git(other, "update-ref", "-d", "refs/remotes/origin/gitcfg-runs")  # record apart, unrelated
    record(other, 6, steps=40)
    proc = gitcfg_cli(other, "push", "--chunk-size", "6k")
    assert proc.returncode == 0, proc.stderr
    assert "chunks" in proc.stdout
    assert git(remote, "for-each-ref", "refs/gitcfg") == ""  # the carrier ref is gone
    assert git(remote, "rev-parse", "gitcfg-runs") == git(other, "rev-parse", "gitcfg-runs")
    assert len(log_ids(other)) == 10
    git(remote, "fsck", "--strict")


def test_a_bad_chunk_size_is_one_line(shared: tuple[Path, Path]) -> None:
    origin, _ = shared
    proc = gitcfg_cli(origin, "push", "--chunk-size", "12x")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "gitcfg: error: --chunk-size is '12x': use a size in bytes such as 1g, 500m or 64k"
    ]


def test_pull_in_a_shallow_clone_fetches_the_tip_only_and_says_so(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    origin, remote = shared
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(clone))
    proc = gitcfg_cli(clone, "pull")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == (
        "this clone is shallow: fetching only the tip of the remote's gitcfg-runs "
        "(every run as it stands now, not its history)"
    )
    assert git(clone, "rev-list", "--count", "gitcfg-runs") == "1"  # not the 9 commits
    assert sorted(log_ids(clone)) == sorted(log_ids(origin))
    record(origin, 1)
    assert gitcfg_cli(origin, "push").returncode == 0
    proc = gitcfg_cli(clone, "pull")  # now only what is new, on top of the cut-off
    assert proc.returncode == 0 and "shallow" not in proc.stdout, proc.stdout
    assert git(clone, "rev-list", "--count", "gitcfg-runs") == "3"
    assert sorted(log_ids(clone)) == sorted(log_ids(origin))


def _fetches(trace: Path) -> int:
    events = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    return sum(1 for e in events if e.get("event") == "cmd_name" and e.get("name") == "fetch")


def test_a_blob_limit_partial_clone_fetches_missing_blobs_in_one_batch(
    remote: Path, tmp_path: Path
) -> None:
    git(remote, "config", "uploadpack.allowFilter", "true")
    origin = tmp_path / "first"
    git(tmp_path, "clone", "-q", str(remote), str(origin))
    record(origin, 6, steps=200)  # metrics.jsonl over 8k each
    record(origin, 2, config_bytes=9000)  # config.yaml over 8k too
    assert gitcfg_cli(origin, "push").returncode == 0
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:limit=8k", f"file://{remote}", str(clone))
    promisor_packs = len(list((clone / ".git" / "objects" / "pack").glob("*.promisor")))
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace)}

    ids = log_ids(clone, env)  # the cache build reads the 2 big configs: one fetch
    assert len(ids) == 8
    assert _fetches(trace) == 1
    trace.unlink()
    proc = gitcfg_cli(clone, "plot", "loss", *ids[:8], env=env)  # 8 metrics.jsonl
    assert proc.returncode == 0, proc.stderr
    assert _fetches(trace) == 1
    trace.unlink()
    proc = gitcfg_cli(clone, "plot", "loss", *ids[:8], env=env)  # all here now: none
    assert proc.returncode == 0, proc.stderr
    assert _fetches(trace) == 0
    packs = len(list((clone / ".git" / "objects" / "pack").glob("*.promisor")))
    assert packs == promisor_packs + 2
    git(clone, "fsck", "--strict")


def test_a_partial_clone_whose_index_files_are_missing_fetches_them_in_one_batch(
    remote: Path, tmp_path: Path
) -> None:
    """Index files past the clone's blob limit are missing after the clone: the first query
    fetches them with one `git fetch`, never one by one (listing their sizes must not make git
    fetch each). Runs with chosen ids are indexed by a hash of the id: four files, ~10 KB each."""
    git(remote, "config", "uploadpack.allowFilter", "true")
    origin = tmp_path / "first"
    git(tmp_path, "clone", "-q", str(remote), str(origin))
    script = write_script(
        tmp_path / "chosen.py",
        "import gitcfg\n"
        "for i in range(4):\n"
        "    gitcfg.track({'lr': i, 'big': 'x' * 9000}, id=f'chosen-{i}').finish()\n",
    )
    proc = run_python(origin, script, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert gitcfg_cli(origin, "push").returncode == 0
    listed = git(origin, "ls-tree", "-r", "-l", "gitcfg-runs", "index/").splitlines()
    assert len(listed) == 4 and all(int(line.split()[3]) > 8192 for line in listed)
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:limit=8k", f"file://{remote}", str(clone))
    trace = tmp_path / "trace.json"
    ids = log_ids(clone, {"GIT_TRACE2_EVENT": str(trace)})
    assert sorted(ids) == [f"chosen-{i}" for i in range(4)]
    assert _fetches(trace) == 1
