"""track() end to end: real scripts in real processes writing to real repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    git,
    read_branch_file,
    run_dir_of,
    run_python,
    runs_branch_files,
    snapshot,
    write_script,
)

from gitcfg.store import FORMAT_VERSION, run_dir


def _only_run_dir(repo: Path) -> str:
    dirs = {run_dir_of(p) for p in runs_branch_files(repo) if p.startswith("runs/")}
    assert len(dirs) == 1, dirs
    return dirs.pop()


def _load(repo: Path, path: str) -> Any:
    return yaml.safe_load(read_branch_file(repo, path))


BASIC = """
import gitcfg
run = gitcfg.track({"lr": 0.001, "model": {"depth": 18}, "name": "x"})
run.config.epochs = 3
for epoch in range(run.config.epochs):
    run.log({"epoch": epoch, "train_loss": 1.0 / (epoch + 1)})
run.summary["best"] = 0.5
run.finish()
print(run.id)
"""


def test_a_run_is_recorded_with_config_run_summary_and_metrics(repo: Path) -> None:
    script = write_script(repo / "train.py", BASIC)
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "script")
    head = git(repo, "rev-parse", "HEAD")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    base = _only_run_dir(repo)
    assert base == f"{run_dir(run_id)}"
    assert _load(repo, f"{base}/config.yaml") == {
        "lr": 0.001,
        "model": {"depth": 18},
        "name": "x",
        "epochs": 3,
    }
    meta = _load(repo, f"{base}/run.yaml")
    assert meta["id"] == run_id
    assert meta["status"] == "finished" and meta["exit_code"] == 0
    assert meta["code"]["commit"] == head and meta["code"]["branch"] == "main"
    assert meta["code"]["dirty"] is False
    assert "epochs" in meta["config_changed"]
    assert _load(repo, f"{base}/summary.yaml") == {"epoch": 2, "train_loss": 1 / 3, "best": 0.5}
    rows = [
        json.loads(line) for line in read_branch_file(repo, f"{base}/metrics.jsonl").splitlines()
    ]
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert f"{base}/diff.patch" not in runs_branch_files(repo)


def test_two_commits_per_run_start_then_end(repo: Path) -> None:
    proc = run_python(repo, write_script(repo / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    subjects = git(repo, "log", "--format=%s", "gitcfg-runs").splitlines()
    assert subjects[:2] == [f"run {run_id}: finished (exit 0)", f"run {run_id}: started"]
    started = git(repo, "rev-parse", "gitcfg-runs~1")
    files = git(repo, "ls-tree", "-r", "--name-only", started).splitlines()
    base = f"{run_dir(run_id)}"
    assert f"{base}/config.yaml" in files and f"{base}/run.yaml" in files
    meta = yaml.safe_load(git(repo, "show", f"{started}:{base}/run.yaml"))
    assert meta["status"] == "running"
    body = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    assert f"Code-Commit: {git(repo, 'rev-parse', 'HEAD')}" in body


def test_runs_branch_is_an_orphan(repo: Path) -> None:
    assert run_python(repo, write_script(repo / "t.py", BASIC)).returncode == 0
    proc = subprocess.run(
        ["git", "merge-base", "gitcfg-runs", "main"], cwd=repo, capture_output=True
    )
    assert proc.returncode == 1 and proc.stdout == b""
    first = git(repo, "rev-list", "--max-parents=0", "gitcfg-runs")
    assert sorted(git(repo, "ls-tree", "--name-only", first).splitlines()) == [
        "FORMAT",
        "README.md",
    ]
    assert git(repo, "show", f"{first}:FORMAT") == str(FORMAT_VERSION)


def test_recording_never_touches_worktree_index_head_stash_or_hooks(dirty_repo: Path) -> None:
    git(dirty_repo, "stash", "list")
    hooks = dirty_repo / ".git" / "hooks"
    (hooks / "reference-transaction").write_text("#!/bin/sh\necho HOOK-RAN >> hook.log\n")
    (hooks / "reference-transaction").chmod(0o755)
    (hooks / "post-commit").write_text("#!/bin/sh\necho HOOK-RAN >> hook.log\n")
    (hooks / "post-commit").chmod(0o755)
    script = write_script(dirty_repo.parent / "outside_train.py", BASIC)
    before = snapshot(dirty_repo)
    proc = run_python(dirty_repo, script)
    assert proc.returncode == 0, proc.stderr
    after = snapshot(dirty_repo)
    assert before == after
    assert not (dirty_repo / "hook.log").exists()


def test_dirty_worktree_patch_applies_on_the_code_commit(dirty_repo: Path, tmp_path: Path) -> None:
    expected_train = (dirty_repo / "train.py").read_text()
    expected_readme = (dirty_repo / "README.md").read_text()
    script = write_script(dirty_repo.parent / "outside.py", BASIC)
    proc = run_python(dirty_repo, script)
    assert proc.returncode == 0, proc.stderr
    base = _only_run_dir(dirty_repo)
    meta = _load(dirty_repo, f"{base}/run.yaml")
    assert meta["code"]["dirty"] is True
    patch = subprocess.run(
        ["git", "show", f"gitcfg-runs:{base}/diff.patch"], cwd=dirty_repo, capture_output=True
    ).stdout
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(dirty_repo), str(clone))
    git(clone, "checkout", "-q", meta["code"]["commit"])
    subprocess.run(["git", "apply"], cwd=clone, input=patch, check=True)
    assert (clone / "train.py").read_text() == expected_train
    assert (clone / "README.md").read_text() == expected_readme
    assert (clone / "notes.txt").read_text() == "untracked notes\n"


def test_unborn_head_records_null_commit_with_a_warning(unborn_repo: Path) -> None:
    proc = run_python(unborn_repo, write_script(unborn_repo.parent / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    assert "no commits yet" in proc.stderr
    meta = _load(unborn_repo, f"{_only_run_dir(unborn_repo)}/run.yaml")
    assert meta["code"]["commit"] is None


def test_detached_head_records_commit_and_no_branch(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    proc = run_python(repo, write_script(repo.parent / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["code"]["commit"] == head and meta["code"]["branch"] is None


def test_worktree_records_into_the_shared_runs_branch(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(other))
    (other / "train.py").write_text("print('feature')\n")
    git(other, "commit", "-qam", "feature work")
    proc = run_python(other, write_script(tmp_path / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["code"]["branch"] == "feature"
    assert meta["code"]["commit"] == git(other, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_from_a_subdirectory(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    proc = run_python(sub, write_script(repo.parent / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["cwd"] == str(sub)


def test_track_outside_a_repo_fails_with_one_line(tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    proc = run_python(
        outside,
        write_script(tmp_path / "t.py", BASIC),
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "not inside a git repository" in lines[0] and "git init" in lines[0]
    assert "Traceback" not in proc.stderr


def test_track_with_a_file_at_git_gitcfg_fails_with_one_line(repo: Path, tmp_path: Path) -> None:
    (repo / ".git" / "gitcfg").write_text("not a directory\n")
    proc = run_python(repo, write_script(tmp_path / "t.py", BASIC))
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if "warning:" not in ln]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (
        f"cannot write {repo / '.git' / 'gitcfg'}" in lines[0]
        and "check its permissions" in lines[0]
    )


def test_no_git_identity_still_records(repo: Path, tmp_path: Path) -> None:
    (Path.home() / ".gitconfig").write_text("")
    proc = run_python(repo, write_script(tmp_path / "t.py", BASIC))
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "log", "-1", "--format=%an", "gitcfg-runs")


def test_exception_marks_the_run_failed_and_reraises(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import gitcfg
        with gitcfg.track({"lr": 1}) as run:
            run.log({"loss": 1.0})
            raise ValueError("diverged at step 1")
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 1
    assert "ValueError: diverged at step 1" in proc.stderr
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["status"] == "failed"
    assert (
        meta["error"]["type"] == "ValueError" and meta["error"]["message"] == "diverged at step 1"
    )


def test_uncaught_exception_without_context_manager_marks_failed(
    repo: Path, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import gitcfg
        gitcfg.track({"lr": 1})
        gitcfg.log({"loss": 1.0})
        raise RuntimeError("boom")
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 1 and "RuntimeError: boom" in proc.stderr
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["status"] == "failed" and meta["error"]["message"] == "boom"


def test_normal_exit_finishes_the_run_via_atexit(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import gitcfg
        gitcfg.track({"lr": 1})
        gitcfg.config.update({"extra": 2})
        gitcfg.log({"loss": 0.5})
        gitcfg.summary["final"] = 1.5
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    base = _only_run_dir(repo)
    assert _load(repo, f"{base}/run.yaml")["status"] == "finished"
    assert _load(repo, f"{base}/config.yaml") == {"lr": 1, "extra": 2}
    assert _load(repo, f"{base}/summary.yaml") == {"loss": 0.5, "final": 1.5}


def test_sys_exit_nonzero_marks_failed_with_exit_code(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import sys, gitcfg
        gitcfg.track({"lr": 1})
        sys.exit(3)
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 3
    meta = _load(repo, f"{_only_run_dir(repo)}/run.yaml")
    assert meta["status"] == "failed" and meta["exit_code"] == 3


def test_argparse_namespace_is_accepted(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import argparse, gitcfg
        p = argparse.ArgumentParser()
        p.add_argument("--lr", type=float, default=0.1)
        p.add_argument("--layers", type=int, default=2)
        run = gitcfg.track(p.parse_args())
        assert run.config.lr == 0.5 and run.config["layers"] == 2
        assert run.config.get("missing", 7) == 7
    """,
    )
    proc = run_python(repo, script, "--lr", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert _load(repo, f"{_only_run_dir(repo)}/config.yaml") == {"lr": 0.5, "layers": 2}


@pytest.mark.slow
def test_eight_writers_lose_no_run(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import sys, gitcfg
        for i in range(10):
            run = gitcfg.track({"writer": int(sys.argv[1]), "i": i})
            run.log({"loss": i})
            run.finish()
    """,
    )
    import os
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(w)],
            cwd=repo,
            env=dict(os.environ),
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    files = runs_branch_files(repo)
    run_dirs = {run_dir_of(p) for p in files if p.startswith("runs/")}
    assert len(run_dirs) == 80
    seen = set()
    for base in run_dirs:
        meta = yaml.safe_load(read_branch_file(repo, f"{base}/run.yaml"))
        config = yaml.safe_load(read_branch_file(repo, f"{base}/config.yaml"))
        assert meta["status"] == "finished"
        assert f"{base}/metrics.jsonl" in files and f"{base}/summary.yaml" in files
        seen.add((config["writer"], config["i"]))
    assert seen == {(w, i) for w in range(8) for i in range(10)}
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=repo, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_import_gitcfg_loads_no_heavy_module(tmp_path: Path) -> None:
    code = (
        "import sys, gitcfg\n"
        "heavy = [m for m in ('git', 'yaml', 'typer', 'rich', 'click') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run(
        [__import__("sys").executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_track_does_not_import_gitpython_typer_or_rich(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import sys, gitcfg
        run = gitcfg.track({"lr": 1})
        run.log({"a": 1})
        run.finish()
        print(",".join(m for m in ("git", "typer", "rich") if m in sys.modules))
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_a_hydra_app_records_its_overrides_in_run_yaml(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("hydra")
    (repo / "conf.yaml").write_text("lr: 0.1\nmodel:\n  depth: 18\n  width: 64\n")
    script = write_script(
        repo / "app.py",
        """
        import hydra, gitcfg

        @hydra.main(version_base=None, config_path=".", config_name="conf")
        def main(cfg):
            with gitcfg.track(cfg) as run:
                run.log({"loss": 1.0})

        main()
    """,
    )
    proc = run_python(repo, script, "lr=0.5", "model.depth=50", f"hydra.run.dir={tmp_path}/out")
    assert proc.returncode == 0, proc.stderr
    base = _only_run_dir(repo)
    assert _load(repo, f"{base}/config.yaml") == {"lr": 0.5, "model": {"depth": 50, "width": 64}}
    assert _load(repo, f"{base}/run.yaml")["hydra_overrides"] == ["lr=0.5", "model.depth=50"]
