"""Amending through the public Api, as wandb's docs show it: edit a run object, `run.update()`.

Each edit must make the same one commit `gitcfg amend` makes: the same subject, run.yaml entry,
history and `--as-recorded`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git, one_error_line, read_branch_file, run_python, snapshot, write_script

import gitcfg
from gitcfg.errors import BadAmendment, RunStillRunning, UnsupportedValue
from gitcfg.store import run_dir

TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": 3e-4, "dataset": "imagenet", "model": {"depth": 18, "width": 64}},
                   tags=["baseline"], group="sweep-1")
run.log({"val_acc": 0.8})
run.summary["best_val_acc"] = 0.81
run.finish()
print(run.id)
"""


def record_run(repo: Path, body: str = TRAIN) -> str:
    script = write_script(repo.parent / "train_api.py", body)
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def doc(repo: Path, run_id: str, name: str, ref: str = "gitcfg-runs") -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/{name}", ref))


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "gitcfg-runs")


def subject(repo: Path, ref: str = "gitcfg-runs") -> str:
    return git(repo, "log", "-1", "--format=%s", ref)


def test_the_wandb_example_makes_the_commit_gitcfg_amend_makes(cli, repo: Path) -> None:
    by_api, by_cli = record_run(repo), record_run(repo)
    before = snapshot(repo)
    old_tip = tip(repo)
    api = gitcfg.Api(repo)
    run = api.run(by_api[:9])
    run.config["foo"] = 32
    run.summary["test_acc"] = 0.91
    run.tags.append("best")
    run.name = "best-run"
    run.notes = "the one to cite"
    run.update(reason="picked after the sweep")
    # exactly one new commit, on the old tip
    assert git(repo, "rev-parse", "gitcfg-runs^") == old_tip
    api_subject = subject(repo)
    result = cli(
        repo,
        "amend",
        by_cli,
        "--set",
        "foo=32",
        "--summary",
        "test_acc=0.91",
        "--tag",
        "best",
        "--name",
        "best-run",
        "--note",
        "the one to cite",
        "-m",
        "picked after the sweep",
    )
    assert result.exit_code == 0, result.output
    assert api_subject.replace(by_api, "ID") == subject(repo).replace(by_cli, "ID")
    assert (
        api_subject
        == f"amend {by_api}: set foo=32; summary test_acc=0.91; tag best; note; name best-run"
    )
    body = git(repo, "log", "-1", "--format=%B", "gitcfg-runs~1")
    assert "picked after the sweep" in body and f"Run-Id: {by_api}" in body
    for name in ("config.yaml", "summary.yaml"):
        assert doc(repo, by_api, name) == doc(repo, by_cli, name)
    api_meta, cli_meta = doc(repo, by_api, "run.yaml"), doc(repo, by_cli, "run.yaml")
    for key in ("tags", "name", "notes", "config_sources"):
        assert api_meta[key] == cli_meta[key]
    (api_entry,), (cli_entry,) = api_meta["amendments"], cli_meta["amendments"]
    assert api_entry["changes"][-1].startswith("name best-run (was ")  # each run's own old name
    api_entry["changes"].pop(), cli_entry["changes"].pop()
    assert {**api_entry, "at": ""} == {**cli_entry, "at": ""}

    # the object shows the amended run; a fresh read agrees
    assert run.config["foo"] == 32 and run.summary["test_acc"] == 0.91
    assert run.tags == ["baseline", "best"] and run.name == "best-run"
    assert run.notes == "the one to cite"
    again = gitcfg.Api(repo).run(by_api)
    assert again.config["foo"] == 32 and again.name == "best-run" and again.tags == run.tags

    history = json.loads(cli(repo, "history", by_api, "--format", "json").output)
    assert [(e["action"], e["why"]) for e in history][-1] == ("amend", "picked after the sweep")
    recorded = json.loads(cli(repo, "show", by_api, "--as-recorded", "--format", "json").output)
    assert "foo" not in recorded["config"] and recorded["run"]["name"] != "best-run"
    assert snapshot(repo) == before  # the user's worktree, index and branches untouched


def test_update_without_a_reason_and_a_run_from_runs(repo: Path) -> None:
    run_id = record_run(repo)
    api = gitcfg.Api(repo)
    (run,) = [r for r in api.runs() if r.id == run_id]
    run.config["lr"] = 1e-3
    result = run.update()
    assert result is not None and result.runs_commit == tip(repo)
    assert git(repo, "log", "-1", "--format=%B", "gitcfg-runs").startswith(
        f"amend {run_id}: set lr=0.001\n\nRun-Id: {run_id}\nAmended-By: Test User <test@example.com>"
    )
    assert doc(repo, run_id, "config.yaml")["lr"] == 0.001
    assert doc(repo, run_id, "run.yaml")["amendments"][0].get("reason") is None


