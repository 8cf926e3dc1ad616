"""track(id=..., resume=...) continues a run that ended (issue 16)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, held_script, read_branch_file, run_python, write_script

from gitcfg.query import Api
from gitcfg.store import run_dir

# Logs steps run.step .. STOP-1; dies of SIGKILL after logging step KILL_AT when it is set.
TRAIN = """
import os, signal, sys, gitcfg
resume = os.environ.get("RESUME", "allow")
resume = {"True": True, "None": None}.get(resume, resume)
run_id = os.environ.get("RUN_ID") or None
run = gitcfg.track({"lr": 0.1}, id=run_id, resume=resume)
print(run.id, run.step, run.resumed, flush=True)
kill_at = int(os.environ.get("KILL_AT", "-1"))
for step in range(run.step, int(os.environ.get("STOP", "10"))):
    run.log({"loss": 1.0 / (step + 1), "step_seen": step})
    if step == kill_at:
        os.kill(os.getpid(), getattr(signal, os.environ.get("SIGNAL", "SIGKILL")))
"""


def _base(run_id: str) -> str:
    return f"{run_dir(run_id)}"


def _meta(repo: Path, run_id: str) -> dict[str, Any]:
    return yaml.safe_load(read_branch_file(repo, f"{_base(run_id)}/run.yaml"))


def _rows(repo: Path, run_id: str) -> list[dict[str, Any]]:
    text = read_branch_file(repo, f"{_base(run_id)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def _subjects(repo: Path, run_id: str) -> list[str]:
    return git(repo, "log", "--format=%s", "gitcfg-runs", "--", _base(run_id)).splitlines()


def _train(repo: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(repo, write_script(tmp_path / "train.py", TRAIN), env=env)


def test_a_sigkilled_run_resumed_by_id_continues_and_ends_finished_with_all_rows(
    repo: Path, tmp_path: Path
) -> None:
    first = _train(repo, tmp_path, RUN_ID="job-42", KILL_AT="3")
    assert first.returncode == -signal.SIGKILL
    assert first.stdout.split() == ["job-42", "0", "False"]
    second = _train(repo, tmp_path, RUN_ID="job-42")
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["job-42", "4", "True"]
    assert "recorded run job-42 as crashed (4 steps)" in second.stderr
    rows = _rows(repo, "job-42")
    assert [r["_step"] for r in rows] == list(range(10))
    assert [r["step_seen"] for r in rows] == list(range(10))
    times = [r["_time"] for r in rows]
    assert times == sorted(times)
    meta = _meta(repo, "job-42")
    assert meta["status"] == "finished" and meta["exit_code"] == 0
    assert len(meta["resumed_at"]) == 1
    summary = yaml.safe_load(read_branch_file(repo, f"{_base('job-42')}/summary.yaml"))
    assert summary == {"loss": 0.1, "step_seen": 9}
    assert _subjects(repo, "job-42") == [
        "run job-42: finished (exit 0)",
        "run job-42: resumed",
        "run job-42: crashed",
        "run job-42: started",
    ]
    assert not (repo / ".git" / "gitcfg" / "live" / "job-42").exists()


def test_a_resumed_run_killed_again_keeps_every_row(repo: Path, tmp_path: Path) -> None:
    _train(repo, tmp_path, RUN_ID="r2", KILL_AT="2")
    _train(repo, tmp_path, RUN_ID="r2", KILL_AT="5")
    third = _train(repo, tmp_path, RUN_ID="r2")
    assert third.stdout.split() == ["r2", "6", "True"], third.stderr
    assert [r["step_seen"] for r in _rows(repo, "r2")] == list(range(10))
    assert len(_meta(repo, "r2")["resumed_at"]) == 2


def test_resuming_a_finished_run_goes_on_from_its_summary_config_and_labels(
    repo: Path, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import sys, gitcfg
        if sys.argv[1] == "first":
            run = gitcfg.track({"lr": 0.1, "depth": 2}, id="fin", tags=["a"], project="p")
            run.define_metric("loss", summary="min")
            for loss in (3.0, 1.0, 2.0):
                run.log({"loss": loss})
            run.summary["best"] = 7
        else:
            run = gitcfg.track({"lr": 0.2}, id="fin", resume="must")
            print(run.step, run.resumed, run.tags, run.project, run.name, dict(run.summary))
            run.log({"loss": 0.5})
            run.log({"loss": 4.0})
        """,
    )
    assert run_python(repo, script, "first").returncode == 0
    started_at = _meta(repo, "fin")["started_at"]
    proc = run_python(repo, script, "second")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3 True ['a'] p fin {'loss': {'min': 1.0}, 'best': 7}"
    meta = _meta(repo, "fin")
    assert meta["status"] == "finished" and meta["started_at"] == started_at
    assert meta["metric_summary"] == {"loss": "min"}
    summary = yaml.safe_load(read_branch_file(repo, f"{_base('fin')}/summary.yaml"))
    assert summary == {"loss": {"min": 0.5}, "best": 7}  # wandb's shape for summary="min"
    config = yaml.safe_load(read_branch_file(repo, f"{_base('fin')}/config.yaml"))
    assert config == {"lr": 0.2, "depth": 2}
    assert [r["loss"] for r in _rows(repo, "fin")] == [3.0, 1.0, 2.0, 0.5, 4.0]


