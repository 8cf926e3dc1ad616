"""gitcfg never commits onto a branch that shares history with the code, nor onto one it cannot write.

Refused before anything is written, with one line: `gitcfg.branch` naming the code branch, the runs
branch checked out in a worktree, a `gitcfg-runs` made from the code, an invalid branch name, a
runs branch whose FORMAT is newer than this gitcfg (reads still work). Recovery commits a journal
only into the run it is named for. Real repositories, real processes, the real CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, one_error_line, run_python, snapshot, write_script

from gitcfg.store import FORMAT_VERSION, branch_name_problem, run_dir

TRAIN = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
run.log({"loss": 1.0})
run.finish()
print(run.id)
"""


def _record(repo: Path) -> str:
    script = repo / "train.py"
    if not script.exists() or "gitcfg" not in script.read_text():
        write_script(script, TRAIN)
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def _refused_track(repo: Path) -> str:
    """Run a tracking script that must fail; return its last stderr line."""
    write_script(repo / "train.py", TRAIN)
    proc = run_python(repo, repo / "train.py")
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: "), proc.stderr
    return lines[0]


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def _no_journal(repo: Path) -> bool:
    live = repo / ".git" / "gitcfg" / "live"
    return not live.exists() or not any(live.iterdir())


# --- the runs branch is never the code's ---------------------------------------------------------


def test_gitcfg_branch_main_is_refused_before_anything_is_written(repo: Path) -> None:
    git(
        repo,
        "config",
        "gitcfg.branch",
        "main" if git(repo, "branch", "--show-current") == "main" else "master",
    )
    write_script(repo / "train.py", TRAIN)
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "script")
    before, refs = snapshot(repo), _refs(repo)
    line = _refused_track(repo)
    assert "is checked out in" in line and str(repo) in line
    assert snapshot(repo) == before and _refs(repo) == refs and _no_journal(repo)
    assert git(repo, "status", "--porcelain") == ""


def test_a_code_branch_not_checked_out_is_refused_as_not_a_runs_branch(repo: Path, cli) -> None:
    code_branch = git(repo, "branch", "--show-current")
    git(repo, "switch", "-q", "-c", "dev")
    git(repo, "config", "gitcfg.branch", code_branch)
    refs = _refs(repo)
    line = _refused_track(repo)
    assert f"branch {code_branch} is not a gitcfg runs branch" in line and "train.py" in line
    assert _refs(repo) == refs and _no_journal(repo)
    line = one_error_line(cli(repo, "init"))
    assert f"branch {code_branch} is not a gitcfg runs branch" in line
    assert _refs(repo) == refs


def test_init_refuses_to_adopt_a_gitcfg_runs_made_from_the_code(repo: Path, cli) -> None:
    git(repo, "branch", "gitcfg-runs")  # the code's history under gitcfg's name
    refs = _refs(repo)
    line = one_error_line(cli(repo, "init"))
    assert "branch gitcfg-runs is not a gitcfg runs branch" in line and "train.py" in line
    assert git(repo, "config", "--get", "gitcfg.branch", check=False) == ""
    assert not (repo / ".git" / "hooks" / "pre-push").exists()
    line = _refused_track(repo)
    assert "branch gitcfg-runs is not a gitcfg runs branch" in line
    assert _refs(repo) == refs and _no_journal(repo)


def test_the_runs_branch_checked_out_in_a_worktree_is_never_moved(
    repo: Path, cli, tmp_path: Path
) -> None:
    run_id = _record(repo)
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "script")
    linked = tmp_path / "runs-wt"
    git(repo, "worktree", "add", "-q", str(linked), "gitcfg-runs")
    tip = git(repo, "rev-parse", "gitcfg-runs")
    line = _refused_track(repo)
    assert f"the runs branch gitcfg-runs is checked out in {linked}" in line
    for args in (("amend", run_id, "--set", "lr=0.2"), ("rm", run_id), ("init",)):
        line = one_error_line(cli(repo, *args))
        assert "checked out in" in line, args
    assert git(repo, "rev-parse", "gitcfg-runs") == tip
    assert git(linked, "status", "--porcelain") == ""  # no `D runs/...` left staged
    # reads still work
    result = cli(repo, "show", run_id)
    assert result.exit_code == 0, result.output
    git(repo, "worktree", "remove", str(linked))
    assert _record(repo) != run_id  # free again


def test_the_runs_branch_checked_out_in_the_main_worktree_is_refused(repo: Path, cli) -> None:
    _record(repo)
    git(repo, "stash", "-u", "-q")
    git(repo, "switch", "-q", "gitcfg-runs")
    tip = git(repo, "rev-parse", "gitcfg-runs")
    write_script(repo / "train.py", TRAIN)
    proc = run_python(repo, repo / "train.py")
    assert proc.returncode != 0 and "is checked out in" in proc.stderr
    assert git(repo, "rev-parse", "gitcfg-runs") == tip
    assert git(repo, "status", "--porcelain") == "?? train.py"


BRANCH_NAMES = [
    "gitcfg-runs",
    "runs/team-a",
    "é-runs",
    "a@b",
    "a..b",
    "a b",
    "-runs",
    "HEAD",
    "a/.b",
    "a.lock",
    "a/",
    "/a",
    "a//b",
    "a.",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a@{1}",
    "a\tb",
    "a\x7fb",
    ".a",
]


@pytest.mark.parametrize("name", BRANCH_NAMES)
def test_branch_names_are_judged_as_git_check_ref_format_does(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True
    )
    assert (branch_name_problem(name) is None) == (proc.returncode == 0), name


