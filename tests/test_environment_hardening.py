"""Issue 17, "The environment gitcfg runs in": git -c settings, which repository records, ranks,
closed pipes, messages that say what happened, and the exit-status opt-out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, one_error_line, run_python, write_script

from gitcfg.store import run_dir
from gitcfg.tracking import process_rank

TRAIN = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
run.log({"loss": 1.0})
print("RUN", run.id)
"""


def _commit_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    (path / "README.md").write_text("x\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    return path


def _run_id(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("RUN "))


def test_git_dash_c_settings_reach_gitcfg_calls(repo: Path) -> None:
    """GIT_CONFIG_COUNT/KEY/VALUE (what `git -c` exports to hooks) choose the runs branch too."""
    script = write_script(repo / "t.py", TRAIN)
    env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "gitcfg.branch",
        "GIT_CONFIG_VALUE_0": "custom-runs",
    }
    run_id = _run_id(run_python(repo, script, env=env))
    assert run_id[-2:] in git(repo, "ls-tree", "-r", "--name-only", "custom-runs")
    assert git(repo, "rev-parse", "-q", "--verify", "gitcfg-runs", check=False) == ""


def test_git_config_parameters_reach_gitcfg_calls(repo: Path) -> None:
    script = write_script(repo / "t.py", TRAIN)
    env = {"GIT_CONFIG_PARAMETERS": "'gitcfg.branch'='other-runs'"}
    run_python(repo, script, env=env)
    assert git(repo, "rev-parse", "-q", "--verify", "other-runs", check=False) != ""


def test_script_in_another_repo_records_there_and_says_so(tmp_path: Path) -> None:
    repo_a = _commit_repo(tmp_path / "repoA")
    repo_b = _commit_repo(tmp_path / "repoB")
    (repo_b / "sub").mkdir()
    script = write_script(repo_a / "train.py", TRAIN)
    git(repo_a, "add", "train.py")
    git(repo_a, "commit", "-q", "-m", "train")
    proc = run_python(repo_b / "sub", Path("../../repoA/train.py"))
    run_id = _run_id(proc)
    head_a = git(repo_a, "rev-parse", "HEAD")
    files = git(repo_a, "ls-tree", "-r", "--name-only", "gitcfg-runs")
    assert f"{run_id}/run.yaml" in files
    run_yaml = git(repo_a, "show", f"gitcfg-runs:{run_dir(run_id)}/run.yaml")
    assert head_a in run_yaml
    assert git(repo_b, "rev-parse", "-q", "--verify", "gitcfg-runs", check=False) == ""
    warning = [line for line in proc.stderr.splitlines() if "recording into" in line]
    assert len(warning) == 1 and "repoA" in warning[0] and "repoB" in warning[0], proc.stderr
    assert script.name in warning[0]


def test_script_outside_any_repo_records_into_the_cwd_repo(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    script = write_script(outside / "train.py", TRAIN)
    proc = run_python(repo, script)
    run_id = _run_id(proc)
    assert f"{run_id}/run.yaml" in git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs")
    assert "recording into" not in proc.stderr


@pytest.mark.parametrize(
    ("environ", "rank"),
    [
        ({}, 0),
        ({"RANK": "3", "NODE_RANK": "0"}, 3),
        ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, 0),
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, 1),
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, 1),
        ({"LOCAL_RANK": "0", "NODE_RANK": "2", "LOCAL_WORLD_SIZE": "4"}, 8),
        ({"LOCAL_RANK": "1", "GROUP_RANK": "1", "LOCAL_WORLD_SIZE": "2"}, 3),
        ({"NODE_RANK": "1"}, 1),
        ({"SLURM_PROCID": "0", "NODE_RANK": "1"}, 0),
    ],
)
def test_rank_counts_node_rank_and_group_rank(environ: dict[str, str], rank: int) -> None:
    assert process_rank(environ) == rank


def test_lightning_second_node_records_nothing(repo: Path) -> None:
    script = write_script(repo / "t.py", TRAIN + "print('REC', run.recording)\n")
    proc = run_python(repo, script, env={"LOCAL_RANK": "0", "NODE_RANK": "1"})
    assert "REC False" in proc.stdout, proc.stderr
    assert git(repo, "rev-parse", "-q", "--verify", "gitcfg-runs", check=False) == ""


def _gitcfg(*args: str, cwd: Path) -> list[str]:
    exe = Path(sys.executable).parent / "gitcfg"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "gitcfg", *args]


def test_closed_output_pipe_exits_quietly(repo: Path) -> None:
    script = write_script(
        repo / "t.py",
        TRAIN
        + """
for i in range(20000):
    run.log({"loss": 1.0 / (i + 1), "acc": i})
""",
    )
    run_id = _run_id(run_python(repo, script))
    command = " ".join(_gitcfg("show", run_id, "--metrics", cwd=repo))
    proc = subprocess.run(
        f'{command} | head -1; echo "status=${{PIPESTATUS[0]}}"',
        shell=True,
        executable="/bin/bash",
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stderr == "", proc.stderr
    status = proc.stdout.strip().splitlines()[-1]
    assert status in ("status=0", "status=141"), proc.stdout


def test_pull_from_unknown_remote_suggests_pull(repo: Path, cli) -> None:
    result = cli(repo, "pull", "nowhere")
    line = one_error_line(result)
    assert "gitcfg pull REMOTE" in line and "gitcfg push" not in line


def test_unknown_format_is_named(repo: Path, cli) -> None:
    result = cli(repo, "log", "--format", "xml")
    assert result.exit_code == 2
    assert "'xml'" in result.output


def test_dubious_ownership_is_not_not_a_repo(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    repo = _commit_repo(tmp_path / "theirs")
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True)
    env = dict(os.environ)
    proc = subprocess.run(
        _gitcfg("log", cwd=repo), cwd=repo, capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert "safe.directory" in proc.stderr and "not inside a git repository" not in proc.stderr


def test_exit_status_opt_out_leaves_systemexit_alone(tmp_path: Path) -> None:
    code = "import builtins, gitcfg; print(builtins.SystemExit.__module__, builtins.SystemExit.__mro__[1].__name__)"
    default = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    opted = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, GITCFG_EXIT_STATUS="0"),
    )
    assert default.stdout.split()[1] == "SystemExit"  # the recording subclass is installed
    assert opted.stdout.split()[1] == "BaseException"  # the interpreter's own class
