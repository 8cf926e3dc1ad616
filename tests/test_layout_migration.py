"""FORMAT 2's fan-out layout (issue 13): ids to paths, FORMAT 1 branches read as they are, the
migration (`gitcfg migrate`, or the first write) loses nothing and keeps `gitcfg history`
continuous, and an old-format branch pulled from a teammate merges correctly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, git, run_python, write_script
from runs_branch import commit as fast_import_commit

from gitcfg.store import (
    FORMAT_VERSION,
    MIGRATE_SUBJECT,
    fanout,
    new_run_id,
    parse_run_path,
    run_dir,
)

sys.path.insert(0, str(ROOT / "tests" / "bench"))
import scale_build  # noqa: E402

REF = scale_build.REF
TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": float(sys.argv[1]), "seed": 7})
run.log({"loss": 0.5})
run.finish()
print(run.id)
"""


def gitcfg_cli(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", *args], cwd=repo, capture_output=True, text=True
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def run_blobs(repo: Path, ref: str = REF) -> dict[tuple[str, str], str]:
    """(run id, file name in its directory) -> blob id, for every run file on the branch."""
    found = {}
    for line in git(repo, "ls-tree", "-r", ref, "runs/").splitlines():
        meta, path = line.split("\t", 1)
        parsed = parse_run_path(path)
        assert parsed is not None, path
        found[parsed[0], parsed[2]] = meta.split()[2]
    return found


def log_json(repo: Path) -> list[dict]:
    """`gitcfg log --format json`'s rows without `age` (which moves with the clock)."""
    rows = json.loads(gitcfg_cli(repo, "log", "--format", "json", "--limit", "1000").stdout)
    return [{k: v for k, v in row.items() if k != "age"} for row in rows]


def commits(repo: Path, ref: str = REF) -> int:
    return int(git(repo, "rev-list", "--count", ref))


def old_branch(tmp_path: Path, n: int = 12, name: str = "repo") -> Path:
    built = scale_build.build(tmp_path / name, n, old_layout=True)
    assert git(built.repo, "show", f"{REF}:FORMAT") == "1"
    return built.repo


def record(repo: Path, lr: float) -> str:
    script = write_script(repo.parent / f"train_{repo.name}.py", TRAIN)
    proc = run_python(repo, script, str(lr))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


# --- the layout ----------------------------------------------------------------------------------


def test_fanout_uses_the_milliseconds_and_the_last_character() -> None:
    run_id = new_run_id(1_800_000_000.123)
    assert len(run_id) == 20
    assert fanout(run_id) == (run_id[7], run_id[8], run_id[-1])
    assert run_dir(run_id) == f"runs/{run_id[7]}/{run_id[8]}/{run_id[-1]}/{run_id}"
    assert run_dir(run_id, 1) == f"runs/{run_id[-2:]}/{run_id}"
    # Chosen ids: short, upper-case, punctuation; every directory name is one safe character.
    assert run_dir("a") == "runs/_/_/a/a"
    assert run_dir("My-Run.7") == "runs/7/_/7/My-Run.7"
    assert run_dir("baseline-run-X") == "runs/e/_/x/baseline-run-X"
    for chosen in ("a", "ab", "My-Run.7", "x" * 64, "run_1", "-" * 0 + "z.z"):
        path = f"{run_dir(chosen)}/files/deep/x.txt"
        assert parse_run_path(path) == (chosen, run_dir(chosen), "files/deep/x.txt")
        old = f"{run_dir(chosen, 1)}/run.yaml"
        assert parse_run_path(old) == (chosen, run_dir(chosen, 1), "run.yaml")
    assert parse_run_path("runs/ab") is None and parse_run_path("README.md") is None


def test_new_runs_spread_over_the_fanout(tmp_path: Path) -> None:
    """1,000 ids made within one second, as a sweep starts them: no leaf holds many."""
    ids = [new_run_id(1_800_000_000 + i / 1000) for i in range(1000)]
    leaves: dict[tuple[str, ...], int] = {}
    for run_id in ids:
        leaves[fanout(run_id)] = leaves.get(fanout(run_id), 0) + 1
    assert max(leaves.values()) <= 8 and len(leaves) > 900


def test_a_new_branch_is_format_2(repo: Path) -> None:
    run_id = record(repo, 0.1)
    assert git(repo, "show", f"{REF}:FORMAT") == str(FORMAT_VERSION) == "2"
    names = git(repo, "ls-tree", "-r", "--name-only", REF, "runs/").splitlines()
    assert f"{run_dir(run_id)}/run.yaml" in names
    assert all(name.startswith(run_dir(run_id) + "/") for name in names)


# --- FORMAT 1 branches: read as they are, migrated by `gitcfg migrate` or the first write ---------


def test_an_old_branch_reads_without_being_changed(tmp_path: Path) -> None:
    repo = old_branch(tmp_path)
    tip = git(repo, "rev-parse", REF)
    specs = {spec.run_id: spec for spec in scale_build.runs(12)}
    listed = log_json(repo)
    assert {row["id"] for row in listed} == set(specs)
    run_id = next(iter(specs))
    shown = gitcfg_cli(repo, "show", run_id).stdout
    assert run_id in shown and "lr" in shown
    history = gitcfg_cli(repo, "history", run_id).stdout
    assert "started" in history and "finished" in history
    import gitcfg

    run = gitcfg.Api(str(repo)).run(run_id)
    assert len(run.metrics()) == scale_build.STEPS and run.requirements()
    target = tmp_path / "checked-out"
    gitcfg_cli(repo, "checkout", run_id, str(target))
    assert (target / scale_build.CODE_FILE).exists()
    assert git(repo, "rev-parse", REF) == tip  # nothing written
    assert git(repo, "show", f"{REF}:FORMAT") == "1"


def test_migrate_moves_every_run_in_one_commit_and_loses_nothing(tmp_path: Path) -> None:
    repo = old_branch(tmp_path)
    before_blobs, before_log = run_blobs(repo), log_json(repo)
    before_commits = commits(repo)
    run_id = before_log[3]["id"]
    history_before = gitcfg_cli(repo, "history", run_id).stdout

    out = gitcfg_cli(repo, "migrate").stdout
    assert out.startswith("migrated gitcfg-runs from FORMAT 1 to 2 in ")
    assert "12 runs moved, no file changed" in out
    assert commits(repo) == before_commits + 1
    message = git(repo, "log", "-1", "--format=%B", REF)
    assert message.startswith(MIGRATE_SUBJECT + " 2")
    assert git(repo, "rev-list", "--parents", "-1", REF).split()[1] == git(
        repo, "rev-parse", f"{REF}~1"
    )
    assert git(repo, "show", f"{REF}:FORMAT") == "2"
    assert run_blobs(repo) == before_blobs  # every file, byte for byte
    for path in git(repo, "ls-tree", "-r", "--name-only", REF, "runs/").splitlines():
        parsed = parse_run_path(path)
        assert parsed is not None and parsed[1] == run_dir(parsed[0])
    assert log_json(repo) == before_log
    assert gitcfg_cli(repo, "history", run_id).stdout == history_before  # continuous
    assert "git fsck" and git(repo, "fsck", "--strict", "--no-progress") == ""

    again = gitcfg_cli(repo, "migrate").stdout
    assert again.strip() == "gitcfg: gitcfg-runs already uses FORMAT 2"
    assert commits(repo) == before_commits + 1


def test_the_first_write_migrates_and_history_stays_continuous(tmp_path: Path) -> None:
    repo = old_branch(tmp_path)
    before_blobs = run_blobs(repo)
    old_id = log_json(repo)[0]["id"]
    new_id = record(repo, 0.25)
    subjects = git(repo, "log", "-3", "--format=%s", REF).splitlines()
    assert subjects == [
        f"run {new_id}: finished (exit 0)",
        f"run {new_id}: started",
        f"{MIGRATE_SUBJECT} 2",
    ]
    after = run_blobs(repo)
    assert {k: v for k, v in after.items() if k[0] != new_id} == before_blobs
    amended = gitcfg_cli(repo, "amend", old_id, "--set", "lr=0.5", "-m", "typo")
    assert "set lr=0.5" in amended.stdout
    history = gitcfg_cli(repo, "history", old_id).stdout.splitlines()
    entries = [line for line in history[1:] if not line.startswith(" ")]
    assert len(entries) == 3, history  # from before the migration and after it; not the move
    expected = ("run    started", "run    finished", "amend  set lr=0.5")
    for entry, what in zip(entries, expected, strict=True):
        assert what in entry, history
    shown = gitcfg_cli(repo, "show", old_id, "--as-recorded").stdout
    assert "lr: 0.5" not in shown
    assert {row["id"] for row in log_json(repo)} == {k[0] for k in after}


def test_a_run_removed_before_the_migration_is_restored_to_its_new_place(tmp_path: Path) -> None:
    repo = old_branch(tmp_path)
    run_id = log_json(repo)[2]["id"]
    files = run_blobs(repo)
    # Removed by an older gitcfg: its FORMAT 1 directory deleted in an `rm` commit.
    fast_import_commit(
        repo, {scale_build.old_run_dir(run_id): None}, f"rm {run_id}: removed\n\nRun-Id: {run_id}\n"
    )
    gitcfg_cli(repo, "migrate")
    assert run_id not in {row["id"] for row in log_json(repo)}
    gitcfg_cli(repo, "restore", run_id)
    restored = run_blobs(repo)
    assert {k: v for k, v in restored.items() if k[0] == run_id} == {
        k: v for k, v in files.items() if k[0] == run_id
    }
    assert f"{run_dir(run_id)}/run.yaml" in git(repo, "ls-tree", "-r", "--name-only", REF)
    actions = gitcfg_cli(repo, "history", run_id).stdout
    assert "rm " in actions and "restore " in actions


# --- sharing with a teammate whose branch is still FORMAT 1 ---------------------------------------


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An old-format branch on a bare remote, cloned twice (a: upgraded, b: still format 1)."""
    origin = old_branch(tmp_path, 8, "origin-work")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(remote))
    clones = []
    for name in ("a", "b"):
        path = tmp_path / name
        git(tmp_path, "clone", "-q", str(remote), str(path))
        git(path, "fetch", "-q", "origin", f"{REF}:{REF}")
        clones.append(path)
    return remote, clones[0], clones[1]


def test_pulling_an_old_format_branch_into_a_migrated_one(shared: tuple[Path, Path, Path]) -> None:
    remote, a, b = shared
    runs = [row["id"] for row in log_json(a)]
    mine = record(a, 0.5)  # migrates a's branch first
    assert git(a, "show", f"{REF}:FORMAT") == "2"
    gitcfg_cli(a, "amend", runs[0], "--set", "lr=0.9")
    # b, with an older gitcfg: a new run and a change to runs[0]'s notes, in FORMAT 1 paths.
    theirs = "16abcdefghjkmnpqrstv"
    spec_files = {
        f"{scale_build.old_run_dir(theirs)}/run.yaml": f"id: {theirs}\nstatus: finished\n".encode(),
        f"{scale_build.old_run_dir(theirs)}/config.yaml": b"lr: 0.125\n",
    }
    fast_import_commit(b, spec_files, f"run {theirs}: finished (exit 0)\n")
    path = f"{scale_build.old_run_dir(runs[0])}/run.yaml"
    meta = yaml.safe_load(git(b, "show", f"{REF}:{path}"))
    meta["notes"] = "from b"
    fast_import_commit(b, {path: yaml.safe_dump(meta, sort_keys=False).encode()}, "notes\n")
    git(b, "push", "-q", "origin", REF)
    assert git(remote, "show", f"{REF}:FORMAT") == "1"

    pulled = gitcfg_cli(a, "pull")
    assert "merge" in pulled.stdout
    assert git(a, "show", f"{REF}:FORMAT") == "2"
    listed = {row["id"]: row for row in log_json(a)}
    assert set(listed) == {*runs, mine, theirs}
    import gitcfg

    merged = gitcfg.Api(str(a)).run(runs[0])
    assert merged.config["lr"] == 0.9 and merged.notes == "from b"  # both sides' changes kept
    assert gitcfg.Api(str(a)).run(theirs).config == {"lr": 0.125}
    for path in git(a, "ls-tree", "-r", "--name-only", REF, "runs/").splitlines():
        parsed = parse_run_path(path)
        assert parsed is not None and parsed[1] == run_dir(parsed[0]), path
    assert git(a, "fsck", "--strict", "--no-progress") == ""


def test_an_old_branch_pulling_a_migrated_one_is_migrated_then_merged(
    shared: tuple[Path, Path, Path],
) -> None:
    remote, a, b = shared
    mine = record(a, 0.5)
    gitcfg_cli(a, "push")
    assert git(remote, "show", f"{REF}:FORMAT") == "2"
    theirs = "16zyxwvtsrqpnmkjhgfe"
    fast_import_commit(
        b,
        {f"{scale_build.old_run_dir(theirs)}/run.yaml": f"id: {theirs}\nstatus: failed\n".encode()},
        f"run {theirs}: failed (exit 1)\n",
    )
    before = run_blobs(b)
    gitcfg_cli(b, "pull")
    assert git(b, "show", f"{REF}:FORMAT") == "2"
    after = run_blobs(b)
    assert {k: v for k, v in after.items() if k[0] != mine} == before
    assert {k[0] for k in after} == {k[0] for k in before} | {mine}
    assert git(b, "fsck", "--strict", "--no-progress") == ""
