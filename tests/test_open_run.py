"""open_run: the run a framework integration starts, and the script's track() adopting it."""

from __future__ import annotations

from conftest import commit_script, run_python

import gitcfg

SCRIPT = """\
import sys
import gitcfg
from gitcfg.tracking import open_run, opened_by

adoptable = sys.argv[1] == "adoptable"
opened = open_run("job", adoptable=adoptable, config={"lr": 0.1}, group="sweep-1")
assert opened_by(opened) == "job"
mine = gitcfg.track({"lr": 0.1, "depth": 2}, name="mine", tags=["t"])
print("same" if mine is opened else "new", opened.id, mine.id)
assert opened_by(mine) == ("job" if adoptable else None)
gitcfg.log({"loss": 1.0})
mine.finish()
"""


def test_track_inside_an_adoptable_run_returns_it_with_the_merged_config(repo):
    script = commit_script(repo, "job.py", SCRIPT)
    proc = run_python(repo, script, "adoptable")
    assert proc.returncode == 0, proc.stderr
    kind, opened_id, mine_id = proc.stdout.split()
    assert (kind, opened_id) == ("same", mine_id)
    assert "finishing it first" not in proc.stderr
    runs = list(gitcfg.Api(repo).runs())
    assert [r.id for r in runs] == [opened_id]
    (run,) = runs
    assert run.config == {"lr": 0.1, "depth": 2}
    assert (run.name, run.group, run.tags, run.status) == ("mine", "sweep-1", ["t"], "finished")
    assert [row["loss"] for row in run.metrics()] == [1.0]


def test_track_inside_a_run_an_integration_keeps_finishes_it_and_starts_its_own(repo):
    script = commit_script(repo, "job.py", SCRIPT)
    proc = run_python(repo, script, "owned")
    assert proc.returncode == 0, proc.stderr
    kind, opened_id, mine_id = proc.stdout.split()
    assert kind == "new"
    runs = {r.id: r for r in gitcfg.Api(repo).runs()}
    assert set(runs) == {opened_id, mine_id}
    assert runs[opened_id].config == {"lr": 0.1}
    assert runs[opened_id].status == "finished"
    assert runs[mine_id].config == {"lr": 0.1, "depth": 2}
    assert runs[mine_id].group is None


def test_a_changed_value_in_the_adopting_track_is_refused_as_config_update_refuses_it(repo):
    script = commit_script(
        repo,
        "job.py",
        """\
        import gitcfg
        from gitcfg.tracking import open_run

        open_run("job", adoptable=True, config={"lr": 0.1})
        try:
            gitcfg.track({"lr": 0.5})
        except gitcfg.ConfigValueChanged as e:
            print("refused")
        gitcfg.track({"lr": 0.5}, allow_val_change=True)
        print(gitcfg.config.lr)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused", "0.5"]
    (run,) = gitcfg.Api(repo).runs()
    assert run.config == {"lr": 0.5}
