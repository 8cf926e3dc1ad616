"""rm of several runs, restore, amend/rm over several runs or --where (with --dry-run), show --at,
empty dotted parts in --set, and the merge message that states both values per key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from conftest import (
    git,
    one_error_line,
    read_branch_file,
    run_id_of,
    run_python,
    snapshot,
    write_script,
)

from gitcfg.amend import amend_run
from gitcfg.store import Store, run_dir

TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": float(sys.argv[1]), "model": {"depth": 18}})
run.log({"val_acc": 0.5 + float(sys.argv[1])})
run.finish()
print(run.id)
"""
T0 = 1_800_000_000


def record(repo: Path, lr: float = 0.1) -> str:
    script = write_script(repo.parent / "train_rm.py", TRAIN)
    proc = run_python(repo, script, str(lr))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "gitcfg-runs")


def run_tree(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> str:
    return git(repo, "rev-parse", f"{ref}:{run_dir(run_id)}")


def present(repo: Path) -> set[str]:
    paths = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "runs/").splitlines()
    return {run_id_of(p) for p in paths}


def history(cli, repo: Path, run_id: str) -> list[tuple[str, str, str]]:
    result = cli(repo, "history", run_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return [(e["action"], e["what"], e["why"]) for e in json.loads(result.output)]


# --- rm and restore --------------------------------------------------------------------------------


def test_rm_removes_several_runs_in_one_commit(cli, repo: Path) -> None:
    a, b, kept = record(repo, 0.1), record(repo, 0.2), record(repo, 0.3)
    before = snapshot(repo)
    old_tip = tip(repo)
    result = cli(repo, "rm", a[:10], b[:10], "-m", "smoke tests")
    assert result.exit_code == 0, result.output
    assert "removed 2 runs" in result.output
    assert git(repo, "rev-parse", "gitcfg-runs^") == old_tip  # one commit
    assert present(repo) == {kept}
    message = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    assert message.startswith("rm 2 runs: removed\n\nsmoke tests\n\n")
    assert f"Run-Id: {a}\nRun-Id: {b}\n" in message + "\n"
    for run_id in (a, b):
        assert history(cli, repo, run_id)[-1] == ("rm", "removed", "smoke tests")
    assert snapshot(repo) == before


def test_restore_brings_a_removed_run_back_and_its_history_continues(cli, repo: Path) -> None:
    run_id, other = record(repo, 0.1), record(repo, 0.2)
    assert cli(repo, "amend", run_id, "--tag", "odd", "-m", "looked odd").exit_code == 0
    tree_before = run_tree(repo, run_id)
    assert cli(repo, "rm", run_id, other, "-m", "cleanup").exit_code == 0
    old_tip = tip(repo)
    result = cli(repo, "restore", run_id[:10], "-m", "it was real")
    assert result.exit_code == 0, result.output
    assert f"restored run {run_id}" in result.output
    assert git(repo, "rev-parse", "gitcfg-runs^") == old_tip  # one commit
    assert run_tree(repo, run_id) == tree_before  # every file as it was
    assert present(repo) == {run_id}
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"restore {run_id}: restored"
    assert [(action, why) for action, _, why in history(cli, repo, run_id)] == [
        ("run", ""),
        ("run", ""),
        ("amend", "looked odd"),
        ("rm", "cleanup"),
        ("restore", "it was real"),
    ]
    shown = json.loads(cli(repo, "show", run_id, "--format", "json").output)
    assert shown["run"]["tags"] == ["odd"]
    assert run_id in cli(repo, "log", "--format", "json").output
    # and it can be amended and removed again
    assert cli(repo, "amend", run_id, "--set", "lr=0.5").exit_code == 0
    assert cli(repo, "rm", run_id).exit_code == 0
    assert cli(repo, "restore", run_id).exit_code == 0
    assert yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/config.yaml"))["lr"] == 0.5


def test_rm_of_a_removed_run_and_restore_of_a_present_one_are_one_line_errors(
    cli, repo: Path
) -> None:
    run_id, other = record(repo, 0.1), record(repo, 0.2)
    assert cli(repo, "rm", run_id).exit_code == 0
    old_tip = tip(repo)
    line = one_error_line(cli(repo, "rm", run_id[:10]))
    assert f"run {run_id} was already removed" in line and "gitcfg restore" in line
    line = one_error_line(cli(repo, "rm", other, run_id))  # one bad run: nothing removed
    assert "already removed" in line and other in present(repo)
    line = one_error_line(cli(repo, "restore", other))
    assert f"run {other} is not removed" in line
    assert "no run matches 'zzzz'" in one_error_line(cli(repo, "restore", "zzzz"))
    assert tip(repo) == old_tip


# --- several runs, --where, --dry-run --------------------------------------------------------------


def test_amend_several_runs_in_one_commit(cli, repo: Path) -> None:
    a, b = record(repo, 0.1), record(repo, 0.2)
    old_tip = tip(repo)
    result = cli(repo, "amend", a, b, "--tag", "leak", "--set", "dataset=v2", "-m", "leaked split")
    assert result.exit_code == 0, result.output
    assert git(repo, "rev-parse", "gitcfg-runs^") == old_tip
    message = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    assert message.startswith("amend 2 runs: set dataset=v2; tag leak\n\nleaked split\n\n")
    for run_id in (a, b):
        meta = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))
        assert meta["tags"] == ["leak"] and meta["amendments"][-1]["reason"] == "leaked split"
        assert history(cli, repo, run_id)[-1] == (
            "amend",
            "set dataset=v2; tag leak",
            "leaked split",
        )
    # a run that already holds the values is left out, and said so
    c = record(repo, 0.3)
    result = cli(repo, "amend", a, c, "--tag", "leak")
    assert result.exit_code == 0, result.output
    assert f"{a}: unchanged" in result.output
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"amend {c}: tag leak"


