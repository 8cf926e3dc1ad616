"""Faults lose nothing (issue 17): kills before the start commit, a script's own SIGTERM handler,
disk full, damaged config blobs, a cache deleted under a reader, clocks before 1970, group-shared
repositories, and SIGKILLs at random moments. Real repositories, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, read_branch_file, run_python, runs_branch_files, write_script

from gitcfg.store import run_dir


def _gitcfg(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args], cwd=repo, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def _run_ids(repo: Path) -> list[str]:
    return sorted({p.split("/")[2] for p in runs_branch_files(repo) if p.endswith("/run.yaml")})


def _meta(repo: Path, run_id: str) -> dict[str, Any]:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))


def _rows(repo: Path, run_id: str) -> list[dict[str, Any]]:
    files = runs_branch_files(repo)
    if f"{run_dir(run_id)}/metrics.jsonl" not in files:
        return []
    text = read_branch_file(repo, f"{run_dir(run_id)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def _live(repo: Path) -> list[str]:
    live = repo / ".git" / "gitcfg" / "live"
    return sorted(os.listdir(live)) if live.exists() else []


def _fsck(repo: Path) -> None:
    proc = subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=repo,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


# --- a run killed before its start commit keeps its patch ---------------------------------------

KILLED_AT_START = """
import os, signal, gitcfg
from gitcfg import store
def killed(self, files, message):  # the kill is real; only its moment is chosen
    os.kill(os.getpid(), signal.SIGKILL)
store.Store.write = killed
gitcfg.track({"lr": 0.1})
"""


def test_a_run_killed_before_its_start_commit_is_recovered_with_its_patch(
    dirty_repo: Path, tmp_path: Path
) -> None:
    script = write_script(tmp_path / "t.py", KILLED_AT_START)
    proc = run_python(dirty_repo, script)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "gitcfg-runs" not in git(dirty_repo, "branch", "--list", "gitcfg-runs")
    (journal,) = _live(dirty_repo)
    log = _gitcfg(dirty_repo, "log")
    assert log.returncode == 0, log.stderr
    assert f"recorded run {journal} as crashed" in log.stderr
    meta = _meta(dirty_repo, journal)
    assert meta["status"] == "crashed" and meta["code"]["dirty"] is True
    assert "patch_lost" not in meta["code"]
    patch = read_branch_file(dirty_repo, f"{run_dir(journal)}/diff.patch")
    assert "print('train v2')" in patch and "untracked notes" in patch
    target = tmp_path / "rebuilt"
    out = _gitcfg(dirty_repo, "checkout", journal, str(target))
    assert out.returncode == 0, out.stderr
    assert (target / "train.py").read_text() == "print('train v2')\n"
    assert (target / "notes.txt").read_text() == "untracked notes\n"
    assert _live(dirty_repo) == []
    _fsck(dirty_repo)


def test_a_journal_without_its_patch_marks_the_code_unknown_and_checkout_refuses(
    dirty_repo: Path, tmp_path: Path
) -> None:
    """A journal left by a gitcfg that did not keep the patch there: the run's code is unknown."""
    script = write_script(tmp_path / "t.py", KILLED_AT_START)
    assert run_python(dirty_repo, script).returncode == -signal.SIGKILL
    (journal,) = _live(dirty_repo)
    path = dirty_repo / ".git" / "gitcfg" / "live" / journal
    (path / "diff.patch").unlink()
    meta = json.loads((path / "meta.json").read_text())
    del meta["patch"]  # written before the journal held the patch
    (path / "meta.json").write_text(json.dumps(meta))
    assert _gitcfg(dirty_repo, "log").returncode == 0
    assert _meta(dirty_repo, journal)["code"]["patch_lost"] is True
    target = tmp_path / "rebuilt"
    out = _gitcfg(dirty_repo, "checkout", journal, str(target))
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("gitcfg: error: ") and journal in line and "diff.patch" in line
    assert not target.exists() or not any(target.iterdir())


# --- a script's own SIGTERM handler ------------------------------------------------------------

