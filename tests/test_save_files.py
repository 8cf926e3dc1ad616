"""save(glob, base_path, policy) and run.dir: files committed under `files/` in the run's
directory (policy now: at once; live/end: in the final commit), listed and printed by
`gitcfg show RUN --files/--file`, read by `Api().run(id).file(name)`; the per-run size limit
warns and skips; paths never escape the run directory; watch() records the model."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git, read_branch_file, run_python, write_script
from typer.testing import CliRunner

from gitcfg.cli import app
from gitcfg.query import Api
from gitcfg.store import run_dir


def _files(repo: Path, run_id: str) -> list[str]:
    base = run_dir(run_id) + "/files/"
    listed = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", base)
    return sorted(path[len(base) :] for path in listed.splitlines())


def _run(repo: Path, body: str, name: str = "train.py", env: dict[str, str] | None = None) -> str:
    proc = run_python(repo, write_script(repo / name, body), env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


SAVER = """
import os, pathlib, gitcfg
os.makedirs("out/sub", exist_ok=True)
pathlib.Path("out/a.txt").write_text("a1")
pathlib.Path("out/sub/b.txt").write_text("b1")
pathlib.Path("notes.md").write_text("notes")
run = gitcfg.track({"lr": 0.1})
print(gitcfg.save("notes.md", policy="now"))
print(run.save("out/**/*.txt", base_path="out", policy="end"))
gitcfg.save(os.path.abspath("out/sub/b.txt"), policy="live")
pathlib.Path("out/a.txt").write_text("a2")  # end: the content at finish
print(run.id)
"""


def test_save_under_each_policy_commits_files_relative_to_base(repo: Path) -> None:
    run_id = _run(repo, SAVER)
    assert _files(repo, run_id) == ["a.txt", "b.txt", "notes.md", "sub/b.txt"]
    messages = git(repo, "log", "--format=%s", "gitcfg-runs").splitlines()
    assert messages[:3] == [
        f"run {run_id}: finished (exit 0)",
        f"run {run_id}: saved 1 files",
        f"run {run_id}: started",
    ]
    saved_now = git(repo, "rev-parse", "gitcfg-runs~1")
    assert git(repo, "show", f"{saved_now}:{run_dir(run_id)}/files/notes.md") == "notes"
    assert read_branch_file(repo, f"{run_dir(run_id)}/files/a.txt") == "a2"


def test_show_lists_and_prints_files_and_the_api_returns_bytes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _run(repo, SAVER)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["show", run_id[:8], "--files"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["a.txt", "b.txt", "notes.md", "sub/b.txt"]
    result = CliRunner().invoke(app, ["show", run_id[:8], "--file", "sub/b.txt"])
    assert result.exit_code == 0 and result.stdout_bytes == b"b1"
    result = CliRunner().invoke(app, ["show", run_id[:8], "--file", "missing.txt"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("gitcfg: error: run ")
    assert "has no file 'missing.txt'" in result.output
    content = Api(repo).run(run_id).file("a.txt")
    assert content == b"a2" and isinstance(content, bytes) and content.name == "files/a.txt"
    target = content.download(root=str(repo / "dl"))
    assert target.read_bytes() == b"a2"


def test_a_saved_file_named_like_a_run_file_does_not_hide_it(repo: Path) -> None:
    run_id = _run(
        repo,
        """
        import pathlib, gitcfg
        pathlib.Path("run.yaml").write_text("not: the run")
        run = gitcfg.track({"lr": 0.1})
        gitcfg.save("run.yaml")
        print(run.id)
        """,
    )
    assert Api(repo).run(run_id).status == "finished"
    assert Api(repo).run(run_id).file("run.yaml") == b"not: the run"


def test_over_the_size_limit_one_warning_names_what_was_skipped(repo: Path) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "1k")
    proc = run_python(
        repo,
        write_script(
            repo / "big.py",
            """
            import pathlib, gitcfg
            pathlib.Path("small.txt").write_text("x" * 100)
            pathlib.Path("big.bin").write_bytes(b"y" * 5000)
            run = gitcfg.track({"lr": 0.1})
            gitcfg.save("*.txt")
            gitcfg.save("*.bin")
            print(run.id)
            """,
        ),
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[-1]
    assert _files(repo, run_id) == ["small.txt"]
    warnings = [line for line in proc.stderr.splitlines() if "big.bin" in line]
    assert len(warnings) == 1 and "gitcfg.maxFileBytes" in warnings[0]
    assert "skipped" in warnings[0] and "4.9 KiB" in warnings[0]
    assert Api(repo).run(run_id).status == "finished"


def test_save_refuses_a_glob_above_its_base_and_a_bad_policy(repo: Path) -> None:
    proc = run_python(
        repo,
        write_script(
            repo / "bad.py",
            """
            import gitcfg
            run = gitcfg.track({"lr": 0.1})
            for args, kwargs in [(("../*.txt",), {}), (("x.txt",), {"policy": "sometimes"}),
                                 (("a/x.txt",), {"base_path": "b"})]:
                try:
                    gitcfg.save(*args, **kwargs)
                except ValueError as e:
                    print("refused:", e)
            """,
        ),
    )
    assert proc.returncode == 0, proc.stderr
    refused = [line for line in proc.stdout.splitlines() if line.startswith("refused:")]
    assert len(refused) == 3
    assert "must lie under base_path" in refused[0] and "choose one of live, now, end" in refused[1]


RUN_DIR = """
import os, pathlib, gitcfg
run = gitcfg.track({"lr": 0.1})
os.makedirs(run.dir + "/ckpt", exist_ok=True)
pathlib.Path(run.dir, "model.txt").write_text("weights")
pathlib.Path(run.dir, "ckpt", "e1.txt").write_text("e1")
pathlib.Path("secret.txt").write_text("outside")
os.symlink(os.path.abspath("secret.txt"), os.path.join(run.dir, "link.txt"))
os.symlink(os.path.abspath("."), os.path.join(run.dir, "up"))
print(run.id)
"""


def test_what_the_script_writes_to_run_dir_is_saved_at_finish_without_escaping(
    repo: Path,
) -> None:
    run_id = _run(repo, RUN_DIR)
    assert _files(repo, run_id) == ["ckpt/e1.txt", "model.txt"]  # symlinks out are not followed


def test_saved_files_run_dir_and_media_are_committed_when_the_run_crashes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write_script(
        repo / "crash.py",
        """
        import pathlib, time, gitcfg
        pathlib.Path("ckpt.txt").write_text("c1")
        run = gitcfg.track({"lr": 0.1})
        gitcfg.save("ckpt.txt")
        pathlib.Path(run.dir, "model.txt").write_text("m1")
        gitcfg.log({"loss": 1.0, "samples": gitcfg.Table(columns=["x"], data=[[1], [2]])})
        print(run.id, flush=True)
        time.sleep(60)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=repo, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[-1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["log"])  # every command first records crashed runs
    assert result.exit_code == 0, result.output
    assert Api(repo).run(run_id).status == "crashed"
    assert _files(repo, run_id) == ["ckpt.txt", "model.txt"]  # run.dir's too
    table = read_branch_file(repo, f"{run_dir(run_id)}/media/samples/0.json")
    assert yaml.safe_load(table) == {"columns": ["x"], "data": [[1], [2]]}
    assert not (repo / ".git" / "gitcfg" / "live" / run_id).exists()


def test_watch_records_the_model_class_and_parameter_count(repo: Path) -> None:
    proc = run_python(
        repo,
        write_script(
            repo / "watch.py",
            """
            import gitcfg
            class Net:
                def parameters(self):
                    import numpy as np
                    return [np.zeros((10, 10)), np.zeros(34)]
            run = gitcfg.track({"lr": 0.1})
            gitcfg.watch(Net(), log="all", log_freq=10)
            run.watch([Net()], criterion=None)
            gitcfg.unwatch()
            run.unwatch(Net())
            print(run.id)
            """,
        ),
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[-1]
    meta = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))
    assert meta["watch"] == [{"class": "Net", "parameters": 134}] * 2
    assert proc.stderr.count("gradients and parameters are not collected") == 1
