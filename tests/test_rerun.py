"""gitcfg rerun: check a run out, run its recorded command with this Python, record the rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import commit_script, git, read_branch_file, run_python, snapshot, write_script

from gitcfg.store import run_dir

TRAIN = """
import argparse, sys
import gitcfg

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--exit-code", type=int, default=0)
args = parser.parse_args()
run = gitcfg.track(args)
loss = 1.0
for epoch in range(args.epochs):
    loss *= 1 - args.lr
    run.log({"loss": loss})
    print(f"epoch {epoch} loss {loss:.4f}", flush=True)
print(run.id)
sys.exit(args.exit_code)
"""


@pytest.fixture
def project(repo: Path) -> Path:
    commit_script(repo, "src/train.py", TRAIN)
    return repo


def record(cwd: Path, *args: str, expect: int = 0) -> str:
    proc = run_python(cwd, "train.py", *args)
    assert proc.returncode == expect, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def gitcfg_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, so the script's output and exit code pass through a real process."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def run_meta(repo: Path, run_id: str) -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))


def rerun_id(proc: subprocess.CompletedProcess[str]) -> str:
    """The new run's id, as the script printed it last."""
    return proc.stdout.strip().splitlines()[-1]


def test_rerun_records_a_new_run_linked_to_the_original_with_the_same_config_and_code(
    project: Path, tmp_path
) -> None:
    (project / "src" / "train.py").write_text(TRAIN + "# uncommitted tweak\n")  # a dirty run
    original = record(project / "src", "--lr", "0.5")
    before = snapshot(project)
    target = tmp_path / "rerun"

    proc = gitcfg_cli(project, "rerun", original[:10], "--dir", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2 loss 0.1250" in proc.stdout  # the script's output streams through
    new = rerun_id(proc)
    assert new != original
    meta = run_meta(project, new)
    assert meta["rerun_of"] == original
    assert meta["status"] == "finished" and meta["exit_code"] == 0
    assert meta["argv"][1:] == ["--lr", "0.5"]
    assert meta["cwd"] == str(target / "src")  # the run's directory inside the new worktree
    assert meta["code"]["worktree"] == str(target)
    assert "rerun_of" not in run_meta(project, original)
    assert f"recorded run {new} (rerun_of {original[:10]})" in proc.stderr
    assert f"git worktree remove {target}" in proc.stderr
    assert snapshot(project) == before  # the user's worktree, index and branches untouched

    diff = gitcfg_cli(project, "diff", original, new, "--code", "--env", "--format", "json")
    assert diff.returncode == 0, diff.stderr
    document = json.loads(diff.stdout)
    assert document["config"] == []  # config identical
    assert document["code"] == ""  # code identical: same commit, same patch
    assert document["env"]["packages"] == [] and document["env"]["run"] == []
    table = gitcfg_cli(project, "diff", original, new, "--code")
    assert "config: identical" in table.stdout
    assert "code: identical (same commit and patch)" in table.stdout


def test_extra_arguments_are_appended_to_the_recorded_command(project: Path, tmp_path) -> None:
    original = record(project / "src", "--lr", "0.5")
    proc = gitcfg_cli(
        project, "rerun", original, "--dir", str(tmp_path / "r"), "--", "--epochs", "1"
    )
    assert proc.returncode == 0, proc.stderr
    new = rerun_id(proc)
    assert run_meta(project, new)["argv"][1:] == ["--lr", "0.5", "--epochs", "1"]
    assert "epoch 1" not in proc.stdout
    diff = json.loads(gitcfg_cli(project, "diff", original, new, "-f", "json").stdout)
    assert diff["config"] == [{"key": "epochs", "a": 3, "b": 1}]


def test_the_scripts_exit_code_is_gitcfg_reruns(project: Path, tmp_path) -> None:
    original = record(project / "src", "--exit-code", "3", expect=3)
    proc = gitcfg_cli(project, "rerun", original, "--dir", str(tmp_path / "r"))
    assert proc.returncode == 3, proc.stderr
    new = rerun_id(proc)
    meta = run_meta(project, new)
    assert meta["rerun_of"] == original
    assert meta["status"] == "failed" and meta["exit_code"] == 3
    # and a rerun whose extra argument fixes it exits 0
    fixed = gitcfg_cli(
        project, "rerun", original, "--dir", str(tmp_path / "r2"), "--", "--exit-code", "0"
    )
    assert fixed.returncode == 0, fixed.stderr


def test_rerun_uses_the_current_interpreter(project: Path, tmp_path) -> None:
    original = record(project / "src")
    proc = gitcfg_cli(project, "rerun", original, "--dir", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert f"&& {sys.executable} train.py" in proc.stderr


def test_rerun_of_a_rerun_links_to_its_own_original(project: Path, tmp_path) -> None:
    first = record(project / "src")
    second = rerun_id(gitcfg_cli(project, "rerun", first, "--dir", str(tmp_path / "a")))
    third = rerun_id(gitcfg_cli(project, "rerun", second, "--dir", str(tmp_path / "b")))
    assert run_meta(project, third)["rerun_of"] == second


def test_track_records_rerun_of_from_the_environment(project: Path) -> None:
    proc = run_python(project / "src", "train.py", env={"GITCFG_RERUN_OF": "06abc"})
    assert proc.returncode == 0, proc.stderr
    assert run_meta(project, proc.stdout.strip().splitlines()[-1])["rerun_of"] == "06abc"


def test_rerun_of_an_interactive_run_is_one_line_and_creates_nothing(
    project: Path, tmp_path
) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gitcfg; r = gitcfg.track({'a': 1}); r.finish(); print(r.id)",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    run_id = proc.stdout.strip()
    target = tmp_path / "r"
    result = gitcfg_cli(project, "rerun", run_id, "--dir", str(target))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: ")
    assert "no command to re-run" in lines[0] and "gitcfg checkout" in lines[0]
    assert not target.exists()
    assert git(project, "worktree", "list").count("\n") == 0


def test_rerun_of_an_unknown_run_is_one_line(project: Path) -> None:
    record(project / "src")
    result = gitcfg_cli(project, "rerun", "zzzzzz")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: ")


def test_rerun_into_a_taken_directory_is_one_line(project: Path, tmp_path) -> None:
    original = record(project / "src")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    result = gitcfg_cli(project, "rerun", original, "--dir", str(taken))
    assert result.returncode == 1
    assert result.stderr.startswith("gitcfg: error: ") and "not empty" in result.stderr
    assert result.stdout == ""


def test_reruns_are_found_by_rerun_of_and_diff_shows_the_link(cli, project: Path, tmp_path) -> None:
    original = record(project / "src")
    other = record(project / "src", "--lr", "0.2")
    new = rerun_id(gitcfg_cli(project, "rerun", original, "--dir", str(tmp_path / "r")))
    found = cli(project, "log", "--where", f'rerun_of == "{original}"', "-f", "json")
    assert found.exit_code == 0, found.output
    assert [row["id"] for row in json.loads(found.output)] == [new]
    assert other != new

    from gitcfg import Api

    assert Api(project).run(new).row["rerun_of"] == original
    diff = json.loads(cli(project, "diff", original, new, "-f", "json").output)
    assert {"key": "rerun_of", "a": None, "b": original} in diff["run"]


def test_a_run_started_with_dash_m_reruns_as_a_module(project: Path, tmp_path) -> None:
    # `python -m pkg.train` with a relative import: run as a file, it would fail to import.
    commit_script(project, "pkg/__init__.py", "")
    commit_script(project, "pkg/helpers.py", "RATE = 0.25\n")
    commit_script(
        project,
        "pkg/train.py",
        """
        import sys
        import gitcfg
        from .helpers import RATE
        run = gitcfg.track({"rate": RATE, "args": sys.argv[1:]})
        run.finish()
        print(run.id)
        """,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pkg.train", "--x", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.environ["PYTHONPATH"]),
    )
    assert proc.returncode == 0, proc.stderr
    original = proc.stdout.strip().splitlines()[-1]
    assert run_meta(project, original)["module"] == "pkg.train"

    rerun = gitcfg_cli(project, "rerun", original, "--dir", str(tmp_path / "r"), "--", "--y")
    assert rerun.returncode == 0, rerun.stderr
    assert f"&& {sys.executable} -m pkg.train --x 1 --y" in rerun.stderr
    meta = run_meta(project, rerun_id(rerun))
    assert meta["rerun_of"] == original and meta["module"] == "pkg.train"


def test_only_the_first_run_of_the_rerun_process_is_the_rerun(project: Path) -> None:
    write_script(
        project / "two.py",
        """
        import subprocess, sys
        import gitcfg
        first = gitcfg.track({"a": 1})
        first.finish()
        second = gitcfg.track({"a": 2})
        second.finish()
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ.get('GITCFG_RERUN_OF'))"],
            capture_output=True, text=True, check=True,
        )
        print(first.id, second.id, child.stdout.strip())
        """,
    )
    proc = run_python(project, "two.py", env={"GITCFG_RERUN_OF": "06abc"})
    assert proc.returncode == 0, proc.stderr
    first, second, child_sees = proc.stdout.split()
    assert run_meta(project, first)["rerun_of"] == "06abc"
    assert "rerun_of" not in run_meta(project, second)
    assert child_sees == "None"