HANDLER = """
import os, signal, sys, time, gitcfg
def on_term(signum, frame):
    {body}
if {before}:
    signal.signal(signal.SIGTERM, on_term)
run = gitcfg.track({{"lr": 0.1}})
if not {before}:
    assert signal.signal(signal.SIGTERM, on_term) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is on_term
for step in range(5):
    run.log({{"loss": 1.0 / (step + 1)}})
print(run.id, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("before", [True, False], ids=["handler-before-track", "handler-after"])
@pytest.mark.parametrize(
    ("body", "returncode", "rows", "exit_code"),
    [
        ("os._exit(5)", 5, 5, None),
        ("sys.exit()", 0, 5, 0),
        ("run.log({'loss': 0.0}); print('saved', flush=True)", 0, 6, 0),
    ],
    ids=["os._exit", "sys.exit", "graceful-returns"],
)
def test_a_scripts_own_sigterm_handler_leaves_the_run_killed_with_its_rows(
    repo: Path, tmp_path: Path, body: str, before: bool, returncode: int, rows: int,
    exit_code: int | None,
) -> None:  # fmt: skip
    if body.startswith("run.log"):  # returns: the script goes on, then ends by itself
        script_text = HANDLER.format(body=body, before=before).replace(
            "time.sleep(60)", "time.sleep(1)"
        )
    else:
        script_text = HANDLER.format(body=body, before=before)
    script = write_script(tmp_path / "t.py", script_text)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == returncode, err
    shown = _gitcfg(repo, "show", run_id)  # any command records a run whose process is gone
    assert shown.returncode == 0, shown.stderr
    meta = _meta(repo, run_id)
    assert (meta["status"], meta.get("signal"), meta["exit_code"]) == (
        "killed",
        "SIGTERM",
        exit_code,
    )
    assert len(_rows(repo, run_id)) == rows
    assert meta["duration_s"] >= 0
    assert _live(repo) == []


# --- disk full ---------------------------------------------------------------------------------

FILLER = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
for step in range(60_000):
    run.log({"loss": 1.0 / (step + 1), "acc": step * 1e-5, "step_sq": step * step})
    print(step, flush=True)
"""


def _file_size_limit(limit: int):  # -> preexec_fn
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit get EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _printed_steps(out: str) -> int:
    steps = [int(line) for line in out.split()]
    assert steps == list(range(len(steps)))
    return len(steps)


