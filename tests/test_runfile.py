"""run.yaml's one home (gitcfg/runfile.py): the schema matches what runs write, a record that does
not match is refused before it is written, and a journal whose record does not match is skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_type_hints

import pytest
import yaml
from conftest import git, read_branch_file

from gitcfg import runfile
from gitcfg.configuration import Config
from gitcfg.errors import RunRecordInvalid
from gitcfg.journal import SkippedJournal, final_commit, recover
from gitcfg.rows import RUN_FIELDS, run_row
from gitcfg.store import Store, run_dir
from gitcfg.tracking import Run


def _start_run(repo: Path) -> Run:
    config = Config({"lr": 0.1})
    run = Run(config, store=Store.open(repo))
    run._start(["train.py", "--lr", "0.1"], None)
    config._mark_started()
    config._set_recorder(run._on_config_change)
    return run


def _run_yaml(repo: Path, run_id: str) -> dict[str, Any]:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))


def test_the_typed_description_and_the_checked_schema_name_the_same_fields():
    assert set(get_type_hints(runfile.RunYaml)) == set(runfile.SCHEMA)
    assert set(get_type_hints(runfile.Code)) == set(runfile.CODE_SCHEMA)
    assert set(runfile.REQUIRED) <= set(runfile.SCHEMA)
    assert RUN_FIELDS == runfile.ROW_FIELDS


def test_a_run_writes_records_that_match_the_schema(repo: Path):
    run = _start_run(repo)
    started = _run_yaml(repo, run.id)
    assert runfile.record_problem(started) is None and started["status"] == "running"
    assert set(started) <= set(runfile.SCHEMA) and set(started["code"]) <= set(runfile.CODE_SCHEMA)
    run.log({"loss": 0.5})
    run.finish()
    ended = _run_yaml(repo, run.id)
    assert runfile.record_problem(ended) is None and ended["status"] == "finished"
    assert list(ended)[: len(runfile.LABELS) + 1] == ["id", *runfile.LABELS]
    row = run_row(run.id, ended, {}, {})
    assert row["started"] == ended["started_at"] and row["code_commit"] == ended["code"]["commit"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"status": "paused"}, "its status 'paused' is not one of"),
        ({"started_at": 17}, "its started_at is int, not str"),
        ({"pid": True}, "its pid is bool, not int"),
        ({"code": {"dirty": "yes"}}, "its code.dirty is str, not bool"),
        ({"format": None}, "its format is NoneType, not int"),
    ],
)
def test_a_record_that_does_not_match_is_refused_before_writing(repo: Path, change, problem):
    run = _start_run(repo)
    tip = git(repo, "rev-parse", "gitcfg-runs")
    record = {**run._meta, **change}
    assert problem in (runfile.record_problem(record) or "")
    with pytest.raises(RunRecordInvalid, match="a gitcfg bug"):
        runfile.check_record(record)
    missing = {k: v for k, v in run._meta.items() if k != "started_at"}
    assert runfile.record_problem(missing) == "it has no started_at"
    with pytest.raises(RunRecordInvalid):  # the final commit's files are never built
        final_commit(record, None, {}, b"")
    assert git(repo, "rev-parse", "gitcfg-runs") == tip
    run.finish()


def test_a_journal_whose_record_does_not_match_is_skipped_with_one_warning(repo: Path):
    run = _start_run(repo)
    run._recorder.stop_flushing()  # as if its process had died
    live = repo / ".git" / "gitcfg" / "live" / run.id
    meta = json.loads((live / "meta.json").read_text())
    meta["owner"]["pid"] = 2**22 + 1  # a process that is gone
    meta["run"]["status"] = 3
    (live / "meta.json").write_text(json.dumps(meta))
    tip = git(repo, "rev-parse", "gitcfg-runs")
    skipped = recover(Store.open(repo))
    assert len(skipped) == 1 and isinstance(skipped[0], SkippedJournal)
    note = skipped[0].note()
    assert note.startswith(f"warning: skipped the journal live/{run.id!r}")
    assert "does not match the format: its status is int, not str" in note
    assert git(repo, "rev-parse", "gitcfg-runs") == tip and not live.exists()
    assert recover(Store.open(repo)) == []  # moved aside: warned once
