"""gitcfg checkout: a worktree with a run's exact code and config, and the command that re-runs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import commit_script, git, one_error_line, run_python, snapshot, write_script

from gitcfg.reproduce import rerun_argv
from gitcfg.store import run_dir

TRAIN = """
import argparse, gitcfg
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--depth", type=int, default=18)
run = gitcfg.track(parser.parse_args())
run.finish()
print(run.id)
"""


@pytest.fixture
def project(repo: Path) -> Path:
    """A repo with a training script in src/, committed."""
    commit_script(repo, "src/train.py", TRAIN)
    return repo


def record(cwd: Path, *args: str) -> str:
    proc = run_python(cwd, "train.py", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def _rerun_line(output: str) -> str:
    lines = output.splitlines()
    return lines[lines.index(next(ln for ln in lines if ln.startswith("re-run it"))) + 1].strip()


def test_checkout_builds_the_runs_code_and_config_and_reruns_it(
    cli, project: Path, tmp_path
) -> None:
    # the run starts from src/ on a dirty worktree: a tracked change and an untracked file
    (project / "src" / "train.py").write_text((project / "src" / "train.py").read_text() + "# v2\n")
    (project / "src" / "extra.py").write_text("VALUE = 1\n")
    code_commit = git(project, "rev-parse", "HEAD")
    run_id = record(project / "src", "--lr", "0.01")
    before = snapshot(project)
    target = tmp_path / "checkout"

    result = cli(project, "checkout", run_id[:9], str(target))
    assert result.exit_code == 0, result.output
    assert (
        f"created worktree {target} at {code_commit[:10]} (detached), with the run's uncommitted changes"
        in result.output
    )
    assert git(target, "rev-parse", "HEAD") == code_commit
    assert git(target, "symbolic-ref", "-q", "HEAD", check=False) == ""  # detached: no new branch
    assert (target / "src" / "train.py").read_text().endswith("# v2\n")
    assert (target / "src" / "extra.py").read_text() == "VALUE = 1\n"
    config_path = target / "src" / "config.yaml"
    assert yaml.safe_load(config_path.read_text()) == {"lr": 0.01, "depth": 18}
    line = _rerun_line(result.output)
    assert line == f"cd {shlex.quote(str(target / 'src'))} && python train.py --lr 0.01"
    assert f"remove it with: git worktree remove {target}" in result.output

    # the user's worktree, index, HEAD, branches, stash and hooks are untouched
    assert snapshot(project) == before

    # running the printed command records a run with the same config, from the same code
    proc = subprocess.run(line, shell=True, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rerun_id = proc.stdout.strip().splitlines()[-1]
    rerun = json.loads(cli(project, "show", rerun_id, "--format", "json").output)
    assert rerun["config"] == {"lr": 0.01, "depth": 18}
    assert rerun["run"]["code"]["commit"] == code_commit


def test_checkout_defaults_to_a_directory_beside_the_repo(cli, project: Path) -> None:
    run_id = record(project / "src")
    result = cli(project, "checkout", run_id)
    assert result.exit_code == 0, result.output
    target = project.parent / f"{project.name}-{run_id[:8]}"
    assert (target / "src" / "train.py").exists()
    assert "with the run's uncommitted changes" not in result.output  # a clean run has no patch
    assert _rerun_line(result.output) == f"cd {target / 'src'} && python train.py"


def test_checkout_of_an_amended_run_writes_the_amended_config_and_says_so(
    cli, project: Path, tmp_path
) -> None:
    run_id = record(project / "src", "--lr", "0.5")
    assert cli(project, "amend", run_id, "--set", "lr=0.05", "-m", "logged wrong").exit_code == 0
    result = cli(project, "checkout", run_id, str(tmp_path / "co"))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "co" / "src" / "config.yaml").read_text()
    assert yaml.safe_load(text)["lr"] == 0.05 and f"gitcfg history {run_id[:10]}" in text
    assert "the config was amended after the run" in result.output
    assert _rerun_line(result.output).endswith("python train.py --lr 0.5")


def test_a_tracked_config_yaml_is_never_overwritten(cli, project: Path, tmp_path) -> None:
    (project / "src" / "config.yaml").write_text("mine: true\n")
    git(project, "add", "src/config.yaml")
    git(project, "commit", "-q", "-m", "a config of the project's own")
    run_id = record(project / "src")
    result = cli(project, "checkout", run_id, str(tmp_path / "co"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "co" / "src" / "config.yaml").read_text() == "mine: true\n"
    assert yaml.safe_load((tmp_path / "co" / "src" / "gitcfg-config.yaml").read_text())["lr"] == 0.1


def test_checkout_flags_secret_values_masked_in_the_command_line(
    cli, project: Path, tmp_path
) -> None:
    write_script(
        project / "src" / "train.py",
        TRAIN.replace(
            'parser.add_argument("--depth"',
            'parser.add_argument("--hf-token")\nparser.add_argument("--depth"',
        ),
    )
    git(project, "commit", "-q", "-am", "takes a token")
    run_id = record(project / "src", "--hf-token", "hf_SECRET", "--lr", "0.5")
    result = cli(project, "checkout", run_id, str(tmp_path / "co"))
    assert result.exit_code == 0, result.output
    assert _rerun_line(result.output).endswith("python train.py --hf-token '***' --lr 0.5")
    assert "note: recorded masked, fill in before re-running: hf_token, --hf-token" in result.output
    assert "hf_SECRET" not in result.output


def test_a_code_commit_missing_from_this_clone_says_to_fetch(cli, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    a = tmp_path / "a"
    git(tmp_path, "init", "-q", "-b", "main", str(a))
    write_script(a / "train.py", TRAIN)
    git(a, "add", ".")
    git(a, "commit", "-q", "-m", "script")
    git(a, "remote", "add", "origin", str(remote))
    git(a, "push", "-q", "-u", "origin", "main")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    (a / "train.py").write_text((a / "train.py").read_text() + "# unpushed\n")
    git(a, "commit", "-q", "-am", "not pushed")
    run_id = record(a)
    assert cli(a, "push").exit_code == 0  # the runs, not the code
    assert cli(b, "pull").exit_code == 0
    line = one_error_line(cli(b, "checkout", run_id, str(tmp_path / "co")))
    assert (
        f"run {run_id}'s code commit {git(a, 'rev-parse', 'HEAD')[:12]} is not in this clone"
        in line
    )
    assert "git fetch --all" in line and str(remote) in line
    assert not (tmp_path / "co").exists()


def test_a_run_recorded_before_the_first_commit_cannot_be_checked_out(
    cli, unborn_repo, tmp_path
) -> None:
    write_script(unborn_repo / "train.py", TRAIN)
    run_id = record(unborn_repo)
    line = one_error_line(cli(unborn_repo, "checkout", run_id))
    assert "code.commit is null" in line and f"gitcfg show {run_id} --config" in line


def test_an_occupied_directory_is_refused_and_left_alone(cli, project: Path, tmp_path) -> None:
    run_id = record(project / "src")
    target = tmp_path / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep\n")
    line = one_error_line(cli(project, "checkout", run_id, str(target)))
    assert "already exists and is not empty" in line
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert git(project, "worktree", "list").count("\n") == 0  # only the main worktree


def test_a_patch_that_does_not_apply_leaves_nothing_behind(cli, project: Path, tmp_path) -> None:
    (project / "notes.txt").write_text("dirty\n")
    run_id = record(project / "src")
    # replace the run's diff.patch, with plain git, by one that cannot apply on its commit
    bad = "--- a/src/train.py\n+++ b/src/train.py\n@@ -1 +1 @@\n-no such line\n+x\n"
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=project,
        input=bad,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "index")}
    for args in (
        ["read-tree", "gitcfg-runs"],
        ["update-index", "--cacheinfo", f"100644,{blob},{run_dir(run_id)}/diff.patch"],
    ):
        subprocess.run(["git", *args], cwd=project, env=env, check=True)
    tree = subprocess.run(
        ["git", "write-tree"], cwd=project, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    commit = git(project, "commit-tree", tree, "-p", "gitcfg-runs", "-m", "break the patch")
    git(project, "update-ref", "refs/heads/gitcfg-runs", commit)
    target = tmp_path / "co"
    line = one_error_line(cli(project, "checkout", run_id, str(target)))
    assert f"run {run_id}'s diff.patch does not apply on" in line and "nothing was created" in line
    assert not target.exists()
    assert git(project, "worktree", "list").count("\n") == 0


def test_a_dangling_symlink_named_config_yaml_is_never_written_through(
    cli, project: Path, tmp_path
) -> None:
    # config.yaml in the run's directory is a dangling symlink: taken, not a way out
    os.symlink("../../outside/config.yaml", project / "src" / "config.yaml")
    git(project, "add", "src/config.yaml")
    git(project, "commit", "-q", "-m", "link the config")
    run_id = record(project / "src")
    target = tmp_path / "co"
    result = cli(project, "checkout", run_id, str(target))
    assert result.exit_code == 0, result.output
    assert (target / "src" / "config.yaml").is_symlink()
    assert not (tmp_path / "outside").exists()
    assert yaml.safe_load((target / "src" / "gitcfg-config.yaml").read_text()) == {
        "lr": 0.1,
        "depth": 18,
    }


def test_rerun_argv_moves_paths_inside_the_recorded_worktree() -> None:
    meta = {
        "argv": ["/old/repo/src/train.py", "--data", "/old/repo/data/x.csv", "--out", "/elsewhere"],
        "cwd": "/old/repo/src",
        "code": {"worktree": "/old/repo"},
    }
    cwd, argv = rerun_argv(meta, Path("/new/co"))
    assert cwd == Path("/new/co/src")
    assert argv == ["/new/co/src/train.py", "--data", "/new/co/data/x.csv", "--out", "/elsewhere"]
    assert rerun_argv({"argv": [""], "cwd": "/tmp"}, Path("/new")) == (Path("/new"), [])