def test_disk_full_records_every_acknowledged_row_and_fails_with_one_line(
    repo: Path, tmp_path: Path
) -> None:
    """RLIMIT_FSIZE stops the journal growing past 1 MB (its first reservation): log() raises
    once the row no longer fits; every row it acknowledged before is on the branch."""
    script = write_script(tmp_path / "fill.py", FILLER)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=repo, capture_output=True, text=True, timeout=300,
        preexec_fn=_file_size_limit(1_500_000),
    )  # fmt: skip
    acknowledged = _printed_steps(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert 0 < acknowledged < 60_000
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert line.startswith("gitcfg: error: cannot record step ") and "Traceback" not in proc.stderr
    assert _gitcfg(repo, "log").returncode == 0  # records the run if its own commit failed
    (run_id,) = _run_ids(repo)
    meta = _meta(repo, run_id)
    assert meta["status"] in ("failed", "crashed")
    rows = _rows(repo, run_id)
    assert [row["_step"] for row in rows] == list(range(acknowledged))
    assert _live(repo) == []
    _fsck(repo)


@pytest.fixture
def small_disk(tmp_path: Path):  # -> Path: a 3 MB tmpfs, grown again by remount
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_keeps_every_acknowledged_row_for_the_next_command(
    small_disk: Path, tmp_path: Path
) -> None:
    """A real ENOSPC: the run's own final commit may fail too; once there is room again, the next
    gitcfg command records the run from its journal with every acknowledged row."""
    repo = small_disk / "repo"
    git(small_disk, "init", "-q", str(repo))
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    script = write_script(tmp_path / "fill.py", FILLER)
    proc = run_python(repo, script, timeout=300)
    acknowledged = _printed_steps(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert 0 < acknowledged < 60_000
    assert "gitcfg: error: cannot record step " in proc.stderr and "Traceback" not in proc.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    assert _gitcfg(repo, "log").returncode == 0
    (run_id,) = _run_ids(repo)
    assert _meta(repo, run_id)["status"] in ("failed", "crashed")
    assert [row["_step"] for row in _rows(repo, run_id)] == list(range(acknowledged))
    assert _live(repo) == []
    _fsck(repo)


# --- a run whose config blob is missing --------------------------------------------------------

THREE_RUNS = """
import gitcfg
for lr in (0.1, 0.2, 0.3):
    run = gitcfg.track({"lr": lr, "bs": 4})
    run.log({"loss": lr})
    run.finish()
"""


def _drop_from_runs_branch(repo: Path, path: str) -> None:
    """Commit the runs branch without `path` (plumbing, a private index)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "faults-index")}
    subprocess.run(["git", "read-tree", "gitcfg-runs"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "rm", "-q", "--cached", path], cwd=repo, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    commit = git(repo, "commit-tree", tree, "-p", "gitcfg-runs", "-m", "damage")
    git(repo, "update-ref", "refs/heads/gitcfg-runs", commit)


@pytest.mark.parametrize("damage", ["file-missing", "blob-missing"])
def test_a_run_without_its_config_blob_is_refused_by_amend_and_show_and_warned_by_log(
    repo: Path, tmp_path: Path, damage: str
) -> None:
    assert run_python(repo, write_script(tmp_path / "t.py", THREE_RUNS)).returncode == 0
    damaged, *others = _run_ids(repo)
    path = f"{run_dir(damaged)}/config.yaml"
    if damage == "file-missing":
        _drop_from_runs_branch(repo, path)
    else:  # the blob is gone from the object database (a loose object deleted)
        oid = git(repo, "rev-parse", f"gitcfg-runs:{path}")
        objects = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
        keep = "".join(o + "\n" for o in objects.split() if o != oid)
        (tmp_path / "pack").mkdir()
        subprocess.run(["git", "pack-objects", "-q", str(tmp_path / "pack" / "pack")],
                       cwd=repo, input=keep, text=True, check=True, capture_output=True)  # fmt: skip
        packs = repo / ".git" / "objects" / "pack"
        for old in packs.glob("*"):
            old.unlink()
        for loose in (repo / ".git" / "objects").glob("??/*"):
            loose.unlink()
        for new in (tmp_path / "pack").iterdir():
            new.rename(packs / new.name)
        assert subprocess.run(["git", "cat-file", "-e", oid], cwd=repo).returncode != 0
    tip = git(repo, "rev-parse", "gitcfg-runs")
    amend = _gitcfg(repo, "amend", damaged, "--set", "lr=0.5")
    assert amend.returncode == 1
    (line,) = amend.stderr.strip().splitlines()
    assert line.startswith("gitcfg: error: ") and damaged in line and "config.yaml" in line
    assert git(repo, "rev-parse", "gitcfg-runs") == tip  # nothing written
    show = _gitcfg(repo, "show", damaged)
    assert show.returncode == 1
    (line,) = show.stderr.strip().splitlines()
    assert damaged in line and "config.yaml" in line
    log = _gitcfg(repo, "log")
    assert log.returncode == 0, log.stderr
    warnings = [ln for ln in log.stderr.splitlines() if "config.yaml" in ln]
    assert len(warnings) == 1 and damaged[:8] in warnings[0], log.stderr
    for run_id in others:
        assert run_id[:8] in log.stdout


# --- clocks before 1970 or stepped back --------------------------------------------------------

CLOCK_SCRIPT = """
import time, gitcfg
run = gitcfg.track({"lr": 0.1})
for step in range(3):
    run.log({"loss": step})
"""


def test_a_clock_before_1970_writes_commits_fsck_and_a_strict_remote_accept(
    repo: Path, tmp_path: Path
) -> None:
    import shutil

    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    script = write_script(tmp_path / "t.py", CLOCK_SCRIPT)
    proc = subprocess.run([faketime, "1969-06-01 00:00:00", sys.executable, str(script)],
                          cwd=repo, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_id,) = _run_ids(repo)
    meta = _meta(repo, run_id)
    assert meta["started_at"].startswith("1969-06-01") and meta["status"] == "finished"
    assert meta["duration_s"] >= 0 and all(row["_time"] >= 0 for row in _rows(repo, run_id))
    _fsck(repo)
    bare = tmp_path / "strict.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(bare, "config", "receive.fsckObjects", "true")
    git(repo, "push", "-q", str(bare), "gitcfg-runs")  # a fsck-enforcing remote takes it


STEPPED_BACK = """
import time, gitcfg
run = gitcfg.track({"lr": 0.1})
real = time.time
time.time = lambda: real() - 3600  # the wall clock is stepped back an hour (NTP, a VM resumed)
for step in range(3):
    run.log({"loss": step})
"""


def test_a_clock_stepped_back_never_makes_time_or_duration_negative(
    repo: Path, tmp_path: Path
) -> None:
    script = write_script(tmp_path / "t.py", STEPPED_BACK)
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    (run_id,) = _run_ids(repo)
    meta = _meta(repo, run_id)
    assert 0 <= meta["duration_s"] < 60
    times = [row["_time"] for row in _rows(repo, run_id)]
    assert len(times) == 3 and all(0 <= t < 60 for t in times) and times == sorted(times)


# --- the query cache deleted under a reader ----------------------------------------------------


def test_log_racing_a_cache_deletion_never_fails(repo: Path, tmp_path: Path) -> None:
    assert run_python(repo, write_script(tmp_path / "t.py", THREE_RUNS)).returncode == 0
    state = repo / ".git" / "gitcfg"
    stop = time.monotonic() + 20
    deleter = subprocess.Popen([sys.executable, "-c", (
        "import os, sys, time\n"
        f"end = time.monotonic() + 20; d = {str(state)!r}\n"
        "while time.monotonic() < end:\n"
        "    for name in os.listdir(d):\n"
        "        if name.startswith('query-cache'):\n"
        "            try: os.unlink(os.path.join(d, name))\n"
        "            except OSError: pass\n"
    )])  # fmt: skip
    try:
        tries = 0
        while tries < 40 and time.monotonic() < stop:
            log = _gitcfg(repo, "log")
            assert log.returncode == 0, log.stderr
            assert log.stdout.count("finished") == 3, log.stdout
            tries += 1
    finally:
        deleter.kill()
        deleter.wait()
    assert tries >= 10