def test_where_with_dry_run_lists_what_would_change_and_writes_nothing(cli, repo: Path) -> None:
    small, big = record(repo, 0.01), record(repo, 0.5)
    old_tip = tip(repo)
    dry = cli(repo, "amend", "--where", "lr < 0.1", "--set", "lr=0.02", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would amend {small}: set lr=0.02 (was 0.01)" in dry.output
    assert big not in dry.output and "nothing written" in dry.output
    dry_rm = cli(repo, "rm", "--where", "lr >= 0.1", "--dry-run")
    assert dry_rm.exit_code == 0, dry_rm.output
    assert f"would remove {big}" in dry_rm.output and small not in dry_rm.output
    assert tip(repo) == old_tip

    assert cli(repo, "amend", "--where", "lr < 0.1", "--set", "lr=0.02").exit_code == 0
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"amend {small}: set lr=0.02"
    assert cli(repo, "rm", "--where", "lr >= 0.1", "-m", "too big").exit_code == 0
    assert present(repo) == {small}
    line = one_error_line(cli(repo, "rm", "--where", "lr > 5"))
    assert "no run matches --where 'lr > 5'" in line
    assert "not both" in one_error_line(cli(repo, "rm", small, "--where", "lr > 0"))


# --- show --at --------------------------------------------------------------------------------------


def test_show_at_a_revision_shows_the_run_as_it_was(cli, repo: Path) -> None:
    run_id = record(repo, 0.1)
    finished_tip = tip(repo)
    assert cli(repo, "amend", run_id, "--set", "lr=0.2").exit_code == 0
    assert cli(repo, "amend", run_id, "--set", "lr=0.3").exit_code == 0

    def lr_at(rev: str) -> float:
        result = cli(repo, "show", run_id[:10], "--at", rev, "--config")
        assert result.exit_code == 0, result.output
        return yaml.safe_load(result.output)["lr"]

    assert lr_at(finished_tip) == 0.1
    assert lr_at(finished_tip[:10]) == 0.1
    assert lr_at("gitcfg-runs~1") == 0.2
    assert lr_at("gitcfg-runs") == 0.3
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert lr_at(tomorrow) == 0.3  # a date: the branch's last commit before it
    metrics = cli(repo, "show", run_id, "--at", "gitcfg-runs~2", "--metrics")
    assert metrics.exit_code == 0 and '"val_acc": 0.6' in metrics.output
    # a removed run, as of before its removal
    assert cli(repo, "rm", run_id).exit_code == 0
    assert lr_at("gitcfg-runs~1") == 0.3
    assert "not on the runs branch at 'gitcfg-runs'" in one_error_line(
        cli(repo, "show", run_id, "--at", "gitcfg-runs")
    )
    assert "names no commit" in one_error_line(cli(repo, "show", run_id, "--at", "nope~9"))
    line = one_error_line(cli(repo, "show", run_id, "--at", "main"))
    assert "is not a commit of the runs branch gitcfg-runs" in line
    assert "no commit before" in one_error_line(cli(repo, "show", run_id, "--at", "2001-01-01"))


# --- --set with an empty dotted part -----------------------------------------------------------------


@pytest.mark.parametrize("argument", [".x=1", "a..b=1", "a.=1"])
def test_an_empty_dotted_part_in_set_is_an_error_quoting_the_argument(cli, repo, argument) -> None:
    run_id = record(repo)
    old_tip = tip(repo)
    line = one_error_line(cli(repo, "amend", run_id, "--set", argument))
    assert repr(argument) in line and "empty part" in line
    assert tip(repo) == old_tip


# --- the merge message ---------------------------------------------------------------------------


def test_a_merge_states_both_values_and_which_won_per_key(cli, remote: Path) -> None:
    a = remote.parent / "a"
    b = remote.parent / "b"
    git(remote.parent, "clone", "-q", str(remote), str(a))
    git(remote.parent, "clone", "-q", str(remote), str(b))
    run_id = record(a, 0.1)
    assert cli(a, "push").exit_code == 0 and cli(b, "pull").exit_code == 0
    amend_run(Store.open(a), run_id, set={"lr": 0.3, "model.depth": 34}, now=T0)
    amend_run(Store.open(b), run_id, set={"lr": 0.4, "model.depth": 50}, note="b's", now=T0 + 60)
    assert cli(a, "push").exit_code == 0
    result = cli(b, "pull")
    assert result.exit_code == 0, result.output
    message = git(b, "log", "-1", "--format=%B", "gitcfg-runs")
    assert f"Reconciled {run_id}: changed on both sides; local's later change won" in message
    assert "  config.lr: local 0.4, origin 0.3; local's won (later)\n" in message
    assert "  config.model.depth: local 50, origin 34; local's won (later)\n" in message
    assert "config.lr: local 0.4, origin 0.3; local's won (later)" in result.output
    # the other machine sees the same rule from its side
    assert cli(b, "push").exit_code == 0 and cli(a, "pull").exit_code == 0
    assert yaml.safe_load(read_branch_file(a, f"{run_dir(run_id)}/config.yaml"))["lr"] == 0.4