def test_nested_dotted_and_deleted_keys_amend_as_the_cli_does(repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    run.config["model"]["depth"] = 50
    run.config["model.width"] = 128  # a dotted key reaches the nested value
    assert run.config["model"]["width"] == 128 and run.config["model.width"] == 128
    run.config["optim.momentum"] = 0.9  # a dotted key under no mapping yet: as --set makes it
    del run.config["dataset"]
    del run.summary["best_val_acc"]
    run.update("nested")
    assert subject(repo) == (
        f"amend {run_id}: set model.depth=50, model.width=128, optim.momentum=0.9; "
        "unset dataset, summary.best_val_acc"
    )
    config = doc(repo, run_id, "config.yaml")
    assert config == {"lr": 3e-4, "model": {"depth": 50, "width": 128}, "optim": {"momentum": 0.9}}
    assert "best_val_acc" not in doc(repo, run_id, "summary.yaml")
    assert run.config["optim"] == {"momentum": 0.9}  # the object reads the new state
    del run.config["model.depth"]
    run.update()
    assert subject(repo) == f"amend {run_id}: unset model.depth"
    assert doc(repo, run_id, "config.yaml")["model"] == {"width": 128}


def test_update_with_nothing_changed_writes_nothing(repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    old_tip = tip(repo)
    assert yaml.safe_load(yaml.safe_dump(run.config)) == run.config  # still a plain mapping to yaml
    assert run.update("nothing") is None
    run.config["lr"] = 3e-4  # the value it has
    run.tags.append("baseline")  # a tag it carries
    assert run.update() is None
    assert tip(repo) == old_tip


def test_group_job_type_and_project_are_amended_too(cli, repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    run.group, run.job_type, run.project = "sweep-2", "eval", "vision"
    run.update("regrouped")
    meta = doc(repo, run_id, "run.yaml")
    assert (meta["group"], meta["job_type"], meta["project"]) == ("sweep-2", "eval", "vision")
    assert subject(repo) == f"amend {run_id}: group sweep-2; job_type eval; project vision"
    assert "group sweep-2 (was sweep-1)" in meta["amendments"][-1]["changes"]
    result = cli(repo, "amend", run_id, "--group", "", "--project", "nlp")
    assert result.exit_code == 0, result.output
    meta = doc(repo, run_id, "run.yaml")
    assert meta.get("group") is None and meta["project"] == "nlp"


def test_wandbs_entity_project_id_path_resolves_by_its_last_part(repo: Path) -> None:
    run_id = record_run(repo)
    api = gitcfg.Api(repo)
    assert api.run(f"my-team/my-project/{run_id}").id == run_id
    assert api.run(f"my-project/{run_id[:10]}").id == run_id


def test_a_bad_edit_is_an_error_and_writes_nothing(repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    old_tip = tip(repo)
    run.config["lr.warmup"] = 3  # lr holds a number
    with pytest.raises(BadAmendment, match="config key 'lr' holds 0.0003, not a mapping"):
        run.update()
    del run.config["lr.warmup"]
    run.config["handle"] = object()
    with pytest.raises(UnsupportedValue):
        run.update()
    assert tip(repo) == old_tip
    run.config["handle"] = "fixed"  # the pending edits can be corrected
    run.update()
    assert doc(repo, run_id, "config.yaml")["handle"] == "fixed"


def test_a_running_run_is_refused_as_gitcfg_amend_refuses_it(repo: Path) -> None:
    script = write_script(
        repo.parent / "slow_api.py",
        """
        import sys, gitcfg
        run = gitcfg.track({"lr": 0.1})
        print(run.id, flush=True)
        sys.stdin.readline()
        run.finish()
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        run = gitcfg.Api(repo).run(run_id)
        run.config["lr"] = 0.2
        with pytest.raises(RunStillRunning, match="amend it after it ends"):
            run.update()
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0


def test_run_delete_removes_through_rm_and_restore_brings_it_back(cli, repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    commit = run.delete(reason="a smoke test")
    assert commit == tip(repo) and subject(repo) == f"rm {run_id}: removed"
    assert cli(repo, "show", run_id).exit_code == 1
    result = cli(repo, "restore", run_id[:10])
    assert result.exit_code == 0, result.output
    assert gitcfg.Api(repo).run(run_id).config["lr"] == 3e-4


def test_the_documented_example_runs_as_a_script(cli, repo: Path) -> None:
    run_id = record_run(repo)
    script = write_script(
        repo.parent / "amend_api.py",
        f"""
        import gitcfg
        api = gitcfg.Api()
        run = api.run("me/project/{run_id[:8]}")
        run.config["foo"] = 32
        run.summary["test_acc"] = 0.91
        run.tags.append("best")
        run.update(reason="from the docs")
        print(run.config["foo"], run.tags)
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "32 ['baseline', 'best']"
    history = cli(repo, "history", run_id)
    assert "amend  set foo=32; summary test_acc=0.91; tag best" in history.output
    assert "why: from the docs" in history.output


def test_an_empty_dotted_part_is_an_error_for_the_api_too(repo: Path) -> None:
    run_id = record_run(repo)
    run = gitcfg.Api(repo).run(run_id)
    run.config["a..b"] = 1
    with pytest.raises(BadAmendment, match="'a..b' has an empty part"):
        run.update()


def test_unset_summary_from_the_cli(cli, repo: Path) -> None:
    run_id = record_run(repo)
    result = cli(repo, "amend", run_id, "--unset-summary", "best_val_acc")
    assert result.exit_code == 0, result.output
    assert "best_val_acc" not in doc(repo, run_id, "summary.yaml")
    assert "has no summary key 'nope'" in one_error_line(
        cli(repo, "amend", run_id, "--unset-summary", "nope")
    )
