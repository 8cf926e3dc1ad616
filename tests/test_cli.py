"""The gitcfg CLI through typer's CliRunner and through real subprocesses."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    commit_initial,
    copy_repo,
    git,
    init_repo,
    one_error_line,
    run_dir_of,
    run_python,
    sealed,
    snapshot,
    write_script,
)

SWEEP = """
import sys, gitcfg
lr, seed = float(sys.argv[1]), int(sys.argv[2])
run = gitcfg.track({"lr": lr, "seed": seed, "batch": 32, "model": {"depth": 4}})
run.log({"val_acc": lr * 10 + seed})
run.summary["loss"] = 1 - lr
run.finish()
print(run.id)
"""


@pytest.fixture(scope="module")
def sweep_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[float, int]]]:
    """Six runs, each recorded by its own Python process: built once, ~3 s, copied per test."""
    base = tmp_path_factory.mktemp("sweep")
    with sealed(tmp_path_factory):
        repo = commit_initial(init_repo(base / "repo"))
        script = write_script(base / "sweep.py", SWEEP)
        ids = {}
        for lr in (0.1, 0.2):
            for seed in (0, 1, 2):
                proc = run_python(repo, script, str(lr), str(seed))
                assert proc.returncode == 0, proc.stderr
                ids[proc.stdout.strip()] = (lr, seed)
    return repo, ids


@pytest.fixture
def swept_repo(
    sweep_template: tuple[Path, dict[str, tuple[float, int]]], tmp_path: Path
) -> tuple[Path, dict[str, tuple[float, int]]]:
    template, ids = sweep_template
    return copy_repo(template, tmp_path / "repo"), dict(ids)


def test_version(cli, tmp_path: Path) -> None:
    result = cli(tmp_path, "--version")
    assert result.exit_code == 0 and result.output.startswith("gitcfg ")


def test_init_creates_branch_config_and_hook_and_is_idempotent(cli, repo: Path) -> None:
    before = snapshot(repo)
    result = cli(repo, "init")
    assert result.exit_code == 0, result.output
    assert git(repo, "config", "gitcfg.branch") == "gitcfg-runs"
    files = git(repo, "ls-tree", "--name-only", "gitcfg-runs").splitlines()
    assert sorted(files) == ["FORMAT", "README.md"]
    assert "runs/<a>/<b>/<c>/<run-id>/" in git(repo, "show", "gitcfg-runs:README.md")
    hook = repo / ".git" / "hooks" / "pre-push"
    assert hook.exists() and os.access(hook, os.X_OK)
    assert before["index"] == snapshot(repo)["index"]
    tip = git(repo, "rev-parse", "gitcfg-runs")
    hook_bytes = hook.read_bytes()
    again = cli(repo, "init")
    assert again.exit_code == 0, again.output
    assert "already initialised" in again.output
    assert git(repo, "rev-parse", "gitcfg-runs") == tip and hook.read_bytes() == hook_bytes


def test_init_chains_an_existing_hook(cli, repo: Path, tmp_path: Path) -> None:
    hooks = repo / ".git" / "hooks"
    mine = '#!/bin/sh\necho mine-ran >> "$(git rev-parse --git-dir)/mine.log"\nexit 0\n'
    (hooks / "pre-push").write_text(mine)
    (hooks / "pre-push").chmod(0o755)
    result = cli(repo, "init")
    assert result.exit_code == 0, result.output
    assert (hooks / "pre-push.pre-gitcfg").read_text() == mine
    assert "gitcfg-hook" in (hooks / "pre-push").read_text()
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    assert (repo / ".git" / "mine.log").read_text() == "mine-ran\n"
    # the minimal hook also shares the runs branch with the remote
    assert git(remote, "rev-parse", "gitcfg-runs") == git(repo, "rev-parse", "gitcfg-runs")


def test_init_honours_core_hooks_path(cli, repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    result = cli(repo, "init")
    assert result.exit_code == 0, result.output
    assert (repo / ".githooks" / "pre-push").exists()


def test_log_lists_runs_newest_first_with_differing_keys(cli, swept_repo) -> None:
    repo, ids = swept_repo
    result = cli(repo, "log", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == list(reversed(ids))  # newest first
    assert {r["status"] for r in rows} == {"finished"}
    head = git(repo, "rev-parse", "HEAD")
    assert {r["commit"] for r in rows} == {head}
    assert all("lr" in r and "seed" in r for r in rows)
    assert not any("batch" in r or "model.depth" in r for r in rows)  # constant keys not columns
    for row in rows:
        lr, seed = ids[row["id"]]
        assert row["lr"] == lr and row["seed"] == seed
        assert row["val_acc"] == pytest.approx(lr * 10 + seed)
        assert row["loss"] == pytest.approx(1 - lr)


def test_log_table_shows_constants_and_columns(cli, swept_repo, monkeypatch) -> None:
    repo, ids = swept_repo
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(repo, "log")
    assert result.exit_code == 0, result.output
    assert "same in every run" in result.output and "batch=32" in result.output
    header = next(line for line in result.output.splitlines() if line.lstrip().startswith("id"))
    for column in ("name", "status", "age", "commit", "lr", "seed", "val_acc"):
        assert column in header


def test_log_group_by_gives_count_mean_and_std(cli, swept_repo) -> None:
    repo, ids = swept_repo
    result = cli(repo, "log", "--group-by", "lr", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["lr"] for r in rows] == [0.1, 0.2]
    for row in rows:
        accs = [lr * 10 + seed for lr, seed in ids.values() if lr == row["lr"]]
        assert row["runs"] == 3
        assert row["val_acc"]["mean"] == pytest.approx(statistics.mean(accs))
        assert row["val_acc"]["std"] == pytest.approx(statistics.stdev(accs))
    table = cli(repo, "log", "--group-by", "lr")
    assert table.exit_code == 0 and "±" in table.output


def test_show_accepts_a_unique_prefix(cli, swept_repo) -> None:
    repo, ids = swept_repo
    run_id = sorted(ids)[0]
    prefix = next(
        run_id[:n] for n in range(6, 27) if sum(i.startswith(run_id[:n]) for i in ids) == 1
    )
    result = cli(repo, "show", prefix)
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    assert document["run"]["id"] == run_id
    lr, seed = ids[run_id]
    assert document["config"] == {"lr": lr, "seed": seed, "batch": 32, "model": {"depth": 4}}
    assert document["summary"]["loss"] == pytest.approx(1 - lr)
    config_only = cli(repo, "show", run_id, "--config")
    assert yaml.safe_load(config_only.output) == document["config"]


def test_show_unknown_and_ambiguous_prefix_are_one_line_errors(cli, swept_repo) -> None:
    repo, ids = swept_repo
    missing = cli(repo, "show", "zzzzzz")
    assert missing.exit_code == 1 and "no run matches" in missing.output
    shared = os.path.commonprefix(sorted(ids))
    ambiguous = cli(repo, "show", shared or "0")
    assert ambiguous.exit_code == 1 and "matches 6 runs" in ambiguous.output


def test_log_outside_a_repo_is_one_line_nonzero(tmp_path: Path) -> None:
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", "log"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("gitcfg: error:") and "git init" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_file_at_git_gitcfg_is_a_one_line_error_for_writers_and_log_still_reads(
    cli, swept_repo
) -> None:
    repo, ids = swept_repo
    state = repo / ".git" / "gitcfg"
    for path in sorted(state.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    state.rmdir()
    state.write_text("not a directory\n")
    result = cli(repo, "log", "--format", "json")  # reads without its cache
    assert result.exit_code == 0, result.output
    assert {row["id"] for row in json.loads(result.stdout)} == set(ids)
    line = one_error_line(cli(repo, "rm", next(iter(ids))))
    assert f"cannot write {state}: it is not a directory; check its permissions" in line


def test_a_damaged_journal_is_a_warning_not_a_failure_of_every_command(cli, swept_repo) -> None:
    repo, ids = swept_repo
    live = repo / ".git" / "gitcfg" / "live" / "0damaged"
    live.mkdir(parents=True)
    from gitcfg.store import hostname

    owner = {"host": hostname(), "pid": 2**22 + 1, "start": 1, "boot_id": None}  # gone: no such pid
    (live / "meta.json").write_text(json.dumps({"owner": owner, "run": {"status": "running"}}))
    result = cli(repo, "log", "--format", "json")
    assert result.exit_code == 0, result.output
    # a journal without its run id is not trusted: skipped with a warning naming it
    assert "gitcfg: warning: skipped the journal live/'0damaged'" in result.stderr
    assert {row["id"] for row in json.loads(result.stdout)} == set(ids)


def test_log_with_no_runs_says_so(cli, repo: Path) -> None:
    result = cli(repo, "log")
    assert result.exit_code == 0 and "no runs" in result.output


def test_installed_console_script_runs(repo: Path) -> None:
    exe = Path(sys.executable).parent / "gitcfg"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "gitcfg"]
    proc = subprocess.run([*argv, "--help"], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0 and "log" in proc.stdout and "show" in proc.stdout


def test_demo_runs_a_sweep_and_prints_the_grouped_log(tmp_path: Path) -> None:
    (Path.home() / ".gitconfig").write_text("")  # the demo must work with no git identity
    target = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", "demo", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gitcfg log --group-by lr" in proc.stdout and "±" in proc.stdout
    lines = git(target, "ls-tree", "-r", "--name-only", "gitcfg-runs").splitlines()
    run_dirs = {run_dir_of(p) for p in lines if p.startswith("runs/")}
    assert len(run_dirs) >= 12
    out = subprocess.run(
        [sys.executable, "-m", "gitcfg", "log", "--group-by", "lr", "--format", "json"],
        cwd=target,
        capture_output=True,
        text=True,
    )
    groups = json.loads(out.stdout)
    assert [g["lr"] for g in groups] == [0.001, 0.01, 0.1] and all(g["runs"] == 4 for g in groups)


def test_log_table_fits_an_80_column_terminal(cli, swept_repo, monkeypatch) -> None:
    repo, _ = swept_repo
    monkeypatch.setenv("COLUMNS", "60")
    result = cli(repo, "log")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 60 for line in lines), result.output
    header = next(line for line in lines if line.lstrip().startswith("id"))
    assert "status" in header and "lr" in header and "seed" in header
    assert any("not shown at this width" in line for line in lines)