def test_must_without_a_run_and_never_with_one_are_one_line_before_writing(
    repo: Path, tmp_path: Path
) -> None:
    proc = _train(repo, tmp_path, RUN_ID="nope", RESUME="must")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gitcfg: error: track(id='nope', resume='must'): there is no run nope"
    ]
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""
    assert _train(repo, tmp_path, RUN_ID="once", RESUME="never").returncode == 0
    tip = git(repo, "rev-parse", "gitcfg-runs")
    proc = _train(repo, tmp_path, RUN_ID="once", RESUME="never")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gitcfg: error: track(id='once', resume='never'): run once already exists"
    ]
    assert git(repo, "rev-parse", "gitcfg-runs") == tip


@pytest.mark.parametrize("resume", ["True", "auto"])
def test_resume_without_an_id_continues_the_last_interrupted_run_of_the_script(
    repo: Path, tmp_path: Path, resume: str
) -> None:
    finished = _train(repo, tmp_path, RESUME=resume)
    assert finished.stdout.split()[1:] == ["0", "False"]  # nothing to resume: a new run
    killed = _train(repo, tmp_path, RESUME=resume, KILL_AT="4", SIGNAL="SIGTERM")
    assert killed.returncode == -signal.SIGTERM
    killed_id = killed.stdout.split()[0]
    assert _meta(repo, killed_id)["status"] == "killed"
    other = write_script(tmp_path / "other.py", TRAIN)  # another script does not take it
    assert run_python(repo, other, env={"RESUME": resume}).stdout.split()[1:] == ["0", "False"]
    again = _train(repo, tmp_path, RESUME=resume)
    assert again.stdout.split() == [killed_id, "5", "True"], again.stderr
    assert _meta(repo, killed_id)["status"] == "finished"
    assert len(_rows(repo, killed_id)) == 10
    fresh = _train(repo, tmp_path, RESUME=resume)  # its last run finished: a new run
    assert fresh.stdout.split()[0] not in (killed_id, finished.stdout.split()[0])


def test_a_run_still_running_in_a_live_process_cannot_be_resumed(
    repo: Path, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path / "hold.py",
        """
        import sys, gitcfg
        run = gitcfg.track(id="live1")
        run.log({"a": 1})
        print("ready", flush=True)
        sys.stdin.readline()
        """,
    )
    with held_script(repo, script) as said:
        assert said == "ready"
        proc = _train(repo, tmp_path, RUN_ID="live1")
        assert proc.returncode == 1
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("gitcfg: error: run live1 is still running on ")
    assert [r["a"] for r in _rows(repo, "live1")] == [1]


def test_a_resumed_run_reads_as_of_now_without_doubled_rows(
    repo: Path, tmp_path: Path, cli
) -> None:
    _train(repo, tmp_path, RUN_ID="ov", STOP="3")
    script = write_script(
        tmp_path / "hold.py",
        """
        import sys, gitcfg
        run = gitcfg.track(id="ov", resume="allow")
        run.log({"loss": 0.01, "step_seen": run.step})
        print("ready", flush=True)
        sys.stdin.readline()
        """,
    )
    with held_script(repo, script) as said:
        assert said == "ready"
        assert _meta(repo, "ov")["status"] == "running"
        rows = Api(repo).run("ov").metrics()
        assert [r["step_seen"] for r in rows] == [0, 1, 2, 3]
    assert [r["step_seen"] for r in _rows(repo, "ov")] == [0, 1, 2, 3]


def test_a_bad_resume_value_is_one_line(repo: Path, tmp_path: Path) -> None:
    proc = _train(repo, tmp_path, RUN_ID="x", RESUME="sometimes")
    assert proc.returncode == 1
    assert proc.stderr.startswith("gitcfg: error: track(resume='sometimes'): use True, False")


def test_a_requeued_job_continues_its_run_from_the_environment(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "job.py",
        """
        import os, signal, gitcfg
        run = gitcfg.track({"lr": 0.1})  # id and resume come from GITCFG_RUN_ID, GITCFG_RESUME
        print(run.id, run.step, run.resumed, flush=True)
        for step in range(run.step, 6):
            run.log({"step_seen": step})
            if step == 2 and not run.resumed:
                os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    env = {"GITCFG_RUN_ID": "slurm-1234", "GITCFG_RESUME": "allow"}
    assert run_python(repo, script, env=env).returncode == -signal.SIGKILL
    proc = run_python(repo, script, env=env)
    assert proc.stdout.split() == ["slurm-1234", "3", "True"], proc.stderr
    assert [r["step_seen"] for r in _rows(repo, "slurm-1234")] == list(range(6))
    assert _meta(repo, "slurm-1234")["status"] == "finished"