def test_an_invalid_branch_name_in_git_config_is_an_error_naming_it(repo: Path, cli) -> None:
    git(repo, "config", "gitcfg.branch", "../../HEAD")
    line = one_error_line(cli(repo, "log"))
    assert "gitcfg.branch is '../../HEAD', not a valid branch name" in line
    line = _refused_track(repo)
    assert "'../../HEAD'" in line
    assert _no_journal(repo)


# --- a FORMAT newer than this gitcfg: reads work, writes refuse ---------------------------------


NEWER = str(FORMAT_VERSION + 1)


def _bump_format(repo: Path, tmp_path: Path, version: str = NEWER) -> None:
    wt = tmp_path / "bump"
    git(repo, "worktree", "add", "-q", str(wt), "gitcfg-runs")
    (wt / "FORMAT").write_text(f"{version}\n")
    git(wt, "commit", "-q", "-am", f"format {version}")
    git(repo, "worktree", "remove", str(wt))


def test_a_newer_format_reads_but_refuses_every_write(repo: Path, cli, tmp_path: Path) -> None:
    run_id = _record(repo)
    removed = _record(repo)
    assert cli(repo, "rm", removed).exit_code == 0
    _bump_format(repo, tmp_path)
    tip = git(repo, "rev-parse", "gitcfg-runs")
    args: tuple[str, ...]
    for args in (("log",), ("show", run_id), ("history", run_id)):
        result = cli(repo, *args)
        assert result.exit_code == 0, (args, result.output)
    assert run_id[:8] in cli(repo, "log").output
    for args in (("amend", run_id, "--set", "lr=0.2"), ("rm", run_id), ("restore", removed)):
        line = one_error_line(cli(repo, *args))
        assert (
            f"uses format {NEWER}, newer than this gitcfg" in line and "upgrade gitcfg" in line
        ), args
    line = _refused_track(repo)
    assert "upgrade gitcfg" in line
    assert git(repo, "rev-parse", "gitcfg-runs") == tip and _no_journal(repo)


def test_pull_of_a_newer_format_and_push_merging_into_one_refuse(
    repo: Path, remote: Path, cli, tmp_path: Path
) -> None:
    git(repo, "remote", "add", "origin", str(remote))
    _record(repo)
    assert cli(repo, "push", "origin").exit_code == 0
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "fetch", "-q", "origin", "gitcfg-runs:gitcfg-runs")
    _bump_format(other, tmp_path)
    git(other, "push", "-q", "origin", "gitcfg-runs")
    _record(repo)  # diverged: push must merge theirs first
    tip = git(repo, "rev-parse", "gitcfg-runs")
    for args in (("pull", "origin"), ("push", "origin")):
        line = one_error_line(cli(repo, *args))
        assert f"uses format {NEWER}, newer than this gitcfg" in line, args
    assert git(repo, "rev-parse", "gitcfg-runs") == tip


def test_a_pulled_branch_holding_code_is_refused(
    repo: Path, remote: Path, cli, tmp_path: Path
) -> None:
    git(repo, "remote", "add", "origin", str(remote))
    git(remote, "branch", "gitcfg-runs", "main")  # the remote's "runs" are the code's history
    refs = _refs(repo)
    line = one_error_line(cli(repo, "pull", "origin"))
    assert (
        "origin's gitcfg-runs is not a gitcfg runs branch" in line and "nothing was merged" in line
    )
    assert (
        "refs/heads/gitcfg-runs" not in _refs(repo)
        and _refs(repo).count("\n") <= refs.count("\n") + 1
    )


# --- recovery trusts a journal only for the run it is named for ---------------------------------

KILLED = """
import os, signal, gitcfg
run = gitcfg.track({"lr": 0.5})
run.log({"loss": 9.0})
print(run.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_run(repo: Path, tmp_path: Path) -> str:
    script = write_script(tmp_path / "killed.py", KILLED)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -9, proc.stderr
    return proc.stdout.strip()


def _run_tree(repo: Path, run_id: str) -> str:
    return git(repo, "rev-parse", f"gitcfg-runs:{run_dir(run_id)}")


@pytest.mark.parametrize("tamper", ["meta_says_victim", "renamed_to_victim", "bad_dir_name"])
def test_recovery_never_commits_a_journal_into_another_run(
    repo: Path, tmp_path: Path, cli, tamper: str
) -> None:
    victim = _record(repo)
    victim_tree = _run_tree(repo, victim)
    killed = _killed_run(repo, tmp_path)
    live = repo / ".git" / "gitcfg" / "live"
    journal = live / killed
    meta = json.loads((journal / "meta.json").read_text())
    if tamper == "meta_says_victim":
        meta["run"]["id"] = meta["run_id"] = victim
        (journal / "meta.json").write_text(json.dumps(meta))
        name = killed
    elif tamper == "renamed_to_victim":
        journal.rename(live / victim)
        name = victim
    else:
        meta["run"]["id"] = meta["run_id"] = "../x y"
        (journal / "meta.json").write_text(json.dumps(meta))
        journal.rename(live / "x y")
        name = "x y"
    tip = git(repo, "rev-parse", "gitcfg-runs")
    result = cli(repo, "log")
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if "skipped the journal" in ln]
    assert len(warnings) == 1 and repr(name) in warnings[0], result.stderr
    assert git(repo, "rev-parse", "gitcfg-runs") == tip and _run_tree(repo, victim) == victim_tree
    assert not (live / name).exists() and any(
        p.name.startswith(".untrusted-") for p in live.iterdir()
    )
    again = cli(repo, "log")
    assert "skipped the journal" not in again.stderr  # warned once: moved aside
