"""The run and its recorder (issue 12 section 3): Run keeps the API, the steps and the lifecycle;
its Recorder (gitcfg/recorder.py) owns the live journal, the flusher and the commits."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git, start_run

from gitcfg.configuration import Config
from gitcfg.tracking import Run

JOURNAL_STATE = ("_journal", "_flusher", "_queue", "_unjournaled", "_append_row", "_store")


def test_the_journal_is_the_recorders_from_the_start_commit_to_the_final_one(repo: Path) -> None:
    run = start_run(repo, {"lr": 0.1})
    live = repo / ".git" / "gitcfg" / "live" / run.id
    started = git(repo, "rev-parse", "gitcfg-runs")
    assert (live / "meta.json").is_file()  # journaled before the start commit returned
    assert json.loads((live / "meta.json").read_text())["run"]["status"] == "running"
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)})
    recorder = run._recorder
    assert recorder.journal is not None
    assert [row["_step"] for row in recorder.journal.rows()] == [0, 1, 2]
    assert git(repo, "rev-parse", "gitcfg-runs") == started  # log() commits nothing
    run.finish()
    assert not live.exists()
    metrics = git(repo, "show", f"gitcfg-runs:{_run_dir(repo, run.id)}/metrics.jsonl")
    assert [json.loads(line)["loss"] for line in metrics.splitlines()] == [1.0, 0.5, 1 / 3]


def test_a_run_that_records_nothing_still_summarises_its_rows(repo: Path) -> None:
    tip = git(repo, "rev-parse", "--verify", "-q", "gitcfg-runs", check=False)
    run = Run(Config({"lr": 1}), store=None)
    run._start(["train.py"], None)
    assert not run.recording and run._recorder.journal is None
    run.log({"acc": 0.5})
    run.log({"acc": 0.75})
    assert run.summary["acc"] == 0.75
    run.finish()
    assert run.status == "finished"
    assert git(repo, "rev-parse", "--verify", "-q", "gitcfg-runs", check=False) == tip
    assert not (repo / ".git" / "gitcfg" / "live" / run.id).exists()


def test_the_run_holds_no_journal_state_of_its_own(repo: Path) -> None:
    run = start_run(repo)
    try:
        assert [name for name in JOURNAL_STATE if name in vars(run)] == []
        assert run.summary is run._recorder.summary  # the recorder feeds it from the rows
        assert run._lock is run._recorder.lock
    finally:
        run.finish()


def _run_dir(repo: Path, run_id: str) -> str:
    listed = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs")
    return next(path.rsplit("/", 1)[0] for path in listed.splitlines() if f"/{run_id}/" in path)
